import { afterEach, describe, expect, test } from 'bun:test'
import { bybit } from '../../src/exchanges/bybit.ts'
import { ExchangeError, type ExchangeEvent } from '../../src/exchanges/exchange.ts'
import { FakeBybit, topicOf, type BybitMarket } from '../fakes/bybit.ts'
import { makeBook, SimBook, type Row } from '../fakes/sim-book.ts'
import { rows, startFeed, until, type Feed } from '../support.ts'

const FIX = `${import.meta.dir}/../fixtures/bybit`

let fake: FakeBybit | undefined
let feed: Feed | undefined
afterEach(() => {
  feed?.stop()
  fake?.stop()
  feed = fake = undefined
})

const MARKETS: BybitMarket[] = [
  { symbol: 'BTCUSDT', base: 'BTC', quote: 'USDT', book: makeBook(60000, 20, 0.1) },
  { symbol: 'ETHUSDT', base: 'ETH', quote: 'USDT', book: makeBook(3000, 20, 0.01) },
  { symbol: 'SOLUSDT', base: 'SOL', quote: 'USDT', status: 'PreLaunch', book: makeBook(150) },
]

function simFeed(pairs = ['BTC/USDT', 'ETH/USDT'], opts: Parameters<typeof startFeed>[3] = {}) {
  fake = new FakeBybit(MARKETS.map((m) => ({ ...m, book: m.book?.clone() })))
  feed = startFeed(bybit, fake, pairs, opts)
  return { fake, feed }
}

const entry = (f: Feed, pair: string) => f.books.get('bybit', pair)!

async function live(f: Feed, pair: string): Promise<void> {
  await until(() => entry(f, pair).state === 'live', 3000, `${pair} live`)
}

/** The local book equals what the venue shows (its top 50), level by level. */
function expectSame(f: Feed, pair: string, book: SimBook): void {
  const e = entry(f, pair)
  expect(rows(e.book.bids)).toEqual(book.topBids(50))
  expect(rows(e.book.asks)).toEqual(book.topAsks(50))
}

const simOf = (fk: FakeBybit, symbol: string) => fk.state.get(symbol)!.book

/** The client's current socket id (the fake numbers connections from 1). */
const lastClient = (fk: FakeBybit) => Math.max(...[...fk.server.clients].map((c) => c.data.id))

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
  const lines = (await Bun.file(`${FIX}/${file}.frames.jsonl`).text()).trim().split('\n')
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

    fake = new FakeBybit(markets)
    fake.autoSnapshot = false
    const seen = new Map<string, number>()
    const mismatches: string[] = []
    feed = startFeed(
      bybit,
      fake,
      markets.map((m) => m.pair),
      {
        books: {
          onUpdate: (e) => {
            const i = seen.get(e.pair) ?? 0
            seen.set(e.pair, i + 1)
            const want = expected.get(e.pair)![i]
            const got = { bids: rows(e.book.bids), asks: rows(e.book.asks) }
            if (mismatches.length < 3 && !Bun.deepEquals(got, want))
              mismatches.push(`${e.pair} message ${i}`)
          },
        },
      },
    )
    await until(() => fake!.topics.get(1)?.size === 4, 3000, 'four subscriptions')
    expect(fake.requests('subscribe')).toHaveLength(1)
    expect(fake.requests('subscribe')[0]!.args).toEqual(markets.map((m) => topicOf(m.symbol)))
    fake.replay(v5)
    await until(
      () => markets.every((m) => entry(feed!, m.pair).updates === expected.get(m.pair)!.length),
      5000,
      'every replayed message applied',
    )

    expect(mismatches).toEqual([])
    for (const m of markets) {
      const e = entry(feed, m.pair)
      const last = expected.get(m.pair)!.at(-1)!
      expect(rows(e.book.bids)).toEqual(last.bids)
      expect(rows(e.book.asks)).toEqual(last.asks)
      expect(e.state).toBe('live')
      expect(e.resyncs).toBe(0)
    }
    expect(expected.get('LTC/USDT')!.length).toBeGreaterThan(600)
    expect(expected.get('BTC/USD')!.length).toBeGreaterThan(500)
    const lastBtc = JSON.parse(v5.findLast((f) => f.includes('"s":"BTCUSD"'))!) as { ts: number }
    expect(entry(feed, 'BTC/USD').exchangeTsMs).toBe(lastBtc.ts)
    expect(feed.conn.stats.errors).toEqual({})
  })
})

describe('bybit: frames and parser', () => {
  const markets = new Map([['BTCUSDT', 'BTC/USDT']])

  test('parses the delta example published in the v5 orderbook docs', () => {
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
    expect(ev.seq).toBeUndefined()
    expect(ev.prevSeq).toBeUndefined()
    expect(rows(ev.bids)).toEqual(doc.data.b as Row[])
    expect(rows(ev.asks)).toEqual(doc.data.a as Row[])
    expect(ev.bids[4]!.qty).toBe(0)
    const snap = bybit.createParser(markets)(JSON.stringify({ ...doc, type: 'snapshot' }), 0)[0]
    expect(snap?.type).toBe('snapshot')
  })

  test('acks and pongs are info; rejections are venue errors tied to their book', () => {
    const parse = bybit.createParser(markets)
    const one = (o: unknown): ExchangeEvent => parse(JSON.stringify(o), 0)[0]!
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
    expect(one({ topic: 'publicTrade.BTCUSDT', type: 'snapshot', ts: 1, data: [] })).toEqual({
      type: 'unknown',
      what: 'topic publicTrade.BTCUSDT',
    })
    const doge = {
      topic: 'orderbook.50.DOGEUSDT',
      type: 'delta',
      data: { s: 'DOGEUSDT', b: [], a: [] },
    }
    expect(one(doge).type).toBe('unknown')
    expect(one({ op: 'auth', success: true }).type).toBe('unknown')
    expect(() => parse('[1,2]', 0)).toThrow('not an object')
    const patch = {
      topic: 'orderbook.50.BTCUSDT',
      type: 'patch',
      data: { s: 'BTCUSDT', b: [], a: [] },
    }
    expect(() => one(patch)).toThrow('patch')
  })

  test('subscribes at most 10 topics per frame; resubscribe is unsubscribe + subscribe', () => {
    const natives = Array.from({ length: 23 }, (_, i) => `C${i}USDT`)
    const frames = bybit
      .subscribe(natives)
      .map((f) => JSON.parse(f) as { op: string; args: string[]; req_id: string })
    expect(frames.map((f) => f.args.length)).toEqual([10, 10, 3])
    expect(frames.every((f) => f.op === 'subscribe' && typeof f.req_id === 'string')).toBe(true)
    expect(frames.flatMap((f) => f.args)).toEqual(natives.map((n) => `orderbook.50.${n}`))
    expect(bybit.resubscribe!('BTCUSDT').map((f) => JSON.parse(f) as unknown)).toEqual([
      { req_id: 'orderbook.50.BTCUSDT', op: 'unsubscribe', args: ['orderbook.50.BTCUSDT'] },
      { req_id: 'orderbook.50.BTCUSDT', op: 'subscribe', args: ['orderbook.50.BTCUSDT'] },
    ])
    expect(JSON.parse(bybit.ping!())).toMatchObject({ op: 'ping' })
    const spot = 'wss://stream.bybit.com/v5/public/spot'
    expect(bybit.wsUrl(spot, natives)).toBe(spot)
  })
})

describe('bybit: markets', () => {
  test('lists Trading instruments by base/quote coin; reports unlisted; USD is not USDT', async () => {
    const unlisted: string[] = []
    fake = new FakeBybit([
      ...MARKETS,
      // The symbol string is not split: the pair comes from baseCoin/quoteCoin.
      { symbol: 'XYZ1USDC', base: 'ABC', quote: 'USDC', book: makeBook(20) },
    ])
    feed = startFeed(bybit, fake, ['BTC/USDT', 'BTC/USD', 'SOL/USDT', 'ABC/USDC', 'DOGE/USDT'], {
      onUnlisted: (_v, p) => unlisted.push(...p),
    })
    await until(() => fake!.server.clients.size > 0, 3000, 'connection')
    expect(unlisted).toEqual(['BTC/USD', 'SOL/USDT', 'DOGE/USDT'])
    expect(feed.conn.stats.unlisted).toEqual(['BTC/USD', 'SOL/USDT', 'DOGE/USDT'])
    expect([...feed.conn.stats.markets]).toEqual([
      ['BTC/USDT', 'BTCUSDT'],
      ['ABC/USDC', 'XYZ1USDC'],
    ])
    expect(fake.server.requests).toEqual(['/v5/market/instruments-info?category=spot'])
    await live(feed, 'ABC/USDC')
  })

  test('follows nextPageCursor when the list comes in pages', async () => {
    fake = new FakeBybit(MARKETS)
    fake.pageSize = 1
    const listed = await bybit.listMarkets(fake.restUrl, {
      fetch,
      signal: new AbortController().signal,
    })
    expect([...listed]).toEqual([
      ['BTC/USDT', 'BTCUSDT'],
      ['ETH/USDT', 'ETHUSDT'],
    ])
    expect(fake.server.requests).toHaveLength(3)
  })

  test('a non-zero retCode is an error; discovery retries until the list comes', async () => {
    fake = new FakeBybit(MARKETS)
    fake.instrumentsRetCode = 10016
    const opts = { fetch, signal: new AbortController().signal }
    await expect(bybit.listMarkets(fake.restUrl, opts)).rejects.toBeInstanceOf(ExchangeError)
    feed = startFeed(bybit, fake, ['BTC/USDT'])
    await until(() => (feed!.conn.stats.errors.instruments ?? 0) >= 2, 3000, 'failed listings')
    fake.instrumentsRetCode = 0
    await live(feed, 'BTC/USDT')
    expectSame(feed, 'BTC/USDT', simOf(fake, 'BTCUSDT'))
  })
})

describe('bybit: synchronisation', () => {
  test('subscribes on the spot path, builds the books from the snapshots and applies deltas', async () => {
    const { fake, feed } = simFeed()
    await live(feed, 'BTC/USDT')
    await live(feed, 'ETH/USDT')
    expect([...fake.server.clients][0]!.data.path).toBe('/v5/public/spot')
    const subscribed = fake.requests('subscribe').map((r) => r.args)
    expect(subscribed).toEqual([['orderbook.50.BTCUSDT', 'orderbook.50.ETHUSDT']])
    fake.update(
      'BTCUSDT',
      [
        ['59999.95', '1.50000000'],
        ['59999.90', '0'],
      ],
      [['60000.15', '3.00000000']],
    )
    fake.update('ETHUSDT', [], [['3000.01', '0']])
    await until(
      () => entry(feed, 'ETH/USDT').book.asks[0]!.pxText === '3000.02',
      3000,
      'deltas applied',
    )
    await until(
      () => entry(feed, 'BTC/USDT').book.bids[0]!.pxText === '59999.95',
      3000,
      'deltas applied',
    )
    expectSame(feed, 'BTC/USDT', simOf(fake, 'BTCUSDT'))
    expectSame(feed, 'ETH/USDT', simOf(fake, 'ETHUSDT'))
    expect(entry(feed, 'BTC/USDT').book.bids.some((l) => l.pxText === '59999.90')).toBe(false)
    expect(feed.conn.stats.errors).toEqual({})
  })

  test('keeps the top 50 when a delta pushes a level out of the subscribed depth', async () => {
    fake = new FakeBybit([
      { symbol: 'BTCUSDT', base: 'BTC', quote: 'USDT', book: makeBook(60000, 60, 0.1) },
    ])
    feed = startFeed(bybit, fake, ['BTC/USDT'])
    await live(feed, 'BTC/USDT')
    expect(entry(feed, 'BTC/USDT').book.bids).toHaveLength(50)
    const bids: Row[] = [
      ['59999.95', '1.00000000'],
      ['59999.85', '1.00000000'],
    ]
    fake.update('BTCUSDT', bids, [['60000.05', '2.00000000']])
    await until(
      () => entry(feed!, 'BTC/USDT').book.bids[0]!.pxText === '59999.95',
      3000,
      'delta applied',
    )
    expectSame(feed, 'BTC/USDT', simOf(fake, 'BTCUSDT'))
    expect(entry(feed, 'BTC/USDT').book.bids).toHaveLength(50)
  })

  test('a snapshot mid-stream replaces the book: levels absent from it disappear (u = 1 too)', async () => {
    const { fake, feed } = simFeed()
    await live(feed, 'BTC/USDT')
    const e = entry(feed, 'BTC/USDT')
    const before = e.updates
    fake.pushSnapshot('BTCUSDT', { book: makeBook(60010, 5, 0.5) })
    await until(() => e.updates === before + 1, 3000, 'snapshot applied')
    expectSame(feed, 'BTC/USDT', simOf(fake, 'BTCUSDT'))
    expect(e.book.bids).toHaveLength(5)
    expect(e.book.bids.some((l) => l.pxText === '59999.90')).toBe(false)
    // A service restart: a snapshot with u = 1, then deltas counting on from there.
    fake.pushSnapshot('BTCUSDT', { book: makeBook(61000, 3, 1), restart: true })
    fake.update('BTCUSDT', [['60998.50', '0.25000000']], [])
    await until(
      () => e.book.bids.some((l) => l.pxText === '60998.50'),
      3000,
      'restart snapshot and delta',
    )
    expectSame(feed, 'BTC/USDT', simOf(fake, 'BTCUSDT'))
    expect(e.book.bids).toHaveLength(4)
    expect(e.resyncs).toBe(0)
    expect(entry(feed, 'ETH/USDT').resyncs).toBe(0)
  })

  test('deltas that arrive before the first snapshot are ignored', async () => {
    fake = new FakeBybit(MARKETS)
    fake.holdSnapshots = true
    feed = startFeed(bybit, fake, ['BTC/USDT'])
    await until(
      () => fake!.topics.get(1)?.has('orderbook.50.BTCUSDT') === true,
      3000,
      'subscription',
    )
    const e = entry(feed, 'BTC/USDT')
    const seen = feed.conn.stats.messages
    const early = fake.bookFrame('BTCUSDT', 'delta', [['1.00', '5.0']], [['99999.00', '5.0']])
    fake.pushToTopic('orderbook.50.BTCUSDT', early)
    fake.pushToTopic(
      'orderbook.50.BTCUSDT',
      fake.bookFrame('BTCUSDT', 'delta', [['59999.90', '0']], []),
    )
    await until(() => feed!.conn.stats.messages >= seen + 2, 3000, 'early deltas received')
    expect(e.state).toBe('syncing')
    expect(e.book.bids).toHaveLength(0)
    fake.releaseSnapshots()
    await live(feed, 'BTC/USDT')
    expectSame(feed, 'BTC/USDT', simOf(fake, 'BTCUSDT'))
    expect(e.book.asks.some((l) => l.pxText === '99999.00')).toBe(false)
    expect(e.book.bids.some((l) => l.pxText === '59999.90')).toBe(true)
    expect(e.book.bids.some((l) => l.pxText === '1.00')).toBe(false)
    expect(e.resyncs).toBe(0)
  })

  test('more than 10 symbols go out in frames of at most 10, all replayed after a reconnect', async () => {
    const markets = Array.from({ length: 12 }, (_, i) => ({
      symbol: `C${i}USDT`,
      base: `C${i}`,
      quote: 'USDT',
      book: makeBook(100 + i, 5, 0.1),
    }))
    fake = new FakeBybit(markets)
    const pairs = markets.map((m) => `${m.base}/USDT`)
    feed = startFeed(bybit, fake, pairs)
    for (const p of pairs) await live(feed, p)
    const first = fake.requests('subscribe')
    expect(first.map((r) => (r.args as string[]).length)).toEqual([10, 2])
    expect(first.flatMap((r) => r.args as string[])).toEqual(markets.map((m) => topicOf(m.symbol)))

    fake.server.disconnectAll()
    await until(() => feed!.conn.stats.state !== 'connected', 3000, 'down')
    const resubscribed = () =>
      fake!.server.connections === 2 && fake!.topics.get(lastClient(fake!))?.size === 12
    await until(resubscribed, 3000, 'resubscribed')
    const again = fake.requests('subscribe').filter((r) => r.client === lastClient(fake!))
    expect(again.map((r) => (r.args as string[]).length)).toEqual([10, 2])
    expect(again.flatMap((r) => r.args as string[])).toEqual(markets.map((m) => topicOf(m.symbol)))
    for (const [i, p] of pairs.entries()) {
      await live(feed, p)
      expectSame(feed, p, simOf(fake, markets[i]!.symbol))
    }
    expect(feed.conn.stats.errors.venue).toBeUndefined()
    expect(feed.conn.stats.errors['venue-error']).toBeUndefined()
  })

  test('there is no gap detection: deltas are applied in order, nothing is dropped by u/seq', async () => {
    const { fake, feed } = simFeed(['BTC/USDT'])
    await live(feed, 'BTC/USDT')
    // A delta whose u jumps (and one going back) is applied all the same: Bybit names no previous id.
    const s = fake.state.get('BTCUSDT')!
    s.u += 100
    fake.update('BTCUSDT', [['59999.97', '1.00000000']], [])
    s.u -= 50
    fake.update('BTCUSDT', [['59999.96', '1.00000000']], [])
    const e = entry(feed, 'BTC/USDT')
    await until(() => e.book.bids.some((l) => l.pxText === '59999.96'), 3000, 'both deltas applied')
    expectSame(feed, 'BTC/USDT', simOf(fake, 'BTCUSDT'))
    expect(bybit.detectsGaps).toBe(false)
    expect(e.resyncs).toBe(0)
  })
})

describe('bybit: bad input', () => {
  test('unknown topics and ops are counted and change nothing', async () => {
    const { fake, feed } = simFeed()
    await live(feed, 'BTC/USDT')
    await live(feed, 'ETH/USDT')
    const trade = {
      topic: 'publicTrade.BTCUSDT',
      type: 'snapshot',
      ts: 1,
      data: [{ p: '1', v: '1' }],
    }
    const level1Book = { s: 'BTCUSDT', b: [['1.00', '1']], a: [] }
    const level1 = { topic: 'orderbook.1.BTCUSDT', type: 'snapshot', data: level1Book }
    fake.server.send(JSON.stringify(trade))
    fake.server.send(JSON.stringify(level1))
    fake.server.send(JSON.stringify({ success: true, ret_msg: '', op: 'auth' }))
    fake.update('BTCUSDT', [['59999.97', '4.00000000']], [])
    const e = entry(feed, 'BTC/USDT')
    await until(() => e.book.bids[0]!.pxText === '59999.97', 3000, 'update after unknown frames')
    expect(feed.conn.stats.errors['unknown-message']).toBe(3)
    expect(e.resyncs + entry(feed, 'ETH/USDT').resyncs).toBe(0)
    expectSame(feed, 'BTC/USDT', simOf(fake, 'BTCUSDT'))
  })

  test("malformed JSON is counted and resyncs the connection's books, which come back exact", async () => {
    const { fake, feed } = simFeed()
    await live(feed, 'BTC/USDT')
    await live(feed, 'ETH/USDT')
    fake.server.send('{"topic":"orderbook.50.BTCUSDT","type":"delta","ts":1,"data":{"s":"BTC')
    fake.server.send('not json at all')
    const btc = entry(feed, 'BTC/USDT')
    const eth = entry(feed, 'ETH/USDT')
    await until(() => btc.resyncs >= 1 && eth.resyncs >= 1, 3000, 'resync of every book')
    // Each book is fetched again by unsubscribe + subscribe, on the same connection.
    const resubscribed = () =>
      new Set(fake.requests('unsubscribe').flatMap((r) => r.args as string[]))
    await until(() => resubscribed().size === 2, 3000, 'resubscriptions')
    expect([...resubscribed()].sort()).toEqual(['orderbook.50.BTCUSDT', 'orderbook.50.ETHUSDT'])
    await live(feed, 'BTC/USDT')
    await live(feed, 'ETH/USDT')
    fake.update('BTCUSDT', [['59999.97', '4.00000000']], [])
    await until(() => btc.book.bids[0]!.pxText === '59999.97', 3000, 'delta after resync')
    expect(feed.conn.stats.errors['malformed-json']).toBe(2)
    expectSame(feed, 'BTC/USDT', simOf(fake, 'BTCUSDT'))
    expectSame(feed, 'ETH/USDT', simOf(fake, 'ETHUSDT'))
    expect(fake.server.connections).toBe(1)
  })

  test('a negative or non-numeric price rejects the whole message and resyncs that book only', async () => {
    const { fake, feed } = simFeed()
    await live(feed, 'BTC/USDT')
    await live(feed, 'ETH/USDT')
    const btc = entry(feed, 'BTC/USDT')
    for (const bad of [
      ['-1.00', '1.0'],
      ['abc', '1.0'],
      ['60000.00', '-5'],
      ['1e5', '1.0'],
    ] as Row[]) {
      const before = btc.resyncs
      // Sent by hand so the fake's own book does not take the bad level.
      fake.pushToTopic(
        topicOf('BTCUSDT'),
        fake.bookFrame('BTCUSDT', 'delta', [['59999.01', '1.0'], bad], []),
      )
      await until(() => btc.resyncs === before + 1, 3000, 'resync after bad level')
      expect(btc.book.bids.some((l) => l.pxText === '59999.01')).toBe(false)
      await live(feed, 'BTC/USDT')
      expectSame(feed, 'BTC/USDT', simOf(fake, 'BTCUSDT'))
    }
    expect(feed.conn.stats.errors['bad-level']).toBe(4)
    const unsubscribed = fake.requests('unsubscribe').map((r) => r.args)
    expect(unsubscribed).toEqual(Array(4).fill(['orderbook.50.BTCUSDT']))
    expect(entry(feed, 'ETH/USDT').resyncs).toBe(0)
    expect(entry(feed, 'ETH/USDT').state).toBe('live')
  })

  test('a book frame of unknown type or for another symbol resyncs that book only', async () => {
    const { fake, feed } = simFeed()
    await live(feed, 'BTC/USDT')
    await live(feed, 'ETH/USDT')
    const btc = entry(feed, 'BTC/USDT')
    const patch = {
      topic: 'orderbook.50.BTCUSDT',
      type: 'patch',
      ts: 1,
      data: { s: 'BTCUSDT', b: [], a: [] },
    }
    fake.pushToTopic(topicOf('BTCUSDT'), JSON.stringify(patch))
    await until(() => btc.resyncs === 1, 3000, 'resync')
    await live(feed, 'BTC/USDT')
    const other = {
      topic: 'orderbook.50.BTCUSDT',
      type: 'delta',
      ts: 1,
      data: { s: 'ETHUSDT', b: [], a: [] },
    }
    fake.pushToTopic(topicOf('BTCUSDT'), JSON.stringify(other))
    await until(() => btc.resyncs === 2, 3000, 'resync')
    await live(feed, 'BTC/USDT')
    expectSame(feed, 'BTC/USDT', simOf(fake, 'BTCUSDT'))
    expect(feed.conn.stats.errors['bad-message']).toBe(2)
    expect(entry(feed, 'ETH/USDT').resyncs).toBe(0)
  })

  test('a crossed book is never live: it resyncs that book only', async () => {
    const { fake, feed } = simFeed()
    await live(feed, 'BTC/USDT')
    await live(feed, 'ETH/USDT')
    const e = entry(feed, 'BTC/USDT')
    fake.pushToTopic(
      topicOf('BTCUSDT'),
      fake.bookFrame('BTCUSDT', 'delta', [['60005.00', '1.00000000']], []),
    )
    await until(() => e.resyncs === 1, 3000, 'resync')
    expect(e.lastResyncReason).toContain('crossed')
    await live(feed, 'BTC/USDT')
    expect(e.book.bids[0]!.px).toBeLessThan(e.book.asks[0]!.px)
    expectSame(feed, 'BTC/USDT', simOf(fake, 'BTCUSDT'))
    expect(entry(feed, 'ETH/USDT').resyncs).toBe(0)
    expect(entry(feed, 'ETH/USDT').state).toBe('live')
  })

  test('a rejected subscription is a venue error; the other books go live', async () => {
    fake = new FakeBybit(MARKETS)
    fake.rejectSymbols.add('ETHUSDT')
    // The fake refuses a whole frame for one bad topic: one topic per frame shows the rest pass.
    const split = {
      ...bybit,
      subscribe: (n: readonly string[]) => n.flatMap((x) => bybit.subscribe([x])),
    }
    feed = startFeed(split, fake, ['BTC/USDT', 'ETH/USDT'])
    await live(feed, 'BTC/USDT')
    await until(() => feed!.conn.stats.errors['venue-error'] === 1, 3000, 'venue error')
    expect(entry(feed, 'ETH/USDT').state).toBe('syncing')
    expect(entry(feed, 'ETH/USDT').resyncs).toBe(0)
  })
})

describe('bybit: connection faults', () => {
  test('pings every interval; the pongs keep a quiet connection alive under the watchdog', async () => {
    // Faster pings than the real 20 s, with the send budget raised to match.
    const quick = { ...bybit, pingIntervalMs: 30, sendPerSecond: 100 }
    fake = new FakeBybit(MARKETS)
    feed = startFeed(quick, fake, ['BTC/USDT'], { idleTimeoutMs: 300 })
    await live(feed, 'BTC/USDT')
    await until(() => fake!.requests('ping').length >= 15, 3000, 'fifteen pings')
    expect(fake.server.connections).toBe(1)
    expect(feed.conn.stats.errors).toEqual({})
    expect(fake.requests('ping')[0]).toMatchObject({ op: 'ping', req_id: expect.any(String) })
  })

  test('pings left unanswered on a quiet connection end in a watchdog reconnect', async () => {
    const quick = { ...bybit, pingIntervalMs: 30, sendPerSecond: 100 }
    fake = new FakeBybit(MARKETS)
    feed = startFeed(quick, fake, ['BTC/USDT'], { idleTimeoutMs: 300 })
    await live(feed, 'BTC/USDT')
    fake.answerPings = false
    await until(() => fake!.server.connections === 2, 3000, 'watchdog reconnect')
    fake.answerPings = true
    expect(feed.conn.stats.errors.idle).toBeGreaterThanOrEqual(1)
    await live(feed, 'BTC/USDT')
    expectSame(feed, 'BTC/USDT', simOf(fake, 'BTCUSDT'))
  })

  test('a disconnect reconnects, resubscribes and rebuilds the book without ghost levels', async () => {
    const { fake, feed } = simFeed(['BTC/USDT'])
    await live(feed, 'BTC/USDT')
    const e = entry(feed, 'BTC/USDT')
    fake.server.disconnectAll()
    await until(() => feed.conn.stats.state !== 'connected', 3000, 'down')
    // While we are away a level disappears; the client never sees that delete.
    simOf(fake, 'BTCUSDT').apply([['59999.90', '0']], [])
    await until(() => fake.server.connections === 2, 3000, 'reconnect')
    await live(feed, 'BTC/USDT')
    const again = fake.requests('subscribe').filter((r) => r.client === lastClient(fake))
    expect(again.map((r) => r.args)).toEqual([['orderbook.50.BTCUSDT']])
    expect(e.book.bids.some((l) => l.pxText === '59999.90')).toBe(false)
    expectSame(feed, 'BTC/USDT', simOf(fake, 'BTCUSDT'))
    expect(feed.conn.stats.reconnects).toBe(1)
  })

  test('a stalled feed is caught by the idle watchdog and reconnected', async () => {
    const { fake, feed } = simFeed(['BTC/USDT'], { idleTimeoutMs: 200 })
    await live(feed, 'BTC/USDT')
    fake.server.stalled = true
    await until(() => fake.server.connections === 2, 3000, 'watchdog reconnect')
    fake.server.stalled = false
    expect(feed.conn.stats.errors.idle).toBeGreaterThanOrEqual(1)
    await live(feed, 'BTC/USDT')
    expectSame(feed, 'BTC/USDT', simOf(fake, 'BTCUSDT'))
  })

  test('a server closing mid-message is survived', async () => {
    const { fake, feed } = simFeed(['BTC/USDT'])
    await live(feed, 'BTC/USDT')
    fake.server.closeMidMessage(fake.bookFrame('BTCUSDT', 'delta', [['1.0', '1.0']], []))
    await until(() => fake.server.connections === 2, 3000, 'reconnect')
    await live(feed, 'BTC/USDT')
    expectSame(feed, 'BTC/USDT', simOf(fake, 'BTCUSDT'))
  })

  test('a connection dropped without a close frame is survived', async () => {
    const { fake, feed } = simFeed(['BTC/USDT'])
    await live(feed, 'BTC/USDT')
    fake.server.terminateAll()
    fake.update('BTCUSDT', [['59999.93', '2.00000000']], [])
    await until(() => fake.server.connections === 2, 3000, 'reconnect')
    await live(feed, 'BTC/USDT')
    expectSame(feed, 'BTC/USDT', simOf(fake, 'BTCUSDT'))
  })
})
