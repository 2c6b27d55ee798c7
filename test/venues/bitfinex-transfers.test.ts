/**
 * Bitfinex's transfer facts (one multi-request to `/v2/conf/` for `pub:info:tx:status`,
 * `pub:map:tx:method`, `pub:map:currency:tx:fee`, `pub:map:currency:pool`): a body assembled
 * from documented rows parsed, then the simulated Bitfinex through `bitfinex.transfers.fetch`
 * (defaults, a withdrawal switched off, an HTTP error with Retry-After, a malformed body).
 */
import { describe, expect, test } from 'bun:test'
import { bitfinex } from '../../src/venues/bitfinex/index.ts'
import { SimBitfinex } from '../../src/venues/bitfinex/sim.ts'
import { parseBitfinexConfigs } from '../../src/venues/bitfinex/transfers.ts'
import { ParseError } from '../../src/venues/venue.ts'
import { stopAfterEach } from '../support.ts'

const NOW = 1_767_225_600_000
const source =
  'GET /v2/conf/pub:info:tx:status,pub:map:tx:method,pub:map:currency:tx:fee,pub:map:currency:pool'

/**
 * Bitfinex's docs (rest-public-conf) describe these configs but show no example body, so this
 * one is assembled from documented rows: the `BITCOIN` status row and the `[0, FEE]` fee rows
 * (`["ADA",[0,0.3]]`) and `pool` rows (`["SAN","ETH"]`) are those ccxt bitfinex.js
 * `fetchCurrencies` quotes from real answers; `["BITCOIN",["BTC"]]` the method row shape other
 * clients quote; Tether's method names (`TETHERUSE`, `TETHERUSX`) ccxt's network table. The
 * TETHERUSX row's withdrawal status 0 (maintenance) and the figures not quoted are set here.
 */
const BODY = [
  [
    ['BITCOIN', 1, 1, null, null, null, null, 0, 0, null, null, 3],
    ['TETHERUSE', 1, 1, null, null, null, null, 0, 0, null, null, 12],
    ['TETHERUSX', 1, 0, null, null, null, null, 0, 0, null, null, 20],
    ['SAN', 0, 1, null, null, null, null, 0, 0, null, null, 12],
  ],
  [
    ['BITCOIN', ['BTC']],
    ['TETHERUSE', ['UST']],
    ['TETHERUSX', ['UST']],
    ['SAN', ['SAN']],
  ],
  [
    ['BTC', [0, 0.0004]],
    ['UST', [0, 6.5]],
    ['SAN', [0, 131.3]],
  ],
  [['SAN', 'ETH']],
]

const fact = {
  venue: 'bitfinex',
  withdrawMin: undefined,
  contract: undefined,
  fetchedAtMs: NOW,
  source,
}

describe('Bitfinex transfer facts', () => {
  const track = stopAfterEach()

  test('the configs parse per method; UST is USDT; a fee only where one method prices it', () => {
    const facts = parseBitfinexConfigs(BODY, ['BTC', 'USDT', 'SAN'], NOW, bitfinex.assetAliases)
    expect(facts).toEqual([
      {
        ...fact,
        asset: 'BTC',
        network: 'BTC',
        venueNetwork: 'BITCOIN',
        depositEnabled: true,
        withdrawEnabled: true,
        withdrawFee: 0.0004,
      },
      {
        ...fact,
        asset: 'USDT',
        network: 'ETH',
        venueNetwork: 'TETHERUSE',
        depositEnabled: true,
        withdrawEnabled: true,
        withdrawFee: undefined,
      },
      {
        ...fact,
        asset: 'USDT',
        network: 'TRX',
        venueNetwork: 'TETHERUSX',
        depositEnabled: true,
        withdrawEnabled: false,
        withdrawFee: undefined,
      },
      {
        ...fact,
        asset: 'SAN',
        network: 'ETH',
        venueNetwork: 'SAN',
        depositEnabled: false,
        withdrawEnabled: true,
        withdrawFee: 131.3,
      },
    ])
    expect(parseBitfinexConfigs(BODY, ['UST'], NOW, bitfinex.assetAliases)).toEqual([])
    expect(() => parseBitfinexConfigs(['error', 10020, 'x'], ['BTC'], NOW)).toThrow(ParseError)
  })

  test('a method without a status row has unknown statuses, never open', () => {
    const body = [[], [['BITCOIN', ['BTC']]], [], []]
    const [f] = parseBitfinexConfigs(body, ['BTC'], NOW)
    expect(f!.depositEnabled).toBeUndefined()
    expect(f!.withdrawEnabled).toBeUndefined()
    expect(f!.withdrawFee).toBeUndefined()
  })

  test('the simulated Bitfinex serves every listed asset; a switched-off withdrawal shows', async () => {
    const sim = track(
      new SimBitfinex([
        { base: 'BTC', quote: 'USDT' },
        { base: 'ETH', quote: 'USDC' },
      ]),
    )
    const opts = {
      fetch,
      signal: new AbortController().signal,
      assets: ['BTC', 'USDT', 'USDC'],
      nowMs: NOW,
    }
    const facts = await bitfinex.transfers!.fetch(sim.restUrl, opts)
    expect(bitfinex.transfers!.needsKey).toBe(false)
    expect(
      facts.map((f) => [f.asset, f.network, f.venueNetwork, f.withdrawEnabled, f.withdrawFee]),
    ).toEqual([
      ['BTC', 'BTC', 'BITCOIN', true, 0.0002],
      ['USDT', 'ETH', 'TETHERUSE', true, undefined],
      ['USDT', 'TRX', 'TETHERUSX', true, undefined],
      ['USDC', 'ETH', 'UDCETHEREUM', true, undefined],
      ['USDC', 'SOL', 'UDCSOLANA', true, undefined],
    ])
    // Not published by Bitfinex: undefined, never a guess.
    for (const f of facts) {
      expect(f.contract).toBeUndefined()
      expect(f.withdrawMin).toBeUndefined()
    }
    sim.transfers.set('BTC', { withdraw: false })
    const after = await bitfinex.transfers!.fetch(sim.restUrl, { ...opts, assets: ['BTC'] })
    expect(after.map((f) => [f.asset, f.withdrawEnabled, f.depositEnabled])).toEqual([
      ['BTC', false, true],
    ])
  })
})
