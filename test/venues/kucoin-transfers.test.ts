/**
 * KuCoin transfer facts (`GET /api/v3/currencies`): KuCoin's own documented example parses to the
 * facts it states, and the simulated venue serves the endpoint from its transfer state, faults
 * included.
 */
import { describe, expect, test } from 'bun:test'
import { kucoin } from '../../src/venues/kucoin/index.ts'
import { parseKucoinCurrencies } from '../../src/venues/kucoin/transfers.ts'
import { makeBook } from '../../src/venues/sim/book.ts'
import { ExchangeError } from '../../src/venues/venue.ts'
import { stopAfterEach } from '../support.ts'

const track = stopAfterEach()
const NOW = 1_700_000_000_000

/**
 * The `data` of KuCoin's example for `GET /api/v3/currencies/BTC` (kucoin.com/docs/rest/
 * spot-trading/market-data/get-currency-detail, as stored), as one row of the list endpoint.
 */
const DOCS_EXAMPLE = {
  code: '200000',
  data: [
    {
      currency: 'BTC',
      name: 'BTC',
      fullName: 'Bitcoin',
      precision: 8,
      confirms: null,
      contractAddress: null,
      isMarginEnabled: true,
      isDebitEnabled: true,
      chains: [
        {
          chainName: 'BTC',
          withdrawalMinSize: '0.0008',
          withdrawalMinFee: '0.0005',
          isWithdrawEnabled: true,
          isDepositEnabled: true,
          confirms: 3,
          preConfirms: 1,
          contractAddress: '',
          chainId: 'btc',
        },
        {
          chainName: 'TRC20',
          withdrawalMinSize: '0.0005',
          withdrawalMinFee: '0.0001',
          isWithdrawEnabled: false,
          isDepositEnabled: false,
          confirms: 3,
          preConfirms: 3,
          contractAddress: 'TN3W4H6rK2ce4vX9YnFQHwKENnHjoxb3m9',
          chainId: 'trx',
        },
      ],
    },
  ],
}

const opts = (assets: string[]) => ({
  fetch,
  signal: new AbortController().signal,
  assets,
  nowMs: NOW,
})

describe('KuCoin transfers: the documented example', () => {
  test('parses each chain, a disabled one and a token contract included', () => {
    const facts = parseKucoinCurrencies(DOCS_EXAMPLE, ['BTC'], NOW)
    expect(facts).toEqual([
      {
        venue: 'kucoin',
        asset: 'BTC',
        network: 'BTC',
        venueNetwork: 'BTC',
        depositEnabled: true,
        withdrawEnabled: true,
        withdrawFee: 0.0005,
        withdrawMin: 0.0008,
        contract: undefined,
        fetchedAtMs: NOW,
        source: 'GET /api/v3/currencies',
      },
      {
        venue: 'kucoin',
        asset: 'BTC',
        network: 'TRX',
        venueNetwork: 'TRC20',
        depositEnabled: false,
        withdrawEnabled: false,
        withdrawFee: 0.0001,
        withdrawMin: 0.0005,
        contract: 'TN3W4H6rK2ce4vX9YnFQHwKENnHjoxb3m9',
        fetchedAtMs: NOW,
        source: 'GET /api/v3/currencies',
      },
    ])
  })

  test('only the assets asked for; aliases and distinct codes applied', () => {
    expect(parseKucoinCurrencies(DOCS_EXAMPLE, ['ETH'], NOW)).toEqual([])
    const wax = { code: '200000', data: [{ ...DOCS_EXAMPLE.data[0], currency: 'WAX' }] }
    expect(parseKucoinCurrencies(wax, ['WAXP'], NOW, { WAX: 'WAXP' })[0]?.asset).toBe('WAXP')
    const alt = { code: '200000', data: [{ ...DOCS_EXAMPLE.data[0], currency: 'ALT' }] }
    expect(parseKucoinCurrencies(alt, ['ALT'], NOW, {}, { ALT: 'not AltLayer' })).toEqual([])
  })

  test('a flag or amount KuCoin leaves out is undefined, never true', () => {
    const body = { code: '200000', data: [{ currency: 'BTC', chains: [{ chainName: 'BTC' }] }] }
    const [fact] = parseKucoinCurrencies(body, ['BTC'], NOW)
    expect(fact?.depositEnabled).toBeUndefined()
    expect(fact?.withdrawEnabled).toBeUndefined()
    expect(fact?.withdrawFee).toBeUndefined()
    expect(fact?.withdrawMin).toBeUndefined()
  })

  test('a body whose code is not 200000 is an ExchangeError', () => {
    expect(() => parseKucoinCurrencies({ code: '400100', msg: 'x' }, ['BTC'], NOW)).toThrow(
      ExchangeError,
    )
  })
})

describe('KuCoin transfers: against the simulated venue', () => {
  const start = () =>
    track(kucoin.simulate([{ base: 'BTC', quote: 'USDT', book: makeBook(60000, 5, 0.1) }]))

  test('default facts, then a suspended withdrawal', async () => {
    const sim = start()
    const facts = await kucoin.transfers!.fetch(sim.restUrl, opts(['BTC', 'USDT']))
    const btc = facts.find((f) => f.asset === 'BTC')
    expect(btc).toMatchObject({ network: 'BTC', depositEnabled: true, withdrawEnabled: true })
    expect(btc?.withdrawFee).toBe(0.0002)
    const usdt = facts.filter((f) => f.asset === 'USDT').map((f) => [f.network, f.contract])
    expect(usdt).toEqual([
      ['ETH', '0xdac17f958d2ee523a2206206994597c13d831ec7'],
      ['TRX', 'TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t'],
    ])
    sim.transfers.set('BTC', { withdraw: false })
    const again = await kucoin.transfers!.fetch(sim.restUrl, opts(['BTC']))
    expect(again.map((f) => f.withdrawEnabled)).toEqual([false])
    expect(again.map((f) => f.depositEnabled)).toEqual([true])
    expect(sim.transfers.requests).toBe(2)
  })

  test('a status fault is an ExchangeError with the wait KuCoin names', async () => {
    const sim = start()
    sim.transfers.faults.push({ kind: 'status', status: 429, retryAfterS: 7 })
    const err = await kucoin.transfers!.fetch(sim.restUrl, opts(['BTC'])).catch((e) => e)
    expect(err).toBeInstanceOf(ExchangeError)
    expect((err as ExchangeError).retryAfterMs).toBe(7000)
    sim.transfers.faults.push({ kind: 'status', status: 500 })
    const plain = await kucoin.transfers!.fetch(sim.restUrl, opts(['BTC'])).catch((e) => e)
    expect(plain).toBeInstanceOf(ExchangeError)
    expect((plain as ExchangeError).retryAfterMs).toBeUndefined()
  })

  test('public, and refreshed within the budget', () => {
    expect(kucoin.transfers?.needsKey).toBe(false)
    expect(kucoin.transfers!.refreshMs).toBeGreaterThanOrEqual(5 * 60_000)
    expect(kucoin.limits.rest.cost!(new URL('https://api.kucoin.com/api/v3/currencies'))).toBe(3)
  })
})
