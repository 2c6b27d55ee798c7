/**
 * Which spreads `/api/spreads` returns: search, kind, best route per market, sort and pages, over
 * rows like the detector's (cross, triangle and cross-quote routes, fresh and stale), and the 400s
 * for bad parameters.
 */
import { describe, expect, test } from 'bun:test'
import { selectSpreads } from '../../src/api/spreads.ts'
import { Books } from '../../src/book/books.ts'
import type { Detector, SpreadView } from '../../src/detector/detector.ts'
import { Store } from '../../src/db/store.ts'
import { openMemoryDb, silent, stopAfterEach, testApi } from '../support.ts'

const track = stopAfterEach()

function row(over: Partial<SpreadView> & Pick<SpreadView, 'symbol'>): SpreadView {
  return {
    kind: 'cross',
    buyVenue: 'binance',
    sellVenue: 'kraken',
    fresh: true,
    grossBps: 10,
    netBps: -10,
    depth: 'ok',
    sizeQuote: 1000,
    profitQuote: -1,
    maxSizeQuote: 0,
    maxProfitQuote: 0,
    buyPrice: 1,
    sellPrice: 1,
    feeBps: 20,
    buyAgeMs: 1,
    sellAgeMs: 1,
    openId: null,
    ...over,
  }
}

const ROWS: SpreadView[] = [
  row({ symbol: 'BTC/USDT', netBps: 5, grossBps: 25 }),
  row({ symbol: 'BTC/USDT', buyVenue: 'kraken', sellVenue: 'binance', netBps: -30, grossBps: -10 }),
  row({ symbol: 'ETH/USDT', netBps: 12, grossBps: 32, profitQuote: 1.2 }),
  // Stale: its net does not count, whatever it says.
  row({ symbol: 'SOL/USDT', fresh: false, netBps: 99, grossBps: 119 }),
  row({
    kind: 'triangle',
    symbol: 'USDT>BTC>ETH>USDT',
    buyVenue: 'okx',
    sellVenue: 'okx',
    netBps: 1,
    legs: [
      { venue: 'okx', market: 'BTC/USDT', side: 'buy', price: 60000 },
      { venue: 'okx', market: 'ETH/BTC', side: 'buy', price: 0.05 },
      { venue: 'okx', market: 'ETH/USDT', side: 'sell', price: 3000 },
    ],
  }),
  row({
    kind: 'cross-quote',
    symbol: 'XRP/USDT>XRP/USD',
    buyVenue: 'bybit',
    sellVenue: 'coinbase',
    netBps: 3,
    legs: [
      { venue: 'bybit', market: 'XRP/USDT', side: 'buy', price: 0.5 },
      { venue: 'coinbase', market: 'XRP/USD', side: 'sell', price: 0.51 },
      { venue: 'coinbase', market: 'USDT/USD', side: 'buy', price: 1 },
    ],
  }),
]

const names = (rows: readonly SpreadView[]) =>
  rows.map((r) => `${r.symbol} ${r.buyVenue}>${r.sellVenue}`)

describe('selectSpreads', () => {
  test('by default every route, best net first, stale and unpriced ones last', () => {
    const out = selectSpreads(ROWS, {})
    expect(out).toMatchObject({ total: 6, page: 1, limit: null })
    expect(names(out.spreads)).toEqual([
      'ETH/USDT binance>kraken',
      'BTC/USDT binance>kraken',
      'XRP/USDT>XRP/USD bybit>coinbase',
      'USDT>BTC>ETH>USDT okx>okx',
      'BTC/USDT kraken>binance',
      'SOL/USDT binance>kraken',
    ])
  })

  test('ascending keeps the rows without a figure last', () => {
    const out = selectSpreads(ROWS, { sort: 'net', order: 'asc' })
    expect(names(out.spreads)[0]).toBe('BTC/USDT kraken>binance')
    expect(names(out.spreads).at(-1)).toBe('SOL/USDT binance>kraken')
  })

  test('gross counts stale rows; symbol sorts by name, A-Z first', () => {
    expect(names(selectSpreads(ROWS, { sort: 'gross' }).spreads)[0]).toBe('SOL/USDT binance>kraken')
    expect(selectSpreads(ROWS, { sort: 'symbol' }).spreads.map((r) => r.symbol)).toEqual([
      'BTC/USDT',
      'BTC/USDT',
      'ETH/USDT',
      'SOL/USDT',
      'USDT>BTC>ETH>USDT',
      'XRP/USDT>XRP/USD',
    ])
    expect(selectSpreads(ROWS, { sort: 'symbol', order: 'desc' }).spreads[0]!.symbol).toBe(
      'XRP/USDT>XRP/USD',
    )
  })

  test('the search matches every word in the market, kind, venues and legs, any case', () => {
    const q = (text: string) => names(selectSpreads(ROWS, { q: text }).spreads)
    expect(q('eth')).toEqual(['ETH/USDT binance>kraken', 'USDT>BTC>ETH>USDT okx>okx'])
    expect(q('btcusdt kraken')).toEqual(['BTC/USDT binance>kraken', 'BTC/USDT kraken>binance'])
    expect(q('btc-usdt okx')).toEqual(['USDT>BTC>ETH>USDT okx>okx'])
    // A leg's venue and market count.
    expect(q('usdt/usd')).toEqual(['XRP/USDT>XRP/USD bybit>coinbase'])
    expect(q('cross-quote')).toEqual(['XRP/USDT>XRP/USD bybit>coinbase'])
    expect(q('doge')).toEqual([])
  })

  test('kind, one best route per market, and pages', () => {
    expect(selectSpreads(ROWS, { kind: 'triangle' }).total).toBe(1)
    const best = selectSpreads(ROWS, { group: 'symbol' })
    expect(best.total).toBe(5)
    expect(names(best.spreads)).toContain('BTC/USDT binance>kraken')
    expect(names(best.spreads)).not.toContain('BTC/USDT kraken>binance')
    const page2 = selectSpreads(ROWS, { limit: 4, page: 2 })
    expect(page2).toMatchObject({ total: 6, page: 2, limit: 4 })
    expect(names(page2.spreads)).toEqual(['BTC/USDT kraken>binance', 'SOL/USDT binance>kraken'])
    expect(selectSpreads(ROWS, { limit: 4, page: 3 }).spreads).toEqual([])
  })
})

describe('GET /api/spreads parameters', () => {
  async function get(path: string) {
    const handle = await openMemoryDb(track)
    const detector = { spreads: (size: number) => ROWS.map((r) => ({ ...r, sizeQuote: size })) }
    const app = testApi({
      books: new Books(),
      detector: detector as unknown as Detector,
      store: new Store({ db: handle.db, log: silent }),
    })
    const res = await app.request(`http://localhost${path}`)
    return { status: res.status, body: (await res.json()) as any }
  }

  test('search, sort and page; the size as before', async () => {
    const { status, body } = await get('/api/spreads?size=500&q=btc&sort=net&limit=1&page=2')
    expect(status).toBe(200)
    expect(body).toMatchObject({ sizeQuote: 500, total: 3, page: 2, limit: 1 })
    expect(body.spreads).toHaveLength(1)
    expect(body.spreads[0]).toMatchObject({ symbol: 'USDT>BTC>ETH>USDT', sizeQuote: 500 })
    const all = await get('/api/spreads')
    expect(all.body).toMatchObject({ total: 6, limit: null })
    expect(all.body.spreads).toHaveLength(6)
  })

  test.each([
    ['sort=best', 'sort must be one of net, gross, profit, maxSize, symbol'],
    ['order=up', 'order must be asc or desc'],
    ['limit=0', 'limit must be a whole number from 1 to 500'],
    ['page=-1', 'page must be a whole number from 1'],
    ['group=venue', 'group must be symbol'],
    ['kind=square', 'kind must be cross, triangle or cross-quote'],
    [`q=${'x'.repeat(101)}`, 'q is too long'],
  ])('?%s is a 400 that says what is wrong', async (query, message) => {
    const { status, body } = await get(`/api/spreads?${query}`)
    expect(status).toBe(400)
    expect(body.error).toContain(message)
  })
})
