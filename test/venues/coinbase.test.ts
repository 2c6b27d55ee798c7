import { describe, expect, test } from 'bun:test'
import { coinbaseFeed } from '../../bench/venue-feed.ts'
import { createFastParser } from '../../src/venues/coinbase/fast.ts'
import { createJsonParser } from '../../src/venues/coinbase/index.ts'
import { expectSameAsJsonPath, variantsOf } from './fast-path.ts'
import { Books } from '../../src/book/books.ts'
import { COINBASE_L2_PER_CONNECTION, coinbase } from '../../src/venues/coinbase/index.ts'
import { VenueFeed } from '../../src/venues/feed.ts'
import {
  encodeExchangeCapture,
  SimCoinbase,
  toUpdates,
  type SimCoinbaseOptions,
} from '../../src/venues/coinbase/sim.ts'
import { makeBook, SimBook, type Row } from '../../src/venues/sim/book.ts'
import type { SimMarket } from '../../src/venues/sim/venue.ts'
import type { SnapshotEvent, VenueEvent } from '../../src/venues/venue.ts'
import {
  bookWhere,
  readLines,
  rows,
  silent,
  stopAfterEach,
  useFeeds,
  rawSocket,
} from '../support.ts'
import type { Feed, FeedOptions } from '../support.ts'

const FIX = `${import.meta.dir}/../fixtures/coinbase`

const feeds = useFeeds()
const track = stopAfterEach()

const MARKETS = (): SimMarket[] => [
  { base: 'BTC', quote: 'USD', book: makeBook(60000, 20, 0.01) },
  { base: 'ETH', quote: 'USD', book: makeBook(3000, 20, 0.01) },
  { base: 'BTC', quote: 'USDT', book: makeBook(59990, 20, 0.01) },
  // USDC books are the USD books: listed by the venue as aliases, not markets of their own.
  { base: 'BTC', quote: 'USDC' },
  { base: 'DOGE', quote: 'USD' },
  { base: 'XRP', quote: 'USD', trading: false },
]

function simFeed(
  pairs = ['BTC/USD', 'ETH/USD'],
  options: FeedOptions = {},
  simOptions: SimCoinbaseOptions = {},
) {
  const sim = feeds.sim(
    new SimCoinbase(MARKETS(), { statuses: { 'DOGE/USD': 'delisted' }, ...simOptions }),
  )
  const feed = feeds.start(coinbase, sim, pairs, options)
  return { sim, feed }
}

async function allLive(f: Feed, pairs = ['BTC/USD', 'ETH/USD']) {
  for (const p of pairs) await bookWhere(f, p)
}

const expectSame = (f: Feed, pair: string, book: SimBook) => {
  const e = f.entry(pair)
  expect(rows(e.book.bids)).toEqual(book.topBids())
  expect(rows(e.book.asks)).toEqual(book.topAsks())
}

/** The quantity text of a bid level in the client's book, if present. */
const bidQty = (f: Feed, pair: string, px: string) =>
  f.entry(pair).book.bids.find((l) => l.pxText === px)?.qtyText

/** Level2 frames a client sent after the first `from` frames, as `type product` strings. */
const level2Requests = (s: SimCoinbase, from = 0) =>
  s
    .receivedFrom(s.client)
    .slice(from)
    .filter((m) => m.channel === 'level2')
    .map((m) => `${m.type} ${m.product_ids!.join(',')}`)

/** Waits until the client has consumed every frame the sim sent it (and the books are live). */
const drained = async (f: Feed, s: SimCoinbase, pairs = ['BTC/USD', 'ETH/USD']) => {
  const sent = () => [...s.sessions.values()].reduce((n, session) => n + session.sent, 0)
  const consumed = () => f.conn.stats.messages === sent()
  for (const p of pairs) {
    await bookWhere(f, p, (e) => e.state === 'live' && consumed(), 3000, 'all frames consumed')
  }
}

/** The old Exchange-feed frames of the capture (level2 ones; others are skipped). */
interface CapturedFrame {
  type: string
  product_id: string
  bids: Row[]
  asks: Row[]
  changes: [side: string, price: string, size: string][]
}

describe('coinbase: recorded capture', () => {
  test('replays the captured price paths as Advanced Trade frames into exact books', async () => {
    const lines = await readLines(`${FIX}/COINBASE_ws_28_0.frames.jsonl`)
    const natives = ['SKL-USD', 'SKL-BTC', 'SKL-GBP', 'BAND-GBP', 'BAND-BTC']
    natives.push('NMR-EUR', 'YFI-BTC', 'DASH-BTC', 'NU-GBP', 'CRV-EUR')
    const pairOf = (n: string) => n.replace('-', '/')

    // The reference: the original Exchange-feed frames applied independently to SimBooks.
    const expected = new Map<string, SimBook>()
    let applied = 0
    for (const line of lines) {
      const f = JSON.parse(line) as CapturedFrame
      if (f.type === 'snapshot') expected.set(f.product_id, new SimBook(f.bids, f.asks))
      if (f.type !== 'l2update') continue
      for (const [side, px, qty] of f.changes) {
        if (side === 'buy') expected.get(f.product_id)!.apply([[px, qty]], [])
        else expected.get(f.product_id)!.apply([], [[px, qty]])
        applied++
      }
    }
    expect(applied).toBe(9719)
    expect([...expected.keys()].sort()).toEqual([...natives].sort())

    const sim = feeds.sim(
      new SimCoinbase(
        natives.map((n) => ({ base: n.split('-')[0]!, quote: n.split('-')[1]! })),
        { heartbeatIntervalMs: 0, snapshotsOnSubscribe: false },
      ),
    )
    const feed = feeds.start(coinbase, sim, natives.map(pairOf))
    await sim.server.waitFor(() => sim.server.received.length >= 2, 3000, 'subscriptions')
    expect(sim.receivedFrom(sim.client)).toEqual([
      { type: 'subscribe', product_ids: natives, channel: 'level2' },
      { type: 'subscribe', product_ids: natives, channel: 'heartbeats' },
    ])

    const bodies = encodeExchangeCapture(lines)
    const l2Frames = bodies.filter((b) => b.channel === 'l2_data').length
    expect(bodies.filter((b) => b.channel === 'heartbeats').length).toBeGreaterThan(25)
    expect(l2Frames).toBeGreaterThan(300)
    sim.replay(sim.client, bodies)
    await drained(feed, sim, natives.map(pairOf))

    for (const n of natives) {
      const e = feed.entry(pairOf(n))
      const book = expected.get(n)!
      expect(e.state).toBe('live')
      expect(e.resyncs).toBe(0)
      expect(rows(e.book.bids)).toEqual(book.topBids())
      expect(rows(e.book.asks)).toEqual(book.topAsks())
    }
    expect(feed.entry('SKL/USD').book.asks.length).toBeGreaterThan(1000)
    expect(feed.conn.stats.errors).toEqual({})
    expect(feed.conn.stats.latencyMs).toBeDefined()
  })
})

describe('coinbase: published message shapes', () => {
  const markets = new Map([['BTC-USD', 'BTC/USD']])

  test('the documented level2 snapshot, offers, heartbeats, subscriptions and errors parse', () => {
    const parse = coinbase.createParser(markets)
    // The level2 example from the Advanced Trade docs (two bids).
    const at = '1970-01-01T00:00:00Z'
    const doc = {
      channel: 'l2_data',
      client_id: '',
      timestamp: '2023-02-09T20:32:50.714964855Z',
      sequence_num: 0,
      events: [
        {
          type: 'snapshot',
          product_id: 'BTC-USD',
          updates: [
            { side: 'bid', event_time: at, price_level: '21921.73', new_quantity: '0.06317902' },
            { side: 'bid', event_time: at, price_level: '21921.3', new_quantity: '0.02' },
          ],
        },
      ],
    }
    const [seq, snap] = parse(JSON.stringify(doc), 0) as [VenueEvent, SnapshotEvent]
    expect(seq).toEqual({ type: 'stream-seq', seq: 0 })
    expect(snap.type).toBe('snapshot')
    expect(snap.pair).toBe('BTC/USD')
    expect(rows(snap.bids)).toEqual([
      ['21921.73', '0.06317902'],
      ['21921.3', '0.02'],
    ])
    expect(snap.asks).toEqual([])
    expect(snap.exchangeTsMs).toBe(Date.UTC(2023, 1, 9, 20, 32, 50, 714))

    // The wire says "offer"; the prose docs say "ask": both are the ask side.
    const updates = [
      { side: 'offer', event_time: at, price_level: '21922.1', new_quantity: '1.5' },
      { side: 'ask', event_time: at, price_level: '21923', new_quantity: '0' },
    ]
    const events = [{ type: 'update', product_id: 'BTC-USD', updates }]
    const update = { ...doc, sequence_num: 1, events }
    const [, delta] = parse(JSON.stringify(update), 0)
    if (delta?.type !== 'delta') throw new Error(`expected a delta, got ${JSON.stringify(delta)}`)
    expect(rows(delta.asks)).toEqual([
      ['21922.1', '1.5'],
      ['21923', '0'],
    ])

    // Every channel's envelope carries the connection's sequence number.
    const hb = {
      channel: 'heartbeats',
      client_id: '',
      timestamp: '2023-06-23T20:31:26.122969572Z',
      sequence_num: 2,
      events: [{ current_time: '2023-06-23 20:31:56.121961769 +0000 UTC', heartbeat_counter: 9 }],
    }
    expect(parse(JSON.stringify(hb), 0)).toEqual([{ type: 'stream-seq', seq: 2 }, { type: 'info' }])
    const subscriptions = { level2: ['BTC-USD'], heartbeats: ['heartbeats'] }
    const subs = { ...hb, channel: 'subscriptions', sequence_num: 3, events: [{ subscriptions }] }
    expect(parse(JSON.stringify(subs), 0)).toEqual([
      { type: 'stream-seq', seq: 3 },
      { type: 'info' },
    ])
    expect(parse(JSON.stringify({ type: 'error', message: 'failure to subscribe' }), 0)).toEqual([
      { type: 'venue-error', message: 'failure to subscribe' },
    ])
    const ticker = JSON.stringify({ ...hb, channel: 'ticker', sequence_num: 4 })
    expect(parse(ticker, 0)).toEqual([
      { type: 'stream-seq', seq: 4 },
      { type: 'unknown', what: 'channel ticker' },
    ])
    expect(parse(JSON.stringify({ type: 'mystery' }), 0)).toEqual([
      { type: 'unknown', what: 'frame without channel (type mystery)' },
    ])
  })

  test('bad levels reject the frame with its books named, keeping its sequence number', () => {
    const parse = coinbase.createParser(markets)
    let seq = 0
    const l2 = (updates: unknown, product = 'BTC-USD') => {
      const events = [{ type: 'update', product_id: product, updates }]
      return JSON.stringify({ channel: 'l2_data', timestamp: '', sequence_num: seq++, events })
    }
    const bad = [
      { side: 'bid', price_level: '-1.00', new_quantity: '1' },
      { side: 'bid', price_level: 'abc', new_quantity: '1' },
      { side: 'bid', price_level: '1.00', new_quantity: '-5' },
      { side: 'bid', price_level: '0', new_quantity: '5' },
      { side: 'bid', price_level: 1.5, new_quantity: '5' },
      { side: 'buy', price_level: '1.00', new_quantity: '5' },
    ]
    for (const level of bad) {
      const events = parse(l2([{ side: 'bid', price_level: '2.00', new_quantity: '1' }, level]), 0)
      expect(events).toMatchObject([
        { type: 'stream-seq', seq: seq - 1 },
        { type: 'rejected', kind: 'bad-level', pairs: ['BTC/USD'] },
      ])
    }
    expect(parse(l2('nope'), 0)).toMatchObject([
      { type: 'stream-seq' },
      { type: 'rejected', kind: 'bad-message', message: expect.stringContaining('has no updates') },
    ])
    // A frame whose books cannot be told rejects them all; one without a sequence number too
    // (its continuity cannot be checked).
    const noEvents = { channel: 'l2_data', timestamp: '', sequence_num: seq++, events: 'x' }
    expect(parse(JSON.stringify(noEvents), 0)).toEqual([
      { type: 'stream-seq', seq: seq - 1 },
      { type: 'rejected', kind: 'bad-message', message: 'l2_data frame without events', all: true },
    ])
    const noSeq = { channel: 'l2_data', events: [{ type: 'update', product_id: 'BTC-USD' }] }
    expect(parse(JSON.stringify(noSeq), 0)).toMatchObject([
      { type: 'rejected', message: 'l2_data frame without sequence_num', pairs: ['BTC/USD'] },
    ])
    // Data for a product we did not subscribe is counted, not applied.
    expect(parse(l2([], 'SOL-USD'), 0)).toEqual([
      { type: 'stream-seq', seq: seq - 1 },
      { type: 'unknown', what: 'l2_data for SOL-USD' },
    ])
  })
})

describe('coinbase: synchronisation', () => {
  test('subscribes one channel per message; books come from the WebSocket snapshot', async () => {
    const { sim, feed } = simFeed()
    await allLive(feed)
    expect(sim.receivedFrom(sim.client)).toEqual([
      { type: 'subscribe', product_ids: ['BTC-USD', 'ETH-USD'], channel: 'level2' },
      { type: 'subscribe', product_ids: ['BTC-USD', 'ETH-USD'], channel: 'heartbeats' },
    ])
    expect(sim.server.requests).toEqual(['/api/v3/brokerage/market/products?product_type=SPOT'])
    expectSame(feed, 'BTC/USD', sim.book('BTC/USD'))
    expectSame(feed, 'ETH/USD', sim.book('ETH/USD'))
  })

  test('absolute updates keep the books exact while heartbeats interleave', async () => {
    const { sim, feed } = simFeed(['BTC/USD', 'ETH/USD'], {}, { heartbeatIntervalMs: 0 })
    await allLive(feed)
    let x = 7
    const rnd = (n: number) => (x = (x * 1103515245 + 12345) % 2147483648) % n
    for (let i = 0; i < 300; i++) {
      const px = (60000 + (rnd(2) ? 1 : -1) * (1 + rnd(40)) * 0.01).toFixed(2)
      const qty = rnd(3) === 0 ? '0' : (rnd(1000) / 100 + 0.01).toFixed(8)
      if (Number(px) < 60000) sim.update('BTC/USD', [[px, qty]], [])
      else sim.update('BTC/USD', [], [[px, qty]])
      if (i % 10 === 0) sim.update('ETH/USD', [['2999.99', String(i + 1)]], [['3000.01', '0']])
      if (i % 25 === 0) sim.heartbeat() // on the same connection sequence as the book data
    }
    await drained(feed, sim)
    expect(sim.heartbeatsSent).toBeGreaterThan(0)
    expectSame(feed, 'BTC/USD', sim.book('BTC/USD'))
    expectSame(feed, 'ETH/USD', sim.book('ETH/USD'))
    expect(feed.entry('BTC/USD').resyncs).toBe(0)
    expect(feed.conn.stats.errors).toEqual({})
  })

  test('a lost heartbeat is a gap too: the sequence spans channels, every book resyncs', async () => {
    const { sim, feed } = simFeed(['BTC/USD', 'ETH/USD'], {}, { heartbeatIntervalMs: 0 })
    await allLive(feed)
    const from = sim.receivedFrom(sim.client).length
    const resyncs: string[] = []
    feed.books.events.on((e) => {
      if (e.type === 'resync') resyncs.push(`${e.entry.pair} ${e.failure.kind}`)
    })
    sim.heartbeat({ skip: 1 })
    await drained(feed, sim)
    expect(resyncs).toEqual(['BTC/USD sequence', 'ETH/USD sequence'])
    expect(feed.entry('ETH/USD').lastResyncReason).toStartWith('sequence gap: expected')
    // Resubscribing brings a fresh snapshot of each book.
    expect(level2Requests(sim, from)).toEqual([
      'unsubscribe BTC-USD',
      'subscribe BTC-USD',
      'unsubscribe ETH-USD',
      'subscribe ETH-USD',
    ])
    expectSame(feed, 'BTC/USD', sim.book('BTC/USD'))
    expectSame(feed, 'ETH/USD', sim.book('ETH/USD'))
  })

  test('a sequence number going back resyncs every book too', async () => {
    const { sim, feed } = simFeed(['BTC/USD', 'ETH/USD'], {}, { heartbeatIntervalMs: 0 })
    await allLive(feed)
    const resync = feed.books.events.next('resync', (e) => e.entry.pair === 'BTC/USD')
    sim.update('ETH/USD', [['2999.95', '1.00000000']], [], { skip: -3 })
    expect((await resync).failure.detail).toContain('went back')
    await drained(feed, sim)
    expect(feed.entry('ETH/USD').resyncs).toBe(1)
    expectSame(feed, 'BTC/USD', sim.book('BTC/USD'))
    expectSame(feed, 'ETH/USD', sim.book('ETH/USD'))
  })

  test('each connection has its own sequence: a reconnect is not a gap', async () => {
    const { sim, feed } = simFeed(['BTC/USD', 'ETH/USD'], {}, { heartbeatIntervalMs: 0 })
    await allLive(feed)
    const down = feed.conn.events.next('down')
    sim.server.disconnectAll()
    await down
    await sim.server.waitFor(() => sim.server.connections === 2, 3000, 'reconnect')
    await drained(feed, sim)
    expect(feed.entry('BTC/USD').resyncs + feed.entry('ETH/USD').resyncs).toBe(0)
    expect(feed.conn.stats.errors.resync).toBeUndefined()
    expectSame(feed, 'BTC/USD', sim.book('BTC/USD'))
  })

  test('a bad event in a frame for two books rejects the frame and resyncs both', async () => {
    const { sim, feed } = simFeed(['BTC/USD', 'ETH/USD', 'BTC/USDT'])
    await allLive(feed, ['BTC/USD', 'ETH/USD', 'BTC/USDT'])
    const from = sim.receivedFrom(sim.client).length
    // The good half is real venue data: the sim's book has it, so the resync must bring it back.
    sim.book('BTC/USD').apply([['59999.96', '2.5']], [])
    sim.sendEnvelope(sim.client, 'l2_data', [
      { type: 'update', product_id: 'BTC-USD', updates: toUpdates([['59999.96', '2.5']], []) },
      { type: 'update', product_id: 'ETH-USD', updates: toUpdates([['NaN', '2.5']], []) },
    ])
    await drained(feed, sim, ['BTC/USD', 'ETH/USD', 'BTC/USDT'])
    expect(feed.entry('BTC/USD').lastFailure?.kind).toBe('bad-input')
    expect(feed.entry('ETH/USD').resyncs).toBe(1)
    expect(level2Requests(sim, from).sort()).toEqual([
      'subscribe BTC-USD',
      'subscribe ETH-USD',
      'unsubscribe BTC-USD',
      'unsubscribe ETH-USD',
    ])
    expectSame(feed, 'BTC/USD', sim.book('BTC/USD'))
    expect(bidQty(feed, 'BTC/USD', '59999.96')).toBe('2.5')
    expect(feed.entry('BTC/USDT').resyncs).toBe(0)
    expect(feed.conn.stats.errors['bad-level']).toBe(1)
  })
})

describe('coinbase: venue behaviour', () => {
  test('venue error frames are counted as venue errors', async () => {
    const { sim, feed } = simFeed()
    await allLive(feed)
    sim.errorFrame('failure to subscribe')
    await drained(feed, sim)
    expect(feed.conn.stats.errors).toEqual({ 'venue-error': 1 })
    expect(feed.entry('BTC/USD').state).toBe('live')
  })

  test('heartbeats keep a quiet connection open', async () => {
    const { sim, feed } = simFeed(['BTC/USD'], { idleTimeoutMs: 100 }, { heartbeatIntervalMs: 10 })
    await allLive(feed, ['BTC/USD'])
    const beats = () => sim.heartbeatsSent >= 30
    await bookWhere(feed, 'BTC/USD', beats, 3000, 'heartbeats for more than the idle timeout')
    expect(sim.server.connections).toBe(1)
    expect(feed.conn.stats.errors.idle).toBeUndefined()
  })

  test('more than 8 client messages a second are refused with an error frame', async () => {
    const sim = feeds.sim(new SimCoinbase(MARKETS(), { heartbeatIntervalMs: 0 }))
    const ws = new WebSocket(sim.wsUrl)
    const errors: string[] = []
    const twoErrors = new Promise<void>((resolve) => {
      ws.onmessage = (m) => {
        const frame = JSON.parse(String(m.data)) as { type?: string; message?: string }
        if (frame.type === 'error' && errors.push(frame.message!) === 2) resolve()
      }
    })
    await new Promise((resolve) => (ws.onopen = resolve))
    for (let i = 0; i < 10; i++)
      ws.send(JSON.stringify({ type: 'subscribe', channel: 'heartbeats' }))
    await twoErrors
    ws.close()
    expect(errors).toEqual(['rate limit exceeded', 'rate limit exceeded'])
    expect(sim.limited.rateLimited).toBe(2)
    // The adapter stays under the limit.
    expect(coinbase.limits.sendPerSecond).toBeLessThan(8)
  })

  test('unlisted markets are reported; USDC aliases are not markets; USD is not USDT', async () => {
    const pairs = ['BTC/USD', 'BTC/USDT', 'BTC/USDC', 'ETH/USDT', 'DOGE/USD', 'XRP/USD']
    const { sim, feed } = simFeed(pairs)
    const listed = await feed.conn.events.next('listed')
    expect(listed.unlisted).toEqual(['BTC/USDC', 'ETH/USDT', 'DOGE/USD', 'XRP/USD'])
    expect([...listed.markets]).toEqual([
      ['BTC/USD', 'BTC-USD'],
      ['BTC/USDT', 'BTC-USDT'],
    ])
    await allLive(feed, ['BTC/USD', 'BTC/USDT'])
    expectSame(feed, 'BTC/USD', sim.book('BTC/USD'))
    expectSame(feed, 'BTC/USDT', sim.book('BTC/USDT'))
    // The alias shows the USD book.
    expect(sim.book('BTC/USDC')).toBe(sim.book('BTC/USD'))
  })

  test('the product list is read page by page', async () => {
    const statuses = { 'DOGE/USD': 'delisted' }
    const sim = feeds.sim(
      new SimCoinbase(MARKETS(), { pageSize: 2, heartbeatIntervalMs: 0, statuses }),
    )
    const signal = new AbortController().signal
    const listed = await coinbase.listMarkets(sim.restUrl, { fetch, signal })
    expect([...listed]).toEqual([
      ['BTC/USD', 'BTC-USD'],
      ['ETH/USD', 'ETH-USD'],
      ['BTC/USDT', 'BTC-USDT'],
    ])
    expect(sim.server.requests).toEqual([
      '/api/v3/brokerage/market/products?product_type=SPOT',
      '/api/v3/brokerage/market/products?product_type=SPOT&offset=2',
      '/api/v3/brokerage/market/products?product_type=SPOT&offset=4',
    ])
  })
})

/** `n` markets `T0000/USD`, `T0001/USD`, ... with small books (a listing at real-venue scale). */
const manyMarkets = (n: number): SimMarket[] =>
  Array.from({ length: n }, (_, i) => ({
    base: `T${String(i).padStart(4, '0')}`,
    quote: 'USD',
    book: makeBook(100 + i, 5, 0.01),
  }))

type Frame = { type?: string; channel?: string; message?: string; events?: unknown[] }

const level2 = (type: string, ids: string[]) =>
  JSON.stringify({ type, product_ids: ids, channel: 'level2' })

describe('coinbase: limits', () => {
  test('the module stays inside what the simulated venue enforces', () => {
    const sim = feeds.sim(new SimCoinbase([], { heartbeatIntervalMs: 0 }))
    const { limits } = coinbase
    expect(COINBASE_L2_PER_CONNECTION).toBe(sim.limits.l2PerConnection)
    expect(limits.marketsPerConnection).toBeLessThan(COINBASE_L2_PER_CONNECTION)
    // The message limit is per IP: two connections at full rate stay within it.
    expect(2 * limits.sendPerSecond).toBeLessThanOrEqual(sim.limits.messagesPerSecond)
    expect(limits.connects.count / limits.connects.windowMs).toBeLessThan(
      sim.limits.connectsPerSecond / 1000,
    )
    expect(Math.floor(limits.rest.weight * 0.8)).toBeLessThan(sim.limits.restPerSecond)
  })

  test('subscribe sends one channel per message and at most 30 level2 products in each', () => {
    const natives = Array.from({ length: 70 }, (_, i) => `T${i}-USD`)
    const frames = coinbase
      .subscribe(natives)
      .map((f) => JSON.parse(f) as { type: string; channel: string; product_ids: string[] })
    expect(frames.map((f) => [f.channel, f.product_ids.length])).toEqual([
      ['level2', 30],
      ['level2', 30],
      ['level2', 10],
      ['heartbeats', 70],
    ])
    const l2 = frames.filter((f) => f.channel === 'level2').flatMap((f) => f.product_ids)
    expect(l2).toEqual(natives)
    expect(frames.every((f) => f.type === 'subscribe' && !('channels' in f))).toBe(true)
  })

  test('a level2 subscribe past 30 products on a connection is refused whole; the socket stays open', async () => {
    const sim = feeds.sim(
      new SimCoinbase(manyMarkets(40), { heartbeatIntervalMs: 0, snapshotsOnSubscribe: false }),
    )
    const ids = manyMarkets(40).map((m) => `${m.base}-${m.quote}`)
    const raw = rawSocket<Frame>(sim.wsUrl)
    expect(await raw.opened).toBe(true)
    raw.ws.send(level2('subscribe', ids.slice(0, 30)))
    raw.ws.send(level2('subscribe', ids.slice(30, 31)))
    // An unsubscribe frees a place.
    raw.ws.send(level2('unsubscribe', ids.slice(0, 1)))
    raw.ws.send(level2('subscribe', ids.slice(30, 31)))
    const answers = (f: Frame[]) =>
      f.filter((x) => x.type === 'error' || x.channel === 'subscriptions')
    await raw.until((f) => answers(f).length === 4, 'four answers')
    const [first, refused, , last] = answers(raw.frames)
    expect(first!.channel).toBe('subscriptions')
    expect(refused).toEqual({
      type: 'error',
      message: 'too many L2 streams requested in a single session',
    })
    expect(last!.channel).toBe('subscriptions')
    const client = [...sim.server.clients][0]!
    expect(sim.session(client).level2.size).toBe(30)
    expect(sim.session(client).level2.has(ids[30]!)).toBe(true)
    expect(sim.limited.refusedL2).toBe(1)
    expect(raw.ws.readyState).toBe(WebSocket.OPEN)
    // The parser reports the refusal as a venue error.
    const events = coinbase.createParser(new Map())(JSON.stringify(refused), 0)
    expect(events).toEqual([
      { type: 'venue-error', message: 'too many L2 streams requested in a single session' },
    ])
    raw.ws.close()
  })

  test('the 9th connection within a second is refused with HTTP 429', async () => {
    const sim = feeds.sim(new SimCoinbase(MARKETS(), { heartbeatIntervalMs: 0 }))
    const sockets = Array.from({ length: 9 }, () => rawSocket<Frame>(sim.wsUrl))
    const opened = await Promise.all(sockets.map((s) => s.opened))
    expect(opened.filter((x) => !x).length).toBe(1)
    expect(sim.limited.refusedConnects).toBe(1)
    for (const s of sockets) s.ws.close()
  })

  test('REST past 15 requests a second is answered 429', async () => {
    const sim = feeds.sim(new SimCoinbase(MARKETS(), { heartbeatIntervalMs: 0 }))
    const url = `${sim.restUrl}/api/v3/brokerage/market/products?product_type=SPOT`
    const statuses = await Promise.all(
      Array.from({ length: 17 }, async () => (await fetch(url)).status),
    )
    expect(statuses.filter((s) => s === 429).length).toBe(2)
    expect(sim.limited.throttled).toBe(2)
  })

  test('a connection of marketsPerConnection books from a 1,500-market listing goes live within every limit', async () => {
    const markets = manyMarkets(1500)
    const sim = feeds.sim(new SimCoinbase(markets, { heartbeatIntervalMs: 0 }))
    const wanted = markets
      .slice(600, 600 + coinbase.limits.marketsPerConnection)
      .map((m) => `${m.base}/${m.quote}`)
    const feed = feeds.start(coinbase, sim, wanted)
    await allLive(feed, wanted)
    for (const pair of wanted.slice(0, 3)) expectSame(feed, pair, sim.book(pair))
    expect(level2Requests(sim)).toEqual([`subscribe ${wanted.map((p) => p.replace('/', '-'))}`])
    expect([
      sim.limited.refusedL2,
      sim.limited.rateLimited,
      sim.limited.refusedConnects,
      sim.limited.throttled,
    ]).toEqual([0, 0, 0, 0])
    expect(feed.conn.stats.errors).toEqual({})
  })

  test('a VenueFeed shards 60 markets over three connections, all live within the per-IP limits', async () => {
    const markets = manyMarkets(60)
    const sim = feeds.sim(new SimCoinbase(markets, { heartbeatIntervalMs: 0 }))
    const books = new Books()
    const feed = new VenueFeed({
      venue: coinbase,
      wsUrl: sim.wsUrl,
      restUrl: sim.restUrl,
      books,
      log: silent,
    })
    track(feed)
    feed.setMarkets(await feed.listMarkets(new AbortController().signal))
    feed.start()
    await feed.settled()
    expect(feed.connections.map((c) => c.pairs.length)).toEqual([25, 25, 10])
    await allLiveBooks(books, 60)
    expect([
      sim.limited.refusedL2,
      sim.limited.rateLimited,
      sim.limited.refusedConnects,
      sim.limited.throttled,
    ]).toEqual([0, 0, 0, 0])
    expect(sim.server.connections).toBe(3)
  })
})

/** Resolves once `n` coinbase books are live (checked on every book event). */
async function allLiveBooks(books: Books, n: number): Promise<void> {
  const live = () => [...books.ofVenue('coinbase')].filter((e) => e.state === 'live').length
  if (live() < n) await books.events.next('live', () => live() === n, 5000)
}

describe('coinbase: 24 h volumes', () => {
  test('the product list gives approximate_quote_24h_volume; alias books are not listed twice', async () => {
    const markets: SimMarket[] = [
      { base: 'BTC', quote: 'USD', book: makeBook(60000, 5, 0.01), volume24h: 900_000_000 },
      { base: 'BTC', quote: 'USDC', volume24h: 5 },
      { base: 'ETH', quote: 'USDT', book: makeBook(3000, 5, 0.01) },
      { base: 'XRP', quote: 'USD', trading: false, volume24h: 7 },
    ]
    const sim = feeds.sim(new SimCoinbase(markets, { heartbeatIntervalMs: 0 }))
    const signal = new AbortController().signal
    const volumes = await coinbase.fetchVolumes!(sim.restUrl, { fetch, signal })
    expect([...volumes]).toEqual([
      ['BTC/USD', 900_000_000],
      ['ETH/USDT', Math.round(10_000_000 / 3)],
    ])
    expect(sim.server.requests).toEqual(['/api/v3/brokerage/market/products?product_type=SPOT'])
  })

  test('recorded prices and base volumes give volume_24h x price; bad rows are skipped', async () => {
    // The capture's Exchange-feed tickers carry each product's real `price` and `volume_24h`
    // (base), the fields the product list has; without approximate_quote_24h_volume their
    // product is the quote volume.
    const tickers = new Map<string, { price: string; volume_24h: string }>()
    for (const line of await readLines(`${FIX}/COINBASE_ws_28_0.frames.jsonl`)) {
      const f = JSON.parse(line) as { type?: string; product_id?: string }
      if (f.type === 'ticker' && !tickers.has(f.product_id!)) tickers.set(f.product_id!, f as never)
    }
    expect(tickers.size).toBe(10)
    const product = (id: string, extra: object) => {
      const [base, quote] = id.split('-')
      return {
        product_id: id,
        base_currency_id: base,
        quote_currency_id: quote,
        status: 'online',
        ...extra,
      }
    }
    const products = [...tickers].map(([id, t]) =>
      product(id, { price: t.price, volume_24h: t.volume_24h }),
    )
    products.push(
      product('BAD-USD', { price: '1', volume_24h: 'lots' }),
      product('QV-USD', { price: '2', volume_24h: '3', approximate_quote_24h_volume: '7.5' }),
      product('ALIAS-USDC', { price: '1', volume_24h: '1', alias: 'ALIAS-USD' }),
    )
    const body = { products: [...products, null, 'x'], num_products: products.length + 2 }
    const stub = (async () => Response.json(body)) as unknown as typeof fetch
    const signal = new AbortController().signal
    const volumes = await coinbase.fetchVolumes!('http://coinbase.test', { fetch: stub, signal })
    expect(volumes.size).toBe(11)
    // BAND-GBP in the capture: 94381.28 BAND at 14.7775.
    expect(volumes.get('BAND/GBP')).toBe(94381.28 * 14.7775)
    for (const [id, t] of tickers) {
      expect(volumes.get(id.replace('-', '/'))).toBe(Number(t.volume_24h) * Number(t.price))
    }
    expect(volumes.get('QV/USD')).toBe(7.5)
    expect(volumes.has('BAD/USD') || volumes.has('ALIAS/USDC')).toBe(false)
    expect(coinbase.distinctAssets).toBeUndefined()
  })
})

describe('coinbase: fast path', () => {
  const natives = ['SKL-USD', 'SKL-BTC', 'SKL-GBP', 'BAND-GBP', 'BAND-BTC', 'NMR-EUR', 'YFI-BTC']
  const markets = new Map(
    [...natives, 'DASH-BTC', 'NU-GBP', 'CRV-EUR', 'BTC-USD'].map((n) => [n, n.replace('-', '/')]),
  )
  const paths = () => ({
    parser: coinbase.createParser(markets),
    reference: createJsonParser(markets),
    fast: createFastParser(markets),
  })
  const envelope = (b: { channel: string; timestamp: string; events: unknown[] }, seq: number) =>
    JSON.stringify({
      channel: b.channel,
      client_id: '',
      timestamp: b.timestamp,
      sequence_num: seq,
      events: b.events,
    })

  test('every captured frame, as recorded and re-encoded as Advanced Trade, reads the same on both paths', async () => {
    const lines = await readLines(`${FIX}/COINBASE_ws_28_0.frames.jsonl`)
    const frames = encodeExchangeCapture(lines).map(envelope)
    expect(frames.length).toBeGreaterThan(300)
    const { parser, reference, fast } = paths()
    // Every re-encoded l2_data and heartbeats frame is read by the scanner.
    const scanned = expectSameAsJsonPath([...lines, ...frames], parser, reference, { fast })
    expect(scanned).toBe(frames.length)
  })

  test('the bench stream (snapshot, updates, heartbeats) reads the same on both paths', () => {
    const { frames } = coinbaseFeed(3000)
    const { parser, reference, fast } = paths()
    expectSameAsJsonPath(frames, parser, reference, { fast, minFast: frames.length })
  })

  test('malformed or unusual frames are rejected (or read) as the JSON.parse path does', () => {
    const { frames: all } = coinbaseFeed(200)
    const update = all.find((f) => f.includes('"update"') && f.includes('"offer"'))!
    const beat = all.find((f) => f.includes('"heartbeats"'))!
    const frames = [
      ...variantsOf(update, 2),
      ...variantsOf(beat, 3),
      update.replace(',"client_id":""', ''),
      update.replace('"offer"', '"ask"'),
      update.replace('"offer"', '"sell"'),
      update.replace('"update"', '"snapshot"'),
      update.replace('"update"', '"delete"'),
      update.replace('"BTC-USD"', '"ETH-USD"'),
      update.replace(
        '"events":[',
        '"events":[{"type":"update","product_id":"BTC-USD","updates":[]},',
      ),
      update.replace(/"sequence_num":\d+/, '"sequence_num":1.5'),
      beat.replace(/"heartbeat_counter":\d+/, '"heartbeat_counter":"12"'),
      beat.replace(',"client_id":""', ''),
    ]
    const { parser, reference } = paths()
    expectSameAsJsonPath(frames, parser, reference)
  })
})
