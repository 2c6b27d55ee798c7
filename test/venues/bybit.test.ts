import { describe, expect, test } from 'bun:test'
import { bybitFeed } from '../../bench/venue-feed.ts'
import { createFastParser } from '../../src/venues/bybit/fast.ts'
import { BYBIT_TOPICS, createJsonParser } from '../../src/venues/bybit/index.ts'
import { expectSameAsJsonPath, variantsOf } from './fast-path.ts'
import { Books } from '../../src/book/books.ts'
import { applySnapshot, applyUpdate } from '../../src/book/sync.ts'
import { bybit } from '../../src/venues/bybit/index.ts'
import { SimBybit, topicOf, topTopicOf } from '../../src/venues/bybit/sim.ts'
import { makeBook, SimBook, type Row } from '../../src/venues/sim/book.ts'
import type { SimMarket } from '../../src/venues/sim/venue.ts'
import { ExchangeError, ParseError, type VenueEvent } from '../../src/venues/venue.ts'
import { allLive, bookWhere, readLines, rows, useFeeds } from '../support.ts'
import type { Feed, FeedOptions } from '../support.ts'

const FIX = `${import.meta.dir}/../fixtures/bybit`

const feeds = useFeeds()

const MARKETS = (): SimMarket[] => [
  { base: 'BTC', quote: 'USDT', book: makeBook(60000, 20, 0.1) },
  { base: 'ETH', quote: 'USDT', book: makeBook(3000, 20, 0.01) },
  // Listed as PreLaunch: not trading yet.
  { base: 'SOL', quote: 'USDT', trading: false, book: makeBook(150) },
]

function simFeed(pairs = ['BTC/USDT', 'ETH/USDT'], options: FeedOptions = {}) {
  const sim = feeds.sim(new SimBybit(MARKETS()))
  const feed = feeds.start(bybit, sim, pairs, options)
  return { sim, feed }
}

/** The local book equals what the venue shows (its top 50), level by level. */
function expectSame(f: Feed, s: SimBybit, pair: string): void {
  const e = f.entry(pair)
  expect(rows(e.book.bids)).toEqual(s.book(pair).topBids(50))
  expect(rows(e.book.asks)).toEqual(s.book(pair).topAsks(50))
}

/** The client's current socket id (the sim numbers connections from 1). */
const lastClient = (s: SimBybit) => Math.max(...[...s.server.clients].map((c) => c.data.id))

// ---------------------------------------------------------------------------------------------
// The legacy 2021 capture (orderBookL2_25, id-keyed levels) re-encoded as v5 frames.

interface LegacyLevel {
  price: string
  symbol: string
  id: string | number
  side: 'Buy' | 'Sell'
  size?: number
}
interface LegacyFrame {
  topic: string
  type: 'snapshot' | 'delta'
  data:
    | LegacyLevel[]
    | { order_book: LegacyLevel[] }
    | { delete: LegacyLevel[]; update: LegacyLevel[]; insert: LegacyLevel[] }
  cross_seq: number | string
  timestamp_e6: number | string
}

const LEGACY_PREFIX = 'orderBookL2_25.'

async function loadLegacy(file: string, symbols: readonly string[]): Promise<LegacyFrame[]> {
  const lines = await readLines(`${FIX}/${file}.frames.jsonl`)
  return lines
    .map((l) => JSON.parse(l) as LegacyFrame)
    .filter((m) => m.topic?.startsWith(LEGACY_PREFIX))
    .filter((m) => symbols.includes(m.topic.slice(LEGACY_PREFIX.length)))
}

const snapshotLevels = (m: LegacyFrame): LegacyLevel[] =>
  Array.isArray(m.data) ? m.data : (m.data as { order_book: LegacyLevel[] }).order_book

/**
 * One legacy frame as the v5 frame carrying the same price changes: [price, size] rows per side,
 * deletes as size '0' (in the legacy order: deletes, updates, inserts).
 */
function toV5(m: LegacyFrame, u: number): string {
  const symbol = m.topic.slice(LEGACY_PREFIX.length)
  const b: Row[] = []
  const a: Row[] = []
  const put = (l: LegacyLevel, size: string) => (l.side === 'Buy' ? b : a).push([l.price, size])
  if (m.type === 'snapshot') {
    for (const l of snapshotLevels(m)) put(l, String(l.size))
  } else {
    const d = m.data as { delete: LegacyLevel[]; update: LegacyLevel[]; insert: LegacyLevel[] }
    for (const l of d.delete) put(l, '0')
    for (const l of d.update) put(l, String(l.size))
    for (const l of d.insert) put(l, String(l.size))
  }
  const ts = Math.floor(Number(m.timestamp_e6) / 1000)
  const data = { s: symbol, b, a, u, seq: Number(m.cross_seq) }
  return JSON.stringify({ topic: topicOf(symbol), ts, type: m.type, data, cts: ts - 1 })
}

/**
 * The reference: the legacy book kept the legacy way, by level id (sizes and sides looked up by
 * id), checked for consistency as it goes, and rendered as a SimBook after every frame.
 */
function legacyReference(frames: LegacyFrame[]): { bids: Row[]; asks: Row[] }[] {
  const byId = new Map<string, { side: string; price: string; size: string }>()
  const states: { bids: Row[]; asks: Row[] }[] = []
  for (const m of frames) {
    if (m.type === 'snapshot') {
      byId.clear()
      for (const l of snapshotLevels(m)) {
        byId.set(String(l.id), { side: l.side, price: l.price, size: String(l.size) })
      }
    } else {
      const d = m.data as { delete: LegacyLevel[]; update: LegacyLevel[]; insert: LegacyLevel[] }
      for (const l of d.delete) {
        if (!byId.delete(String(l.id))) throw new Error(`delete of unknown id ${l.id}`)
      }
      for (const l of d.update) {
        const old = byId.get(String(l.id))
        if (!old) throw new Error(`update of unknown id ${l.id}`)
        byId.set(String(l.id), { side: l.side ?? old.side, price: old.price, size: String(l.size) })
      }
      for (const l of d.insert) {
        if (byId.has(String(l.id))) throw new Error(`insert of existing id ${l.id}`)
        byId.set(String(l.id), { side: l.side, price: l.price, size: String(l.size) })
      }
    }
    const book = new SimBook()
    for (const { side, price, size } of byId.values()) {
      if (side === 'Buy') book.bids.set(price, size)
      else book.asks.set(price, size)
    }
    states.push({ bids: book.topBids(), asks: book.topAsks() })
  }
  return states
}

describe('bybit: recorded capture (legacy orderBookL2_25 re-encoded as v5 orderbook.50)', () => {
  test('replays four captured books and matches the id-keyed reference after every message', async () => {
    const sources = [
      { file: 'BYBIT_ws_25_0', symbols: ['ETHUSDT', 'LTCUSDT'] },
      { file: 'BYBIT_ws_26_0', symbols: ['BTCUSD', 'EOSUSD'] },
    ]
    // The legacy derivatives symbols presented as spot-like instruments, for this replay only.
    const markets = [
      { symbol: 'ETHUSDT', base: 'ETH', quote: 'USDT', pair: 'ETH/USDT' },
      { symbol: 'LTCUSDT', base: 'LTC', quote: 'USDT', pair: 'LTC/USDT' },
      { symbol: 'BTCUSD', base: 'BTC', quote: 'USD', pair: 'BTC/USD' },
      { symbol: 'EOSUSD', base: 'EOS', quote: 'USD', pair: 'EOS/USD' },
    ]
    const v5: string[] = []
    const expected = new Map<string, { bids: Row[]; asks: Row[] }[]>()
    for (const { file, symbols } of sources) {
      const legacy = await loadLegacy(file, symbols)
      for (const symbol of symbols) {
        const mine = legacy.filter((m) => m.topic === LEGACY_PREFIX + symbol)
        expect(mine[0]!.type).toBe('snapshot')
        expect(mine.filter((m) => m.type === 'snapshot').length).toBe(1)
        expected.set(markets.find((m) => m.symbol === symbol)!.pair, legacyReference(mine))
      }
      // u rises by one per message of a topic, as on the live feed.
      const u = new Map<string, number>()
      for (const m of legacy) {
        const symbol = m.topic.slice(LEGACY_PREFIX.length)
        u.set(symbol, (u.get(symbol) ?? 100) + 1)
        v5.push(toV5(m, u.get(symbol)!))
      }
    }
    // Under the subscribed depth at every step, so the 50-level truncation never bites.
    for (const states of expected.values()) {
      expect(
        Math.max(...states.map((s) => Math.max(s.bids.length, s.asks.length))),
      ).toBeLessThanOrEqual(50)
    }

    const sim = feeds.sim(new SimBybit(markets))
    sim.autoSnapshot = false
    const seen = new Map<string, number>()
    const mismatches: string[] = []
    const pairs = markets.map((m) => m.pair)
    const feed = feeds.start(bybit, sim, pairs)
    feed.books.events.on((ev) => {
      if (ev.type !== 'update') return
      const e = ev.entry
      const i = seen.get(e.pair) ?? 0
      seen.set(e.pair, i + 1)
      const want = expected.get(e.pair)![i]
      const got = { bids: rows(e.book.bids), asks: rows(e.book.asks) }
      if (mismatches.length < 3 && !Bun.deepEquals(got, want))
        mismatches.push(`${e.pair} message ${i}`)
    })
    await sim.server.waitFor(() => sim.topics.get(1)?.size === 8, 3000, 'eight subscriptions')
    expect(sim.requests('subscribe')).toHaveLength(1)
    expect(sim.requests('subscribe')[0]!.args).toEqual(
      markets.flatMap((m) => [topicOf(m.symbol), topTopicOf(m.symbol)]),
    )
    sim.replay(v5)
    for (const m of markets) {
      const all = (e: { updates: number }) => e.updates === expected.get(m.pair)!.length
      await bookWhere(feed, m.pair, all, 5000, `every replayed ${m.pair} message applied`)
    }

    expect(mismatches).toEqual([])
    for (const m of markets) {
      const e = feed.entry(m.pair)
      const last = expected.get(m.pair)!.at(-1)!
      expect(rows(e.book.bids)).toEqual(last.bids)
      expect(rows(e.book.asks)).toEqual(last.asks)
      expect(e.state).toBe('live')
      expect(e.resyncs).toBe(0)
    }
    expect(expected.get('LTC/USDT')!.length).toBeGreaterThan(600)
    expect(expected.get('BTC/USD')!.length).toBeGreaterThan(500)
    const lastBtc = JSON.parse(v5.findLast((f) => f.includes('"s":"BTCUSD"'))!) as { ts: number }
    expect(feed.entry('BTC/USD').exchangeTsMs).toBe(lastBtc.ts)
    expect(feed.conn.stats.errors).toEqual({})
  })
})

describe('bybit: frames and parser', () => {
  const markets = new Map([['BTCUSDT', 'BTC/USDT']])

  test('parses the delta example published in the v5 orderbook docs, chaining u - 1 to u', () => {
    const doc = {
      topic: 'orderbook.50.BTCUSDT',
      type: 'delta',
      ts: 1687940967466,
      data: {
        s: 'BTCUSDT',
        b: [
          ['30247.20', '30.028'],
          ['30245.40', '0.224'],
          ['30242.10', '1.593'],
          ['30240.30', '1.305'],
          ['30240.00', '0'],
        ],
        a: [
          ['30248.70', '0'],
          ['30249.30', '0.892'],
          ['30249.50', '1.778'],
          ['30249.60', '0'],
          ['30251.90', '2.947'],
          ['30252.20', '0.659'],
          ['30252.50', '4.591'],
        ],
        u: 177400507,
        seq: 66544703342,
      },
      cts: 1687940967464,
    }
    const [ev] = bybit.createParser(markets)(JSON.stringify(doc), 0)
    if (ev?.type !== 'delta') throw new Error(`expected a delta, got ${JSON.stringify(ev)}`)
    expect(ev.pair).toBe('BTC/USDT')
    expect(ev.exchangeTsMs).toBe(1687940967466)
    expect([ev.prevSeq, ev.seq]).toEqual([177400506, 177400507])
    expect(rows(ev.bids)).toEqual(doc.data.b as Row[])
    expect(rows(ev.asks)).toEqual(doc.data.a as Row[])
    expect(ev.bids[4]!.qty).toBe(0)
    const snap = bybit.createParser(markets)(JSON.stringify({ ...doc, type: 'snapshot' }), 0)[0]
    expect(snap).toMatchObject({ type: 'snapshot', seq: 177400507 })
    const restart = { ...doc, type: 'snapshot', data: { ...doc.data, u: 1 } }
    expect(bybit.createParser(markets)(JSON.stringify(restart), 0)[0]).toMatchObject({ seq: 1 })
  })

  test('acks and pongs are info; rejections are venue errors tied to their book', () => {
    const parse = bybit.createParser(markets)
    const one = (o: unknown): VenueEvent => parse(JSON.stringify(o), 0)[0]!
    const ack = { success: true, ret_msg: 'subscribe', conn_id: 'c', op: 'subscribe' }
    expect(one(ack)).toEqual({ type: 'info' })
    expect(one({ success: true, ret_msg: '', conn_id: 'c', op: 'unsubscribe' })).toEqual({
      type: 'info',
    })
    expect(one({ success: true, ret_msg: 'pong', conn_id: 'c', op: 'ping' })).toEqual({
      type: 'info',
    })
    const already = 'error:already subscribed,topic:orderbook.50.BTCUSDT'
    expect(one({ success: false, ret_msg: already, op: 'subscribe' })).toEqual({
      type: 'venue-error',
      pair: 'BTC/USDT',
      message: `subscribe failed: ${already}`,
    })
    const byReqId = {
      success: false,
      ret_msg: 'boom',
      req_id: 'orderbook.50.BTCUSDT',
      op: 'subscribe',
    }
    expect(one(byReqId)).toMatchObject({ pair: 'BTC/USDT' })
    expect(
      one({
        success: false,
        ret_msg: 'error:args size >10',
        req_id: 'subscribe-0',
        op: 'subscribe',
      }),
    ).toEqual({ type: 'venue-error', message: 'subscribe failed: error:args size >10' })
    expect(one({ success: true, ret_msg: '', op: 'auth' })).toEqual({
      type: 'unknown',
      what: 'op auth',
    })
  })

  test('other topics and symbols are unknown; a book push that cannot be placed is rejected', () => {
    const parse = bybit.createParser(markets)
    const one = (o: unknown): VenueEvent => parse(JSON.stringify(o), 0)[0]!
    expect(one({ topic: 'publicTrade.BTCUSDT', type: 'snapshot', ts: 1, data: [] })).toEqual({
      type: 'unknown',
      what: 'topic publicTrade.BTCUSDT',
    })
    // A level-1 push is a top only once the book's own pushes carry a cross sequence.
    const level1 = { s: 'BTCUSDT', b: [['1.00', '1']], a: [], u: 5, seq: 9 }
    expect(one({ topic: 'orderbook.1.BTCUSDT', type: 'snapshot', data: level1 }).type).toBe('info')
    expect(one({ topic: 'orderbook.1.ETHUSDT', type: 'snapshot', data: level1 }).type).toBe(
      'unknown',
    )
    const doge = {
      topic: 'orderbook.50.DOGEUSDT',
      type: 'delta',
      data: { s: 'DOGEUSDT', b: [], a: [], u: 5 },
    }
    expect(one(doge).type).toBe('unknown')
    expect(() => parse('[1,2]', 0)).toThrow('not an object')
    const thrown = (o: unknown): unknown => {
      try {
        parse(JSON.stringify(o), 0)
      } catch (err) {
        return err
      }
      throw new Error(`parsed ${JSON.stringify(o)}`)
    }
    const book = (type: string, data: object) => ({ topic: 'orderbook.50.BTCUSDT', type, data })
    const ok = { s: 'BTCUSDT', b: [['59999.01', '1.0']], a: [], u: 7 }
    // An unknown type, another symbol's data, a missing u: the book cannot trust what follows.
    for (const bad of [
      book('patch', ok),
      book('delta', { ...ok, s: 'ETHUSDT' }),
      book('delta', { ...ok, u: undefined }),
    ]) {
      expect(thrown(bad)).toMatchObject({ kind: 'bad-message', pair: 'BTC/USDT' })
    }
    for (const level of [
      ['-1.00', '1.0'],
      ['abc', '1.0'],
      ['60000.00', '-5'],
      ['1e5', '1.0'],
    ]) {
      const err = thrown(book('delta', { ...ok, b: [['59999.01', '1.0'], level] }))
      expect(err).toBeInstanceOf(ParseError)
      expect(err).toMatchObject({ kind: 'bad-level', pair: 'BTC/USDT' })
    }
  })

  test('subscribes at most 10 topics per frame; resubscribe is unsubscribe + subscribe', () => {
    const natives = Array.from({ length: 23 }, (_, i) => `C${i}USDT`)
    const frames = bybit
      .subscribe(natives)
      .map((f) => JSON.parse(f) as { op: string; args: string[]; req_id: string })
    // Two topics per market (the book and its level-1 top) count against the 10.
    expect(frames.map((f) => f.args.length)).toEqual([10, 10, 10, 10, 6])
    expect(frames.every((f) => f.op === 'subscribe' && typeof f.req_id === 'string')).toBe(true)
    expect(frames.flatMap((f) => f.args)).toEqual(
      natives.flatMap((n) => [`orderbook.50.${n}`, `orderbook.1.${n}`]),
    )
    const both = ['orderbook.50.BTCUSDT', 'orderbook.1.BTCUSDT']
    expect(bybit.resubscribe!('BTCUSDT').map((f) => JSON.parse(f) as unknown)).toEqual([
      { req_id: 'orderbook.50.BTCUSDT', op: 'unsubscribe', args: both },
      { req_id: 'orderbook.50.BTCUSDT', op: 'subscribe', args: both },
    ])
    expect(JSON.parse(bybit.ping!())).toMatchObject({ op: 'ping' })
    const spot = 'wss://stream.bybit.com/v5/public/spot'
    expect(bybit.wsUrl(spot, natives)).toBe(spot)
  })
})

describe('bybit: markets', () => {
  test('lists Trading instruments by base/quote coin; reports unlisted; USD is not USDT', async () => {
    const sim = feeds.sim(
      new SimBybit(
        [...MARKETS(), { base: 'ABC', quote: 'USDC', book: makeBook(20) }],
        // The symbol string is not split: the pair comes from baseCoin/quoteCoin.
        { symbols: { 'ABC/USDC': 'XYZ1USDC' } },
      ),
    )
    const pairs = ['BTC/USDT', 'BTC/USD', 'SOL/USDT', 'ABC/USDC', 'DOGE/USDT']
    const feed = feeds.start(bybit, sim, pairs)
    const listed = await feed.conn.events.next('listed')
    expect(listed.unlisted).toEqual(['BTC/USD', 'SOL/USDT', 'DOGE/USDT'])
    expect([...listed.markets]).toEqual([
      ['BTC/USDT', 'BTCUSDT'],
      ['ABC/USDC', 'XYZ1USDC'],
    ])
    expect(sim.server.requests).toEqual(['/v5/market/instruments-info?category=spot'])
    await bookWhere(feed, 'ABC/USDC')
  })

  test('follows nextPageCursor when the list comes in pages', async () => {
    const sim = feeds.sim(new SimBybit(MARKETS()))
    sim.pageSize = 1
    const listed = await bybit.listMarkets(sim.restUrl, {
      fetch,
      signal: new AbortController().signal,
    })
    expect([...listed]).toEqual([
      ['BTC/USDT', 'BTCUSDT'],
      ['ETH/USDT', 'ETHUSDT'],
    ])
    expect(sim.server.requests).toHaveLength(3)
  })

  test('a non-zero retCode is an error; discovery retries until the list comes', async () => {
    const sim = feeds.sim(new SimBybit(MARKETS()))
    sim.instrumentsRetCode = 10016
    const opts = { fetch, signal: new AbortController().signal }
    await expect(bybit.listMarkets(sim.restUrl, opts)).rejects.toBeInstanceOf(ExchangeError)
    const feed = feeds.start(bybit, sim, ['BTC/USDT'])
    await sim.server.waitFor(() => sim.server.requests.length >= 3, 3000, 'failed listings')
    expect(feed.conn.stats.errors.instruments).toBeGreaterThanOrEqual(1)
    sim.instrumentsRetCode = 0
    await bookWhere(feed, 'BTC/USDT')
    expectSame(feed, sim, 'BTC/USDT')
  })
})

describe('bybit: synchronisation', () => {
  test('subscribes on the spot path, builds the books from the snapshots and applies deltas', async () => {
    const { sim, feed } = simFeed()
    await bookWhere(feed, 'BTC/USDT')
    await bookWhere(feed, 'ETH/USDT')
    expect([...sim.server.clients][0]!.data.path).toBe('/v5/public/spot')
    const subscribed = sim.requests('subscribe').map((r) => r.args)
    expect(subscribed).toEqual([
      [
        'orderbook.50.BTCUSDT',
        'orderbook.1.BTCUSDT',
        'orderbook.50.ETHUSDT',
        'orderbook.1.ETHUSDT',
      ],
    ])
    sim.update(
      'BTC/USDT',
      [
        ['59999.95', '1.50000000'],
        ['59999.90', '0'],
      ],
      [['60000.15', '3.00000000']],
    )
    sim.update('ETH/USDT', [], [['3000.01', '0']])
    await bookWhere(feed, 'ETH/USDT', (e) => e.book.asks[0]!.pxText === '3000.02')
    const btc = await bookWhere(feed, 'BTC/USDT', (e) => e.book.bids[0]!.pxText === '59999.95')
    expectSame(feed, sim, 'BTC/USDT')
    expectSame(feed, sim, 'ETH/USDT')
    expect(btc.book.bids.some((l) => l.pxText === '59999.90')).toBe(false)
    // The book follows the venue's update id.
    expect(btc.lastSeq).toBe(sim.lastU('BTC/USDT'))
    expect(feed.conn.stats.errors).toEqual({})
  })

  test('keeps the top 50 when a delta pushes a level out of the subscribed depth', async () => {
    const sim = feeds.sim(
      new SimBybit([{ base: 'BTC', quote: 'USDT', book: makeBook(60000, 60, 0.1) }]),
    )
    const feed = feeds.start(bybit, sim, ['BTC/USDT'])
    const e = await bookWhere(feed, 'BTC/USDT')
    expect(e.book.bids).toHaveLength(50)
    const bids: Row[] = [
      ['59999.95', '1.00000000'],
      ['59999.85', '1.00000000'],
    ]
    sim.update('BTC/USDT', bids, [['60000.05', '2.00000000']])
    await bookWhere(feed, 'BTC/USDT', (e) => e.book.bids[0]!.pxText === '59999.95')
    expectSame(feed, sim, 'BTC/USDT')
    expect(e.book.bids).toHaveLength(50)
  })

  test('a snapshot mid-stream replaces the book: levels absent from it disappear (u = 1 too)', async () => {
    const { sim, feed } = simFeed()
    const e = await bookWhere(feed, 'BTC/USDT')
    const before = e.updates
    sim.pushSnapshot('BTC/USDT', { book: makeBook(60010, 5, 0.5) })
    await bookWhere(feed, 'BTC/USDT', (e) => e.updates === before + 1)
    expectSame(feed, sim, 'BTC/USDT')
    expect(e.book.bids).toHaveLength(5)
    expect(e.book.bids.some((l) => l.pxText === '59999.90')).toBe(false)
    // A service restart: a snapshot with u = 1, then deltas counting on from there.
    sim.pushSnapshot('BTC/USDT', { book: makeBook(61000, 3, 1), restart: true })
    sim.update('BTC/USDT', [['60998.50', '0.25000000']], [])
    await bookWhere(feed, 'BTC/USDT', (e) => e.book.bids.some((l) => l.pxText === '60998.50'))
    expect(e.lastSeq).toBe(2)
    expectSame(feed, sim, 'BTC/USDT')
    expect(e.book.bids).toHaveLength(4)
    expect(e.resyncs).toBe(0)
    expect(feed.entry('ETH/USDT').resyncs).toBe(0)
  })

  test('a skipped u is a lost delta: only that book resubscribes and comes back exact', async () => {
    const { sim, feed } = simFeed()
    await bookWhere(feed, 'BTC/USDT')
    await bookWhere(feed, 'ETH/USDT')
    const resync = feed.books.events.next('resync')
    const u = sim.lastU('BTC/USDT')
    sim.lose('BTC/USDT', [['59999.90', '0']], [])
    sim.update('BTC/USDT', [['59999.95', '2.00000000']], [])
    const { entry, failure } = await resync
    // The delta after the loss (u + 2) follows u + 1, not the book's u.
    expect([entry.pair, failure.kind, failure.expected, failure.got]).toEqual([
      'BTC/USDT',
      'sequence',
      u,
      u + 1,
    ])
    const e = await bookWhere(feed, 'BTC/USDT')
    expect(sim.requests('unsubscribe').map((r) => r.args)).toEqual([
      ['orderbook.50.BTCUSDT', 'orderbook.1.BTCUSDT'],
    ])
    expect(e.book.bids.some((l) => l.pxText === '59999.90')).toBe(false)
    expectSame(feed, sim, 'BTC/USDT')
    expect(feed.entry('ETH/USDT').resyncs).toBe(0)
  })

  test('deltas that arrive before the first snapshot are ignored', async () => {
    const sim = feeds.sim(new SimBybit(MARKETS()))
    sim.holdSnapshots = true
    const feed = feeds.start(bybit, sim, ['BTC/USDT'])
    const topic = 'orderbook.50.BTCUSDT'
    await sim.server.waitFor(() => sim.topics.get(1)?.has(topic) === true, 3000, 'subscription')
    const e = feed.entry('BTC/USDT')
    const frames = feed.conn.events.next('frame', (f) => f.events[0]?.type === 'delta')
    sim.pushDelta('BTC/USDT', [['1.00', '5.0']], [['99999.00', '5.0']])
    await frames
    expect(e.state).toBe('syncing')
    expect(e.book.bids).toHaveLength(0)
    sim.releaseSnapshots()
    await bookWhere(feed, 'BTC/USDT')
    expectSame(feed, sim, 'BTC/USDT')
    expect(e.book.asks.some((l) => l.pxText === '99999.00')).toBe(false)
    expect(e.book.bids.some((l) => l.pxText === '1.00')).toBe(false)
    expect(e.resyncs).toBe(0)
  })

  test('more than 10 symbols go out in frames of at most 10, all replayed after a reconnect', async () => {
    const markets = Array.from({ length: 12 }, (_, i) => ({
      base: `C${i}`,
      quote: 'USDT',
      book: makeBook(100 + i, 5, 0.1),
    }))
    const sim = feeds.sim(new SimBybit(markets))
    const pairs = markets.map((m) => `${m.base}/USDT`)
    const feed = feeds.start(bybit, sim, pairs)
    for (const p of pairs) await bookWhere(feed, p)
    const topics = pairs.flatMap((p) => [sim.topic(p), sim.topTopic(p)])
    const first = sim.requests('subscribe')
    expect(first.map((r) => (r.args as string[]).length)).toEqual([10, 10, 4])
    expect(first.flatMap((r) => r.args as string[])).toEqual(topics)

    const down = feed.conn.events.next('down')
    sim.server.disconnectAll()
    await down
    const resubscribed = () =>
      sim.server.connections === 2 && sim.topics.get(lastClient(sim))?.size === 24
    await sim.server.waitFor(resubscribed, 3000, 'resubscribed')
    const again = sim.requests('subscribe').filter((r) => r.client === lastClient(sim))
    expect(again.map((r) => (r.args as string[]).length)).toEqual([10, 10, 4])
    expect(again.flatMap((r) => r.args as string[])).toEqual(topics)
    for (const p of pairs) {
      await bookWhere(feed, p)
      expectSame(feed, sim, p)
    }
    expect(feed.conn.stats.errors['venue-error']).toBeUndefined()
  })
})

describe('bybit: orderbook.1 cross-check (issue 10)', () => {
  const BTC = 'BTC/USDT'
  const ETH = 'ETH/USDT'
  /** Live, at the venue's latest cross sequence, with no top still held. */
  const caughtUp = (f: Feed, s: SimBybit, pair: string) =>
    bookWhere(
      f,
      pair,
      (e) => e.state === 'live' && e.crossSeq === s.crossSeq(pair) && e.pendingTop === undefined,
      3000,
      `${pair} at seq ${s.crossSeq(pair)}`,
    )
  /** Waits until `n` tops were compared (re-checked on every frame the feed applies). */
  const compared = (f: Feed, n: number) =>
    bookWhere(f, BTC, () => f.books.crossCheckCounts('bybit').compared >= n, 3000, `${n} compared`)

  test("level-1 tops are compared at exactly the book's seq (not u) and never resync when right", async () => {
    const { sim, feed } = simFeed([BTC])
    await caughtUp(feed, sim, BTC)
    // The two subscription snapshots share one seq: the first comparison.
    await compared(feed, 1)
    const e = feed.entry(BTC)
    expect(e.crossSeq).not.toBe(e.lastSeq)
    const before = feed.books.crossCheckCounts('bybit')
    sim.update(BTC, [['59999.95', '1.50000000']], [])
    sim.update(BTC, [], [['60000.05', '0.25000000']])
    sim.update(BTC, [['59999.95', '0']], [])
    sim.update(BTC, [['59000.00', '1.00000000']], []) // deep: the top does not move, no push
    await caughtUp(feed, sim, BTC)
    await compared(feed, before.compared + 3)
    const after = feed.books.crossCheckCounts('bybit')
    expect(after.compared - before.compared).toBe(3)
    expect(after.skipped - before.skipped).toBe(0)
    expect(e.resyncs).toBe(0)
    expectSame(feed, sim, BTC)
    expect(feed.conn.stats.errors).toEqual({})
  })

  test('tops at seqs the depth-50 stream merges away are skipped and counted, not compared', async () => {
    const { sim, feed } = simFeed([BTC])
    const e = await caughtUp(feed, sim, BTC)
    // The two subscription snapshots share one seq: the first comparison.
    await compared(feed, 1)
    const before = feed.books.crossCheckCounts('bybit')
    // Three top changes, one depth-50 delta: the first two tops show states the book never has.
    sim.updateBatch(BTC, [
      { bids: [['59999.95', '1.50000000']], asks: [] },
      { bids: [['59999.95', '2.50000000']], asks: [] },
      { bids: [['59999.95', '0']], asks: [['60000.05', '0.25000000']] },
    ])
    await caughtUp(feed, sim, BTC)
    await compared(feed, before.compared + 1)
    const after = feed.books.crossCheckCounts('bybit')
    expect(after.skipped - before.skipped).toBe(2)
    expect(after.compared - before.compared).toBe(1)
    expect(e.resyncs).toBe(0)
    expectSame(feed, sim, BTC)
  })

  test('the level-1 book is kept from its snapshot and u-chained deltas; a gap pauses its tops', () => {
    const parse = bybit.createParser(new Map([['BTCUSDT', BTC]]))
    const push = (topic: string, type: string, data: object): VenueEvent[] =>
      parse(JSON.stringify({ topic, type, ts: 1, data: { s: 'BTCUSDT', ...data } }), 0)
    const l1 = 'orderbook.1.BTCUSDT'
    // Before any depth-50 push with a seq, a top could only be placed against u: none is made.
    expect(push(l1, 'snapshot', { b: [['10.0', '1']], a: [['11.0', '2']], u: 5, seq: 90 })).toEqual(
      [{ type: 'info' }],
    )
    const [book] = push('orderbook.50.BTCUSDT', 'snapshot', { b: [], a: [], u: 1, seq: 90 })
    expect(book).toMatchObject({ type: 'snapshot', seq: 1, crossSeq: 90 })
    const [top] = push(l1, 'delta', {
      b: [
        ['10.0', '0'],
        ['10.5', '3'],
      ],
      a: [],
      u: 6,
      seq: 95,
    })
    expect(top).toMatchObject({ type: 'top', pair: BTC, seq: 95 })
    if (top?.type !== 'top') throw new Error('expected a top')
    expect([top.bid?.pxText, top.bid?.qtyText, top.ask?.pxText]).toEqual(['10.5', '3', '11.0'])
    // u 8 after 6: the level-1 book may be wrong, so no top until its next snapshot.
    expect(push(l1, 'delta', { b: [], a: [['11.0', '0']], u: 8, seq: 99 })[0]!.type).toBe('unknown')
    expect(push(l1, 'delta', { b: [], a: [], u: 9, seq: 100 })[0]!.type).toBe('unknown')
    const [fresh] = push(l1, 'snapshot', { b: [['10.5', '3']], a: [], u: 20, seq: 101 })
    expect(fresh).toMatchObject({ type: 'top', seq: 101, ask: undefined })
    // A depth-50 push without a seq stops the tops again.
    push('orderbook.50.BTCUSDT', 'delta', { b: [], a: [], u: 2 })
    expect(push(l1, 'delta', { b: [], a: [], u: 21, seq: 102 })).toEqual([{ type: 'info' }])
  })
})

describe('bybit: venue behaviour', () => {
  test('a subscribe frame over 10 args is refused whole, as Bybit does', async () => {
    const sim = feeds.sim(new SimBybit(MARKETS()))
    const ws = new WebSocket(sim.wsUrl)
    const reply = new Promise<{ success: boolean; ret_msg: string }>((resolve) => {
      ws.onmessage = (m) => resolve(JSON.parse(String(m.data)))
    })
    await new Promise((resolve) => (ws.onopen = resolve))
    const args = Array.from({ length: 11 }, () => 'orderbook.50.BTCUSDT')
    ws.send(JSON.stringify({ req_id: 'x', op: 'subscribe', args }))
    expect(await reply).toMatchObject({ success: false, ret_msg: 'args size >10' })
    expect(sim.limited.argsPerRequest).toBe(1)
    ws.close()
  })

  test('a rejected subscription is a venue error; the other books go live', async () => {
    const sim = feeds.sim(new SimBybit(MARKETS()))
    sim.rejectPairs.add('ETH/USDT')
    // The sim refuses a whole frame for one bad topic: one topic per frame shows the rest pass.
    const split = {
      ...bybit,
      subscribe: (n: readonly string[]) => n.flatMap((x) => bybit.subscribe([x])),
    }
    const feed = feeds.start(split, sim, ['BTC/USDT', 'ETH/USDT'])
    const rejected = feed.conn.events.next('frame', (f) => f.events[0]?.type === 'venue-error')
    await bookWhere(feed, 'BTC/USDT')
    expect((await rejected).events[0]).toMatchObject({ pair: 'ETH/USDT' })
    expect(feed.entry('ETH/USDT').state).toBe('syncing')
    expect(feed.entry('ETH/USDT').resyncs).toBe(0)
  })

  test('pings every interval; the pongs keep a quiet connection alive under the watchdog', async () => {
    // Faster pings than the real 20 s, with the send budget raised to match.
    const quick = { ...bybit, limits: { ...bybit.limits, pingIntervalMs: 30, sendPerSecond: 100 } }
    const sim = feeds.sim(new SimBybit(MARKETS()))
    const feed = feeds.start(quick, sim, ['BTC/USDT'], { idleTimeoutMs: 300 })
    await bookWhere(feed, 'BTC/USDT')
    await sim.server.waitFor(() => sim.requests('ping').length >= 15, 3000, 'fifteen pings')
    expect(sim.server.connections).toBe(1)
    expect(feed.conn.stats.errors).toEqual({})
    expect(sim.requests('ping')[0]).toMatchObject({ op: 'ping', req_id: expect.any(String) })
  })
})

describe('bybit: a lost delta on the recorded session is a gap (issue "One owner per rule", defect 2)', () => {
  test('each of 13 single-message losses resyncs the book; none stays live on a wrong book', async () => {
    const legacy = (await loadLegacy('BYBIT_ws_25_0', ['LTCUSDT'])).filter(
      (m) => m.topic === `${LEGACY_PREFIX}LTCUSDT`,
    )
    const states = legacyReference(legacy)
    const frames = legacy.map((m, i) => toV5(m, 101 + i))
    const rules = bybit.sync
    const pair = 'LTC/USDT'
    const step = Math.floor((frames.length - 2) / 13)
    for (let k = 0; k < 13; k++) {
      const lost = 1 + k * step // never the snapshot (frame 0)
      const parse = bybit.createParser(new Map([['LTCUSDT', pair]]))
      const e = new Books().addVenue('bybit', [pair]).get(pair)!
      const outcomes: string[] = []
      for (let i = 0; i < frames.length && e.resyncs === 0; i++) {
        if (i === lost) continue
        for (const ev of parse(frames[i]!, 0)) {
          if (ev.type === 'snapshot') applySnapshot(e, rules, ev, false)
          if (ev.type !== 'delta') continue
          const out = applyUpdate(e, rules, ev, 100)
          if (out.kind === 'failed') {
            outcomes.push(`${out.failure.kind} ${out.failure.expected}->${out.failure.got}`)
            e.resyncs++
          } else if (i > lost) {
            // Anything applied after the loss would be a book the venue never had.
            expect({ bids: rows(e.book.bids), asks: rows(e.book.asks) }).toEqual(states[i]!)
          }
        }
      }
      // The delta right after the loss names the one before it: 100 + lost, not 100 + lost + 1.
      expect(outcomes).toEqual([`sequence ${100 + lost}->${101 + lost}`])
    }
  })
})

describe('bybit: limits the simulated venue enforces', () => {
  const opened = (ws: WebSocket) =>
    new Promise<boolean>((resolve) => {
      ws.onopen = () => resolve(true)
      ws.onclose = () => resolve(false)
    })
  type Ack = { success: boolean; ret_msg: string; req_id?: string }
  /** The next `n` frames a socket receives, parsed. */
  const replies = (ws: WebSocket, n: number) =>
    new Promise<Ack[]>((resolve) => {
      const got: Ack[] = []
      ws.onmessage = (m) => got.push(JSON.parse(String(m.data))) === n && resolve(got)
    })

  test('more than 21,000 characters of args on a connection: the request past it is refused', async () => {
    // 330 markets with 17-character symbols: 660 topics, ~21,400 characters as a JSON array.
    const bases = Array.from({ length: 330 }, (_, i) => `A${String(i).padStart(12, '0')}`)
    const sim = feeds.sim(new SimBybit(bases.map((base) => ({ base, quote: 'USDT' }))))
    sim.autoSnapshot = false
    const ws = new WebSocket(sim.wsUrl)
    await opened(ws)
    const frames = bybit.subscribe(bases.map((b) => `${b}USDT`))
    const got = replies(ws, frames.length)
    for (const f of frames) ws.send(f)
    const acks = await got
    const refused = acks.findIndex((a) => !a.success)
    expect(refused).toBeGreaterThan(0)
    expect(acks[refused]).toMatchObject({ success: false, ret_msg: 'args length >21000' })
    // Every request after the limit is refused too; what is held stays under it.
    expect(acks.slice(refused).every((a) => !a.success)).toBe(true)
    const held = [...sim.topics.get([...sim.server.clients][0]!.data.id)!]
    expect(JSON.stringify(held).length).toBeLessThanOrEqual(21_000)
    expect(held.length).toBe(refused * 10)
    expect(sim.limited.argsChars).toBe(acks.length - refused)
    ws.close()
  })

  test('connections past 500 in 5 minutes and REST requests past 600 in 5 s are answered 403', async () => {
    const sim = feeds.sim(new SimBybit(MARKETS(), { connectsPer5Min: 2, requestsPer5s: 2 }))
    const sockets = Array.from({ length: 3 }, () => new WebSocket(sim.wsUrl))
    expect((await Promise.all(sockets.map(opened))).filter(Boolean).length).toBe(2)
    expect(sim.limited.connects).toBe(1)
    for (const ws of sockets) ws.close()
    const get = () => fetch(`${sim.restUrl}/v5/market/tickers?category=spot`)
    expect([(await get()).status, (await get()).status]).toEqual([200, 200])
    const refused = await get()
    expect([refused.status, await refused.text()]).toEqual([403, 'access too frequent'])
    // The IP then waits 10 minutes: every request meanwhile gets the same answer.
    expect((await fetch(`${sim.restUrl}/v5/market/instruments-info?category=spot`)).status).toBe(
      403,
    )
    expect(sim.limited.throttled).toBe(2)
  })
})

describe('bybit: the product within the limits', () => {
  test('a full shard: frames of at most 10 args, all of them under 21,000 characters', () => {
    const per = bybit.limits.marketsPerConnection
    // Long symbols (20 characters) for the worst case.
    const natives = Array.from({ length: per }, (_, i) => `A${String(i).padStart(15, '0')}USDT`)
    const frames = bybit.subscribe(natives).map((f) => JSON.parse(f) as { args: string[] })
    expect(frames.every((f) => f.args.length <= 10)).toBe(true)
    const args = frames.flatMap((f) => f.args)
    expect(args.length).toBe(2 * per)
    expect(JSON.stringify(args).length).toBeLessThan(21_000 / 2)
    const { count, windowMs } = bybit.limits.connects
    expect(count / windowMs).toBeLessThan(500 / 300_000)
    expect(bybit.limits.rest).toMatchObject({ weight: 600, windowMs: 5000 })
  })

  test('a shard of 100 markets comes live on one connection with nothing refused', async () => {
    const n = bybit.limits.marketsPerConnection
    const bases = Array.from({ length: n }, (_, i) => `C${i}`)
    const sim = feeds.sim(
      new SimBybit(bases.map((base) => ({ base, quote: 'USDT', book: makeBook(100, 5, 0.01) }))),
    )
    const pairs = bases.map((b) => `${b}/USDT`)
    const feed = feeds.start(bybit, sim, pairs)
    await allLive(feed.books, () => true, 10_000)
    expect(sim.topics.get(lastClient(sim))!.size).toBe(2 * n)
    expect(sim.requests('subscribe').every((r) => (r.args as string[]).length <= 10)).toBe(true)
    expect(sim.limited).toEqual({ throttled: 0, connects: 0, argsPerRequest: 0, argsChars: 0 })
    expect(feed.conn.stats.errors).toEqual({})
  })
})

describe('bybit: 24 h volumes', () => {
  test('fetchVolumes reads turnover24h of the Trading markets from the spot tickers', async () => {
    const sim = feeds.sim(
      new SimBybit(
        [
          { base: 'BTC', quote: 'USDT', book: makeBook(60000), volume24h: 243_765_620.5 },
          { base: 'ETH', quote: 'USDC', book: makeBook(3000), volume24h: 1_000 },
          { base: 'SOL', quote: 'USDT', trading: false, volume24h: 5 },
        ],
        { symbols: { 'ETH/USDC': 'ETHUSDCX' } },
      ),
    )
    const signal = AbortSignal.timeout(3000)
    const volumes = await bybit.fetchVolumes!(sim.restUrl, { fetch, signal })
    expect([...volumes]).toEqual([
      ['BTC/USDT', 243_765_620.5],
      ['ETH/USDC', 1_000],
    ])
    expect(sim.server.requests).toContain('/v5/market/tickers?category=spot')
  })

  test('the documented spot ticker parses; bad rows are skipped, a retCode is an error', async () => {
    // The spot response example of docs/v5/market/tickers.mdx, then rows a venue could send wrong.
    const documented = {
      symbol: 'BTCUSDT',
      bid1Price: '20517.96',
      bid1Size: '2',
      ask1Price: '20527.77',
      ask1Size: '1.862172',
      lastPrice: '20533.13',
      prevPrice24h: '20393.48',
      price24hPcnt: '0.0068',
      highPrice24h: '21128.12',
      lowPrice24h: '20318.89',
      turnover24h: '243765620.65899866',
      volume24h: '11801.27771',
      usdIndexPrice: '20784.12009279',
    }
    const list = [
      documented,
      { symbol: 'ETHUSDT', turnover24h: '' },
      { symbol: 'SOLUSDT', turnover24h: 12 },
      { turnover24h: '1' },
      null,
      { symbol: 'XRPUSDT', turnover24h: '1.5' },
    ]
    const instruments = ['BTC', 'ETH', 'SOL'].map((b) => ({
      symbol: `${b}USDT`,
      baseCoin: b,
      quoteCoin: 'USDT',
      status: 'Trading',
    }))
    const answer = (tickers: unknown) =>
      (async (input: string | URL | Request) =>
        Response.json(
          String(input).includes('/instruments-info')
            ? { retCode: 0, retMsg: 'OK', result: { list: instruments, nextPageCursor: '' } }
            : tickers,
        )) as typeof fetch
    const signal = AbortSignal.timeout(3000)
    const ok = { retCode: 0, retMsg: 'OK', result: { category: 'spot', list } }
    const volumes = await bybit.fetchVolumes!('http://bybit.test', { fetch: answer(ok), signal })
    expect([...volumes]).toEqual([['BTC/USDT', 243_765_620.65899866]])
    const failing = { retCode: 10006, retMsg: 'Too many visits!', result: {} }
    const err = await bybit.fetchVolumes!('http://bybit.test', {
      fetch: answer(failing),
      signal,
    }).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(ExchangeError)
    expect(bybit.distinctAssets?.NEIRO).toBeDefined()
  })
})

describe('bybit: fast path', () => {
  const markets = new Map([
    ['ETHUSDT', 'ETH/USDT'],
    ['LTCUSDT', 'LTC/USDT'],
    ['BTCUSD', 'BTC/USD'],
    ['EOSUSD', 'EOS/USD'],
    ['BTCUSDT', 'BTC/USDT'],
  ])
  const paths = () => ({
    parser: bybit.createParser(markets),
    reference: createJsonParser(markets),
    fast: createFastParser(markets, { tops: new Map(), crossed: new Set() }, BYBIT_TOPICS),
  })

  test('every captured frame, as recorded and re-encoded as v5, reads the same on both paths', async () => {
    const v5: string[] = []
    const recorded: string[] = []
    for (const { file, symbols } of [
      { file: 'BYBIT_ws_25_0', symbols: ['ETHUSDT', 'LTCUSDT'] },
      { file: 'BYBIT_ws_26_0', symbols: ['BTCUSD', 'EOSUSD'] },
    ]) {
      recorded.push(...(await readLines(`${FIX}/${file}.frames.jsonl`)))
      const u = new Map<string, number>()
      for (const m of await loadLegacy(file, symbols)) {
        const symbol = m.topic.slice(LEGACY_PREFIX.length)
        u.set(symbol, (u.get(symbol) ?? 100) + 1)
        v5.push(toV5(m, u.get(symbol)!))
      }
    }
    expect(v5.length).toBeGreaterThan(1000)
    const { parser, reference, fast } = paths()
    // The scanner reads every re-encoded push; the legacy frames go to JSON.parse.
    expect(expectSameAsJsonPath([...recorded, ...v5], parser, reference, { fast })).toBe(v5.length)
  })

  test('the bench stream (depth-50 and level-1 pushes) reads the same on both paths', () => {
    const { frames } = bybitFeed(3000)
    const { parser, reference, fast } = paths()
    expectSameAsJsonPath(frames, parser, reference, { fast, minFast: frames.length })
  })

  test('malformed, unusual or out-of-sequence frames are read as the JSON.parse path reads them', () => {
    const all = bybitFeed(30).frames
    const [snapshot, delta, top] = all
    // Spot sends `ts` before `type`; the published examples put it after.
    const swapped = delta!.replace(/"ts":(\d+),"type":"delta"/, '"type":"delta","ts":$1')
    const topDelta = top!.replace('"snapshot"', '"delta"')
    const frames = [
      snapshot!,
      ...variantsOf(delta!),
      ...variantsOf(swapped, 5),
      ...variantsOf(top!),
      topDelta,
      topDelta.replace(/"u":(\d+)/, (_, u) => `"u":${Number(u) + 1}`),
      top!,
      topDelta.replace(/"u":(\d+)/, (_, u) => `"u":${Number(u) + 1}`),
      delta!.replace(/"seq":\d+/, '"seq":0'),
      top!,
      delta!.replace('"s":"BTCUSDT"', '"s":"ETHUSDT"'),
      delta!.replace(/"u":\d+/, '"u":0'),
      delta!.replace(',"cts":', ',"x":1,"cts":'),
      delta!.replace(/,"cts":\d+/, ''),
      ...all.slice(3),
    ]
    const { parser, reference } = paths()
    expectSameAsJsonPath(frames, parser, reference)
  })
})
