/**
 * Kraken transfer facts (`GET /0/public/Assets`): a recorded body parses to one asset-level fact
 * per asset (network `*`, no fee, minimum or contract: Kraken gives none), and the simulated
 * venue serves the endpoint from its transfer state, faults included.
 */
import { describe, expect, test } from 'bun:test'
import { kraken } from '../../src/venues/kraken/index.ts'
import { ASSET_LEVEL_NETWORK, parseKrakenAssets } from '../../src/venues/kraken/transfers.ts'
import { makeBook } from '../../src/venues/sim/book.ts'
import { ExchangeError } from '../../src/venues/venue.ts'
import { stopAfterEach } from '../support.ts'

const track = stopAfterEach()
const NOW = 1_700_000_000_000

/**
 * Rows of a recorded Assets answer (quoted in ccxt kraken `fetchCurrencies`, node_modules/ccxt),
 * statuses as the Get Asset Info spec enumerates them (docs.kraken.com/api-reference/market-data/
 * get-asset-info); XETH and XXDG are given the two closed statuses no recorded row shows.
 */
const DOCS_EXAMPLE = {
  error: [],
  result: {
    ATOM: {
      aclass: 'currency',
      altname: 'ATOM',
      collateral_value: '0.7',
      decimals: 8,
      display_decimals: 6,
      status: 'enabled',
    },
    'ATOM.S': {
      aclass: 'currency',
      altname: 'ATOM.S',
      decimals: 8,
      display_decimals: 6,
      status: 'enabled',
    },
    XXBT: {
      aclass: 'currency',
      altname: 'XBT',
      decimals: 10,
      display_decimals: 5,
      status: 'enabled',
    },
    XETH: {
      aclass: 'currency',
      altname: 'ETH',
      decimals: 10,
      display_decimals: 5,
      status: 'deposit_only',
    },
    XXDG: {
      aclass: 'currency',
      altname: 'XDG',
      decimals: 8,
      display_decimals: 2,
      status: 'funding_temporarily_disabled',
    },
    LUNA: {
      aclass: 'currency',
      altname: 'LUNA',
      decimals: 8,
      display_decimals: 2,
      status: 'enabled',
    },
  },
}

const fact = (asset: string, key: string, deposit?: boolean, withdraw?: boolean) => ({
  venue: 'kraken',
  asset,
  network: ASSET_LEVEL_NETWORK,
  venueNetwork: key,
  depositEnabled: deposit,
  withdrawEnabled: withdraw,
  withdrawFee: undefined,
  withdrawMin: undefined,
  contract: undefined,
  fetchedAtMs: NOW,
  source: 'GET /0/public/Assets',
})

const opts = (assets: string[]) => ({
  fetch,
  signal: new AbortController().signal,
  assets,
  nowMs: NOW,
})

describe('Kraken transfers: the recorded body', () => {
  test('one asset-level fact per asset, Kraken codes mapped, variants and distinct codes left out', () => {
    const facts = parseKrakenAssets(
      DOCS_EXAMPLE,
      ['ATOM', 'BTC', 'ETH', 'DOGE', 'LUNA'],
      NOW,
      { XBT: 'BTC', XDG: 'DOGE' },
      { LUNA: 'Terra Classic' },
    )
    expect(facts).toEqual([
      fact('ATOM', 'ATOM', true, true),
      fact('BTC', 'XXBT', true, true),
      fact('ETH', 'XETH', true, false),
      fact('DOGE', 'XXDG', false, false),
    ])
  })

  test('an unknown or missing status is unknown, never open', () => {
    const body = { error: [], result: { XXBT: { altname: 'XBT', status: 'new_status' }, SOL: {} } }
    const facts = parseKrakenAssets(body, ['BTC', 'SOL'], NOW, { XBT: 'BTC' })
    expect(facts).toEqual([fact('BTC', 'XXBT'), fact('SOL', 'SOL')])
  })

  test("Kraken's error list is an ExchangeError, with a wait when it is the rate limit", () => {
    const limited = { error: ['EGeneral:Too many requests'] }
    expect(() => parseKrakenAssets(limited, ['BTC'], NOW)).toThrow(ExchangeError)
    try {
      parseKrakenAssets(limited, ['BTC'], NOW)
    } catch (err) {
      expect((err as ExchangeError).retryAfterMs).toBeGreaterThan(0)
    }
  })
})

describe('Kraken transfers: against the simulated venue', () => {
  const start = () =>
    track(kraken.simulate([{ base: 'BTC', quote: 'USD', book: makeBook(60000, 5, 0.1) }]))

  test('default facts (XBT is BTC), then a suspended withdrawal', async () => {
    const sim = start()
    const facts = await kraken.transfers!.fetch(sim.restUrl, opts(['BTC', 'USD']))
    expect(facts).toEqual([fact('BTC', 'XXBT', true, true), fact('USD', 'ZUSD', true, true)])
    sim.transfers.set('BTC', { withdraw: false })
    const again = await kraken.transfers!.fetch(sim.restUrl, opts(['BTC']))
    expect(again).toEqual([fact('BTC', 'XXBT', true, false)])
    expect(sim.transfers.requests).toBe(2)
  })
})
