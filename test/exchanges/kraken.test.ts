import { afterEach, describe, expect, test } from 'bun:test'
import { Books } from '../../src/book/books.ts'
import { createBook, type OrderBook } from '../../src/book/book.ts'
import { crc32, krakenChecksum } from '../../src/book/checksum.ts'
import { toLevel, type BookEvent, type Exchange } from '../../src/exchanges/exchange.ts'
import { createKraken, kraken, quoteLevelNumbers } from '../../src/exchanges/kraken.ts'
import { checksumOf, FakeKraken, reencodeV1, type KrakenMarket } from '../fakes/kraken.ts'
import { makeBook, SimBook, type Row } from '../fakes/sim-book.ts'
import { rows, startFeed, until, type Feed } from '../support.ts'

const FIX = `${import.meta.dir}/../fixtures`

let fake: FakeKraken | undefined
let feed: Feed | undefined
afterEach(() => {
  feed?.stop()
  fake?.stop()
  feed = fake = undefined
})

const SIM_MARKETS = (): KrakenMarket[] => [
  {
    key: 'XXBTZUSD',
    wsname: 'XBT/USD',
    base: 'XXBT',
    quote: 'ZUSD',
    book: makeBook(60000, 30, 0.1),
  },
  {
    key: 'XETHZUSD',
    wsname: 'ETH/USD',
    base: 'XETH',
    quote: 'ZUSD',
    book: makeBook(3000, 30, 0.01),
  },
  {
    key: 'XBTUSDT',
    wsname: 'XBT/USDT',
    base: 'XXBT',
    quote: 'USDT',
    book: makeBook(60010, 30, 0.1),
  },
  {
    key: 'DOTUSD',
    wsname: 'DOT/USD',
    base: 'DOT',
    quote: 'ZUSD',
    status: 'cancel_only',
    book: makeBook(5),
  },
]

function simFeed(
  pairs = ['BTC/USD', 'ETH/USD'],
  opts: Parameters<typeof startFeed>[3] & { exchange?: Exchange; heartbeatMs?: number } = {},
) {
  const { exchange = kraken, heartbeatMs, ...rest } = opts
  fake = new FakeKraken(SIM_MARKETS(), { heartbeatMs })
  feed = startFeed(exchange, fake, pairs, rest)
  return { fake, feed, depth: exchange.maxDepth! }
}

const book = (f: Feed, pair: string) => f.books.get('kraken', pair)!

async function live(f: Feed, pair: string) {
  await until(() => book(f, pair).state === 'live', 3000, `${pair} live`)
}

/** The client's book equals the venue's book seen through the subscribed window, level by level. */
function expectSame(f: Feed, fk: FakeKraken, pair: string, depth: number) {
  const e = book(f, pair)
  const venue = fk.state.get(pair)!.book
  expect(rows(e.book.bids)).toEqual(venue.topBids(depth))
  expect(rows(e.book.asks)).toEqual(venue.topAsks(depth))
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
  // The capture's pairs as AssetPairs lists them (wsname is the v1 name), and the unified pair.
  const MARKETS: (KrakenMarket & { pair: string })[] = [
    { key: 'WAVESEUR', wsname: 'WAVES/EUR', base: 'WAVES', quote: 'ZEUR', pair: 'WAVES/EUR' },
    { key: 'XXMRZUSD', wsname: 'XMR/USD', base: 'XXMR', quote: 'ZUSD', pair: 'XMR/USD' },
    { key: 'KSMXBT', wsname: 'KSM/XBT', base: 'KSM', quote: 'XXBT', pair: 'KSM/BTC' },
    { key: 'GRTETH', wsname: 'GRT/ETH', base: 'GRT', quote: 'XETH', pair: 'GRT/ETH' },
    { key: 'SCEUR', wsname: 'SC/EUR', base: 'SC', quote: 'ZEUR', pair: 'SC/EUR' },
    { key: 'ETHCHF', wsname: 'ETH/CHF', base: 'XETH', quote: 'CHF', pair: 'ETH/CHF' },
    { key: 'OCEANXBT', wsname: 'OCEAN/XBT', base: 'OCEAN', quote: 'XXBT', pair: 'OCEAN/BTC' },
    { key: 'OMGUSD', wsname: 'OMG/USD', base: 'OMG', quote: 'ZUSD', pair: 'OMG/USD' },
    { key: 'XBTCHF', wsname: 'XBT/CHF', base: 'XXBT', quote: 'CHF', pair: 'BTC/CHF' },
    { key: 'ADAXBT', wsname: 'ADA/XBT', base: 'ADA', quote: 'XXBT', pair: 'ADA/BTC' },
  ]

  test('all updates pass their recorded checksums; the books match the v1 reference', async () => {
    const lines = (await Bun.file(`${FIX}/kraken/KRAKEN_ws_50_0.frames.jsonl`).text())
      .trim()
      .split('\n')

    // The reference, straight from the v1 strings: snapshot, updates, truncation to 1000.
    type V1 = { as?: string[][]; bs?: string[][]; a?: string[][]; b?: string[][]; c?: string }
    const expected = new Map<string, { book: SimBook; updates: number; lastC: number }>()
    const byV1 = new Map(MARKETS.map((m) => [m.wsname, m.pair]))
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
    expect([...expected.keys()].sort()).toEqual(MARKETS.map((m) => m.pair).sort())
    expect([...expected.values()].reduce((n, r) => n + r.updates, 0)).toBe(4269)

    const frames = reencodeV1(lines)
    expect(frames.length).toBe(4321 - 10) // the 10 v1 subscription acks are the fake's to send
    expect(frames.filter((f) => f.includes('"type":"snapshot"')).length).toBe(10)

    fake = new FakeKraken(MARKETS)
    fake.sendSnapshots = false
    const deep = createKraken({ depth: 1000 })
    feed = startFeed(
      deep,
      fake,
      MARKETS.map((m) => m.pair),
    )
    await fake.server.waitFor(() => fake!.subscribed().length === 10, 3000, 'subscriptions')
    const sub = fake.requests.find((r) => r.method === 'subscribe')!
    const symbol = MARKETS.map((m) => m.pair)
    expect(sub.params).toEqual({ channel: 'book', symbol, depth: 1000, snapshot: true })

    fake.replay(frames)
    // Every update frame applied, plus the snapshot.
    const done = (m: { pair: string }) =>
      book(feed!, m.pair).updates === expected.get(m.pair)!.updates + 1
    await until(() => MARKETS.every(done), 8000, 'every frame applied')

    for (const m of MARKETS) {
      const e = book(feed, m.pair)
      const ref = expected.get(m.pair)!
      expect(e.resyncs).toBe(0)
      expect(e.state).toBe('live')
      expect(rows(e.book.bids)).toEqual(ref.book.topBids())
      expect(rows(e.book.asks)).toEqual(ref.book.topAsks())
      // The reference agrees with the venue on its own: its final top 10 gives the last recorded checksum.
      expect(checksumOf(ref.book)).toBe(ref.lastC)
    }
    expect(book(feed, 'XMR/USD').updates).toBe(847)
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

  test('the v1 docs book gives 974947235', async () => {
    const v = (await load()).find((x) => x.id === 'kraken-docs-v1-example')!
    const b: OrderBook = createBook()
    b.asks = v.asks_ascending!.map(([p, q]) => toLevel(p, q))
    b.bids = v.bids_descending!.map(([p, q]) => toLevel(p, q))
    expect(crc32(v.checksum_input_string!)).toBe(974947235)
    expect(krakenChecksum(b)).toBe(v.expected_checksum_uint32!)
    expect(krakenChecksum(b)).toBe(974947235)
  })

  test('the v2 docs frames go through the parser and the books with their checksums', async () => {
    const v = (await load()).find((x) => x.id === 'kraken-docs-v2-example')!
    const ex = createKraken({ depth: v.subscribed_depth as 10 })
    const parse = ex.createParser(new Map([['BTC/USD', 'BTC/USD']]))
    const books = new Books()
    books.addVenue('kraken', ex, ['BTC/USD'])
    v.raw_frames_in_order!.forEach((raw, i) => {
      for (const ev of parse(raw, 0)) expect(books.apply('kraken', ev as BookEvent, 0)).toEqual([])
      expect(krakenChecksum(books.get('kraken', 'BTC/USD')!.book)).toBe(v.expected![i]!)
    })
    expect(books.get('kraken', 'BTC/USD')!.state).toBe('live')
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
    const books = new Books()
    books.addVenue('kraken', kraken, ['BTC/USD'])
    expect(books.apply('kraken', ev, 0)).toEqual([])
    const e = books.get('kraken', 'BTC/USD')!
    expect(e.state).toBe('live')
    expect(krakenChecksum(e.book)).toBe(3310070434)

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

describe('kraken: synchronisation', () => {
  test('subscribes once with the depth, then keeps both books exact through 300 random updates', async () => {
    const { fake, feed, depth } = simFeed()
    await live(feed, 'BTC/USD')
    await live(feed, 'ETH/USD')
    expect(fake.requests.filter((r) => r.method === 'subscribe').map((r) => r.params)).toEqual([
      { channel: 'book', symbol: ['BTC/USD', 'ETH/USD'], depth: 25, snapshot: true },
    ])
    expectSame(feed, fake, 'BTC/USD', depth)
    const rand = random(7)
    let sent = 0
    for (let i = 0; i < 300; i++) {
      const [pair, mid] =
        rand() < 0.5 ? (['BTC/USD', 60000] as const) : (['ETH/USD', 3000] as const)
      const ch = randomChange(rand, fake.state.get(pair)!.book, mid)
      sent += fake.update(pair, ch.bids, ch.asks).length
    }
    const total = () => book(feed, 'BTC/USD').updates + book(feed, 'ETH/USD').updates
    await until(() => total() === sent + 2, 3000, 'all updates applied')
    for (const pair of ['BTC/USD', 'ETH/USD']) {
      expect(book(feed, pair).resyncs).toBe(0)
      expectSame(feed, fake, pair, depth)
      expect(book(feed, pair).book.bids.length).toBeLessThanOrEqual(depth)
    }
    expect(sent).toBeGreaterThan(100)
    expect(feed.conn.stats.errors).toEqual({})
  })

  test('an insert pushing a level out of the depth drops it; checksums keep matching', async () => {
    const { fake, feed } = simFeed(['BTC/USD'], { exchange: createKraken({ depth: 10 }) })
    await live(feed, 'BTC/USD')
    const e = book(feed, 'BTC/USD')
    expect(e.book.bids.length).toBe(10)
    const tenth = e.book.bids[9]!.pxText
    const [frame] = fake.update('BTC/USD', [['59999.95', '1.00000000']], [])
    expect(frame).not.toContain(tenth) // Kraken sends no delete for the level pushed out
    await until(() => e.book.bids[0]!.pxText === '59999.95', 3000, 'insert applied')
    expect(e.book.bids.length).toBe(10)
    expect(e.book.bids.some((l) => l.pxText === tenth)).toBe(false)
    // The pushed-out level then leaves the venue unseen; a client that kept it would now hold a
    // ghost that a delete at the top brings back into the checksummed top 10.
    fake.update('BTC/USD', [[tenth, '0']], [])
    fake.update(
      'BTC/USD',
      [
        ['59999.95', '0'],
        ['59999.90', '0'],
      ],
      [],
    )
    await until(() => e.book.bids[0]!.pxText === '59999.80', 3000, 'deletes applied')
    expect(e.resyncs).toBe(0)
    expect(e.book.bids.some((l) => l.pxText === tenth)).toBe(false)
    expectSame(feed, fake, 'BTC/USD', 10)
    expect(krakenChecksum(e.book)).toBe(checksumOf(fake.state.get('BTC/USD')!.book))
  })

  test('a checksum mismatch resubscribes only that book, which comes back live', async () => {
    const { fake, feed, depth } = simFeed()
    await live(feed, 'BTC/USD')
    await live(feed, 'ETH/USD')
    const before = fake.server.received.length
    fake.update('BTC/USD', [['59999.97', '2.00000000']], [], { badChecksum: true })
    const btc = book(feed, 'BTC/USD')
    await until(() => btc.resyncs === 1, 3000, 'resync')
    expect(btc.lastResyncReason).toContain('checksum mismatch')
    await live(feed, 'BTC/USD')
    const after = fake.requests.slice(before).filter((r) => r.method !== 'ping')
    expect(after.map((r) => [r.method, r.params])).toEqual([
      ['unsubscribe', { channel: 'book', symbol: ['BTC/USD'], depth: 25 }],
      ['subscribe', { channel: 'book', symbol: ['BTC/USD'], depth: 25, snapshot: true }],
    ])
    expectSame(feed, fake, 'BTC/USD', depth)
    fake.update('BTC/USD', [['59999.96', '3.00000000']], [])
    fake.update('ETH/USD', [], [['3000.01', '9.00000000']])
    const eth = book(feed, 'ETH/USD')
    const applied = () =>
      btc.book.bids[1]!.pxText === '59999.96' && eth.book.asks[0]!.qtyText === '9.00000000'
    await until(applied, 3000, 'updates after the resync')
    expectSame(feed, fake, 'BTC/USD', depth)
    expect(book(feed, 'ETH/USD').resyncs).toBe(0)
    expect(book(feed, 'ETH/USD').state).toBe('live')
    expect(fake.subscribed()).toEqual(['BTC/USD', 'ETH/USD'])
  })

  test('a lost update is caught by the next checksum and resyncs that book only', async () => {
    const { fake, feed, depth } = simFeed()
    await live(feed, 'BTC/USD')
    await live(feed, 'ETH/USD')
    fake.update('BTC/USD', [['59999.90', '0']], [], { drop: true })
    fake.update('BTC/USD', [], [['60000.20', '7.00000000']])
    const btc = book(feed, 'BTC/USD')
    await until(() => btc.resyncs === 1, 3000, 'resync')
    await live(feed, 'BTC/USD')
    expect(btc.book.bids.some((l) => l.pxText === '59999.90')).toBe(false)
    expectSame(feed, fake, 'BTC/USD', depth)
    expect(book(feed, 'ETH/USD').resyncs).toBe(0)
  })
})

describe('kraken: bad input', () => {
  test('malformed JSON and unknown messages are counted, and the books stay exact', async () => {
    const { fake, feed, depth } = simFeed(['BTC/USD'])
    await live(feed, 'BTC/USD')
    fake.server.send(
      '{"channel":"book","type":"update","data":[{"symbol":"BTC/USD","bids":[{"price":1',
    )
    fake.server.send('not json at all')
    fake.server.send('{"channel":"trade","type":"update","data":[{"symbol":"BTC/USD","qty":0.5}]}')
    fake.server.send('{"method":"frobnicate","success":true}')
    fake.update('BTC/USD', [['59999.97', '4.00000000']], [])
    const e = book(feed, 'BTC/USD')
    await until(() => e.book.bids[0]!.pxText === '59999.97', 3000, 'update after garbage')
    expect(feed.conn.stats.errors['malformed-json']).toBe(2)
    expect(feed.conn.stats.errors['unknown-message']).toBe(2)
    expect(e.state).toBe('live')
    expect(e.resyncs).toBe(0)
    expectSame(feed, fake, 'BTC/USD', depth)
  })

  test('a negative or non-numeric price rejects the whole message and resyncs that book', async () => {
    const { fake, feed, depth } = simFeed()
    await live(feed, 'BTC/USD')
    await live(feed, 'ETH/USD')
    const btc = book(feed, 'BTC/USD')
    // Four rounds: each resync costs two frames of the ten-a-second send budget.
    const bad: Row[] = [
      ['-1.0', '1.0'],
      ['"abc"', '1.0'],
      ['60000.00', '-5'],
      ['1e5', 'null'],
    ]
    for (const level of bad) {
      const before = btc.resyncs
      const checksum = checksumOf(fake.state.get('BTC/USD')!.book)
      fake.sendRawLevels('BTC/USD', 'update', [['59999.01', '1.0'], level], [], checksum)
      await until(() => btc.resyncs === before + 1, 3000, `resync after ${level[0]}`)
      expect(btc.book.bids.some((l) => l.pxText === '59999.01')).toBe(false)
      await live(feed, 'BTC/USD')
      expectSame(feed, fake, 'BTC/USD', depth)
    }
    expect(feed.conn.stats.errors['bad-level']).toBe(bad.length)
    expect(book(feed, 'ETH/USD').resyncs).toBe(0)
  })

  test('a crossed book is never live: it resyncs', async () => {
    const { fake, feed, depth } = simFeed(['BTC/USD'])
    await live(feed, 'BTC/USD')
    const e = book(feed, 'BTC/USD')
    // A checksum-consistent update that crosses; the venue itself does not keep it.
    fake.update('BTC/USD', [['60005.00', '1.00000000']], [], { keep: false })
    await until(() => e.resyncs === 1, 3000, 'resync')
    expect(e.lastResyncReason).toContain('crossed')
    await live(feed, 'BTC/USD')
    expect(e.book.bids[0]!.px).toBeLessThan(e.book.asks[0]!.px)
    expectSame(feed, fake, 'BTC/USD', depth)
  })

  test('a rejected subscription is a venue error for that pair; pings are answered', async () => {
    const ex = { ...kraken, pingIntervalMs: 30 }
    const { fake, feed } = simFeed(['BTC/USD'], { exchange: ex })
    await live(feed, 'BTC/USD')
    fake.server.send(
      '{"error":"Currency pair not supported BTC/USD","method":"subscribe","req_id":9,"success":false,' +
        '"symbol":"BTC/USD","time_in":"2026-01-01T00:00:00.000000Z","time_out":"2026-01-01T00:00:00.000100Z"}',
    )
    await until(() => feed.conn.stats.errors['venue-error'] === 1, 3000, 'venue error')
    const pings = () => fake.requests.filter((r) => r.method === 'ping')
    await fake.server.waitFor(() => pings().length >= 2, 3000, 'pings')
    const [first, second] = pings()
    expect(typeof first!.req_id).toBe('number')
    expect(second!.req_id).toBeGreaterThan(first!.req_id!)
    const messages = feed.conn.stats.messages
    await until(() => feed.conn.stats.messages > messages, 3000, 'a pong')
    expect(feed.conn.stats.errors).toEqual({ 'venue-error': 1 })
    expect(book(feed, 'BTC/USD').state).toBe('live')
  })
})

describe('kraken: connection faults', () => {
  test('a disconnect reconnects, resubscribes and rebuilds the book without ghost levels', async () => {
    const { fake, feed, depth } = simFeed(['BTC/USD'])
    await live(feed, 'BTC/USD')
    const e = book(feed, 'BTC/USD')
    fake.server.disconnectAll()
    await until(() => feed.conn.stats.state !== 'connected', 3000, 'down')
    // While we are away a level disappears; the client never sees that delete.
    fake.update('BTC/USD', [['59999.90', '0']], [])
    await until(
      () => fake.server.connections === 2 && e.state === 'live',
      3000,
      'reconnected and live',
    )
    const subs = fake.requests.filter((r) => r.method === 'subscribe')
    expect(subs.length).toBe(2)
    expect(subs[1]!.client).not.toBe(subs[0]!.client)
    expect(subs[1]!.params).toEqual({
      channel: 'book',
      symbol: ['BTC/USD'],
      depth: 25,
      snapshot: true,
    })
    expect(e.book.bids.some((l) => l.pxText === '59999.90')).toBe(false)
    expectSame(feed, fake, 'BTC/USD', depth)
    expect(feed.conn.stats.reconnects).toBe(1)
  })

  test('heartbeats keep a quiet feed alive; a stall trips the idle watchdog', async () => {
    const { fake, feed, depth } = simFeed(['BTC/USD'], { idleTimeoutMs: 200, heartbeatMs: 30 })
    await live(feed, 'BTC/USD')
    const heard = feed.conn.stats.messages
    await until(() => feed.conn.stats.messages >= heard + 6, 3000, 'heartbeats')
    expect(fake.server.connections).toBe(1)
    fake.server.stalled = true
    // Resumed as the new socket opens, before its subscribe frame can arrive.
    await fake.server.waitFor(() => fake.server.connections === 2, 3000, 'watchdog reconnect')
    fake.server.stalled = false
    expect(feed.conn.stats.errors.idle).toBeGreaterThanOrEqual(1)
    await live(feed, 'BTC/USD')
    expectSame(feed, fake, 'BTC/USD', depth)
  })

  test('a server closing mid-message is survived', async () => {
    const { fake, feed, depth } = simFeed(['BTC/USD'])
    await live(feed, 'BTC/USD')
    fake.server.closeMidMessage(
      '{"channel":"book","type":"update","data":[{"symbol":"BTC/USD",' +
        '"bids":[{"price":59999.99,"qty":1.0}],"asks":[],"checksum":1}]}',
    )
    await until(() => fake.server.connections === 2, 3000, 'reconnect')
    await live(feed, 'BTC/USD')
    expectSame(feed, fake, 'BTC/USD', depth)
    expect(book(feed, 'BTC/USD').book.bids.some((l) => l.pxText === '59999.99')).toBe(false)
  })

  test('unlisted or offline markets are reported; USD is not USDT; XBT is BTC', async () => {
    const unlisted: string[] = []
    const { fake, feed } = simFeed(['BTC/USD', 'BTC/USDT', 'ETH/USDT', 'DOT/USD', 'BTC/USDC'], {
      onUnlisted: (_v, p) => unlisted.push(...p),
    })
    await until(() => fake.server.clients.size > 0, 3000, 'connection')
    expect(unlisted).toEqual(['ETH/USDT', 'DOT/USD', 'BTC/USDC'])
    expect(feed.conn.stats.unlisted).toEqual(['ETH/USDT', 'DOT/USD', 'BTC/USDC'])
    expect([...feed.conn.stats.markets]).toEqual([
      ['BTC/USD', 'BTC/USD'],
      ['BTC/USDT', 'BTC/USDT'],
    ])
    await live(feed, 'BTC/USD')
    await live(feed, 'BTC/USDT')
    expect(book(feed, 'BTC/USDT').book.bids[0]!.pxText).toBe('60009.90')
    expect(book(feed, 'BTC/USD').book.bids[0]!.pxText).toBe('59999.90')
    expect(fake.server.requests).toEqual(['/0/public/AssetPairs'])
  })

  test('depth must be one Kraken offers', () => {
    expect(() => createKraken({ depth: 50 as never })).toThrow(RangeError)
    expect(createKraken({ depth: 1000 }).maxDepth).toBe(1000)
    expect(kraken.maxDepth).toBe(25)
    expect(kraken.wsUrl('wss://ws.kraken.com/v2', ['BTC/USD'])).toBe('wss://ws.kraken.com/v2')
  })
})
