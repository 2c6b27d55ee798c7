/**
 * Binance's own behaviour: the recorded capture replayed into the documented books, the U/u
 * procedure around a REST snapshot, the bookTicker cross-check, its parser's level checks,
 * serverShutdown, its market list and the simulated venue's limits. Generic faults are in
 * contract.test.ts.
 */
import { describe, expect, test } from 'bun:test'
import { Scanner } from '../../src/venues/binance/fast-json.ts'
import { binance, scanBookTicker } from '../../src/venues/binance/index.ts'
import { SimBinance } from '../../src/venues/binance/sim.ts'
import { makeBook, SimBook, type Row } from '../../src/venues/sim/book.ts'
import type { SimMarket } from '../../src/venues/sim/venue.ts'
import { ExchangeError } from '../../src/venues/venue.ts'
import { bookWhere, readLines, rows, useFeeds, type Feed, type FeedOptions } from '../support.ts'
import { expectEachRejected, expectReconnect } from '../support.ts'

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
    expect(scanBookTicker(new Scanner().reset(combined), markets)).toEqual(top as never)
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

  test('REST errors carry Binance bodies; the request-weight budget answers 429 with Retry-After', async () => {
    const sim = feeds.sim(
      new SimBinance([{ base: 'BTC', quote: 'USDT', book: makeBook(60000) }], {
        weightPerMinute: 120,
      }),
    )
    const depth = `${sim.restUrl}/api/v3/depth?symbol=BTCUSDT&limit=1000`
    sim.snapshotFaults.push({ kind: 'status', status: 500 })
    const failed = await fetch(depth)
    expect(failed.status).toBe(500)
    expect(await failed.json()).toMatchObject({ code: -1001 })
    // Weight 50 a request: the second passes, the third is over 120 a minute.
    expect((await fetch(depth)).status).toBe(200)
    const limited = await fetch(depth)
    expect(limited.status).toBe(429)
    expect(limited.headers.get('retry-after')).toBe('60')
    expect(await limited.json()).toMatchObject({ code: -1003 })
    const signal = AbortSignal.timeout(2000)
    const err = await binance.fetchSnapshot!(sim.restUrl, 'BTCUSDT', BTC, { fetch, signal }).catch(
      (e: unknown) => e,
    )
    expect(err).toBeInstanceOf(ExchangeError)
    expect((err as ExchangeError).retryAfterMs).toBe(60_000)
    const unknown = await fetch(`${sim.restUrl}/api/v3/depth?symbol=NOPE&limit=5`)
    expect([unknown.status, await unknown.json()]).toEqual([
      400,
      { code: -1121, msg: 'Invalid symbol.' },
    ])
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
