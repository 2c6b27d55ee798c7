/**
 * Binance's own behaviour: the recorded capture replayed into the documented books, the U/u
 * procedure around a REST snapshot, the bookTicker cross-check, its parser's level checks,
 * serverShutdown, its market list and the simulated venue's limits. Generic faults are in
 * contract.test.ts.
 */
import { describe, expect, test } from 'bun:test'
import { binanceFeed } from '../../bench/venue-feed.ts'
import { createFastParser } from '../../src/venues/binance/fast.ts'
import { createJsonParser } from '../../src/venues/binance/index.ts'
import { binance, BINANCE_SNAPSHOT_LIMIT } from '../../src/venues/binance/index.ts'
import { SimBinance } from '../../src/venues/binance/sim.ts'
import { makeBook, SimBook, type Row } from '../../src/venues/sim/book.ts'
import type { SimMarket } from '../../src/venues/sim/venue.ts'
import { ExchangeError, ParseError } from '../../src/venues/venue.ts'
import { allLive, bookWhere, readLines, rows, useFeeds } from '../support.ts'
import type { Feed, FeedOptions } from '../support.ts'
import { expectEachRejected, expectReconnect } from '../support.ts'
import { expectSameAsJsonPath, variantsOf } from './fast-path.ts'

const FIX = `${import.meta.dir}/../fixtures/binance`
const BTC = 'BTC/USDT'
const ETH = 'ETH/USDT'

const feeds = useFeeds()

function simFeed(pairs = [BTC, ETH], options: FeedOptions = {}) {
  const sim = feeds.sim(
    new SimBinance([
      { base: 'BTC', quote: 'USDT', book: makeBook(60000, 20, 0.1) },
      { base: 'ETH', quote: 'USDT', book: makeBook(3000, 20, 0.01) },
      { base: 'BTC', quote: 'USD', trading: false, book: makeBook(60000) },
    ]),
  )
  const feed = feeds.start(binance, sim, pairs, options)
  return { sim, feed }
}

/** The book once live; an empty update makes a quiet market ask for its snapshot. */
async function live(f: Feed, s: SimBinance, pair: string) {
  await s.server.waitFor(() => s.server.clients.size > 0, 3000, 'a connection')
  if (f.entry(pair).state !== 'live') s.update(pair, [], [])
  return bookWhere(f, pair)
}

const expectSame = (f: Feed, pair: string, book: SimBook) => {
  expect(rows(f.entry(pair).book.bids)).toEqual(book.topBids())
  expect(rows(f.entry(pair).book.asks)).toEqual(book.topAsks())
}

const depthRequests = (s: SimBinance) =>
  s.server.requests.filter((r) => r.startsWith('/api/v3/depth'))

describe('binance: recorded capture', () => {
  test('replays the captured frames and REST snapshots into the documented books, level by level', async () => {
    const snapshots = (await readLines(`${FIX}/BINANCE_http_0_0.rest_snapshots.jsonl`)).map(
      (l) => JSON.parse(l) as { url: string; body: string },
    )
    const frames = await readLines(`${FIX}/BINANCE_ws_1_0.frames.jsonl`)
    const markets: (SimMarket & { symbol: string; pair: string })[] = [
      { symbol: 'NKNUSDT', base: 'NKN', quote: 'USDT', pair: 'NKN/USDT' },
      { symbol: 'BLZETH', base: 'BLZ', quote: 'ETH', pair: 'BLZ/ETH' },
      { symbol: 'LRCBTC', base: 'LRC', quote: 'BTC', pair: 'LRC/BTC' },
      { symbol: 'RUNEEUR', base: 'RUNE', quote: 'EUR', pair: 'RUNE/EUR' },
    ]
    const sim = feeds.sim(new SimBinance(markets))
    for (const s of snapshots)
      sim.cannedSnapshots.set(new URL(s.url).searchParams.get('symbol')!, s.body)

    // The reference: the documented procedure, applied independently with SimBook.
    const expected = new Map<string, SimBook>()
    const applied = new Map<string, number>()
    for (const m of markets) {
      const snap = JSON.parse(sim.cannedSnapshots.get(m.symbol)!) as {
        lastUpdateId: number
        bids: Row[]
        asks: Row[]
      }
      const book = new SimBook(snap.bids, snap.asks)
      let id = snap.lastUpdateId
      let count = 0
      for (const f of frames) {
        const { stream, data } = JSON.parse(f) as {
          stream: string
          data: { e: string; s: string; U: number; u: number; b: Row[]; a: Row[] }
        }
        if (!stream.endsWith('@depth@100ms') || data.s !== m.symbol || data.u <= id) continue
        expect(data.U).toBeLessThanOrEqual(id + 1) // the capture has no gaps
        book.apply(data.b, data.a)
        id = data.u
        count++
      }
      expected.set(m.pair, book)
      applied.set(m.pair, count)
    }

    const pairs = markets.map((m) => m.pair)
    const feed = feeds.start(binance, sim, pairs)
    await sim.server.waitFor(() => sim.server.clients.size === 1, 3000, 'connection')
    const client = [...sim.server.clients][0]!
    expect(sim.streamsOf(client).sort()).toEqual(
      markets
        .flatMap((m) => [
          `${m.symbol.toLowerCase()}@bookTicker`,
          `${m.symbol.toLowerCase()}@depth@100ms`,
        ])
        .sort(),
    )
    const tickers = frames.filter((f) => f.includes('@bookTicker"')).length
    expect(tickers).toBe(84)
    for (const f of frames) {
      const stream = (JSON.parse(f) as { stream: string }).stream
      if (sim.streamsOf(client).includes(stream)) sim.server.send(f, client)
    }
    for (const m of markets) {
      const last = maxU(frames, m.symbol)
      await bookWhere(feed, m.pair, (e) => e.state === 'live' && e.lastSeq === last)
    }

    for (const m of markets) {
      const e = feed.entry(m.pair)
      const book = expected.get(m.pair)!
      expect(rows(e.book.bids)).toEqual(book.topBids())
      expect(rows(e.book.asks)).toEqual(book.topAsks())
      expect(e.resyncs).toBe(0)
    }
    // Every real bookTicker was read as a top and none disagreed with the books. Their ids fall
    // inside the 100 ms diff batches, so none could be compared exactly: all were skipped (or
    // are still pending, one per book at most).
    expect(feed.books.resyncCounts('binance')['cross-check']).toBe(0)
    const checks = feed.books.crossCheckCounts('binance')
    const pending = markets.filter((m) => feed.entry(m.pair).pendingTop !== undefined).length
    expect(checks.compared + checks.skipped + pending).toBe(tickers)
    expect(checks.skipped).toBeGreaterThan(70)
    expect(applied.get('NKN/USDT')).toBeGreaterThan(100)
    expect(feed.conn.stats.errors).toEqual({})
    expect(depthRequests(sim).length).toBe(4)
  })
})

function maxU(frames: string[], symbol: string): number {
  let u = 0
  for (const f of frames) {
    const { data } = JSON.parse(f) as { data: { s?: string; u?: number; e?: string } }
    if (data.e === 'depthUpdate' && data.s === symbol) u = Math.max(u, data.u!)
  }
  return u
}

describe('binance: synchronisation', () => {
  test('buffers updates during the REST snapshot; the first kept event straddles lastUpdateId', async () => {
    const { sim, feed } = simFeed([BTC])
    await sim.server.waitFor(() => sim.server.clients.size > 0, 3000, 'connection')
    sim.holdSnapshots = true
    sim.update(BTC, [['59999.90', '2.00000000']], [])
    await sim.server.waitFor(() => depthRequests(sim).length === 1, 3000, 'snapshot request')
    // The venue's snapshot lands inside the next event's U..u span.
    const snapshot = sim.book(BTC).clone()
    const lastUpdateId = sim.seq(BTC) + 1
    sim.cannedSnapshots.set(
      'BTCUSDT',
      JSON.stringify({ lastUpdateId, bids: snapshot.topBids(), asks: snapshot.topAsks() }),
    )
    sim.update(BTC, [], [['60000.10', '0']], { ids: 3 })
    sim.update(BTC, [['59999.95', '1.50000000']], [['60000.15', '3.00000000']])
    const e = await bookWhere(feed, BTC, (e) => e.buffer.length === 3, 3000, 'three buffered')
    expect(e.state).toBe('syncing')
    sim.releaseSnapshots()
    await bookWhere(feed, BTC)
    expectSame(feed, BTC, sim.book(BTC))
    expect(e.book.asks[0]!.pxText).toBe('60000.15')
    expect(e.lastSeq).toBe(sim.seq(BTC))
    expect(e.resyncs).toBe(0)
  })
})

describe('binance: bookTicker cross-check', () => {
  /** Waits until the book has applied everything the sim sent. */
  const caughtUp = (f: Feed, s: SimBinance, pair: string) =>
    bookWhere(f, pair, (e) => e.state === 'live' && e.lastSeq === s.seq(pair))

  test('matching tickers are compared at exactly their update id and never resync', async () => {
    const { sim, feed } = simFeed([BTC])
    await live(feed, sim, BTC)
    const before = feed.books.crossCheckCounts('binance')
    sim.update(BTC, [['59999.95', '1.50000000']], [])
    sim.update(BTC, [], [['60000.05', '0.25000000']], { ids: 4 })
    sim.update(BTC, [['59999.95', '0']], [])
    sim.update(BTC, [['59000.00', '1.00000000']], []) // deep: no ticker
    await caughtUp(feed, sim, BTC)
    const after = feed.books.crossCheckCounts('binance')
    expect(after.compared - before.compared).toBe(3)
    expect(after.skipped - before.skipped).toBe(0)
    expect(feed.entry(BTC).resyncs).toBe(0)
    expect(feed.entry(BTC).pendingTop).toBeUndefined()
    expectSame(feed, BTC, sim.book(BTC))
  })

  test('a ticker whose id falls inside a diff batch is held, then dropped when the book passes it', async () => {
    const { sim, feed } = simFeed([BTC])
    const e = await live(feed, sim, BTC)
    const before = feed.books.crossCheckCounts('binance')
    const [b] = sim.book(BTC).topBids(1)[0]!
    const [a, A] = sim.book(BTC).topAsks(1)[0]!
    // The venue's top at an id the diff stream will only send inside a batch ending later: even a
    // wrong top there must not count (the book is never exactly at it).
    const u = sim.seq(BTC) + 1
    const data = { u, s: 'BTCUSDT', b, B: '999.00000000', a, A }
    sim.pushToStream(sim.tickerStream(BTC), JSON.stringify({ stream: sim.tickerStream(BTC), data }))
    await bookWhere(feed, BTC, (x) => x.pendingTop?.seq === u, 3000, 'the ticker held')
    sim.update(BTC, [['1.00', '1.00000000']], [], { ids: 3 })
    await caughtUp(feed, sim, BTC)
    const after = feed.books.crossCheckCounts('binance')
    expect(after.skipped - before.skipped).toBe(1)
    expect(after.compared - before.compared).toBe(0)
    expect(e.pendingTop).toBeUndefined()
    expect(e.resyncs).toBe(0)
  })

  test('bookTicker frames parse the same on the fast and the JSON.parse paths', () => {
    const markets = new Map([['BTCUSDT', BTC]])
    const parse = binance.createParser(markets)
    const data = {
      u: 400900217,
      s: 'BTCUSDT',
      b: '25.35190000',
      B: '31.21000000',
      a: '25.36520000',
      A: '40.66000000',
    }
    const combined = JSON.stringify({ stream: 'btcusdt@bookTicker', data })
    const top = {
      type: 'top',
      pair: BTC,
      seq: 400900217,
      bid: { px: 25.3519, qty: 31.21, pxText: '25.35190000', qtyText: '31.21000000' },
      ask: { px: 25.3652, qty: 40.66, pxText: '25.36520000', qtyText: '40.66000000' },
    }
    expect(createFastParser(markets)(combined)).toEqual([top] as never)
    expect(parse(combined, 0)).toEqual([top] as never)
    expect(parse(JSON.stringify(data), 0)).toEqual([top] as never)
    // Spaces defeat the scanner; the slow path reads the same event.
    expect(parse(JSON.stringify({ stream: 'btcusdt@bookTicker', data }, null, 1), 0)).toEqual([
      top,
    ] as never)
    // An empty side is a zero price and quantity.
    const empty = JSON.stringify({
      stream: 'btcusdt@bookTicker',
      data: { ...data, a: '0.00000000', A: '0.00000000' },
    })
    expect(parse(empty, 0)).toEqual([{ ...top, ask: undefined }] as never)
    expect(() => parse(JSON.stringify({ ...data, b: '-1' }), 0)).toThrow('bad level')
  })
})

describe('binance: parser', () => {
  test('a negative or non-numeric price rejects the whole message and resyncs that book only', async () => {
    const { sim, feed } = simFeed()
    await live(feed, sim, BTC)
    await live(feed, sim, ETH)
    const bads: Row[] = [
      ['-1.00', '1.0'],
      ['abc', '1.0'],
      ['60000.00', '-5'],
    ]
    await expectEachRejected(
      feed,
      BTC,
      bads,
      (bad) => sim.inject(BTC, [['59999.01', '1.0'], bad], []),
      async () => {
        await live(feed, sim, BTC)
        expectSame(feed, BTC, sim.book(BTC))
      },
    )
    expect(feed.conn.stats.errors['bad-level']).toBe(3)
    expect(feed.entry(ETH).resyncs).toBe(0)
  })
})

describe('binance: venue behaviour', () => {
  test('serverShutdown triggers a planned reconnect', async () => {
    const { sim, feed } = simFeed([BTC])
    await live(feed, sim, BTC)
    await expectReconnect(feed, sim, () => sim.serverShutdown(), 'serverShutdown')
    await live(feed, sim, BTC)
    expectSame(feed, BTC, sim.book(BTC))
    expect(feed.conn.stats.errors.socket ?? 0).toBe(0)
  })

  test('only TRADING symbols are listed, and USD is not USDT', async () => {
    const { feed } = simFeed([BTC, 'BTC/USD', 'DOGE/USDT'])
    const listed = await feed.conn.events.next('listed')
    expect(listed.unlisted).toEqual(['BTC/USD', 'DOGE/USDT'])
    expect([...listed.markets]).toEqual([[BTC, 'BTCUSDT']])
  })

  test('REST errors carry Binance bodies; past the weight budget a 429, then a 418 ban', async () => {
    // A window far longer than the test, so no window boundary falls inside it.
    const sim = feeds.sim(
      new SimBinance([{ base: 'BTC', quote: 'USDT', book: makeBook(60000) }], {
        weightPerMinute: 120,
        weightWindowMs: 1e12,
      }),
    )
    const depth = `${sim.restUrl}/api/v3/depth?symbol=BTCUSDT&limit=1000`
    const used = (r: Response) => r.headers.get('x-mbx-used-weight-1m')
    const unknown = await fetch(`${sim.restUrl}/api/v3/depth?symbol=NOPE&limit=5`)
    expect([unknown.status, await unknown.json(), used(unknown)]).toEqual([
      400,
      { code: -1121, msg: 'Invalid symbol.' },
      '5',
    ])
    sim.snapshotFaults.push({ kind: 'status', status: 500 })
    const failed = await fetch(depth)
    expect([failed.status, used(failed)]).toEqual([500, '55'])
    expect(await failed.json()).toMatchObject({ code: -1001 })
    // Weight 50 a request: the second passes, the third is over 120 in the window.
    const passed = await fetch(depth)
    expect([passed.status, used(passed)]).toEqual([200, '105'])
    const limited = await fetch(depth)
    expect([limited.status, used(limited)]).toEqual([429, '105'])
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0)
    expect(await limited.json()).toMatchObject({ code: -1003 })
    expect(sim.limited).toMatchObject({ throttled: 1, banned: 0 })
    // Sending again before Retry-After has passed earns the ban.
    const signal = AbortSignal.timeout(2000)
    const err = await binance.fetchSnapshot!(sim.restUrl, 'BTCUSDT', BTC, { fetch, signal }).catch(
      (e: unknown) => e,
    )
    expect(err).toBeInstanceOf(ExchangeError)
    expect((err as ExchangeError).message).toContain('418')
    expect((err as ExchangeError).retryAfterMs).toBe(120_000)
    const banned = await fetch(`${sim.restUrl}/api/v3/exchangeInfo`)
    expect(banned.status).toBe(418)
    expect(Number(banned.headers.get('retry-after'))).toBeGreaterThan(100)
    expect(((await banned.json()) as { msg: string }).msg).toContain('IP banned until')
    expect(sim.limited).toMatchObject({ throttled: 1, banned: 2 })
  })

  test('more than 5 incoming messages a second close the connection, as Binance does', async () => {
    const sim = feeds.sim(new SimBinance([{ base: 'BTC', quote: 'USDT' }]))
    const ws = new WebSocket(`${sim.wsUrl}/stream?streams=btcusdt@depth@100ms`)
    const replies: unknown[] = []
    ws.onmessage = (m) => replies.push(JSON.parse(String(m.data)))
    await new Promise((resolve) => (ws.onopen = resolve))
    const closed = new Promise<CloseEvent>((resolve) => (ws.onclose = resolve))
    for (let i = 1; i <= 6; i++) ws.send(JSON.stringify({ method: 'LIST_SUBSCRIPTIONS', id: i }))
    expect((await closed).code).toBe(1008)
    expect(replies[0]).toEqual({ result: ['btcusdt@depth@100ms'], id: 1 })
    expect(replies.length).toBe(5)
  })
})

describe('binance: limits the simulated venue enforces', () => {
  /** Resolves with how the socket ended (a refused upgrade closes it too). */
  const ended = (ws: WebSocket) =>
    new Promise<{ code: number; reason: string }>((resolve) => {
      ws.onclose = (e) => resolve({ code: e.code, reason: e.reason })
    })
  const opened = (ws: WebSocket) => new Promise((resolve) => (ws.onopen = resolve))
  /** `n` short stream names (a long URL is refused before its streams are counted). */
  const streams = (n: number) => Array.from({ length: n }, (_, i) => `${i.toString(36)}@t`)

  test('1,024 streams a connection: one more in the URL closes it, a SUBSCRIBE past it is refused', async () => {
    const sim = feeds.sim(new SimBinance([{ base: 'BTC', quote: 'USDT' }]))
    const over = new WebSocket(`${sim.wsUrl}/stream?streams=${streams(1025).join('/')}`)
    expect(await ended(over)).toEqual({ code: 1008, reason: 'Too many subscriptions' })
    const full = new WebSocket(`${sim.wsUrl}/stream?streams=${streams(1024).join('/')}`)
    const replies = new Promise<unknown[]>((resolve) => {
      const got: unknown[] = []
      full.onmessage = (m) => got.push(JSON.parse(String(m.data))) === 3 && resolve(got)
    })
    await opened(full)
    full.send(JSON.stringify({ method: 'SUBSCRIBE', params: ['btcusdt@depth@100ms'], id: 7 }))
    full.send(JSON.stringify({ method: 'UNSUBSCRIBE', params: ['0@t'], id: 8 }))
    full.send(JSON.stringify({ method: 'SUBSCRIBE', params: ['btcusdt@depth@100ms'], id: 9 }))
    expect(await replies).toEqual([
      { error: { code: 4, msg: 'Too many subscriptions' }, id: 7 },
      { result: null, id: 8 },
      { result: null, id: 9 },
    ])
    expect(sim.streamsOf([...sim.server.clients][0]!).length).toBe(1024)
    expect(sim.limited.streams).toBe(2)
    full.close()
  })

  test('connections past the rate per IP and request targets over 8,004 characters are refused', async () => {
    const sim = feeds.sim(
      new SimBinance([{ base: 'BTC', quote: 'USDT' }], { connectsPerWindow: 2 }),
    )
    const url = `${sim.wsUrl}/stream?streams=btcusdt@depth@100ms`
    const [a, b] = [new WebSocket(url), new WebSocket(url)]
    await Promise.all([opened(a), opened(b)])
    await ended(new WebSocket(url))
    expect(sim.limited.connects).toBe(1)
    await ended(new WebSocket(`${sim.wsUrl}/stream?streams=${streams(1600).join('/')}`))
    expect(sim.limited.urls).toBe(1)
    expect(sim.server.connections).toBe(2)
    a.close()
    b.close()
  })
})

describe('binance: the product within the limits', () => {
  test('a full shard fits: 200 streams, a URL under the 8,004 characters measured in 2019', () => {
    const per = binance.limits.marketsPerConnection
    // Long symbols (20 characters) for the worst case.
    const natives = Array.from({ length: per }, (_, i) => `A${String(i).padStart(15, '0')}USDT`)
    const url = binance.wsUrl(binance.endpoints.wsUrl, natives)
    const names = new URL(url).searchParams.get('streams')!.split('/')
    expect(names.length).toBe(2 * per)
    expect(names.length).toBeLessThanOrEqual(1024)
    expect(url.length).toBeLessThan(8004)
    expect(binance.subscribe(natives)).toEqual([])
    // Connection attempts under 300 per 5 minutes, frames under 5 a second.
    const { count, windowMs } = binance.limits.connects
    expect(count / windowMs).toBeLessThan(300 / 300_000)
    expect(binance.limits.sendPerSecond).toBeLessThan(5)
  })

  test('snapshots ask for 100 levels at weight 5; every request is weighed as Binance weighs it', () => {
    const url = (path: string) => new URL(`https://api.binance.com${path}`)
    const weigh = binance.limits.rest.cost!
    const snapshot = url(`/api/v3/depth?symbol=BTCUSDT&limit=${BINANCE_SNAPSHOT_LIMIT}`)
    expect(binance.limits.rest.snapshotCost).toBe(weigh(snapshot))
    expect(binance.limits.rest.snapshotCost).toBe(5)
    expect(weigh(url('/api/v3/depth?symbol=BTCUSDT&limit=1000'))).toBe(50)
    expect(weigh(url('/api/v3/depth?symbol=BTCUSDT'))).toBe(5)
    expect(weigh(url('/api/v3/exchangeInfo?permissions=SPOT'))).toBe(20)
    expect(weigh(url('/api/v3/ticker/24hr?type=MINI'))).toBe(80)
    expect(weigh(url('/api/v3/ticker/24hr?symbol=BTCUSDT'))).toBe(2)
    expect(binance.limits.rest).toMatchObject({ weight: 6000, windowMs: 60_000 })
    expect(binance.limits.rest.usedWeightHeader).toBe('x-mbx-used-weight-1m')
  })

  test('a shard of 100 markets, snapshots queued behind the budget: all live, no 429, no 418', async () => {
    // The budget scaled to 200 weight a second, sim and client alike, so the queue shows in a
    // test: 100 snapshots of weight 5 are 500 weight, more than two windows' worth.
    const rest = { ...binance.limits.rest, weight: 200, windowMs: 1000 }
    const venue = { ...binance, limits: { ...binance.limits, rest } }
    const n = binance.limits.marketsPerConnection
    const bases = Array.from({ length: n }, (_, i) => `C${i}`)
    const sim = feeds.sim(
      new SimBinance(
        bases.map((base) => ({ base, quote: 'USDT', book: makeBook(100, 5, 0.01) })),
        { weightPerMinute: 200, weightWindowMs: 1000 },
      ),
    )
    const pairs = bases.map((b) => `${b}/USDT`)
    const feed = feeds.start(venue, sim, pairs, { snapshotTimeoutMs: 10_000 })
    await sim.server.waitFor(() => sim.server.clients.size === 1, 3000, 'the connection')
    // Each book asks for its snapshot when its first update arrives.
    for (const pair of pairs) sim.update(pair, [['99.95', '1.00000000']], [])
    await allLive(feed.books, () => true, 15_000)
    const depth = depthRequests(sim)
    expect(depth.length).toBe(n)
    expect(depth.every((r) => r.endsWith(`&limit=${BINANCE_SNAPSHOT_LIMIT}`))).toBe(true)
    expect(sim.limited).toEqual({
      throttled: 0,
      banned: 0,
      connects: 0,
      urls: 0,
      streams: 0,
      messages: 0,
    })
    // 500 weight at 200 a window without a refusal: the requests waited for later windows.
    const windows = new Set(sim.server.requestTimesMs.map((t) => Math.floor(t / 1000)))
    expect(windows.size).toBeGreaterThanOrEqual(3)
    for (const pair of pairs) expectSame(feed, pair, sim.book(pair))
  })
})

describe('binance: 24 h volumes', () => {
  test('fetchVolumes reads quoteVolume per TRADING market from ticker/24hr (weight 80 + 20)', async () => {
    const sim = feeds.sim(
      new SimBinance([
        { base: 'BTC', quote: 'USDT', book: makeBook(60000), volume24h: 1_234_567.5 },
        { base: 'ETH', quote: 'USDT', book: makeBook(3000), volume24h: 654_321 },
        { base: 'BTC', quote: 'USD', trading: false, volume24h: 99 },
      ]),
    )
    const signal = AbortSignal.timeout(3000)
    const volumes = await binance.fetchVolumes!(sim.restUrl, { fetch, signal })
    expect([...volumes]).toEqual([
      [BTC, 1_234_567.5],
      [ETH, 654_321],
    ])
    expect(sim.server.requests).toContain('/api/v3/ticker/24hr?type=MINI')
    expect(sim.usedWeight).toBe(100)
  })

  test('the documented ticker body parses; rows without a usable symbol or quoteVolume are skipped', async () => {
    // The FULL response example of rest-api.md, then rows a venue could send wrong.
    const documented = {
      symbol: 'BNBBTC',
      priceChange: '-94.99999800',
      priceChangePercent: '-95.960',
      weightedAvgPrice: '0.29628482',
      prevClosePrice: '0.10002000',
      lastPrice: '4.00000200',
      lastQty: '200.00000000',
      bidPrice: '4.00000000',
      bidQty: '100.00000000',
      askPrice: '4.00000200',
      askQty: '100.00000000',
      openPrice: '99.00000000',
      highPrice: '100.00000000',
      lowPrice: '0.10000000',
      volume: '8913.30000000',
      quoteVolume: '15.30000000',
      openTime: 1499783499040,
      closeTime: 1499869899040,
      firstId: 28385,
      lastId: 28460,
      count: 76,
    }
    const tickers = [
      documented,
      { symbol: 'LTCBTC', quoteVolume: '0.77000000' },
      { symbol: 'ETHBTC', quoteVolume: -1 },
      { symbol: 'XRPBTC', quoteVolume: '1e5' },
      { symbol: 'ADABTC' },
      null,
      { quoteVolume: '5.0' },
      { symbol: 'NOTLISTED', quoteVolume: '1.0' },
    ]
    const info = {
      symbols: ['BNBBTC', 'LTCBTC', 'ETHBTC', 'XRPBTC', 'ADABTC'].map((symbol) => ({
        symbol,
        status: 'TRADING',
        baseAsset: symbol.slice(0, 3),
        quoteAsset: 'BTC',
      })),
    }
    const answer = (body: unknown) =>
      (async (input: string | URL | Request) =>
        Response.json(String(input).includes('/exchangeInfo') ? info : body)) as typeof fetch
    const signal = AbortSignal.timeout(3000)
    const volumes = await binance.fetchVolumes!('http://binance.test', {
      fetch: answer(tickers),
      signal,
    })
    expect([...volumes]).toEqual([
      ['BNB/BTC', 15.3],
      ['LTC/BTC', 0.77],
    ])
    const err = await binance.fetchVolumes!('http://binance.test', {
      fetch: answer({ code: -1000 }),
      signal,
    }).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(ParseError)
  })
})

describe('binance: fast path', () => {
  const markets = new Map([
    ['NKNUSDT', 'NKN/USDT'],
    ['BLZETH', 'BLZ/ETH'],
    ['LRCBTC', 'LRC/BTC'],
    ['RUNEEUR', 'RUNE/EUR'],
    ['BTCUSDT', BTC],
  ])
  const paths = () => ({
    parser: binance.createParser(markets),
    reference: createJsonParser(markets),
    fast: createFastParser(markets),
  })

  test('every captured frame gives the same events on the scanner and the JSON.parse path', async () => {
    const frames = await readLines(`${FIX}/BINANCE_ws_1_0.frames.jsonl`)
    const { parser, reference, fast } = paths()
    const books = frames.filter((f) => f.includes('"depthUpdate"') || f.includes('@bookTicker'))
    // Every depthUpdate and bookTicker of the capture is read by the scanner.
    expect(expectSameAsJsonPath(frames, parser, reference, { fast })).toBe(books.length)
    expect(books.length).toBeGreaterThan(200)
  })

  test('the bench stream (diffs, tickers) reads the same on both paths', () => {
    const { frames } = binanceFeed(3000)
    const { parser, reference, fast } = paths()
    expectSameAsJsonPath(frames, parser, reference, { fast, minFast: frames.length })
  })

  test('malformed or unusual frames are rejected (or read) as the JSON.parse path does', () => {
    const depth = binanceFeed(40).frames.find((f) => f.includes('"depthUpdate"'))!
    const ticker = binanceFeed(40).frames.find((f) => f.includes('@bookTicker'))!
    const raw = depth.slice(depth.indexOf(',"data":') + 8, -1)
    const frames = [
      depth,
      ticker,
      raw,
      ...variantsOf(depth, 7),
      ...variantsOf(ticker),
      ...variantsOf(raw, 9),
    ]
    const { parser, reference } = paths()
    expectSameAsJsonPath(frames, parser, reference)
  })
})
