/**
 * BookPublisher (src/bus/book-publisher.ts): what an ingest shard writes to its venues' streams,
 * read back from a real redis-server. The shard's books are kept by a real BookSync on a
 * scripted connection (no venue socket), so only what its rules accepted is published.
 */
import { describe, expect, test } from 'bun:test'
import type { RedisClient } from 'bun'
import type { StatusSource } from '../../src/api/status.ts'
import { Books } from '../../src/book/books.ts'
import { BookPublisher } from '../../src/bus/book-publisher.ts'
import { decodeBatch } from '../../src/bus/codec.ts'
import { redisServerPath, startLocalRedis, type LocalRedis } from '../../src/bus/local-redis.ts'
import { StreamPublisher } from '../../src/bus/publisher.ts'
import { busClient } from '../../src/bus/redis.ts'
import type { Pair, VenueId } from '../../src/types.ts'
import { coinbase } from '../../src/venues/coinbase/index.ts'
import type { ConnectionStats } from '../../src/venues/connection.ts'
import { createKraken } from '../../src/venues/kraken/index.ts'
import { toLevels, type Venue } from '../../src/venues/venue.ts'
import { rows, scriptFeed, silent, stopAfterEach, type ScriptedFeed } from '../support.ts'

const hasRedis = redisServerPath() !== undefined
if (!hasRedis) {
  test('redis-server is installed (apt-get install redis-server)', () => {
    throw new Error('redis-server is not on PATH: the bus tests need it')
  })
}

const track = stopAfterEach()

const PREFIX = 'shard'
const BTC: Pair = 'BTC/USDT'
const ETH: Pair = 'ETH/USDT'
const kraken10 = createKraken({ depth: 10 })
const VENUE: Record<string, Venue> = { kraken: kraken10, coinbase }
const stream = (venue: VenueId) => `${PREFIX}:books:${venue}`

type Row = [string, string]
const BIDS: Row[] = [
  ['60000.00', '0.50000000'],
  ['59999.90', '1.2'],
]
const ASKS: Row[] = [
  ['60000.20', '0.00001000'],
  ['60000.30', '3'],
]

function shardFeed(books: Books, venue: VenueId, pairs: readonly Pair[]): ScriptedFeed {
  const feed = track(scriptFeed(books, VENUE[venue]!, pairs, Date.now()))
  feed.conn.stats.state = 'connected'
  return feed
}

interface Rig {
  readonly redis: LocalRedis
  readonly reader: RedisClient
  readonly books: Books
  readonly publisher: StreamPublisher
  readonly bookPublisher: BookPublisher
}

/** A redis-server, a reader on it, and a started BookPublisher for `venues` of `books`. */
async function rig(
  books: Books,
  venues: readonly VenueId[],
  connections: () => readonly StatusSource[],
  options: { snapshotMs?: number; heartbeatMs?: number; maxBuffered?: number } = {},
): Promise<Rig> {
  const redis = track(await startLocalRedis())
  const reader = busClient(redis.url)
  track({ stop: () => reader.close() })
  await reader.connect()
  const client = busClient(redis.url)
  track({ stop: () => client.close() })
  const publisher = new StreamPublisher({
    client,
    maxLen: 10_000,
    maxBuffered: options.maxBuffered ?? 10_000,
    log: silent,
  })
  track({ stop: () => publisher.stop(100) })
  const bookPublisher = new BookPublisher({
    books,
    venues,
    publisher,
    prefix: PREFIX,
    snapshotMs: options.snapshotMs ?? 60_000,
    heartbeatMs: options.heartbeatMs ?? 60_000,
    depthOf: (venue) => VENUE[venue]?.sync.maxDepth,
    connections,
  })
  track(bookPublisher)
  bookPublisher.start()
  return { redis, reader, books, publisher, bookPublisher }
}

/** One message as read back, with the number of the entry it came in. */
type Wire = Record<string, unknown> & { k: number }

/** Every message on a venue's stream, in order, with its entry's number. */
async function messagesOf(r: Rig, venue: VenueId): Promise<Wire[]> {
  await r.publisher.flushed()
  const raw = (await r.reader.send('XRANGE', [stream(venue), '-', '+'])) as [string, string[]][]
  return raw.flatMap(([, fields]) => {
    const { k, messages } = decodeBatch(fields)
    return (messages as Record<string, unknown>[]).map((m) => ({ k, ...m }))
  })
}

/** The messages without the heartbeats and entry numbers. */
const bookMessages = (messages: readonly Wire[]): Record<string, unknown>[] =>
  messages.filter((m) => m.t !== 'h').map(({ k: _k, ...m }) => m)

const delta = (feed: ScriptedFeed, pair: Pair, bids: Row[], asks: Row[], extra = {}) =>
  feed.frame(
    [{ type: 'delta', pair, bids: toLevels(bids), asks: toLevels(asks), ...extra }],
    Date.now(),
  )

describe.if(hasRedis)('BookPublisher: what a shard writes to the bus', () => {
  test('a book that goes live is published whole, then each change as a delta, with its stamps', async () => {
    const books = new Books()
    const feed = shardFeed(books, 'kraken', [BTC, ETH])
    const r = await rig(books, ['kraken'], () => [feed.conn])
    const receivedAt = Date.now() - 250
    feed.snapshot(BTC, BIDS, ASKS, receivedAt, { exchangeTsMs: receivedAt - 7 })
    const updateAt = Date.now()
    feed.frame(
      [
        {
          type: 'delta',
          pair: BTC,
          bids: toLevels([['60000.10', '0.1']]),
          asks: toLevels([['60000.20', '0']]),
          exchangeTsMs: updateAt - 3,
        },
      ],
      updateAt,
    )
    const messages = await messagesOf(r, 'kraken')
    expect(messages[0]).toEqual({ k: 1, t: 'h', r: expect.any(Number), c: 1, u: 1 })
    expect(bookMessages(messages)).toEqual([
      { t: 's', p: BTC, r: receivedAt, x: receivedAt - 7, d: 10, b: BIDS, a: ASKS },
      {
        t: 'd',
        p: BTC,
        x: updateAt - 3,
        r: updateAt,
        b: [['60000.10', '0.1']],
        a: [['60000.20', '0']],
      },
    ])
    // ETH/USDT never went live on the shard: nothing of it is on the bus.
    expect(messages.some((m) => m.p === ETH)).toBe(false)
    expect(r.bookPublisher.counts).toEqual({ snapshots: 1, deltas: 1, invalid: 0, removed: 0 })
  })

  test('books of venues the shard does not keep are not published', async () => {
    const books = new Books()
    const kraken = shardFeed(books, 'kraken', [BTC])
    const cb = shardFeed(books, 'coinbase', [BTC])
    const r = await rig(books, ['kraken'], () => [kraken.conn, cb.conn])
    cb.snapshot(BTC, BIDS, ASKS, Date.now())
    delta(cb, BTC, [['60000.10', '1']], [])
    expect(r.publisher.streamStats().has(stream('coinbase'))).toBe(false)
    kraken.snapshot(BTC, BIDS, ASKS, Date.now())
    await r.publisher.flushed()
    expect(Number(await r.reader.send('EXISTS', [stream('coinbase')]))).toBe(0)
    expect(bookMessages(await messagesOf(r, 'kraken')).map((m) => [m.t, m.p])).toEqual([['s', BTC]])
  })

  test('invalid and removed go out with their reasons; a book live again is published whole', async () => {
    const books = new Books()
    const feed = shardFeed(books, 'kraken', [BTC, ETH])
    const r = await rig(books, ['kraken'], () => [feed.conn])
    feed.snapshot(BTC, BIDS, ASKS, Date.now())
    feed.snapshot(ETH, [['3000.00', '1']], [['3000.10', '1']], Date.now())
    feed.down(Date.now())
    feed.conn.events.emit({ type: 'up', atMs: Date.now() })
    const again: Row[] = [['59999.00', '2']]
    feed.snapshot(BTC, again, ASKS, Date.now())
    delta(feed, BTC, [['59999.50', '1']], [])
    books.remove('kraken', [ETH], 'ETH/USDT left the universe')
    books.remove('kraken', [BTC], 'BTC/USDT left the universe')
    const got = bookMessages(await messagesOf(r, 'kraken')).map((m) => [m.t, m.p, m.why ?? m.b])
    expect(got).toEqual([
      ['s', BTC, BIDS],
      ['s', ETH, [['3000.00', '1']]],
      ['i', BTC, 'connection down'],
      ['i', ETH, 'connection down'],
      ['s', BTC, again],
      ['d', BTC, [['59999.50', '1']]],
      ['r', ETH, 'ETH/USDT left the universe'],
      // A live book is announced invalid before it is removed.
      ['i', BTC, 'BTC/USDT left the universe'],
      ['r', BTC, 'BTC/USDT left the universe'],
    ])
    expect(r.bookPublisher.counts).toEqual({ snapshots: 3, deltas: 1, invalid: 3, removed: 2 })
  })

  test("heartbeats say, per venue, how many of the shard's connections there are and how many are up", async () => {
    const books = new Books()
    const stats = (state: ConnectionStats['state']) =>
      ({ state, errors: {}, markets: new Map() }) as unknown as ConnectionStats
    const r = await rig(books, ['kraken', 'coinbase'], () => [
      { venue: 'kraken', stats: stats('connected') },
      { venue: 'kraken', stats: stats('down') },
      { venue: 'kraken', stats: stats('connecting') },
      { venue: 'okx', stats: stats('connected') },
    ])
    const [kraken] = await messagesOf(r, 'kraken')
    const [cb] = await messagesOf(r, 'coinbase')
    expect(kraken).toEqual({ k: 1, t: 'h', r: expect.any(Number), c: 3, u: 1 })
    expect(cb).toEqual({ k: 1, t: 'h', r: expect.any(Number), c: 0, u: 0 })
    expect(Number(await r.reader.send('EXISTS', [stream('okx')]))).toBe(0)
  })

  test('every live book is published whole again every snapshotMs, so a core can join at any time', async () => {
    const books = new Books()
    const feed = shardFeed(books, 'kraken', [BTC, ETH])
    const r = await rig(books, ['kraken'], () => [feed.conn], { snapshotMs: 300 })
    feed.snapshot(BTC, BIDS, ASKS, Date.now())
    await r.publisher.events.next('written', () => r.bookPublisher.counts.snapshots >= 3)
    const snapshots = bookMessages(await messagesOf(r, 'kraken')).filter((m) => m.t === 's')
    expect(snapshots.length).toBeGreaterThanOrEqual(3)
    // The same book each time, and only the live one (ETH/USDT is still syncing).
    expect(snapshots.every((m) => m.p === BTC && Bun.deepEquals(m.b, BIDS))).toBe(true)
  })

  test('periodic copies are marked and spread over the period: books that went live together are not copied together', async () => {
    const books = new Books()
    const pairs = Array.from({ length: 120 }, (_, i) => `C${i}/USDT` as Pair)
    const feed = shardFeed(books, 'coinbase', pairs)
    const r = await rig(books, ['coinbase'], () => [feed.conn], { snapshotMs: 1_000 })
    for (const p of pairs) feed.snapshot(p, BIDS, ASKS, Date.now())
    let copies = 0
    await r.publisher.events.next(
      'written',
      () => {
        copies = r.bookPublisher.counts.snapshots - pairs.length
        return copies >= pairs.length
      },
      10_000,
    )
    await r.publisher.flushed()
    const raw = (await r.reader.send('XRANGE', [stream('coinbase'), '-', '+'])) as [
      string,
      string[],
    ][]
    const perEntry = raw.map(([, f]) =>
      (decodeBatch(f).messages as Record<string, unknown>[]).filter((m) => m.t === 's'),
    )
    const all = perEntry.flat()
    // Each book's first snapshot is not a copy; the later ones are (c: 1), of the same book.
    for (const p of pairs) {
      const ofPair = all.filter((m) => m.p === p)
      expect([p, ofPair[0]!.c]).toEqual([p, undefined])
      expect(ofPair.slice(1).every((m) => m.c === 1 && Bun.deepEquals(m.b, BIDS))).toBe(true)
    }
    // At most live × tick / period (+1) copies in one tick (one entry), over several ticks.
    const budget = Math.ceil((pairs.length * 250) / 1_000) + 1
    const copiesPerEntry = perEntry.map((ms) => ms.filter((m) => m.c === 1).length)
    expect(Math.max(...copiesPerEntry)).toBeLessThanOrEqual(budget)
    expect(copiesPerEntry.filter((n) => n > 0).length).toBeGreaterThanOrEqual(4)
  })

  test('after the publisher dropped messages, each book of the venue is published whole once Redis takes writes', async () => {
    const books = new Books()
    const feed = shardFeed(books, 'kraken', [BTC, ETH])
    const r = await rig(books, ['kraken'], () => [feed.conn], { maxBuffered: 3 })
    feed.snapshot(BTC, BIDS, ASKS, Date.now())
    feed.snapshot(ETH, [['3000.00', '1']], [['3000.10', '1']], Date.now())
    await r.publisher.flushed()
    await r.redis.kill()
    feed.frame(
      ['59999.91', '59999.92', '59999.93', '59999.94', '59999.95'].map((px) => ({
        type: 'delta' as const,
        pair: BTC,
        bids: toLevels([[px, '1']]),
        asks: [],
      })),
      Date.now(),
    )
    expect(r.publisher.streamStats().get(stream('kraken'))!.dropped).toBe(2)
    await r.publisher.events.next('down', undefined, 10_000)
    // Once writes succeed again, both books go out whole.
    let atUp = Infinity
    r.publisher.events.on((e) => e.type === 'up' && (atUp = r.bookPublisher.counts.snapshots))
    const resent = r.publisher.events.next(
      'written',
      () => r.bookPublisher.counts.snapshots >= atUp + 2 && r.publisher.buffered === 0,
      15_000,
    )
    await r.redis.start()
    await resent
    // The server came back empty; what it has ends with both books whole, as the shard has them.
    const after = bookMessages(await messagesOf(r, 'kraken'))
    const last = (p: Pair) => after.filter((m) => m.t === 's' && m.p === p).at(-1)
    const btc = books.get('kraken', BTC)!
    expect(last(BTC)).toMatchObject({ b: rows(btc.book.bids), a: rows(btc.book.asks) })
    expect(rows(btc.book.bids)[0]).toEqual(['60000.00', '0.50000000'])
    expect(rows(btc.book.bids)).toContainEqual(['59999.95', '1'])
    expect(last(ETH)).toMatchObject({ b: [['3000.00', '1']], a: [['3000.10', '1']] })
    // The snapshots come after every delta the shard still held.
    const lastDelta = after.findLastIndex((m) => m.t === 'd')
    expect(after.findIndex((m) => m === last(BTC))).toBeGreaterThan(lastDelta)
  }, 30_000)

  test('stopped, it publishes nothing more', async () => {
    const books = new Books()
    const feed = shardFeed(books, 'kraken', [BTC])
    const r = await rig(books, ['kraken'], () => [feed.conn])
    feed.snapshot(BTC, BIDS, ASKS, Date.now())
    await r.publisher.flushed()
    const before = r.publisher.streamStats().get(stream('kraken'))!.published
    r.bookPublisher.stop()
    delta(feed, BTC, [['60000.10', '1']], [])
    books.remove('kraken', [BTC], 'gone')
    expect(r.publisher.buffered).toBe(0)
    expect(r.publisher.streamStats().get(stream('kraken'))!.published).toBe(before)
  })
})
