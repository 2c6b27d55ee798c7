/**
 * Bitstamp transfer facts (`GET /api/v2/currencies/`): a body of Bitstamp's CurrencySchema parses
 * to one asset-level fact per currency (network `*`, no fee, minimum or contract: the schema gives
 * none), and the simulated venue serves the endpoint from its transfer state, faults included.
 */
import { describe, expect, test } from 'bun:test'
import { bitstamp } from '../../src/venues/bitstamp/index.ts'
import {
  ASSET_LEVEL_NETWORK,
  parseBitstampCurrencies,
} from '../../src/venues/bitstamp/transfers.ts'
import { makeBook } from '../../src/venues/sim/book.ts'
import { ParseError } from '../../src/venues/venue.ts'
import { stopAfterEach } from '../support.ts'

const track = stopAfterEach()
const NOW = 1_700_000_000_000

/**
 * Rows with exactly the fields of Bitstamp's CurrencySchema (name, currency, type, symbol,
 * decimals, logo, available_supply, deposit, withdrawal: the OpenAPI of bitstamp.net/api as
 * generated in Lolztech/CryptoCave bitstamp-api-client/docs/CurrencySchema.md@a15b504). No stored
 * page shows a filled-in example, so the values are ours; `deposit`/`withdrawal` take the
 * `Enabled`/`Disabled` of Bitstamp's other status fields (`trading` in trading-pairs-info).
 */
const DOCS_EXAMPLE = [
  {
    name: 'Bitcoin',
    currency: 'BTC',
    type: 'crypto',
    symbol: '₿',
    decimals: 8,
    logo: 'https://www.bitstamp.net/s/icons/btc.svg',
    available_supply: '19800000',
    deposit: 'Enabled',
    withdrawal: 'Enabled',
  },
  {
    name: 'Tether',
    currency: 'USDT',
    type: 'crypto',
    symbol: 'USDT',
    decimals: 6,
    logo: 'https://www.bitstamp.net/s/icons/usdt.svg',
    available_supply: '100000000000',
    deposit: 'Enabled',
    withdrawal: 'Disabled',
  },
  {
    name: 'US Dollar',
    currency: 'USD',
    type: 'fiat',
    symbol: '$',
    decimals: 2,
    available_supply: '',
  },
  {
    name: 'TerraClassicUSD',
    currency: 'UST',
    type: 'crypto',
    symbol: 'UST',
    decimals: 8,
    deposit: 'Enabled',
  },
]

const fact = (asset: string, deposit?: boolean, withdraw?: boolean) => ({
  venue: 'bitstamp',
  asset,
  network: ASSET_LEVEL_NETWORK,
  venueNetwork: asset,
  depositEnabled: deposit,
  withdrawEnabled: withdraw,
  withdrawFee: undefined,
  withdrawMin: undefined,
  contract: undefined,
  fetchedAtMs: NOW,
  source: 'GET /api/v2/currencies/',
})

const opts = (assets: string[]) => ({
  fetch,
  signal: new AbortController().signal,
  assets,
  nowMs: NOW,
})

describe('Bitstamp transfers: the schema body', () => {
  test('one asset-level fact per crypto currency; fiat and distinct codes left out', () => {
    const facts = parseBitstampCurrencies(
      DOCS_EXAMPLE,
      ['BTC', 'USDT', 'USD', 'UST'],
      NOW,
      {},
      {
        UST: 'TerraClassicUSD',
      },
    )
    expect(facts).toEqual([fact('BTC', true, true), fact('USDT', true, false)])
  })

  test('a status Bitstamp leaves out is unknown, never open', () => {
    const [only] = parseBitstampCurrencies([{ currency: 'ETH', type: 'crypto' }], ['ETH'], NOW)
    expect(only).toEqual(fact('ETH'))
  })

  test('a body that is not a list is a ParseError', () => {
    expect(() => parseBitstampCurrencies({ status: 'error' }, ['BTC'], NOW)).toThrow(ParseError)
  })
})

describe('Bitstamp transfers: against the simulated venue', () => {
  const start = () =>
    track(bitstamp.simulate([{ base: 'BTC', quote: 'USD', book: makeBook(60000, 5, 0.1) }]))

  test('default facts, then a suspended withdrawal', async () => {
    const sim = start()
    const facts = await bitstamp.transfers!.fetch(sim.restUrl, opts(['BTC', 'USD']))
    expect(facts).toEqual([fact('BTC', true, true)])
    sim.transfers.set('BTC', { withdraw: false })
    const again = await bitstamp.transfers!.fetch(sim.restUrl, opts(['BTC']))
    expect(again).toEqual([fact('BTC', true, false)])
    expect(sim.transfers.requests).toBe(2)
  })
})
