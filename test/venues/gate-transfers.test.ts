/**
 * Gate's transfer facts (`GET /api/v4/spot/currencies`): the docs' example body parsed, then the
 * simulated Gate's endpoint through `gate.transfers.fetch` (defaults, a withdrawal switched off,
 * an HTTP error with Retry-After, a malformed body). Gate gives no fee here: always undefined.
 */
import { describe, expect, test } from 'bun:test'
import { gate } from '../../src/venues/gate/index.ts'
import { SimGate } from '../../src/venues/gate/sim.ts'
import { parseGateCurrencies } from '../../src/venues/gate/transfers.ts'
import { ParseError } from '../../src/venues/venue.ts'
import { stopAfterEach } from '../support.ts'

const NOW = 1_767_225_600_000

/**
 * The "Query all currency information" example response (Gate API v4 docs, `GET
 * /spot/currencies` "200 Response", as stored in rosssaunders/coincise docs/gateio), verbatim,
 * followed by ccxt gate.js's documented legacy row for BCN (`withdraw_disabled: true`, no
 * `chains`) with a `chain` added so it names its network: the docs' own example has no
 * disabled chain.
 */
const DOCS_BODY = [
  {
    currency: 'GT',
    name: 'GateToken',
    delisted: false,
    withdraw_disabled: false,
    withdraw_delayed: false,
    deposit_disabled: false,
    trade_disabled: false,
    chain: 'GT',
    chains: [
      {
        name: 'GT',
        addr: '',
        withdraw_disabled: false,
        withdraw_delayed: false,
        deposit_disabled: false,
      },
      {
        name: 'ETH',
        withdraw_disabled: false,
        withdraw_delayed: false,
        deposit_disabled: false,
        addr: '0xE66747a101bFF2dBA3697199DCcE5b743b454759',
      },
      {
        name: 'GTEVM',
        withdraw_disabled: false,
        withdraw_delayed: false,
        deposit_disabled: false,
        addr: '',
      },
    ],
  },
  {
    currency: 'BCN',
    delisted: false,
    withdraw_disabled: true,
    withdraw_delayed: false,
    deposit_disabled: true,
    trade_disabled: false,
    chain: 'BCN',
  },
]

const base = { venue: 'gate', withdrawFee: undefined, withdrawMin: undefined, fetchedAtMs: NOW }
const source = 'GET /api/v4/spot/currencies'

describe('Gate transfer facts', () => {
  const track = stopAfterEach()

  test('the docs example parses per chain, contracts lower-cased on EVM chains', () => {
    const facts = parseGateCurrencies(DOCS_BODY, ['GT', 'BCN'], NOW)
    expect(facts).toEqual([
      {
        ...base,
        asset: 'GT',
        network: 'GT',
        venueNetwork: 'GT',
        depositEnabled: true,
        withdrawEnabled: true,
        contract: undefined,
        source,
      },
      {
        ...base,
        asset: 'GT',
        network: 'ETH',
        venueNetwork: 'ETH',
        depositEnabled: true,
        withdrawEnabled: true,
        contract: '0xe66747a101bff2dba3697199dcce5b743b454759',
        source,
      },
      {
        ...base,
        asset: 'GT',
        network: 'GTEVM',
        venueNetwork: 'GTEVM',
        depositEnabled: true,
        withdrawEnabled: true,
        contract: undefined,
        source,
      },
      {
        ...base,
        asset: 'BCN',
        network: 'BCN',
        venueNetwork: 'BCN',
        depositEnabled: false,
        withdrawEnabled: false,
        contract: undefined,
        source,
      },
    ])
    expect(parseGateCurrencies(DOCS_BODY, ['BTC'], NOW)).toEqual([])
    expect(() => parseGateCurrencies({ label: 'X' }, ['GT'], NOW)).toThrow(ParseError)
  })

  test('a chain without its own flag takes none from a multi-chain currency', () => {
    const body = [
      { currency: 'GT', withdraw_disabled: true, chains: [{ name: 'GT' }, { name: 'ETH' }] },
    ]
    const facts = parseGateCurrencies(body, ['GT'], NOW)
    expect(facts.map((f) => f.withdrawEnabled)).toEqual([undefined, undefined])
    expect(facts.map((f) => f.depositEnabled)).toEqual([undefined, undefined])
  })

  test('the simulated Gate serves every listed asset; a switched-off withdrawal shows', async () => {
    const sim = track(new SimGate([{ base: 'BTC', quote: 'USDT' }]))
    const opts = {
      fetch,
      signal: new AbortController().signal,
      assets: ['BTC', 'USDT'],
      nowMs: NOW,
    }
    const facts = await gate.transfers!.fetch(sim.restUrl, opts)
    expect(gate.transfers!.needsKey).toBe(false)
    expect(
      facts.map((f) => [f.asset, f.network, f.venueNetwork, f.withdrawEnabled, f.contract]),
    ).toEqual([
      ['BTC', 'BTC', 'BTC', true, undefined],
      ['USDT', 'ETH', 'ETH', true, '0xdac17f958d2ee523a2206206994597c13d831ec7'],
      ['USDT', 'TRX', 'TRX', true, 'TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t'],
    ])
    // Not given by this endpoint: undefined, never a guess.
    for (const f of facts) {
      expect(f.withdrawFee).toBeUndefined()
      expect(f.withdrawMin).toBeUndefined()
      expect(f.source).toBe(source)
    }
    sim.transfers.set('BTC', { withdraw: false })
    const after = await gate.transfers!.fetch(sim.restUrl, { ...opts, assets: ['BTC'] })
    expect(after.map((f) => [f.asset, f.withdrawEnabled, f.depositEnabled])).toEqual([
      ['BTC', false, true],
    ])
    expect(sim.transfers.requests).toBe(2)
  })
})
