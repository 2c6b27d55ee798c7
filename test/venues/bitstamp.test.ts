/**
 * Bitstamp's own behaviour: the recorded capture replayed from its REST snapshots, the
 * microtimestamp rules, heartbeats, its parser, refused channels, bts:request_reconnect, its
 * market list, and what it cannot do (show a lost diff). Generic faults are in contract.test.ts.
 */
import { describe, expect, setSystemTime, test } from 'bun:test'
import { bitstampFeed } from '../../bench/venue-feed.ts'
import { createFastParser } from '../../src/venues/bitstamp/fast.ts'
import { createJsonParser } from '../../src/venues/bitstamp/index.ts'
import { expectSameAsJsonPath, variantsOf } from './fast-path.ts'
import { bitstamp, createBitstamp } from '../../src/venues/bitstamp/index.ts'
import { SimBitstamp } from '../../src/venues/bitstamp/sim.ts'
import { makeBook, SimBook, type Row } from '../../src/venues/sim/book.ts'
import { RestBudget } from '../../src/venues/rest-budget.ts'
import type { Venue } from '../../src/venues/venue.ts'
import {
  bookWhere,
  readLines,
  rows,
  useFeeds,
  type Feed,
  type FeedOptions,
  rawSocket,
} from '../support.ts'
import { expectEachRejected, expectReconnect } from '../support.ts'

const FIX = `${import.meta.dir}/../fixtures/bitstamp`
const BTC = 'BTC/USD'
const ETH = 'ETH/USD'

const feeds = useFeeds()

function simFeed(pairs = [BTC, ETH], options: FeedOptions = {}, venue: Venue = bitstamp) {
  const sim = feeds.sim(
    new SimBitstamp([
      { base: 'BTC', quote: 'USD', book: makeBook(60000, 20, 1, 0) },
      { base: 'ETH', quote: 'USD', book: makeBook(3000, 20, 0.1, 1) },
      { base: 'ETH', quote: 'USDT', book: makeBook(3000, 20, 0.01) },
      { base: 'LTC', quote: 'USD', trading: false, book: makeBook(80) },
    ]),
  )
  const feed = feeds.start(venue, sim, pairs, options)
  return { sim, feed }
}

/** Two markets, for tests of the venue's limits. */
const SIM_FEW = () => [
  { base: 'BTC', quote: 'USD', book: makeBook(60000, 5, 1, 0) },
  { base: 'ETH', quote: 'USD', book: makeBook(3000, 5, 0.1, 1) },
]

/** Books are seeded from REST as soon as their subscription is acknowledged. */
const live = (f: Feed, pair: string) => bookWhere(f, pair)

const expectSame = (f: Feed, pair: string, book: SimBook) => {
  expect(rows(f.entry(pair).book.bids)).toEqual(book.topBids())
  expect(rows(f.entry(pair).book.asks)).toEqual(book.topAsks())
}

const bookRequests = (s: SimBitstamp) =>
  s.server.requests.filter((r) => r.startsWith('/api/v2/order_book/')).length

describe('bitstamp: recorded capture', () => {
  const MARKETS = [
    ['sgbeur', 'SGB/EUR'],
    ['ethusd', 'ETH/USD'],
    ['xrpeur', 'XRP/EUR'],
    ['bateur', 'BAT/EUR'],
    ['usdteur', 'USDT/EUR'],
    ['usdtusd', 'USDT/USD'],
    ['xlmgbp', 'XLM/GBP'],
    ['adaeur', 'ADA/EUR'],
    ['batbtc', 'BAT/BTC'],
    ['galaeur', 'GALA/EUR'],
  ] as const

  test('replays all 10 captured books from their REST snapshots, level by level', async () => {
    const snapshots = (await readLines(`${FIX}/BITSTAMP_http_0_0.rest_snapshots.jsonl`)).map(
      (l) => JSON.parse(l) as { url: string; body: string },
    )
    const frames = await readLines(`${FIX}/BITSTAMP_ws_1_0.frames.jsonl`)
    const sent = (await readLines(`${FIX}/BITSTAMP_ws_1_0.sent.jsonl`))
      .map((l) => JSON.parse(l) as { event: string; frame?: string })
      .filter((s) => s.event === 'sent' && s.frame!.includes('diff_order_book_'))
      .map((s) => s.frame!)

    const sim = feeds.sim(
      new SimBitstamp(
        MARKETS.map(([, pair]) => {
          const [base, quote] = pair.split('/') as [string, string]
          return { base, quote }
        }),
      ),
    )
    for (const [symbol, pair] of MARKETS) expect(sim.symbol(pair)).toBe(symbol)
    for (const s of snapshots)
      sim.cannedSnapshots.set(new URL(s.url).pathname.split('/').filter(Boolean).pop()!, s.body)
    expect(sim.cannedSnapshots.size).toBe(10)

    // The reference: seed from the snapshot, drop diffs at or before its microtimestamp,
    // apply the rest.
    type Diff = {
      data: { microtimestamp: string; bids: Row[]; asks: Row[] }
      channel: string
      event: string
    }
    const expected = new Map<string, { book: SimBook; seq: number }>()
    let applied = 0
    for (const [symbol, pair] of MARKETS) {
      const snap = JSON.parse(sim.cannedSnapshots.get(symbol)!) as {
        microtimestamp: string
        bids: Row[]
        asks: Row[]
      }
      const book = new SimBook(snap.bids, snap.asks)
      let seq = Number(snap.microtimestamp)
      for (const f of frames) {
        const msg = JSON.parse(f) as Diff
        if (msg.event !== 'data' || msg.channel !== `diff_order_book_${symbol}`) continue
        if (Number(msg.data.microtimestamp) <= seq) continue
        book.apply(msg.data.bids, msg.data.asks)
        seq = Number(msg.data.microtimestamp)
        applied++
      }
      expected.set(pair, { book, seq })
    }
    expect(applied).toBe(615) // as the capture's README says

    const pairs = MARKETS.map(([, pair]) => pair)
    const feed = feeds.start(bitstamp, sim, pairs)
    await sim.server.waitFor(() => sim.subscriptions.get(1)?.size === 20, 3000, '20 subscriptions')
    // The diff subscribe frames are exactly those the recording client sent to the real venue;
    // each market also subscribes its order_book_ channel (the cross-check).
    const received = sim.server.received.map((r) => r.text)
    expect(received.filter((t) => t.includes('diff_order_book_')).sort()).toEqual([...sent].sort())
    expect(received.filter((t) => !t.includes('diff_order_book_')).sort()).toEqual(
      [...sent].map((t) => t.replace('diff_order_book_', 'order_book_')).sort(),
    )
    sim.replay(frames)

    for (const [, pair] of MARKETS) {
      const { seq } = expected.get(pair)!
      await bookWhere(feed, pair, (e) => e.state === 'live' && e.lastSeq === seq)
    }
    for (const [, pair] of MARKETS) {
      const e = feed.entry(pair)
      const { book } = expected.get(pair)!
      expect(rows(e.book.bids)).toEqual(book.topBids())
      expect(rows(e.book.asks)).toEqual(book.topAsks())
      expect(e.book.bids[0]!.px).toBeLessThan(e.book.asks[0]!.px)
      expect(e.resyncs).toBe(0)
    }
    expect(feed.entry(ETH).book.bids.length).toBeGreaterThan(100)
    expect(feed.conn.stats.errors).toEqual({})
    expect(bookRequests(sim)).toBe(10)
  })

  test('parses the documented diff frame: seq is the microtimestamp, with no prevSeq', () => {
    const parse = bitstamp.createParser(new Map([['ethusd', 'ETH/USD']]))
    const [ev] = parse(
      '{"data":{"timestamp":"1641343691","microtimestamp":"1641343691406478","bids":[["3800.71","1.76200000"],["3799.64","0.00000000"]],"asks":[]},"channel":"diff_order_book_ethusd","event":"data"}',
      0,
    )
    expect(ev).toEqual({
      type: 'delta',
      pair: 'ETH/USD',
      seq: 1641343691406478,
      bids: [
        { px: 3800.71, qty: 1.762, pxText: '3800.71', qtyText: '1.76200000' },
        { px: 3799.64, qty: 0, pxText: '3799.64', qtyText: '0.00000000' },
      ],
      asks: [],
      exchangeTsMs: 1641343691406,
    })
    expect(ev && 'prevSeq' in ev).toBe(false)
    expect(parse('{"event":"bts:heartbeat","channel":"","data":{"status":"success"}}', 0)).toEqual([
      { type: 'info' },
    ])
    expect(parse('{"event":"bts:request_reconnect","channel":"","data":""}', 0)).toEqual([
      { type: 'reconnect', reason: 'bts:request_reconnect' },
    ])
    expect(bitstamp.subscribe(['btcusd'])).toEqual([
      '{"event":"bts:subscribe","data":{"channel":"diff_order_book_btcusd"}}',
      '{"event":"bts:subscribe","data":{"channel":"order_book_btcusd"}}',
    ])
    expect(bitstamp.wsUrl('wss://ws.bitstamp.net', ['btcusd'])).toBe('wss://ws.bitstamp.net')
  })
})

describe('bitstamp: synchronisation', () => {
  test('a quiet book is seeded from REST as soon as its subscription is acknowledged', async () => {
    const { sim, feed } = simFeed([BTC])
    const e = await live(feed, BTC)
    expectSame(feed, BTC, sim.book(BTC))
    expect(e.lastSeq).toBe(sim.seq(BTC))
    expect(sim.server.requests).toContain('/api/v2/order_book/btcusd/')
    expect(sim.server.received.map((r) => r.text)).toEqual([
      '{"event":"bts:subscribe","data":{"channel":"diff_order_book_btcusd"}}',
      '{"event":"bts:subscribe","data":{"channel":"order_book_btcusd"}}',
    ])
    sim.update(BTC, [['59999', '2.5']], [['60001', '0']])
    await bookWhere(feed, BTC, (e) => e.book.bids[0]!.qtyText === '2.5', 3000, 'diff applied')
    expect(e.lastSeq).toBe(sim.seq(BTC))
    expectSame(feed, BTC, sim.book(BTC))
  })

  test('diffs buffered during the REST fetch are dropped up to the snapshot microtimestamp, then applied', async () => {
    const sim = feeds.sim(
      new SimBitstamp([{ base: 'BTC', quote: 'USD', book: makeBook(60000, 20, 1, 0) }]),
    )
    sim.holdSnapshots = true
    const feed = feeds.start(bitstamp, sim, [BTC])
    const s = sim
    await s.server.waitFor(() => bookRequests(s) === 1, 3000, 'snapshot request')
    const snapMicros = s.seq(BTC)
    // Stamped at the snapshot's moment: already in it (this bogus level must never show).
    s.sendRawDiff(BTC, [['59990.5', '7']], [], snapMicros)
    s.update(BTC, [['59999', '1.5']], [])
    s.update(
      BTC,
      [],
      [
        ['60001', '0'],
        ['60000.5', '3'],
      ],
    )
    const e = await bookWhere(feed, BTC, (e) => e.buffer.length >= 3, 3000, 'three buffered')
    expect(e.state).toBe('syncing')
    s.releaseSnapshots()
    await live(feed, BTC)
    expect(e.book.bids.some((l) => l.pxText === '59990.5')).toBe(false)
    expect(e.book.asks[0]!.pxText).toBe('60000.5')
    expect(e.lastSeq).toBe(s.seq(BTC))
    expectSame(feed, BTC, s.book(BTC))
  })

  test('a live book ignores a diff stamped at or before its microtimestamp', async () => {
    const { sim, feed } = simFeed([BTC])
    const e = await live(feed, BTC)
    const seq = e.lastSeq!
    sim.sendRawDiff(BTC, [['59990.5', '7']], [], seq)
    sim.sendRawDiff(BTC, [['59991.5', '7']], [], seq - 1)
    sim.update(BTC, [['59999', '1']], [])
    await bookWhere(feed, BTC, (e) => e.book.bids[0]!.qtyText === '1', 3000, 'later diff')
    expectSame(feed, BTC, sim.book(BTC))
    expect(e.resyncs).toBe(0)
  })

  test('without order_book_, a lost diff cannot show (no sequence, no checksum); a re-seed repairs it', async () => {
    // The diff channel alone (the cross-check that catches this is tested below).
    const diffOnly: Venue = {
      ...bitstamp,
      subscribe: (n) => bitstamp.subscribe(n).filter((f) => f.includes('diff_order_book_')),
    }
    const { sim, feed } = simFeed([BTC], {}, diffOnly)
    const e = await live(feed, BTC)
    sim.lose(BTC, [['59999', '0']], [])
    sim.update(BTC, [['59998', '4']], [])
    await bookWhere(feed, BTC, (e) => e.book.bids[1]?.qtyText === '4', 3000, 'the next diff')
    // Expected for Bitstamp: still live, and the lost delete is a ghost level.
    expect(e.state).toBe('live')
    expect(e.book.bids[0]!.pxText).toBe('59999')
    sim.requestReconnect()
    await sim.server.waitFor(() => bookRequests(sim) === 2, 3000, 're-seed')
    await bookWhere(feed, BTC, (e) => e.state === 'live' && e.book.bids[0]!.pxText === '59998')
    expectSame(feed, BTC, sim.book(BTC))
  })

  test('heartbeats are answered and keep a quiet socket alive', async () => {
    const quick = createBitstamp({ pingIntervalMs: 50 })
    const { sim, feed } = simFeed([BTC], { idleTimeoutMs: 250 }, quick)
    await live(feed, BTC)
    const beats = () =>
      sim.server.received.filter((r) => r.text === '{"event":"bts:heartbeat"}').length
    // Eight heartbeats span twice the idle timeout with no book data at all.
    await sim.server.waitFor(() => beats() >= 8, 3000, 'heartbeats')
    expect(sim.server.connections).toBe(1)
    expect(feed.conn.stats.errors).toEqual({})
    expect(feed.entry(BTC).state).toBe('live')
  })
})

describe('bitstamp: order_book_ cross-check (issue 10)', () => {
  /** Waits until `n` tops were compared (re-checked on every frame the feed applies). */
  const compared = (f: Feed, n: number) =>
    bookWhere(
      f,
      BTC,
      () => f.books.crossCheckCounts('bitstamp').compared >= n,
      3000,
      `${n} compared`,
    )
  const caughtUp = (f: Feed, s: SimBitstamp, pair: string) =>
    bookWhere(f, pair, (e) => e.state === 'live' && e.lastSeq === s.micros(pair))

  test('tops are compared at exactly the diff book microtimestamp and never resync when right', async () => {
    const { sim, feed } = simFeed([BTC])
    const e = await live(feed, BTC)
    const before = feed.books.crossCheckCounts('bitstamp')
    sim.update(BTC, [['59999.5', '1.5']], [])
    sim.update(BTC, [], [['60000.5', '0.25']])
    sim.update(BTC, [['59000', '1']], []) // deep: the top is pushed again all the same
    await caughtUp(feed, sim, BTC)
    await compared(feed, before.compared + 3)
    const after = feed.books.crossCheckCounts('bitstamp')
    expect(after.compared - before.compared).toBe(3)
    expect(after.skipped - before.skipped).toBe(0)
    expect(e.resyncs).toBe(0)
    expectSame(feed, BTC, sim.book(BTC))
    expect(feed.conn.stats.errors).toEqual({})
  })

  test('a top at a microtimestamp the diff book never lands on is skipped and counted', async () => {
    const { sim, feed } = simFeed([BTC])
    const e = await live(feed, BTC)
    const before = feed.books.crossCheckCounts('bitstamp')
    // The diff of a deep change is lost; the top-100 push of that state arrives.
    sim.lose(BTC, [['59000', '1']], [])
    const lost = sim.micros(BTC)
    await bookWhere(feed, BTC, (x) => x.pendingTop?.seq === lost, 3000, 'the top held')
    sim.update(BTC, [['59999.5', '1.5']], [])
    await caughtUp(feed, sim, BTC)
    await compared(feed, before.compared + 1)
    const after = feed.books.crossCheckCounts('bitstamp')
    expect(after.skipped - before.skipped).toBe(1)
    expect(after.compared - before.compared).toBe(1)
    expect(e.pendingTop).toBeUndefined()
    expect(e.resyncs).toBe(0)
  })

  test('a lost diff at the top no longer stays live: the next top resyncs the book (cross-check)', async () => {
    const { sim, feed } = simFeed([BTC, ETH])
    await live(feed, BTC)
    await live(feed, ETH)
    const [bid] = sim.book(BTC).topBids(1)[0]!
    const resync = feed.books.events.next('resync')
    sim.lose(BTC, [[bid, '0']], [])
    sim.update(BTC, [['59000', '1']], [])
    const { entry, failure } = await resync
    expect([entry.pair, failure.kind]).toEqual([BTC, 'cross-check'])
    expect(failure.detail).toContain(`cross-check at ${sim.micros(BTC)}: venue best bid`)
    await caughtUp(feed, sim, BTC)
    expectSame(feed, BTC, sim.book(BTC))
    expect(feed.entry(BTC).book.bids.some((l) => l.pxText === bid)).toBe(false)
  })

  test('order_book_ pushes parse as tops; unreadable ones are unknown and resync nothing', () => {
    const parse = bitstamp.createParser(new Map([['btcusd', BTC]]))
    const push = (data: object) =>
      parse(JSON.stringify({ data, channel: 'order_book_btcusd', event: 'data' }), 0)
    const book = {
      timestamp: '1700000000',
      microtimestamp: '1700000000123456',
      bids: [
        ['59999', '1.5'],
        ['59998', '2'],
      ],
      asks: [['60001', '0.25']],
    }
    const [top] = push(book)
    expect(top).toMatchObject({ type: 'top', pair: BTC, seq: 1700000000123456 })
    if (top?.type !== 'top') throw new Error('expected a top')
    expect([top.bid?.pxText, top.bid?.qtyText, top.ask?.pxText]).toEqual(['59999', '1.5', '60001'])
    expect(push({ ...book, microtimestamp: 'x' })[0]!.type).toBe('unknown')
    expect(push({ ...book, bids: [['-1', '1']] })[0]!.type).toBe('unknown')
    // Only the diff channel's ack confirms the book.
    const ack = (channel: string) =>
      parse(JSON.stringify({ event: 'bts:subscription_succeeded', channel, data: {} }), 0)
    expect(ack('order_book_btcusd')).toEqual([{ type: 'info' }])
    expect(ack('diff_order_book_btcusd')).toEqual([{ type: 'subscribed', pairs: [BTC] }])
  })
})

describe('bitstamp: parser', () => {
  test('unknown message types are counted and the books stay exact', async () => {
    const { sim, feed } = simFeed()
    await live(feed, BTC)
    await live(feed, ETH)
    const trade = (await readLines(`${FIX}/BITSTAMP_ws_1_0.frames.jsonl`)).find((l) =>
      l.includes('"event":"trade"'),
    )!
    sim.server.send(trade)
    // A top-100 push of another channel, stamped long before the book: a top never compared.
    const skipped = feed.books.crossCheckCounts('bitstamp').skipped
    sim.server.send(
      '{"data":{"timestamp":"1","microtimestamp":"1000000","bids":[],"asks":[]},"channel":"order_book_btcusd","event":"data"}',
    )
    sim.server.send('{"data":{},"channel":"order_book_ltcusd","event":"data"}')
    sim.server.send('{"event":"bts:something_new","channel":"","data":{}}')
    sim.update(BTC, [['59999', '4']], [])
    await bookWhere(feed, BTC, (e) => e.book.bids[0]!.qtyText === '4', 3000, 'update after')
    expect(feed.conn.stats.errors).toEqual({ 'unknown-message': 3 })
    expect(feed.books.crossCheckCounts('bitstamp').skipped).toBe(skipped + 1)
    for (const pair of [BTC, ETH]) {
      expect(feed.entry(pair).state).toBe('live')
      expect(feed.entry(pair).resyncs).toBe(0)
      expectSame(feed, pair, sim.book(pair))
    }
  })

  test('a negative or non-numeric price or a bad microtimestamp rejects the diff and resyncs that book only', async () => {
    const { sim, feed } = simFeed()
    await live(feed, BTC)
    await live(feed, ETH)
    const bad: [unknown[], string | undefined][] = [
      [['-1.00', '1.0'], undefined],
      [['abc', '1.0'], undefined],
      [['60000', '-5'], undefined],
      [[59999.5, '1.0'], undefined],
      [['59999.5', '1.0'], 'soon'],
    ]
    const channel = sim.channel(BTC)
    await expectEachRejected(
      feed,
      BTC,
      bad,
      ([level, micros]) => {
        const data = {
          timestamp: '1',
          microtimestamp: micros ?? String(sim.nextMicros()),
          bids: [['59999.01', '1.0'], level],
          asks: [],
        }
        sim.pushToChannel(channel, JSON.stringify({ data, channel, event: 'data' }))
      },
      async () => {
        await live(feed, BTC)
        expectSame(feed, BTC, sim.book(BTC))
      },
    )
    expect(feed.conn.stats.errors['bad-level']).toBe(4)
    expect(feed.conn.stats.errors['bad-message']).toBe(1)
    expect(feed.entry(ETH).resyncs).toBe(0)
    expect(feed.entry(ETH).state).toBe('live')
  })
})

describe('bitstamp: venue behaviour', () => {
  test('a refused subscription is reported as a venue error; the other book carries on', async () => {
    const sim = feeds.sim(
      new SimBitstamp([
        { base: 'BTC', quote: 'USD', book: makeBook(60000, 5, 1, 0) },
        { base: 'ETH', quote: 'USD', book: makeBook(3000, 5, 0.1, 1) },
      ]),
    )
    sim.refusedChannels.add('diff_order_book_ethusd')
    const feed = feeds.start(bitstamp, sim, [BTC, ETH])
    await live(feed, BTC)
    const f = feed
    await bookWhere(f, ETH, () => f.conn.stats.errors['venue-error'] === 1, 3000, 'venue error')
    expect(feed.entry(ETH).state).toBe('syncing')
    expect(feed.conn.stats.state).toBe('connected')
  })

  test('bts:request_reconnect reconnects at once, replays subscriptions and re-seeds every book', async () => {
    const { sim, feed } = simFeed()
    await live(feed, BTC)
    await live(feed, ETH)
    // A change the client misses: only a fresh REST snapshot can show it.
    sim.lose(ETH, [['2999.9', '0']], [])
    await expectReconnect(feed, sim, () => sim.requestReconnect(), 'bts:request_reconnect')
    const client = [...sim.server.clients].find((c) => c.data.id === 2)!
    await sim.server.waitFor(
      () => sim.channelsOf(client).length === 4,
      3000,
      'subscriptions replayed',
    )
    expect(sim.channelsOf(client).sort()).toEqual([
      'diff_order_book_btcusd',
      'diff_order_book_ethusd',
      'order_book_btcusd',
      'order_book_ethusd',
    ])
    await sim.server.waitFor(() => bookRequests(sim) === 4, 3000, 'books re-seeded')
    await bookWhere(feed, BTC, (e) => e.state === 'live' && e.lastSeq === sim.seq(BTC))
    await bookWhere(feed, ETH, (e) => e.state === 'live' && e.lastSeq === sim.seq(ETH))
    expectSame(feed, BTC, sim.book(BTC))
    expectSame(feed, ETH, sim.book(ETH))
    expect(feed.entry(ETH).book.bids.some((l) => l.pxText === '2999.9')).toBe(false)
    expect(feed.conn.stats.reconnects).toBe(1)
    expect(feed.conn.stats.errors).toEqual({})
  })

  test('markets the venue does not list or has disabled are reported; USD is not USDT', async () => {
    const pairs = [BTC, 'BTC/USDT', ETH, 'ETH/USDT', 'LTC/USD', 'DOGE/USD']
    const { sim, feed } = simFeed(pairs)
    const listed = await feed.conn.events.next('listed')
    expect(listed.unlisted).toEqual(['BTC/USDT', 'LTC/USD', 'DOGE/USD'])
    expect([...listed.markets]).toEqual([
      [BTC, 'btcusd'],
      [ETH, 'ethusd'],
      ['ETH/USDT', 'ethusdt'],
    ])
    await sim.server.waitFor(() => sim.subscriptions.get(1)?.size === 6, 3000, 'subscriptions')
    expect([...sim.subscriptions.get(1)!].sort()).toEqual([
      'diff_order_book_btcusd',
      'diff_order_book_ethusd',
      'diff_order_book_ethusdt',
      'order_book_btcusd',
      'order_book_ethusd',
      'order_book_ethusdt',
    ])
    await live(feed, 'ETH/USDT')
    await live(feed, ETH)
    expectSame(feed, 'ETH/USDT', sim.book('ETH/USDT'))
    expectSame(feed, ETH, sim.book(ETH))
  })

  test('REST errors carry Bitstamp bodies', async () => {
    const sim = feeds.sim(new SimBitstamp([{ base: 'BTC', quote: 'USD', book: makeBook(60000) }]))
    sim.snapshotFaults.push({ kind: 'status', status: 429, retryAfterS: 2 })
    const res = await fetch(`${sim.restUrl}/api/v2/order_book/btcusd/`)
    expect([res.status, res.headers.get('retry-after')]).toEqual([429, '2'])
    expect(await res.json()).toEqual({
      status: 'error',
      reason: 'Request rejected due to exceeded rate limit.',
      code: '400.002',
    })
  })
})

/** `n` markets `T0000/USD`, `T0001/USD`, ... with small books (a listing at real-venue scale). */
const manyMarkets = (n: number) =>
  Array.from({ length: n }, (_, i) => ({
    base: `T${String(i).padStart(4, '0')}`,
    quote: 'USD',
    book: makeBook(100 + i, 5, 0.01),
  }))

type Frame = { event?: string; channel?: string; data?: { message?: string } }

const subscribe = (channel: string) => JSON.stringify({ event: 'bts:subscribe', data: { channel } })

describe('bitstamp: limits', () => {
  test('the REST budget stays under 400 a second and 8,000 per 10 minutes; the socket under the sim', () => {
    const sim = feeds.sim(new SimBitstamp([]))
    const { rest, ...limits } = bitstamp.limits
    // rest-budget.ts spends at most 80 % of the weight per window.
    const perWindow = Math.floor(rest.weight * 0.8)
    expect(perWindow).toBeLessThanOrEqual(sim.limits.restPerSecond)
    expect(perWindow * Math.ceil(600_000 / rest.windowMs)).toBeLessThanOrEqual(
      sim.limits.restPer10Min,
    )
    expect(2 * limits.marketsPerConnection).toBeLessThanOrEqual(sim.limits.channelsPerConnection)
    expect(limits.sendPerSecond).toBeLessThan(sim.limits.framesPerSecond)
    expect(limits.connects.count / limits.connects.windowMs).toBeLessThan(
      sim.limits.connectsPer10s / 10_000,
    )
  })

  test('subscribe sends one channel per message, two per market', () => {
    const frames = bitstamp.subscribe(['btcusd', 'ethusd']).map((f) => JSON.parse(f) as unknown)
    expect(frames).toEqual([
      { event: 'bts:subscribe', data: { channel: 'diff_order_book_btcusd' } },
      { event: 'bts:subscribe', data: { channel: 'order_book_btcusd' } },
      { event: 'bts:subscribe', data: { channel: 'diff_order_book_ethusd' } },
      { event: 'bts:subscribe', data: { channel: 'order_book_ethusd' } },
    ])
  })

  test('REST over its window is answered 429 with code 400.002', async () => {
    const sim = feeds.sim(new SimBitstamp(SIM_FEW(), { limits: { restPerSecond: 5 } }))
    const url = `${sim.restUrl}/api/v2/trading-pairs-info/`
    const answers = await Promise.all(
      Array.from({ length: 7 }, async () => {
        const res = await fetch(url)
        return { status: res.status, body: (await res.json()) as unknown }
      }),
    )
    expect(answers.filter((a) => a.status === 200).length).toBe(5)
    const refused = answers.filter((a) => a.status === 429)
    expect(refused.length).toBe(2)
    expect(refused[0]!.body).toEqual({
      status: 'error',
      reason: 'Request rejected due to exceeded rate limit.',
      code: '400.002',
    })
    expect(sim.limited.throttled).toBe(2)
  })

  test('channels past the per-connection limit and frames past 50 a second get bts:error', async () => {
    const sim = feeds.sim(new SimBitstamp(manyMarkets(3), { limits: { channelsPerConnection: 4 } }))
    const raw = rawSocket<Frame>(sim.wsUrl)
    expect(await raw.opened).toBe(true)
    for (const c of ['diff_order_book_', 'order_book_']) {
      for (const s of ['t0000usd', 't0001usd', 't0002usd']) raw.ws.send(subscribe(c + s))
    }
    const answers = (f: Frame[]) => f.filter((x) => x.event !== 'data')
    await raw.until((f) => answers(f).length === 6, 'six answers')
    const errors = answers(raw.frames).filter((x) => x.event === 'bts:error')
    expect(errors.map((x) => [x.channel, x.data?.message])).toEqual([
      ['order_book_t0001usd', 'Maximum number of subscriptions reached.'],
      ['order_book_t0002usd', 'Maximum number of subscriptions reached.'],
    ])
    expect(sim.limited.refusedSubscriptions).toBe(2)
    // 50 frames a second: 44 heartbeats more (6 sent already), the rest are refused.
    for (let i = 0; i < 50; i++) raw.ws.send('{"event":"bts:heartbeat"}')
    await raw.until((f) => answers(f).length === 56, '50 more answers')
    const later = answers(raw.frames).slice(6)
    expect(later.filter((x) => x.event === 'bts:heartbeat').length).toBe(44)
    const limited = later.filter((x) => x.event === 'bts:error')
    expect(limited.map((x) => x.data?.message)).toEqual(Array(6).fill('Rate limit exceeded.'))
    expect(sim.limited.rateLimitedFrames).toBe(6)
    expect(raw.ws.readyState).toBe(WebSocket.OPEN)
    raw.ws.close()
  })

  test('the 21st connection within 10 s is refused with HTTP 429', async () => {
    const sim = feeds.sim(new SimBitstamp(SIM_FEW()))
    const sockets = Array.from({ length: 21 }, () => rawSocket<Frame>(sim.wsUrl))
    const opened = await Promise.all(sockets.map((s) => s.opened))
    expect(opened.filter((x) => !x).length).toBe(1)
    expect(sim.limited.refusedConnects).toBe(1)
    for (const s of sockets) s.ws.close()
  })

  test('snapshots queued behind the REST budget bring every book live with no 429', async () => {
    // The venue's and the budget's windows scaled down (10 a second), so the queue shows in a
    // few seconds: 24 books (of a 1,500-market listing) need three windows. The budget's window
    // is a tenth longer: a request reaches the venue a few ms after its weight is taken, and on
    // windows this short that lag would otherwise count one window's requests in the next.
    const sim = feeds.sim(new SimBitstamp(manyMarkets(1500), { limits: { restPerSecond: 10 } }))
    const budget = new RestBudget({ ...bitstamp.limits.rest, weight: 10, windowMs: 1100 })
    const pairs = manyMarkets(1500)
      .slice(900, 924)
      .map((m) => `${m.base}/${m.quote}`)
    const feed = feeds.start(bitstamp, sim, pairs, { budget })
    for (const pair of pairs) await bookWhere(feed, pair, undefined, 8000)
    for (const pair of pairs.slice(0, 3)) expectSame(feed, pair, sim.book(pair))
    expect(sim.limited.throttled).toBe(0)
    expect(budget.stats.throttled + budget.stats.banned).toBe(0)
    expect(budget.stats.peakWeight).toBeLessThanOrEqual(8)
    expect(bookRequests(sim)).toBe(24)
    expect([
      sim.limited.refusedSubscriptions,
      sim.limited.rateLimitedFrames,
      sim.limited.refusedConnects,
    ]).toEqual([0, 0, 0])
    expect(feed.conn.stats.errors).toEqual({})
  })
})

describe('bitstamp: 24 h volumes', () => {
  test('one GET /api/v2/ticker/ gives volume x vwap per market', async () => {
    const sim = feeds.sim(
      new SimBitstamp([
        { base: 'BTC', quote: 'USD', book: makeBook(60000, 5, 1, 0), volume24h: 80_000_000 },
        { base: 'ETH', quote: 'USDT', book: makeBook(3000, 5, 0.1, 1), volume24h: 5_000_000 },
        { base: 'LTC', quote: 'USD' },
      ]),
    )
    const signal = new AbortController().signal
    const volumes = await bitstamp.fetchVolumes!(sim.restUrl, { fetch, signal })
    expect([...volumes.keys()]).toEqual(['BTC/USD', 'ETH/USDT', 'LTC/USD'])
    expect(volumes.get('BTC/USD')!).toBeCloseTo(80_000_000, 0)
    expect(volumes.get('ETH/USDT')!).toBeCloseTo(5_000_000, 0)
    // Without a volume the sim lists a deterministic one (earlier markets trade more).
    expect(volumes.get('LTC/USD')!).toBeCloseTo(10_000_000 / 3, 0)
    expect(sim.server.requests).toEqual(['/api/v2/ticker/'])
    const one = (await (await fetch(`${sim.restUrl}/api/v2/ticker/btcusd/`)).json()) as object
    expect(Object.keys(one)).toContain('vwap')
  })

  test('a real ticker body gives the quote volume ccxt computed from it; bad rows are skipped', async () => {
    // ccxt/ccxt ts/src/test/static/response/bitstamp.json: Bitstamp's BTC/USDT ticker of
    // 2024-03-13 and ccxt's parse of it (quoteVolume 9586192.71102062). The all-markets
    // endpoint adds `pair` to each row.
    const recorded = {
      timestamp: '1710328241',
      open: '71448',
      high: '73656',
      low: '68626',
      last: '73285',
      volume: '135.29692054',
      vwap: '70853',
      bid: '73353',
      ask: '73367',
      side: '0',
      open_24: '72144',
      percent_change_24: '1.58',
      pair: 'BTC/USDT',
    }
    const body = [
      recorded,
      { ...recorded, pair: 'ETH/USD', volume: '-1' },
      { ...recorded, pair: 'XRP/USD', vwap: null },
      { ...recorded, pair: 'USDUSD' },
      null,
    ]
    const stub = (async () => Response.json(body)) as unknown as typeof fetch
    const signal = new AbortController().signal
    const volumes = await bitstamp.fetchVolumes!('http://bitstamp.test', { fetch: stub, signal })
    expect([...volumes.keys()]).toEqual(['BTC/USDT'])
    expect(volumes.get('BTC/USDT')!).toBeCloseTo(9586192.71102062, 6)
    const notList = (async () => Response.json({ error: 'x' })) as unknown as typeof fetch
    const err = bitstamp.fetchVolumes!('http://bitstamp.test', { fetch: notList, signal })
    await expect(err).rejects.toThrow('ticker list is not a list')
    expect(Object.keys(bitstamp.distinctAssets ?? {})).toEqual(['UST'])
  })
})

describe('bitstamp: fast path', () => {
  const natives = ['sgbeur', 'ethusd', 'xrpeur', 'bateur', 'usdteur', 'usdtusd', 'xlmgbp', 'adaeur']
  const markets = new Map(
    [...natives, 'batbtc', 'galaeur', 'btcusd'].map((n) => [
      n,
      `${n.slice(0, -3).toUpperCase()}/${n.slice(-3).toUpperCase()}`,
    ]),
  )
  const paths = () => ({
    parser: bitstamp.createParser(markets),
    reference: createJsonParser(markets),
    fast: createFastParser(markets),
  })

  test('every captured frame reads the same on the scanner and the JSON.parse path', async () => {
    const frames = await readLines(`${FIX}/BITSTAMP_ws_1_0.frames.jsonl`)
    const { parser, reference, fast } = paths()
    const diffs = frames.filter(
      (f) => f.includes('"channel":"diff_order_book_') && f.includes('"event":"data"'),
    )
    expect(diffs.length).toBeGreaterThan(700)
    // Every diff of the capture is read by the scanner.
    expect(expectSameAsJsonPath(frames, parser, reference, { fast })).toBe(diffs.length)
  })

  test('the bench stream (diffs, top-100 pushes) reads the same on both paths', () => {
    const { frames } = bitstampFeed(1000)
    const { parser, reference, fast } = paths()
    expectSameAsJsonPath(frames, parser, reference, { fast, minFast: frames.length })
  })

  test('malformed or unusual frames are rejected (or read) as the JSON.parse path does', () => {
    const [diff, top] = bitstampFeed(20).frames
    const shortTop = top!.replace(/"bids":\[(\["[^"]*","[^"]*"\],?){1,95}/, '"bids":[')
    const frames = [
      ...variantsOf(diff!),
      ...variantsOf(shortTop, 11),
      ...variantsOf(top!, 97),
      top!.replace('"bids":[[', '"bids":[["0","1"],['),
      top!.replace(/"bids":\[\["[^"]*","[^"]*"\],/, '"bids":['),
      top!.replace(/\],\["[^"]*","[^"]*"\]\],"asks"/, '],["1","x"]],"asks"'),
      top!.replace(/\],\["[^"]*","[^"]*"\]\],"asks"/, '],[1,2]],"asks"'),
      diff!.replace(/"microtimestamp":"\d+"/, '"microtimestamp":"1641343691406478.0"'),
      diff!.replace(/"microtimestamp":"\d+"/, '"microtimestamp":"99999999999999999"'),
      diff!.replace('diff_order_book_btcusd', 'diff_order_book_ethbtc'),
      diff!.replace('"event":"data"', '"event":"trade"'),
    ]
    const { parser, reference } = paths()
    expectSameAsJsonPath(frames, parser, reference)
  })
})

describe('bitstamp: the sim clock', () => {
  const MARKETS = () => [
    { base: 'BTC', quote: 'USD', book: makeBook(60000, 5, 1, 0) },
    { base: 'ETH', quote: 'USD', book: makeBook(3000, 5, 0.1, 1) },
  ]
  const stampsOf = (frame: string) => {
    const { data } = JSON.parse(frame) as { data: { timestamp: string; microtimestamp: string } }
    return { micros: Number(data.microtimestamp), seconds: Number(data.timestamp) }
  }

  test('microtimestamps track the clock however long the sim runs, and always rise', () => {
    let nowMs = 1_700_000_000_000
    const sim = new SimBitstamp(MARKETS(), { now: () => nowMs })
    let last = sim.micros(BTC)
    expect(last).toBe(nowMs * 1000)
    // Ten simulated hours, one change every 7.3 s, alternating books.
    for (let i = 0; i < 5000; i++) {
      nowMs += 7300
      const pair = i % 2 === 0 ? BTC : ETH
      const { micros, seconds } = stampsOf(sim.update(pair, [['1', String(i + 1)]], []))
      expect(micros).toBeGreaterThan(last)
      expect(micros).toBeGreaterThanOrEqual(nowMs * 1000)
      expect(micros - nowMs * 1000).toBeLessThan(1000)
      expect(seconds).toBe(Math.floor(micros / 1e6))
      expect(sim.micros(pair)).toBe(micros)
      last = micros
    }
  })

  test('a burst within one clock instant still rises strictly, 1 µs a change past the clock', () => {
    const nowMs = 1_700_000_000_000
    const sim = new SimBitstamp(MARKETS(), { now: () => nowMs })
    let last = sim.micros(BTC)
    for (let i = 0; i < 2000; i++) {
      const { micros } = stampsOf(sim.update(BTC, [['1', String(i + 1)]], []))
      expect(micros).toBeGreaterThan(last)
      expect(micros - nowMs * 1000).toBeLessThan(1000 + i + 1)
      last = micros
    }
    // Stale and crossed diffs and lost changes draw on the same rising clock.
    const stale = stampsOf(sim.sendRawDiff(BTC, [], [], last - 5)).micros
    expect(stale).toBe(last - 5)
    expect(stampsOf(sim.lose(ETH, [['1', '1']], [])).micros).toBeGreaterThan(last)
  })

  test('startMicros sets the venue clock; it then runs with the wall clock from there', () => {
    let nowMs = 1_700_000_000_000
    const startMicros = 1_600_000_000_000_000
    const sim = new SimBitstamp(MARKETS(), { now: () => nowMs, startMicros })
    expect(sim.micros(BTC)).toBe(startMicros)
    nowMs += 60_000
    const { micros } = stampsOf(sim.update(BTC, [['1', '1']], []))
    expect(micros - (startMicros + 60_000_000)).toBeGreaterThanOrEqual(0)
    expect(micros - (startMicros + 60_000_000)).toBeLessThan(1000)
  })

  test("a connection's exchange-to-receive latency stays small over simulated hours", async () => {
    // The sim reads Date.now() by default, as Connection does: moving the system clock moves both.
    const { sim, feed } = simFeed([BTC])
    await live(feed, BTC)
    const startMs = Date.now()
    try {
      for (let i = 1; i <= 60; i++) {
        setSystemTime(new Date(startMs + i * 60_000))
        sim.update(BTC, [['59999', String(i)]], [])
        const seq = sim.micros(BTC)
        await bookWhere(feed, BTC, (e) => e.lastSeq === seq, 3000, `change ${i} applied`)
        const latency = feed.conn.stats.latencyMs!
        expect(latency).toBeGreaterThanOrEqual(0)
        expect(latency).toBeLessThan(1000)
      }
    } finally {
      setSystemTime()
    }
    expectSame(feed, BTC, sim.book(BTC))
  })
})
