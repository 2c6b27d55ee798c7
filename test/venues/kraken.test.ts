import { describe, expect, test } from 'bun:test'
import { krakenFeed } from '../../bench/venue-feed.ts'
import { createFastParser } from '../../src/venues/kraken/fast.ts'
import { createJsonParser } from '../../src/venues/kraken/index.ts'
import { expectSameAsJsonPath, variantsOf } from './fast-path.ts'
import type { BookEntry } from '../../src/book/books.ts'
import { applyDelta, createBook, type OrderBook } from '../../src/book/book.ts'
import { krakenChecksum } from '../../src/venues/kraken/checksum.ts'
import { createKraken, kraken, quoteLevelNumbers } from '../../src/venues/kraken/index.ts'
import { checksumOf, crc32Of, reencodeV1, SimKraken } from '../../src/venues/kraken/sim.ts'
import type { ClientRequest } from '../../src/venues/kraken/sim.ts'
import { makeBook, SimBook, type Row } from '../../src/venues/sim/book.ts'
import type { SimMarket } from '../../src/venues/sim/venue.ts'
import { ExchangeError, ParseError, toLevel } from '../../src/venues/venue.ts'
import type { Venue } from '../../src/venues/venue.ts'
import {
  bookWhere,
  readLines,
  rows,
  useFeeds,
  type Feed,
  type FeedOptions,
  rawSocket,
  ruleBook,
} from '../support.ts'

const FIX = `${import.meta.dir}/../fixtures`

const feeds = useFeeds()

const SIM_MARKETS = (): SimMarket[] => [
  { base: 'BTC', quote: 'USD', book: makeBook(60000, 30, 0.1) },
  { base: 'ETH', quote: 'USD', book: makeBook(3000, 30, 0.01) },
  { base: 'BTC', quote: 'USDT', book: makeBook(60010, 30, 0.1) },
  // Listed but cancel-only: no book to stream.
  { base: 'DOT', quote: 'USD', trading: false, book: makeBook(5) },
]

function simFeed(
  pairs = ['BTC/USD', 'ETH/USD'],
  {
    venue = kraken,
    heartbeatMs = 0,
    ...options
  }: FeedOptions & { venue?: Venue; heartbeatMs?: number } = {},
) {
  const sim = feeds.sim(new SimKraken(SIM_MARKETS(), { heartbeatMs }))
  const feed = feeds.start(venue, sim, pairs, options)
  return { sim, feed, depth: venue.sync.maxDepth! }
}

/** The client's book equals the venue's book seen through the subscribed window, level by level. */
function expectSame(f: Feed, s: SimKraken, pair: string, depth: number) {
  const e = f.entry(pair)
  expect(rows(e.book.bids)).toEqual(s.book(pair).topBids(depth))
  expect(rows(e.book.asks)).toEqual(s.book(pair).topAsks(depth))
}

/** Deterministic pseudo-random numbers (mulberry32). */
function random(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed)
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

/** A random level change near the top of a book around `mid`: insert, change or delete. */
function randomChange(
  rand: () => number,
  venue: SimBook,
  mid: number,
): { bids: Row[]; asks: Row[] } {
  const bid = rand() < 0.5
  const side = bid ? venue.topBids(12) : venue.topAsks(12)
  const r = rand()
  let row: Row
  const qty = (rand() * 5 + 0.001).toFixed(8)
  const pick = () => side[Math.floor(rand() * side.length)]![0]
  if (r < 0.3 && side.length > 0) row = [pick(), '0']
  else if (r < 0.6 && side.length > 0) row = [pick(), qty]
  else {
    const k = 1 + Math.floor(rand() * 80)
    row = [(bid ? mid - k * 0.05 : mid + k * 0.05).toFixed(2), qty]
  }
  return bid ? { bids: [row], asks: [] } : { bids: [], asks: [row] }
}

describe('kraken: recorded capture (v1, re-encoded as v2)', () => {
  // The capture's pairs; the sim lists them under their v1 wsname (BTC is XBT there).
  const PAIRS = [
    'WAVES/EUR',
    'XMR/USD',
    'KSM/BTC',
    'GRT/ETH',
    'SC/EUR',
    'ETH/CHF',
    'OCEAN/BTC',
    'OMG/USD',
    'BTC/CHF',
    'ADA/BTC',
  ]
  const v1Name = (pair: string) => pair.replace('BTC', 'XBT')

  test('all updates pass their recorded checksums; the books match the v1 reference', async () => {
    const lines = await readLines(`${FIX}/kraken/KRAKEN_ws_50_0.frames.jsonl`)

    // The reference, straight from the v1 strings: snapshot, updates, truncation to 1000.
    type V1 = { as?: string[][]; bs?: string[][]; a?: string[][]; b?: string[][]; c?: string }
    const expected = new Map<string, { book: SimBook; updates: number; lastC: number }>()
    const byV1 = new Map(PAIRS.map((p) => [v1Name(p), p]))
    const toRows = (l: string[][] = []): Row[] => l.map((x) => [x[0]!, x[1]!])
    for (const line of lines) {
      const msg = JSON.parse(line) as unknown
      if (!Array.isArray(msg)) continue
      const pair = byV1.get(msg[msg.length - 1] as string)!
      const parts = msg.slice(1, -2) as V1[]
      if (parts[0]!.as !== undefined) {
        const snapshot = new SimBook(toRows(parts[0]!.bs), toRows(parts[0]!.as))
        expected.set(pair, { book: snapshot, updates: 0, lastC: -1 })
        continue
      }
      const ref = expected.get(pair)!
      for (const d of parts) {
        ref.book.apply(toRows(d.b), toRows(d.a))
        if (d.c !== undefined) ref.lastC = Number(d.c)
      }
      if (ref.book.bids.size > 1000 || ref.book.asks.size > 1000) ref.book.truncate(1000)
      ref.updates++
    }
    expect([...expected.keys()].sort()).toEqual([...PAIRS].sort())
    expect([...expected.values()].reduce((n, r) => n + r.updates, 0)).toBe(4269)

    const frames = reencodeV1(lines)
    expect(frames.length).toBe(4321 - 10) // the 10 v1 subscription acks are the sim's to send
    expect(frames.filter((f) => f.includes('"type":"snapshot"')).length).toBe(10)

    const markets = PAIRS.map((p) => ({ base: p.split('/')[0]!, quote: p.split('/')[1]! }))
    const sim = feeds.sim(new SimKraken(markets, { heartbeatMs: 0, sendSnapshots: false }))
    const feed = feeds.start(createKraken({ depth: 1000 }), sim, PAIRS)
    await sim.server.waitFor(() => sim.subscribed().length === 10, 3000, 'subscriptions')
    const sub = sim.requests.find((r) => r.method === 'subscribe')!
    expect(sub.params).toEqual({ channel: 'book', symbol: PAIRS, depth: 1000, snapshot: true })

    sim.replay(frames)
    // Every update frame applied, plus the snapshot.
    for (const pair of PAIRS) {
      const applied = (e: BookEntry) => e.updates === expected.get(pair)!.updates + 1
      await bookWhere(feed, pair, applied, 8000, `every ${pair} frame applied`)
    }

    for (const pair of PAIRS) {
      const e = feed.entry(pair)
      const ref = expected.get(pair)!
      expect(e.resyncs).toBe(0)
      expect(e.state).toBe('live')
      expect(rows(e.book.bids)).toEqual(ref.book.topBids())
      expect(rows(e.book.asks)).toEqual(ref.book.topAsks())
      // The reference agrees with the venue on its own: its final top 10 gives the last recorded checksum.
      expect(checksumOf(ref.book)).toBe(ref.lastC)
    }
    expect(feed.entry('XMR/USD').updates).toBe(847)
    expect(feed.conn.stats.errors).toEqual({})
  })
})

describe('kraken: published checksum vectors', () => {
  type Vector = {
    id: string
    asks_ascending?: Row[]
    bids_descending?: Row[]
    checksum_input_string?: string
    raw_frames_in_order?: string[]
    expected_checksum_uint32?: number
    expected?: number[]
    subscribed_depth?: number
  }
  const load = async () => {
    const text = await Bun.file(`${FIX}/vectors/kraken-checksum.json`).text()
    return (JSON.parse(text) as { vectors: Vector[] }).vectors
  }

  test('the v1 docs book gives 974947235, on both sides of the wire', async () => {
    const v = (await load()).find((x) => x.id === 'kraken-docs-v1-example')!
    const b: OrderBook = createBook()
    b.asks = v.asks_ascending!.map(([p, q]) => toLevel(p, q))
    b.bids = v.bids_descending!.map(([p, q]) => toLevel(p, q))
    expect(crc32Of(v.checksum_input_string!)).toBe(974947235)
    expect(krakenChecksum(b)).toBe(v.expected_checksum_uint32!)
    expect(krakenChecksum(b)).toBe(974947235)
    // The sim's own implementation agrees.
    expect(checksumOf(new SimBook(v.bids_descending!, v.asks_ascending!))).toBe(974947235)
  })

  test('the v2 docs frames go through the parser and the sync rules with their checksums', async () => {
    const v = (await load()).find((x) => x.id === 'kraken-docs-v2-example')!
    const venue = createKraken({ depth: v.subscribed_depth as 10 })
    const parse = venue.createParser(new Map([['BTC/USD', 'BTC/USD']]))
    const { entry, feed: apply } = ruleBook(venue, 'BTC/USD')
    v.raw_frames_in_order!.forEach((raw, i) => {
      for (const ev of parse(raw, 0)) apply(ev)
      expect(krakenChecksum(entry.book)).toBe(v.expected![i]!)
    })
    expect(entry.hasSnapshot).toBe(true)
  })

  // The v2 checksum guide's snapshot, as printed (JSON numbers with trailing zeros, pretty-printed).
  const DOCS_SNAPSHOT = `{
  "channel": "book",
  "type": "snapshot",
  "data": [
    {
      "symbol": "BTC/USD",
      "bids": [
        {"price": 45283.5, "qty": 0.10000000},
        {"price": 45283.4, "qty": 1.54582015},
        {"price": 45282.1, "qty": 0.10000000},
        {"price": 45281.0, "qty": 0.10000000},
        {"price": 45280.3, "qty": 1.54592586},
        {"price": 45279.0, "qty": 0.07990000},
        {"price": 45277.6, "qty": 0.03310103},
        {"price": 45277.5, "qty": 0.30000000},
        {"price": 45277.3, "qty": 1.54602737},
        {"price": 45276.6, "qty": 0.15445238}
      ],
      "asks": [
        {"price": 45285.2, "qty": 0.00100000},
        {"price": 45286.4, "qty": 1.54571953},
        {"price": 45286.6, "qty": 1.54571109},
        {"price": 45289.6, "qty": 1.54560911},
        {"price": 45290.2, "qty": 0.15890660},
        {"price": 45291.8, "qty": 1.54553491},
        {"price": 45294.7, "qty": 0.04454749},
        {"price": 45296.1, "qty": 0.35380000},
        {"price": 45297.5, "qty": 0.09945542},
        {"price": 45299.5, "qty": 0.18772827}
      ],
      "checksum": 3310070434,
      "timestamp": "2023-10-06T17:35:55.440295Z"
    }
  ]
}`

  test('the v2 docs snapshot, literally, keeps its digits and passes checksum 3310070434', () => {
    const parse = kraken.createParser(new Map([['BTC/USD', 'BTC/USD']]))
    const events = parse(DOCS_SNAPSHOT, 0)
    expect(events.length).toBe(1)
    const ev = events[0]!
    if (ev.type !== 'snapshot') throw new Error(`expected a snapshot, got ${ev.type}`)
    expect(ev.checksum).toBe(3310070434)
    expect(ev.exchangeTsMs).toBe(Date.UTC(2023, 9, 6, 17, 35, 55, 440))
    const texts = [ev.bids[0]!.pxText, ev.bids[0]!.qtyText, ev.bids[3]!.pxText, ev.asks[4]!.qtyText]
    expect(texts).toEqual(['45283.5', '0.10000000', '45281.0', '0.15890660'])
    const { entry, feed: apply } = ruleBook(kraken, 'BTC/USD')
    apply(ev)
    expect(krakenChecksum(entry.book)).toBe(3310070434)

    // Why the quoting matters: plain JSON.parse loses the trailing zeros and the checksum.
    type Plain = { price: number; qty: number }
    const plain = JSON.parse(DOCS_SNAPSHOT) as { data: { bids: Plain[]; asks: Plain[] }[] }
    const lossy: OrderBook = createBook()
    lossy.bids = plain.data[0]!.bids.map((l) => toLevel(String(l.price), String(l.qty)))
    lossy.asks = plain.data[0]!.asks.map((l) => toLevel(String(l.price), String(l.qty)))
    expect(krakenChecksum(lossy)).not.toBe(3310070434)
  })

  test('quoting touches only the number tokens of price and qty', () => {
    const quoted = quoteLevelNumbers('{"price":45283.5,"qty":0.10000000}')
    expect(quoted).toBe('{"price":"45283.5","qty":"0.10000000"}')
    expect(quoteLevelNumbers('{"price" : -1.0 ,"qty":\n2}')).toBe('{"price" : "-1.0" ,"qty":\n"2"}')
    // Left alone: strings, null, other members, the words inside strings, frames without levels.
    for (const same of [
      '{"price":"1.5","qty":null,"checksum":12}',
      '{"error":"bad \\"price\\"","x":"qty"}',
      '{"channel":"heartbeat"}',
    ]) {
      expect(quoteLevelNumbers(same)).toBe(same)
    }
  })
})

describe('kraken: parser', () => {
  const markets = new Map([['BTC/USD', 'BTC/USD']])
  const update = (levels: string) =>
    '{"channel":"book","type":"update","data":[{"symbol":"BTC/USD",' +
    `"bids":[{"price":59999.01,"qty":1.0},${levels}],"asks":[],"checksum":1}]}`

  test('a negative or non-numeric level token rejects the whole message for that book', () => {
    const parse = kraken.createParser(markets)
    for (const bad of [
      '{"price":-1.0,"qty":1.0}',
      '{"price":"abc","qty":1.0}',
      '{"price":60000.00,"qty":-5}',
      '{"price":1e5,"qty":null}',
    ]) {
      let err: unknown
      try {
        parse(update(bad), 0)
      } catch (e) {
        err = e
      }
      expect(err).toBeInstanceOf(ParseError)
      expect(err).toMatchObject({ kind: 'bad-level', pair: 'BTC/USD' })
    }
  })

  test('other channels, methods and symbols are unknown, not errors; status and heartbeats are info', () => {
    const parse = kraken.createParser(markets)
    const trade = '{"channel":"trade","type":"update","data":[{"symbol":"BTC/USD","qty":0.5}]}'
    expect(parse(trade, 0)).toEqual([{ type: 'unknown', what: 'channel trade' }])
    expect(parse('{"method":"frobnicate","success":true}', 0)).toEqual([
      { type: 'unknown', what: 'method frobnicate' },
    ])
    const other = update('{"price":1.0,"qty":1.0}').replace('"BTC/USD"', '"ETH/USD"')
    expect(parse(other, 0)).toEqual([{ type: 'unknown', what: 'book for ETH/USD' }])
    expect(parse('{"channel":"heartbeat"}', 0)).toEqual([{ type: 'info' }])
    const status =
      '{"channel":"status","data":[{"api_version":"v2","connection_id":14949390454975033707,' +
      '"system":"maintenance","version":"2.0.8"}],"type":"update"}'
    expect(parse(status, 0)).toEqual([
      { type: 'venue-error', message: 'system status maintenance' },
    ])
  })

  test('resubscribing one book is unsubscribe + subscribe at the same depth', () => {
    const frames = createKraken({ depth: 10 }).resubscribe!('BTC/USD').map((f) => JSON.parse(f))
    expect(frames.map((f) => [f.method, f.params])).toEqual([
      ['unsubscribe', { channel: 'book', symbol: ['BTC/USD'], depth: 10 }],
      ['subscribe', { channel: 'book', symbol: ['BTC/USD'], depth: 10, snapshot: true }],
    ])
    expect(frames[1].req_id).toBeGreaterThan(frames[0].req_id)
  })
})

describe('kraken: synchronisation', () => {
  test('subscribes once with the depth, then keeps both books exact through 300 random updates', async () => {
    const { sim, feed, depth } = simFeed()
    await bookWhere(feed, 'BTC/USD')
    await bookWhere(feed, 'ETH/USD')
    expect(sim.requests.filter((r) => r.method === 'subscribe').map((r) => r.params)).toEqual([
      { channel: 'book', symbol: ['BTC/USD', 'ETH/USD'], depth: 25, snapshot: true },
    ])
    expectSame(feed, sim, 'BTC/USD', depth)
    const rand = random(7)
    const sent = { 'BTC/USD': 0, 'ETH/USD': 0 }
    for (let i = 0; i < 300; i++) {
      const [pair, mid] =
        rand() < 0.5 ? (['BTC/USD', 60000] as const) : (['ETH/USD', 3000] as const)
      const ch = randomChange(rand, sim.book(pair), mid)
      sent[pair] += sim.update(pair, ch.bids, ch.asks).length
    }
    for (const pair of ['BTC/USD', 'ETH/USD'] as const) {
      await bookWhere(feed, pair, (e) => e.updates === sent[pair] + 1, 3000, `${pair} updates`)
      expect(feed.entry(pair).resyncs).toBe(0)
      expectSame(feed, sim, pair, depth)
      expect(feed.entry(pair).book.bids.length).toBeLessThanOrEqual(depth)
    }
    expect(sent['BTC/USD'] + sent['ETH/USD']).toBeGreaterThan(100)
    expect(feed.conn.stats.errors).toEqual({})
  })

  test('an insert pushing a level out of the depth drops it; checksums keep matching', async () => {
    const { sim, feed } = simFeed(['BTC/USD'], { venue: createKraken({ depth: 10 }) })
    const e = await bookWhere(feed, 'BTC/USD')
    expect(e.book.bids.length).toBe(10)
    const tenth = e.book.bids[9]!.pxText
    const [frame] = sim.update('BTC/USD', [['59999.95', '1.00000000']], [])
    expect(frame).not.toContain(tenth) // Kraken sends no delete for the level pushed out
    await bookWhere(feed, 'BTC/USD', (e) => e.book.bids[0]!.pxText === '59999.95')
    expect(e.book.bids.length).toBe(10)
    expect(e.book.bids.some((l) => l.pxText === tenth)).toBe(false)
    // The pushed-out level then leaves the venue unseen; a client that kept it would now hold a
    // ghost that a delete at the top brings back into the checksummed top 10.
    sim.update('BTC/USD', [[tenth, '0']], [])
    sim.update(
      'BTC/USD',
      [
        ['59999.95', '0'],
        ['59999.90', '0'],
      ],
      [],
    )
    await bookWhere(feed, 'BTC/USD', (e) => e.book.bids[0]!.pxText === '59999.80')
    expect(e.resyncs).toBe(0)
    expect(e.book.bids.some((l) => l.pxText === tenth)).toBe(false)
    expectSame(feed, sim, 'BTC/USD', 10)
    expect(krakenChecksum(e.book)).toBe(checksumOf(sim.book('BTC/USD')))
  })
})

describe('kraken: venue behaviour', () => {
  test('a rejected subscription is a venue error for that pair, which is subscribed again; pings are answered', async () => {
    const venue = {
      ...kraken,
      // 16 pings a second: within the 20 frames a second the sim allows a connection.
      limits: { ...kraken.limits, pingIntervalMs: 60, sendPerSecond: 100 },
    }
    const { sim, feed } = simFeed(['BTC/USD'], { venue })
    await bookWhere(feed, 'BTC/USD')
    const venueError = feed.conn.events.next('frame', (f) =>
      f.events.some((ev) => ev.type === 'venue-error'),
    )
    sim.server.send(
      '{"error":"Currency pair not supported BTC/USD","method":"subscribe","req_id":9,"success":false,' +
        '"symbol":"BTC/USD","time_in":"2026-01-01T00:00:00.000000Z","time_out":"2026-01-01T00:00:00.000100Z"}',
    )
    const { events } = await venueError
    expect(events).toEqual([
      {
        type: 'venue-error',
        message: 'subscribe: Currency pair not supported BTC/USD',
        pair: 'BTC/USD',
      },
    ])
    const pings = () => sim.requests.filter((r) => r.method === 'ping')
    await sim.server.waitFor(() => pings().length >= 2, 3000, 'pings')
    const [first, second] = pings()
    expect(typeof first!.req_id).toBe('number')
    expect(second!.req_id).toBeGreaterThan(first!.req_id!)
    const pong = await feed.conn.events.next('frame', (f) => f.events[0]?.type === 'info')
    expect(pong.events).toEqual([{ type: 'info' }])
    expect(feed.conn.stats.errors['venue-error']).toBe(1)
    // The refusal means that book's data is not flowing: it is rebuilt and subscribed again.
    const e = await bookWhere(feed, 'BTC/USD', (x) => x.state === 'live' && x.resyncs === 1)
    expect(e.lastFailure?.kind).toBe('venue')
    expect(sim.requests.filter((r) => r.method === 'subscribe').length).toBeGreaterThanOrEqual(2)
  })

  test('heartbeats keep a quiet feed alive past the idle timeout', async () => {
    const { sim, feed } = simFeed(['BTC/USD'], { idleTimeoutMs: 200, heartbeatMs: 30 })
    await bookWhere(feed, 'BTC/USD')
    const heard = feed.conn.stats.messages
    // Re-checked on every frame the connection announces.
    const beats = () => feed.conn.stats.messages >= heard + 12
    await bookWhere(feed, 'BTC/USD', beats, 3000, 'twelve heartbeats')
    expect(sim.server.connections).toBe(1)
    expect(feed.conn.stats.errors.idle).toBeUndefined()
  })

  test('only online pairs are listed; USD is not USDT; XBT is BTC; dark pools are ignored', async () => {
    const { sim, feed } = simFeed(['BTC/USD', 'BTC/USDT', 'ETH/USDT', 'DOT/USD', 'BTC/USDC'])
    const listed = await feed.conn.events.next('listed')
    expect(listed.unlisted).toEqual(['ETH/USDT', 'DOT/USD', 'BTC/USDC'])
    expect([...listed.markets]).toEqual([
      ['BTC/USD', 'BTC/USD'],
      ['BTC/USDT', 'BTC/USDT'],
    ])
    const usdt = await bookWhere(feed, 'BTC/USDT')
    const usd = await bookWhere(feed, 'BTC/USD')
    expect(usdt.book.bids[0]!.pxText).toBe('60009.90')
    expect(usd.book.bids[0]!.pxText).toBe('59999.90')
    expect(sim.server.requests).toEqual(['/0/public/AssetPairs'])
  })

  test('AssetPairs names markets the Kraken way: legacy keys, v1 wsnames, cancel-only status', async () => {
    const sim = feeds.sim(new SimKraken(SIM_MARKETS(), { heartbeatMs: 0 }))
    const body = (await (await fetch(`${sim.restUrl}/0/public/AssetPairs`)).json()) as {
      result: Record<string, { wsname?: string; base: string; quote: string; status: string }>
    }
    const summary = Object.entries(body.result).map(([k, v]) => [k, v.wsname, v.status])
    expect(summary).toEqual([
      ['XXBTZUSD', 'XBT/USD', 'online'],
      ['XETHZUSD', 'ETH/USD', 'online'],
      ['XBTUSDT', 'XBT/USDT', 'online'],
      ['DOTUSD', 'DOT/USD', 'cancel_only'],
      ['XXBTZUSD.d', undefined, 'online'],
    ])
    expect(body.result['XXBTZUSD']).toMatchObject({ base: 'XXBT', quote: 'ZUSD' })
  })

  test('depth must be one Kraken offers', () => {
    expect(() => createKraken({ depth: 50 as never })).toThrow(RangeError)
    expect(createKraken({ depth: 1000 }).sync.maxDepth).toBe(1000)
    expect(kraken.sync.maxDepth).toBe(25)
    expect(kraken.wsUrl('wss://ws.kraken.com/v2', ['BTC/USD'])).toBe('wss://ws.kraken.com/v2')
  })
})

/** `n` markets `T0000/USD`, `T0001/USD`, ... with small books (a listing at real-venue scale). */
const manyMarkets = (n: number): SimMarket[] =>
  Array.from({ length: n }, (_, i) => ({
    base: `T${String(i).padStart(4, '0')}`,
    quote: 'USD',
    book: makeBook(100 + i, 5, 0.01),
  }))

type Frame = Record<string, unknown>

describe('kraken: limits', () => {
  test('the module stays inside what the simulated venue enforces', () => {
    const sim = feeds.sim(new SimKraken([], { heartbeatMs: 0 }))
    const { limits } = kraken
    expect(limits.marketsPerConnection).toBeLessThanOrEqual(sim.limits.symbolsPerConnection / 2)
    expect(limits.sendPerSecond).toBeLessThan(sim.limits.framesPerSecond)
    expect(limits.connects.count / limits.connects.windowMs).toBeLessThan(
      sim.limits.connects / sim.limits.connectWindowMs,
    )
    // Kraken: one public call a second stays within its limits.
    expect(limits.rest.weight / limits.rest.windowMs).toBeLessThanOrEqual(1 / 1000)
  })

  test('subscribe frames name at most marketsPerConnection symbols each, all of them in order', () => {
    const natives = Array.from({ length: 250 }, (_, i) => `T${i}/USD`)
    const frames = kraken.subscribe(natives).map((f) => JSON.parse(f) as ClientRequest)
    expect(frames.map((f) => f.params!.symbol!.length)).toEqual([100, 100, 50])
    expect(frames.flatMap((f) => f.params!.symbol!)).toEqual(natives)
    expect(frames.every((f) => f.method === 'subscribe' && f.params!.depth === 25)).toBe(true)
    expect(kraken.subscribe([])).toEqual([])
  })

  test('REST past one call a second is answered EGeneral:Too many requests, with a wait', async () => {
    const sim = feeds.sim(new SimKraken(SIM_MARKETS(), { heartbeatMs: 0 }))
    const url = `${sim.restUrl}/0/public/AssetPairs`
    const bodies = await Promise.all(
      [1, 2, 3].map(async () => (await (await fetch(url)).json()) as { error: string[] }),
    )
    expect(bodies.map((b) => b.error)).toContainEqual(['EGeneral:Too many requests'])
    expect(sim.limited.throttled).toBe(1)
    // The module reads it as the venue asking to wait a few seconds.
    const signal = new AbortController().signal
    const err = await kraken.listMarkets(sim.restUrl, { fetch, signal }).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(ExchangeError)
    expect((err as ExchangeError).message).toContain('EGeneral:Too many requests')
    expect((err as ExchangeError).retryAfterMs).toBe(5000)
    expect(sim.limited.throttled).toBe(2)
  })

  test('frames past 20 a second on one connection are answered "Exceeded msg rate"; it stays open', async () => {
    const sim = feeds.sim(new SimKraken(SIM_MARKETS(), { heartbeatMs: 0 }))
    const raw = rawSocket<Frame>(sim.wsUrl)
    expect(await raw.opened).toBe(true)
    for (let i = 1; i <= 25; i++) raw.ws.send(JSON.stringify({ method: 'ping', req_id: i }))
    const replies = (f: Frame[]) => f.filter((x) => x.req_id !== undefined)
    await raw.until((f) => replies(f).length === 25, '25 replies')
    const refused = replies(raw.frames).filter((x) => x.error === 'Exceeded msg rate')
    expect(refused.map((x) => x.req_id)).toEqual([21, 22, 23, 24, 25])
    expect(refused[0]).toMatchObject({ method: 'ping', success: false })
    expect(sim.limited.rateLimitedFrames).toBe(5)
    expect(raw.ws.readyState).toBe(WebSocket.OPEN)
    raw.ws.close()
  })

  test('symbols past 200 on one connection get an error ack each; the rest are subscribed', async () => {
    const sim = feeds.sim(new SimKraken(manyMarkets(203), { heartbeatMs: 0 }))
    const raw = rawSocket<Frame>(sim.wsUrl)
    expect(await raw.opened).toBe(true)
    const symbols = manyMarkets(203).map((m) => `${m.base}/${m.quote}`)
    const params = { channel: 'book', symbol: symbols, depth: 10, snapshot: false }
    raw.ws.send(JSON.stringify({ method: 'subscribe', params, req_id: 1 }))
    const acks = (f: Frame[]) => f.filter((x) => x.method === 'subscribe')
    await raw.until((f) => acks(f).length === 203, '203 acks')
    const failed = acks(raw.frames).filter((x) => x.success === false)
    expect(failed.map((x) => x.symbol)).toEqual(symbols.slice(200))
    expect(failed[0]!.error).toBe('Exceeded 200 symbols per connection')
    expect(sim.subscribed()).toEqual(symbols.slice(0, 200))
    expect(sim.limited.refusedSymbols).toBe(3)
    // The parser reports each as a venue error for that book.
    const events = kraken.createParser(new Map([[symbols[200]!, symbols[200]!]]))(
      JSON.stringify(failed[0]),
      0,
    )
    expect(events).toEqual([
      { type: 'venue-error', message: `subscribe: ${failed[0]!.error}`, pair: symbols[200] },
    ])
    raw.ws.close()
  })

  test('the 21st connection within 10 s is refused with HTTP 429', async () => {
    const sim = feeds.sim(new SimKraken(SIM_MARKETS(), { heartbeatMs: 0 }))
    const sockets = Array.from({ length: 21 }, () => rawSocket<Frame>(sim.wsUrl))
    const opened = await Promise.all(sockets.map((s) => s.opened))
    expect(opened.filter((x) => !x).length).toBe(1)
    expect(sim.limited.refusedConnects).toBe(1)
    expect(sim.server.connections).toBe(20)
    for (const s of sockets) s.ws.close()
  })

  test('a connection of marketsPerConnection books from a 1,500-market listing goes live within every limit', async () => {
    const markets = manyMarkets(1500)
    const sim = feeds.sim(new SimKraken(markets, { heartbeatMs: 0 }))
    const pairs = markets.slice(700, 700 + kraken.limits.marketsPerConnection)
    const wanted = pairs.map((m) => `${m.base}/${m.quote}`)
    const feed = feeds.start(kraken, sim, wanted)
    for (const pair of wanted) await bookWhere(feed, pair)
    for (const pair of wanted.slice(0, 3)) expectSame(feed, sim, pair, 25)
    const subscribes = sim.requests.filter((r) => r.method === 'subscribe')
    expect(subscribes.length).toBe(1)
    expect(subscribes[0]!.params!.symbol).toEqual(wanted)
    expect([
      sim.limited.throttled,
      sim.limited.rateLimitedFrames,
      sim.limited.refusedSymbols,
      sim.limited.refusedConnects,
    ]).toEqual([0, 0, 0, 0])
    expect(feed.conn.stats.errors).toEqual({})
  })
})

/** The Ticker entries of the recorded v1 ticker channel (the same object REST Ticker returns). */
async function capturedTickers(): Promise<Map<string, { v: string[]; p: string[] }>> {
  const out = new Map<string, { v: string[]; p: string[] }>()
  for (const line of await readLines(`${FIX}/kraken/KRAKEN_ws_49_0.frames.jsonl`)) {
    const msg = JSON.parse(line) as unknown
    if (!Array.isArray(msg) || msg[msg.length - 2] !== 'ticker') continue
    // The first ticker of each pair.
    const wsname = msg[msg.length - 1] as string
    if (!out.has(wsname)) out.set(wsname, msg[1] as { v: string[]; p: string[] })
  }
  return out
}

describe('kraken: 24 h volumes', () => {
  test("the simulated Ticker gives each online market's quote volume, one request for all", async () => {
    const markets: SimMarket[] = [
      { base: 'BTC', quote: 'USD', book: makeBook(60000, 5, 0.1), volume24h: 250_000_000 },
      { base: 'ETH', quote: 'USD', book: makeBook(3000, 5, 0.01), volume24h: 90_000_000 },
      { base: 'BTC', quote: 'USDT' },
      { base: 'DOT', quote: 'USD', trading: false, volume24h: 1_000 },
    ]
    const sim = feeds.sim(new SimKraken(markets, { heartbeatMs: 0 }))
    const signal = new AbortController().signal
    const volumes = await kraken.fetchVolumes!(sim.restUrl, { fetch, signal })
    expect([...volumes.keys()]).toEqual(['BTC/USD', 'ETH/USD', 'BTC/USDT'])
    expect(volumes.get('BTC/USD')!).toBeCloseTo(250_000_000, 0)
    expect(volumes.get('ETH/USD')!).toBeCloseTo(90_000_000, 0)
    // Without a volume the sim lists a deterministic one (earlier markets trade more).
    expect(volumes.get('BTC/USDT')!).toBeCloseTo(10_000_000 / 3, 0)
    expect(sim.server.requests).toEqual(['/0/public/AssetPairs', '/0/public/Ticker'])
  })

  test('recorded ticker values give v[1] x p[1]; rows that are not readable are skipped', async () => {
    const recorded = await capturedTickers()
    expect(recorded.size).toBe(10)
    // AssetPairs and Ticker keyed the Kraken way; the ticker objects are the recorded ones.
    const keyOf = (wsname: string) => wsname.replace('/', '')
    const assetPairs: Record<string, object> = {}
    const ticker: Record<string, unknown> = {}
    for (const [wsname, info] of recorded) {
      assetPairs[keyOf(wsname)] = { wsname, status: 'online' }
      ticker[keyOf(wsname)] = info
    }
    assetPairs['BADUSD'] = { wsname: 'BAD/USD', status: 'online' }
    ticker['BADUSD'] = { v: ['1', '-2'], p: ['1', '1'] }
    assetPairs['NOVUSD'] = { wsname: 'NOV/USD', status: 'online' }
    ticker['NOVUSD'] = { p: ['1', '1'] }
    ticker['UNLISTEDUSD'] = { v: ['1', '1'], p: ['1', '1'] }
    const stub = (async (input: string | URL | Request) => {
      const path = new URL(String(input)).pathname
      const result = path.endsWith('/AssetPairs') ? assetPairs : ticker
      return Response.json({ error: [], result })
    }) as typeof fetch
    const signal = new AbortController().signal
    const volumes = await kraken.fetchVolumes!('http://kraken.test', { fetch: stub, signal })
    expect(volumes.size).toBe(10)
    // XMR/USD from the capture: 33470.74135600 XMR at a VWAP of 349.16721624.
    expect(volumes.get('XMR/USD')).toBe(33470.741356 * 349.16721624)
    for (const [wsname, info] of recorded) {
      const pair = wsname.replace('XBT', 'BTC')
      expect(volumes.get(pair)).toBe(Number(info.v[1]) * Number(info.p[1]))
    }
  })

  test('a Ticker error list is an ExchangeError; Kraken LUNA, UST and REP are other tokens', async () => {
    const stub = (async (input: string | URL | Request) => {
      const path = new URL(String(input)).pathname
      if (path.endsWith('/AssetPairs')) return Response.json({ error: [], result: {} })
      return Response.json({ error: ['EService:Unavailable'] })
    }) as typeof fetch
    const signal = new AbortController().signal
    const err = await kraken.fetchVolumes!('http://kraken.test', { fetch: stub, signal }).catch(
      (e: unknown) => e,
    )
    expect(err).toBeInstanceOf(ExchangeError)
    expect((err as ExchangeError).message).toBe('Ticker answered EService:Unavailable')
    expect((err as ExchangeError).retryAfterMs).toBeUndefined()
    expect(Object.keys(kraken.distinctAssets ?? {})).toEqual(['LUNA', 'UST', 'REP'])
  })
})

describe('kraken: fast path', () => {
  const PAIRS = ['WAVES/EUR', 'XMR/USD', 'KSM/BTC', 'GRT/ETH', 'SC/EUR', 'ETH/CHF', 'OCEAN/BTC']
  const markets = new Map([...PAIRS, 'OMG/USD', 'BTC/CHF', 'ADA/BTC', 'BTC/USD'].map((p) => [p, p]))
  const paths = () => ({
    parser: kraken.createParser(markets),
    reference: createJsonParser(markets),
    fast: createFastParser(markets),
  })

  test('every captured frame, as recorded (v1) and re-encoded as v2, reads the same on both paths', async () => {
    const v1 = await readLines(`${FIX}/kraken/KRAKEN_ws_50_0.frames.jsonl`)
    const v2 = reencodeV1(v1)
    const { parser, reference, fast } = paths()
    const books = v2.filter((f) => f.startsWith('{"channel":"book"'))
    expect(books.length).toBeGreaterThan(4000)
    // The scanner reads every re-encoded book frame and heartbeat; the v1 arrays go to JSON.parse.
    const scanned = expectSameAsJsonPath([...v1, ...v2], parser, reference, { fast })
    expect(scanned).toBe(books.length + v2.filter((f) => f === '{"channel":"heartbeat"}').length)
  })

  test('the bench stream (snapshot, updates with checksums) reads the same on both paths', () => {
    const { frames } = krakenFeed(3000)
    const { parser, reference, fast } = paths()
    expectSameAsJsonPath(frames, parser, reference, { fast, minFast: frames.length })
  })

  test('the checksum, kept per level, matches an independent CRC-32 after every change', () => {
    // The bench stream's checksums come from the sim's own CRC: every message must pass.
    const { entry, feed } = ruleBook(kraken, 'BTC/USD')
    const parse = kraken.createParser(markets)
    for (const frame of krakenFeed(2000).frames) for (const ev of parse(frame, 0)) feed(ev)
    // Random books, sides emptied and refilled, levels moving in and out of the top 10.
    const rand = random(4)
    const venue = new SimBook()
    const book = entry.book
    book.bids.length = 0
    book.asks.length = 0
    for (let i = 0; i < 3000; i++) {
      const bid = rand() < 0.5
      const px = (
        bid ? 100 - Math.floor(rand() * 15) / 10 : 100.1 + Math.floor(rand() * 15) / 10
      ).toFixed(rand() < 0.5 ? 1 : 3)
      const qty =
        rand() < 0.3 ? '0.00000000' : (rand() < 0.5 ? rand() / 1000 : rand() * 10).toFixed(8)
      const level = toLevel(px, qty)
      for (const p of [...(bid ? venue.bids : venue.asks).keys()]) {
        if (Number(p) === level.px) (bid ? venue.bids : venue.asks).delete(p)
      }
      ;(bid ? venue.bids : venue.asks).set(px, qty)
      if (level.qty === 0) (bid ? venue.bids : venue.asks).delete(px)
      applyDelta(book, bid ? [level] : [], bid ? [] : [level])
      expect(krakenChecksum(book)).toBe(checksumOf(venue))
    }
  })

  test('malformed or unusual frames are rejected (or read) as the JSON.parse path does', () => {
    const [snapshot, update] = krakenFeed(3).frames
    const twoLevels = update!.replace('"bids":[', '"bids":[{"price":1.5,"qty":0.0},')
    const frames = [
      ...variantsOf(snapshot!, 13),
      ...variantsOf(update!),
      ...variantsOf(twoLevels, 3),
      update!.replace(/"checksum":\d+/, '"checksum":4294967296'),
      update!.replace(/"checksum":\d+/, '"checksum":4294967295'),
      update!.replace(/"timestamp":"[^"]+"/, '"timestamp":"2023-02-30T10:00:00.5Z"'),
      update!.replace(/"timestamp":"[^"]+"/, '"timestamp":"2023-10-06T24:00:00.000Z"'),
      update!.replace(/"timestamp":"[^"]+"/, '"timestamp":"yesterday"'),
      update!.replace('"update"', '"snapshot"'),
      update!.replace('"BTC/USD"', '"BTC/EUR"'),
      '{"channel":"heartbeat"}',
    ]
    const { parser, reference } = paths()
    expectSameAsJsonPath(frames, parser, reference)
  })
})
