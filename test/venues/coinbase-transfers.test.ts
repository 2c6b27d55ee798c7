/**
 * Coinbase transfer facts (the Exchange API's `GET /currencies`): a recorded body parses to the
 * facts it states, the currency list is asked on the Exchange host unless the restUrl is
 * overridden, and the simulated venue serves the endpoint from its transfer state, faults included.
 */
import { describe, expect, test } from 'bun:test'
import { coinbase } from '../../src/venues/coinbase/index.ts'
import { currenciesUrl, parseCoinbaseCurrencies } from '../../src/venues/coinbase/transfers.ts'
import { makeBook } from '../../src/venues/sim/book.ts'
import { stopAfterEach } from '../support.ts'

const track = stopAfterEach()
const NOW = 1_700_000_000_000

/**
 * Coinbase's own `apiCurrency` example (USD, fiat: coinbase-samples/exchange-sdk-ts
 * apiSpec/exchange-spec.json@d8b848a), and the USDT row of a recorded `/currencies` answer
 * (quoted in ccxt coinbaseexchange `fetchCurrencies`, node_modules/ccxt); LINK is that row again
 * with its network's `status` set to `offline`, for the closed case no example shows.
 */
const USDT = {
  id: 'USDT',
  name: 'Tether',
  min_size: '0.000001',
  status: 'online',
  message: '',
  max_precision: '0.000001',
  convertible_to: [],
  details: {
    type: 'crypto',
    symbol: null,
    network_confirmations: 14,
    sort_order: 0,
    crypto_address_link:
      'https://etherscan.io/token/0xdac17f958d2ee523a2206206994597c13d831ec7?a={{address}}',
    crypto_transaction_link: 'https://etherscan.io/tx/0x{{txId}}',
    push_payment_methods: [],
    group_types: [],
    display_name: null,
    processing_time_seconds: null,
    min_withdrawal_amount: 0.000001,
    max_withdrawal_amount: 20000000,
  },
  default_network: 'ethereum',
  supported_networks: [
    {
      id: 'ethereum',
      name: 'Ethereum',
      status: 'online',
      contract_address: '0xdac17f958d2ee523a2206206994597c13d831ec7',
      crypto_address_link:
        'https://etherscan.io/token/0xdac17f958d2ee523a2206206994597c13d831ec7?a={{address}}',
      crypto_transaction_link: 'https://etherscan.io/tx/0x{{txId}}',
      min_withdrawal_amount: 0.000001,
      max_withdrawal_amount: 20000000,
      network_confirmations: 14,
      processing_time_seconds: null,
    },
  ],
  display_name: 'USDT',
}
const DOCS_EXAMPLE = [
  {
    id: 'USD',
    name: 'United States Dollar',
    min_size: '0.01',
    max_precision: '0.01',
    status: 'online',
    details: {
      type: 'fiat',
      symbol: '$',
      sort_order: 1,
      push_payment_methods: ['bank_wire', 'fedwire', 'swift_bank_account', 'intra_bank_account'],
      display_name: 'US Dollar',
      group_types: ['fiat', 'usd'],
    },
  },
  USDT,
  {
    ...USDT,
    id: 'LINK',
    supported_networks: [{ ...USDT.supported_networks[0]!, status: 'offline' }],
  },
]

const opts = (assets: string[]) => ({
  fetch,
  signal: new AbortController().signal,
  assets,
  nowMs: NOW,
})

describe('Coinbase transfers: the recorded body', () => {
  test('one fact per network: open, closed, the token contract, no fee', () => {
    const facts = parseCoinbaseCurrencies(DOCS_EXAMPLE, ['USD', 'USDT', 'LINK'], NOW)
    const open = {
      venue: 'coinbase',
      asset: 'USDT',
      network: 'ETH',
      venueNetwork: 'ethereum',
      depositEnabled: true,
      withdrawEnabled: true,
      withdrawFee: undefined,
      withdrawMin: 0.000001,
      contract: '0xdac17f958d2ee523a2206206994597c13d831ec7',
      fetchedAtMs: NOW,
      source: 'GET /currencies',
    }
    const closed = { ...open, asset: 'LINK', depositEnabled: false, withdrawEnabled: false }
    expect(facts).toEqual([open, closed])
  })

  test('a network without a status is unknown, never open', () => {
    const body = [{ ...USDT, supported_networks: [{ id: 'avacchain', name: 'Avalanche' }] }]
    const [fact] = parseCoinbaseCurrencies(body, ['USDT'], NOW)
    expect(fact).toMatchObject({ network: 'AVAXC', venueNetwork: 'avacchain' })
    expect(fact?.depositEnabled).toBeUndefined()
    expect(fact?.withdrawEnabled).toBeUndefined()
    expect(fact?.withdrawMin).toBeUndefined()
  })

  test('production asks the Exchange host; an override is asked itself', () => {
    expect(currenciesUrl(coinbase.endpoints.restUrl)).toBe(
      'https://api.exchange.coinbase.com/currencies',
    )
    expect(currenciesUrl('http://127.0.0.1:4000')).toBe('http://127.0.0.1:4000/currencies')
  })
})

describe('Coinbase transfers: against the simulated venue', () => {
  const start = () =>
    track(coinbase.simulate([{ base: 'BTC', quote: 'USDT', book: makeBook(60000, 5, 0.1) }]))

  test('default facts, then a suspended withdrawal', async () => {
    const sim = start()
    const facts = await coinbase.transfers!.fetch(sim.restUrl, opts(['BTC', 'USDT']))
    const btc = facts.find((f) => f.asset === 'BTC')
    expect(btc).toMatchObject({ network: 'BTC', venueNetwork: 'bitcoin', withdrawEnabled: true })
    expect(btc?.withdrawFee).toBeUndefined()
    expect(facts.filter((f) => f.asset === 'USDT').map((f) => [f.network, f.contract])).toEqual([
      ['ETH', '0xdac17f958d2ee523a2206206994597c13d831ec7'],
      ['TRX', 'TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t'],
    ])
    sim.transfers.set('BTC', { withdraw: false })
    const again = await coinbase.transfers!.fetch(sim.restUrl, opts(['BTC']))
    expect(again.map((f) => f.withdrawEnabled)).toEqual([false])
    expect(sim.transfers.requests).toBe(2)
  })
})
