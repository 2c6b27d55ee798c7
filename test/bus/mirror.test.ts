/**
 * An ingest shard's books rebuilt by the core, over a real redis-server and Bun's Redis client:
 * the shard side is a real BookSync on a scripted connection (no venue socket) with a
 * BookPublisher and a StreamPublisher; the core side is a BookMirror into its own Books. Some
 * cases also write entries straight into a venue stream (`XADD` with encodeBatch's fields), as a
 * shard would, to make what a real one rarely does: a lost entry, a repeated one, a bad one.
 */
import { describe, expect, test } from 'bun:test'
import type { RedisClient } from 'bun'
import type { StatusSource } from '../../src/api/status.ts'
import type { BooksEvent } from '../../src/book/books.ts'
import { Books } from '../../src/book/books.ts'
import { BookPublisher } from '../../src/bus/book-publisher.ts'
import { encodeBatch, type BookMessage } from '../../src/bus/codec.ts'
import { redisServerPath, startLocalRedis, type LocalRedis } from '../../src/bus/local-redis.ts'
import { BookMirror, type MirrorEvent } from '../../src/bus/mirror.ts'
import { StreamPublisher } from '../../src/bus/publisher.ts'
import { busClient } from '../../src/bus/redis.ts'
import type { Pair, VenueId } from '../../src/types.ts'
import { coinbase } from '../../src/venues/coinbase/index.ts'
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

const PREFIX = 'test'
const BTC: Pair = 'BTC/USDT'
const ETH: Pair = 'ETH/USDT'
/** Kraken subscribed at depth 10: it sends no delete for a level pushed out of the ten. */
const kraken10 = createKraken({ depth: 10 })
const VENUE: Record<string, Venue> = { kraken: kraken10, coinbase }
const stream = (venue: VenueId) => `${PREFIX}:books:${venue}`

type Row = [string, string]

/** `n` levels from `from`, `step` apart, with quantities as given (text as a venue sends it). */
function ladder(from: number, step: number, n: number, qty = (i: number) => `${i + 1}.50000000`) {
  return Array.from({ length: n }, (_, i): Row => [(from + i * step).toFixed(2), qty(i)])
}

const BTC_BIDS = ladder(60000, -0.1, 10)
const BTC_ASKS = ladder(60000.2, 0.1, 10, (i) => (i === 0 ? '0.00001000' : `${i}.0`))
const ETH_BIDS = ladder(3000, -0.01, 10)
const ETH_ASKS = ladder(3000.01, 0.01, 10)

/** A venue's books on the shard: a real BookSync over a connection the test scripts. */
function shardFeed(books: Books, venue: VenueId, pairs: readonly Pair[]): ScriptedFeed {
  const feed = track(scriptFeed(books, VENUE[venue]!, pairs, Date.now()))
  feed.conn.stats.state = 'connected'
  return feed
}

/** One venue update on the shard, received now (or at `atMs`). */
function delta(feed: ScriptedFeed, pair: Pair, bids: Row[], asks: Row[], atMs = Date.now()) {
  feed.frame([{ type: 'delta', pair, bids: toLevels(bids), asks: toLevels(asks) }], atMs)
}

interface Shard {
  readonly publisher: StreamPublisher
  readonly bookPublisher: BookPublisher
  stop(): Promise<void>
}

/** A shard's bus side: a BookPublisher for `venues` of `books` on a StreamPublisher of its own. */
function startShard(
  redis: LocalRedis,
  books: Books,
  venues: readonly VenueId[],
  feeds: readonly ScriptedFeed[],
  options: { heartbeatMs?: number; snapshotMs?: number; maxBuffered?: number } = {},
): Shard {
  const client = busClient(redis.url)
  const publisher = new StreamPublisher({
    client,
    maxLen: 10_000,
    maxBuffered: options.maxBuffered ?? 10_000,
    log: silent,
  })
  const bookPublisher = new BookPublisher({
    books,
    venues,
    publisher,
    prefix: PREFIX,
    snapshotMs: options.snapshotMs ?? 60_000,
    heartbeatMs: options.heartbeatMs ?? 100,
    depthOf: (venue) => VENUE[venue]?.sync.maxDepth,
    connections: (): StatusSource[] => feeds.map((f) => f.conn),
  })
  bookPublisher.start()
  let stopped: Promise<void> | undefined
  const shard = {
    publisher,
    bookPublisher,
    stop: () =>
      (stopped ??= (async () => {
        bookPublisher.stop()
        await publisher.stop(200)
        client.close()
      })()),
  }
  return track(shard)
}

interface Core {
  readonly books: Books
  readonly mirror: BookMirror
  /** Every book event of the core, with the book's state when it was announced. */
  readonly seen: { event: BooksEvent; state: string }[]
}

/** The core's bus side: a BookMirror into Books of its own. */
async function startCore(
  redis: LocalRedis,
  options: { silentMs?: number; venues?: readonly VenueId[] } = {},
): Promise<Core> {
  const books = new Books()
  const seen: Core['seen'] = []
  books.events.on((event) => {
    const state = 'entry' in event ? event.entry.state : '-'
    seen.push({ event, state })
  })
  const client = busClient(redis.url)
  const mirror = new BookMirror({
    client,
    books,
    venues: options.venues ?? ['kraken', 'coinbase', 'okx'],
    prefix: PREFIX,
    group: 'core',
    consumer: 'core-1',
    silentMs: options.silentMs ?? 60_000,
    joinBackMs: 60_000,
    log: silent,
  })
  track({
    async stop() {
      await mirror.stop()
      client.close()
    },
  })
  await mirror.start()
  return { books, mirror, seen }
}

/** A plain client for writing entries by hand and reading the server's state. */
async function clientOf(redis: LocalRedis): Promise<RedisClient> {
  const client = busClient(redis.url)
  track({ stop: () => client.close() })
  await client.connect()
  return client
}

/** Writes one entry as a shard would (`XADD <stream> * s <src> k <k> m <json>`). */
async function xadd(client: RedisClient, venue: VenueId, src: string, k: number, m: unknown[]) {
  await client.send('XADD', [stream(venue), '*', ...encodeBatch(src, k, m)])
}

const snap = (p: Pair, b: Row[], a: Row[], r = Date.now(), extra = {}): BookMessage => ({
  t: 's',
  p,
  r,
  b,
  a,
  ...extra,
})
const upd = (p: Pair, b: Row[], a: Row[], r = Date.now()): BookMessage => ({ t: 'd', p, r, b, a })

/** Resolves once `check` holds, re-checked after every event of the mirror (each entry read). */
function whenCore(core: Core, check: () => boolean, what: string, timeoutMs = 5000) {
  if (check()) return Promise.resolve()
  return new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      off()
      reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`))
    }, timeoutMs)
    const off = core.mirror.events.on(() => {
      if (!check()) return
      clearTimeout(timer)
      off()
      resolve()
    })
  })
}

/** The book's levels as text, both sides. */
const levelsOf = (books: Books, venue: VenueId, pair: Pair) => {
  const e = books.get(venue, pair)
  return e === undefined ? undefined : { bids: rows(e.book.bids), asks: rows(e.book.asks) }
}

/** True when the core's book is live with exactly the shard's levels. */
const sameAsShard = (core: Core, shard: Books, venue: VenueId, pair: Pair) =>
  core.books.get(venue, pair)?.state === 'live' &&
  Bun.deepEquals(levelsOf(core.books, venue, pair), levelsOf(shard, venue, pair))

/** Waits until the core's book is live and equal to the shard's, then checks it level by level. */
async function coreMatches(core: Core, shard: Books, venue: VenueId, pair: Pair, timeoutMs = 5000) {
  await whenCore(
    core,
    () => sameAsShard(core, shard, venue, pair),
    `${venue} ${pair} live on the core with the shard's levels`,
    timeoutMs,
  ).catch((err) => {
    // Say what differs.
    expect({
      state: core.books.get(venue, pair)?.state,
      ...levelsOf(core.books, venue, pair),
    }).toEqual({
      state: 'live',
      ...levelsOf(shard, venue, pair),
    })
    throw err
  })
  expect(levelsOf(core.books, venue, pair)).toEqual(levelsOf(shard, venue, pair)!)
}

/** The core's invalid events (venue, pair, reason, and the state the book was left in). */
const invalidsOf = (core: Core, from = 0) =>
  core.seen
    .slice(from)
    .flatMap(({ event, state }) =>
      event.type === 'invalid'
        ? [{ venue: event.entry.venue, pair: event.entry.pair, reason: event.reason, state }]
        : [],
    )

/** The mirror's status source for a venue. */
const sourceOf = (core: Core, venue: VenueId) =>
  core.mirror.sources.find((s) => s.venue === venue)!.stats

/** A shard with Kraken's BTC/USDT and ETH/USDT live, and a core that has both. */
async function krakenLive(redis: LocalRedis, options: Parameters<typeof startShard>[4] = {}) {
  const core = await startCore(redis)
  const books = new Books()
  const feed = shardFeed(books, 'kraken', [BTC, ETH])
  const shard = startShard(redis, books, ['kraken'], [feed], options)
  feed.snapshot(BTC, BTC_BIDS, BTC_ASKS, Date.now())
  feed.snapshot(ETH, ETH_BIDS, ETH_ASKS, Date.now())
  await coreMatches(core, books, 'kraken', BTC)
  await coreMatches(core, books, 'kraken', ETH)
  return { core, books, feed, shard }
}

describe.if(hasRedis)("the core rebuilds a shard's books from the bus", () => {
  test("a book goes live on the core after its snapshot, with the shard's levels, digit for digit", async () => {
    const redis = track(await startLocalRedis())
    const core = await startCore(redis)
    const books = new Books()
    const feed = shardFeed(books, 'kraken', [BTC, ETH])
    startShard(redis, books, ['kraken'], [feed])
    const receivedAt = Date.now() - 1_500
    feed.snapshot(BTC, BTC_BIDS, BTC_ASKS, receivedAt)
    await coreMatches(core, books, 'kraken', BTC)

    const e = core.books.get('kraken', BTC)!
    expect(rows(e.book.bids)).toEqual(BTC_BIDS)
    expect(rows(e.book.asks)).toEqual(BTC_ASKS)
    expect(e.book.asks[0]).toEqual({
      px: 60000.2,
      qty: 0.00001,
      pxText: '60000.20',
      qtyText: '0.00001000',
    })
    // The quote's age counts from when the shard received it, not from when the core read it.
    expect(e.lastUpdateMs).toBe(receivedAt)
    expect(core.seen.filter((s) => s.event.type === 'live').map((s) => s.state)).toEqual(['live'])
    // ETH/USDT has had no snapshot on the shard: the core has nothing of it.
    expect(core.books.get('kraken', ETH)).toBeUndefined()
    // The venue's stream is a status source: its shard's connection is up, BTC/USDT listed.
    await whenCore(core, () => sourceOf(core, 'kraken').state === 'connected', 'a heartbeat')
    expect([...sourceOf(core, 'kraken').markets.keys()]).toEqual([BTC])
    expect(core.mirror.stats).toMatchObject({ gaps: 0, bad: 0, duplicates: 0, waiting: 0 })
  })

  test("deltas apply level by level: updates, deletions, and a fixed-depth venue's truncation", async () => {
    const redis = track(await startLocalRedis())
    const core = await startCore(redis)
    const books = new Books()
    const kraken = shardFeed(books, 'kraken', [BTC])
    const cb = shardFeed(books, 'coinbase', [BTC])
    startShard(redis, books, ['kraken', 'coinbase'], [kraken, cb])
    kraken.snapshot(BTC, BTC_BIDS, BTC_ASKS, Date.now())
    cb.snapshot(BTC, BTC_BIDS.slice(0, 3), BTC_ASKS.slice(0, 3), Date.now())
    await coreMatches(core, books, 'kraken', BTC)
    await coreMatches(core, books, 'coinbase', BTC)

    // Two better bids push the two worst out of Kraken's ten (Kraken sends no delete for them).
    delta(
      kraken,
      BTC,
      [
        ['60000.05', '0.3'],
        ['60000.10', '0.2'],
      ],
      [['60000.20', '3.000']],
    )
    await coreMatches(core, books, 'kraken', BTC)
    const bids = core.books.get('kraken', BTC)!.book.bids
    expect(bids).toHaveLength(10)
    expect(rows(bids).slice(0, 3)).toEqual([
      ['60000.10', '0.2'],
      ['60000.05', '0.3'],
      ['60000.00', '1.50000000'],
    ])
    expect(rows(bids).map(([p]) => p)).not.toContain('59999.20')
    expect(rows(core.books.get('kraken', BTC)!.book.asks)[0]).toEqual(['60000.20', '3.000'])
    // A deletion: the side is nine deep on both, with no level the shard had dropped coming back.
    delta(kraken, BTC, [['60000.10', '0']], [['60000.30', '0']])
    await coreMatches(core, books, 'kraken', BTC)
    expect(core.books.get('kraken', BTC)!.book.bids).toHaveLength(9)
    expect(rows(core.books.get('kraken', BTC)!.book.asks).map(([p]) => p)).not.toContain('60000.30')
    // Deleting a level the book does not have changes nothing.
    delta(kraken, BTC, [['59000.00', '0']], [])
    await coreMatches(core, books, 'kraken', BTC)
    expect(core.books.get('kraken', BTC)!.book.bids).toHaveLength(9)

    // A venue without a fixed depth keeps every level.
    delta(cb, BTC, [['60000.05', '0.3']], [['60000.25', '1']])
    await coreMatches(core, books, 'coinbase', BTC)
    expect(core.books.get('coinbase', BTC)!.book.bids).toHaveLength(4)
    expect(core.books.get('coinbase', BTC)!.book.asks).toHaveLength(4)
    expect(core.mirror.stats).toMatchObject({ waiting: 0, gaps: 0, bad: 0 })
  })

  test('a delta for a book without its snapshot is skipped and counted; the snapshot brings it live', async () => {
    const redis = track(await startLocalRedis())
    const core = await startCore(redis)
    const writer = await clientOf(redis)
    const entry = core.mirror.events.next('entry', (e) => e.venue === 'okx')
    await xadd(writer, 'okx', 'w1', 1, [upd(BTC, [['60000.00', '1']], [])])
    await entry
    expect(core.mirror.stats.waiting).toBe(1)
    const e = core.books.get('okx', BTC)!
    expect(e.state).toBe('syncing')
    expect(e.syncNote).toBe('waiting for the ingest shard’s next snapshot')
    expect(rows(e.book.bids)).toEqual([])
    expect(core.seen.some((s) => s.event.type === 'update' || s.event.type === 'live')).toBe(false)

    await xadd(writer, 'okx', 'w1', 2, [snap(BTC, [['59990.00', '2']], [['60010.00', '1']])])
    await xadd(writer, 'okx', 'w1', 3, [upd(BTC, [['59995.00', '0.5']], [['60010.00', '0']])])
    await whenCore(core, () => core.mirror.stats.entries === 3, 'three entries')
    expect(e.state).toBe('live')
    expect(rows(e.book.bids)).toEqual([
      ['59995.00', '0.5'],
      ['59990.00', '2'],
    ])
    expect(rows(e.book.asks)).toEqual([])
    expect(core.mirror.stats.waiting).toBe(1)
  })

  test("an invalid book is stale on the core with the shard's reason; its next snapshot brings it back", async () => {
    const redis = track(await startLocalRedis())
    const { core, books, feed } = await krakenLive(redis)
    const shardReasons: string[] = []
    books.events.on((e) => e.type === 'invalid' && shardReasons.push(e.reason))

    // A crossed book resyncs on the shard.
    const stale = core.books.events.next('invalid', (e) => e.entry.pair === BTC)
    delta(feed, BTC, [['60000.50', '1']], [])
    expect(shardReasons).toEqual(['resync: crossed book: bid 60000.50 >= ask 60000.20'])
    expect((await stale).reason).toBe(shardReasons[0]!)
    expect(core.books.get('kraken', BTC)!.state).toBe('stale')
    expect(core.books.get('kraken', ETH)!.state).toBe('live')

    // The connection drops: its other book goes stale too, for the same reason as on the shard.
    const down = core.books.events.next('invalid', (e) => e.entry.pair === ETH)
    feed.down(Date.now())
    expect((await down).reason).toBe('connection down')
    expect(core.books.get('kraken', ETH)!.state).toBe('stale')

    // Only the shard's next snapshot brings a book back that it stopped trusting.
    feed.conn.events.emit({ type: 'up', atMs: Date.now() })
    feed.snapshot(BTC, BTC_BIDS.slice(2), BTC_ASKS, Date.now())
    await coreMatches(core, books, 'kraken', BTC)
    expect(rows(core.books.get('kraken', BTC)!.book.bids)).toEqual(BTC_BIDS.slice(2))
    expect(core.books.get('kraken', ETH)!.state).toBe('stale')
    expect(invalidsOf(core).map((i) => [i.pair, i.reason, i.state])).toEqual([
      [BTC, shardReasons[0]!, 'stale'],
      [ETH, 'connection down', 'stale'],
    ])
  })

  test('a market removed on the shard is removed on the core', async () => {
    const redis = track(await startLocalRedis())
    const { core, books } = await krakenLive(redis)
    const removed = core.books.events.next('removed')
    books.remove('kraken', [ETH], 'ETH/USDT left the universe')
    const ev = await removed
    expect(ev.reason).toBe('ETH/USDT left the universe')
    expect(ev.entries.map((e) => [e.venue, e.pair])).toEqual([['kraken', ETH]])
    expect(core.books.get('kraken', ETH)).toBeUndefined()
    expect([...core.books.ofVenue('kraken')].map((e) => e.pair)).toEqual([BTC])
    expect([...sourceOf(core, 'kraken').markets.keys()]).toEqual([BTC])
    // It was live: it went stale first, so whatever read it lets go.
    expect(invalidsOf(core)).toEqual([
      { venue: 'kraken', pair: ETH, reason: 'ETH/USDT left the universe', state: 'stale' },
    ])
    expect(core.books.get('kraken', BTC)!.state).toBe('live')
  })

  test("a gap in a venue's stream: its books wait for their next snapshot, then are live and exact", async () => {
    const redis = track(await startLocalRedis())
    const { core, books: krakenBooks } = await krakenLive(redis)
    const writer = await clientOf(redis)
    await xadd(writer, 'okx', 'w1', 1, [
      snap(BTC, [['60000.00', '1']], [['60001.00', '1']]),
      snap(ETH, [['3000.00', '1']], [['3001.00', '1']]),
    ])
    await xadd(writer, 'okx', 'w1', 2, [upd(BTC, [['60000.50', '2']], [])])
    await whenCore(
      core,
      () => core.books.get('okx', BTC)?.book.bids.length === 2,
      'okx BTC/USDT with its delta',
    )
    const mark = core.seen.length
    const gap = core.mirror.events.next('gap', (e) => e.venue === 'okx')
    // Entry 3 never arrives (trimmed, or lost with a Redis that crashed).
    await xadd(writer, 'okx', 'w1', 4, [
      upd(BTC, [['60000.60', '1']], []),
      upd(ETH, [['3000.50', '1']], []),
    ])
    expect(await gap).toEqual({ type: 'gap', venue: 'okx', why: '1 stream entries were lost' })
    await whenCore(core, () => core.mirror.stats.waiting === 2, 'the two deltas skipped')
    expect(invalidsOf(core, mark)).toEqual([
      { venue: 'okx', pair: BTC, reason: 'bus: 1 stream entries were lost', state: 'syncing' },
      { venue: 'okx', pair: ETH, reason: 'bus: 1 stream entries were lost', state: 'syncing' },
    ])
    const btc = core.books.get('okx', BTC)!
    expect(btc.syncNote).toBe('1 stream entries were lost; waiting for the next snapshot')
    // The skipped deltas were not applied.
    expect(rows(btc.book.bids).map(([p]) => p)).not.toContain('60000.60')
    // Another venue's books are not touched.
    expect(core.books.get('kraken', BTC)!.state).toBe('live')
    expect(invalidsOf(core, mark).some((i) => i.venue === 'kraken')).toBe(false)

    await xadd(writer, 'okx', 'w1', 5, [
      upd(ETH, [['3000.60', '1']], []),
      snap(BTC, [['60000.70', '1']], [['60001.00', '1']]),
    ])
    await whenCore(core, () => btc.state === 'live', 'okx BTC/USDT live again')
    expect(rows(btc.book.bids)).toEqual([['60000.70', '1']])
    expect(rows(btc.book.asks)).toEqual([['60001.00', '1']])
    // ETH/USDT still waits: the delta before its snapshot was skipped too.
    expect(core.books.get('okx', ETH)!.state).toBe('syncing')
    expect(core.mirror.stats.waiting).toBe(3)
    await xadd(writer, 'okx', 'w1', 6, [snap(ETH, [['3000.70', '2']], [['3001.00', '1']])])
    await whenCore(core, () => core.books.get('okx', ETH)!.state === 'live', 'okx ETH/USDT live')
    expect(rows(core.books.get('okx', ETH)!.book.bids)).toEqual([['3000.70', '2']])
    expect(core.mirror.stats.gaps).toBe(1)
    await coreMatches(core, krakenBooks, 'kraken', BTC)
  })

  test('a shard whose buffer overflowed while Redis was away: the core sees the gap and is exact again after the re-snapshots', async () => {
    const redis = track(await startLocalRedis())
    // No heartbeats during the test: nothing but the deltas below is written while Redis is away.
    const { core, books, feed, shard } = await krakenLive(redis, {
      maxBuffered: 5,
      heartbeatMs: 60_000,
    })
    const mark = core.seen.length
    let dropped = 0
    shard.publisher.events.on((e) => e.type === 'dropped' && (dropped += e.messages))
    const coreDown = core.mirror.events.next('down', undefined, 10_000)
    await redis.kill()
    await coreDown
    // Eight updates in one frame while Redis is away; five fit the shard's buffer.
    feed.frame(
      Array.from({ length: 8 }, (_, i) => ({
        type: 'delta' as const,
        pair: BTC,
        bids: toLevels([[(60000.01 + i * 0.01).toFixed(2), '1']]),
        asks: [],
      })),
      Date.now(),
    )
    expect(shard.publisher.streamStats().get(stream('kraken'))!.dropped).toBe(3)
    // The shard notices (meanwhile its re-snapshots do not fit the buffer either).
    await shard.publisher.events.next('down', undefined, 10_000)
    const gap = core.mirror.events.next('gap', (e) => e.venue === 'kraken', 20_000)
    await redis.start()
    expect((await gap).why).toBe('1 stream entries were lost')
    await coreMatches(core, books, 'kraken', BTC, 20_000)
    await coreMatches(core, books, 'kraken', ETH, 20_000)
    expect(rows(core.books.get('kraken', BTC)!.book.bids)[0]).toEqual(['60000.08', '1'])
    expect(shard.publisher.streamStats().get(stream('kraken'))!.dropped).toBe(dropped)
    // Both books of the venue left 'live' for the gap, then came back with their snapshots (a
    // re-snapshot that did not fit the buffer either makes another gap: they wait again).
    const gapInvalids = invalidsOf(core, mark).filter((i) => i.reason.startsWith('bus: '))
    expect(new Set(gapInvalids.map((i) => i.pair))).toEqual(new Set([BTC, ETH]))
    for (const i of gapInvalids) {
      expect([i.venue, i.reason, i.state]).toEqual([
        'kraken',
        'bus: 1 stream entries were lost',
        'syncing',
      ])
    }
    expect(core.mirror.stats.gaps).toBeGreaterThanOrEqual(1)
    expect(core.mirror.stats.waiting).toBeGreaterThanOrEqual(1)
  }, 40_000)

  test('a restarted shard (a new source) makes its books wait for their snapshots too', async () => {
    const redis = track(await startLocalRedis())
    const { core, books, feed, shard } = await krakenLive(redis)
    const mark = core.seen.length
    await shard.stop()
    const gap = core.mirror.events.next('gap', (e) => e.venue === 'kraken')
    const again = startShard(redis, books, ['kraken'], [feed])
    expect(again.publisher.src).not.toBe(shard.publisher.src)
    expect((await gap).why).toBe('its ingest shard restarted')
    await coreMatches(core, books, 'kraken', BTC)
    await coreMatches(core, books, 'kraken', ETH)
    expect(invalidsOf(core, mark).map((i) => [i.pair, i.reason, i.state])).toEqual([
      [BTC, 'bus: its ingest shard restarted', 'syncing'],
      [ETH, 'bus: its ingest shard restarted', 'syncing'],
    ])
    // And it reads on from the new source's numbers.
    delta(feed, BTC, [['59999.95', '4']], [])
    await coreMatches(core, books, 'kraken', BTC)
    expect(core.mirror.stats.gaps).toBe(1)
  })

  test('a periodic copy (c: 1) that differs from the rebuilt book is a mismatch; a snapshot that replaces the book is not', async () => {
    const redis = track(await startLocalRedis())
    const core = await startCore(redis)
    const writer = await clientOf(redis)
    const top = () => rows(core.books.get('okx', BTC)?.book.bids ?? [])[0]?.[0]
    await xadd(writer, 'okx', 'shard-x', 1, [snap(BTC, BTC_BIDS, BTC_ASKS)])
    await whenCore(core, () => core.books.get('okx', BTC)?.state === 'live', 'okx live')
    // The book changed by a snapshot (a venue's socket snapshot, a rejoin): replaced, no mismatch.
    await xadd(writer, 'okx', 'shard-x', 2, [snap(BTC, BTC_BIDS.slice(1), BTC_ASKS)])
    await whenCore(core, () => top() === BTC_BIDS[1]![0], 'the replacing snapshot')
    // A copy equal to the book confirms it.
    await xadd(writer, 'okx', 'shard-x', 3, [
      snap(BTC, BTC_BIDS.slice(1), BTC_ASKS, Date.now(), { c: 1 }),
    ])
    // A copy that differs: counted, and the copy wins.
    await xadd(writer, 'okx', 'shard-x', 4, [
      snap(BTC, BTC_BIDS.slice(2), BTC_ASKS, Date.now(), { c: 1 }),
    ])
    await whenCore(core, () => top() === BTC_BIDS[2]![0], 'the differing copy')
    expect(core.mirror.stats.mismatches).toBe(1)
    expect(core.mirror.stats.gaps).toBe(0)
  })

  test('an entry seen before (a retried write that had landed) is ignored', async () => {
    const redis = track(await startLocalRedis())
    const { core, books, feed, shard } = await krakenLive(redis)
    const writer = await clientOf(redis)
    // Entry 1 of this shard again, now saying the best bid is gone.
    await xadd(writer, 'kraken', shard.publisher.src, 1, [upd(BTC, [['60000.00', '0']], [])])
    delta(feed, BTC, [['59999.95', '2']], [])
    await coreMatches(core, books, 'kraken', BTC)
    expect(core.mirror.stats.duplicates).toBe(1)
    expect(rows(core.books.get('kraken', BTC)!.book.bids)[0]).toEqual(['60000.00', '1.50000000'])
    expect(core.mirror.stats.gaps).toBe(0)
  })

  test('a bad entry or message is counted, and what comes after it is applied', async () => {
    const redis = track(await startLocalRedis())
    const { core, books, feed } = await krakenLive(redis)
    const writer = await clientOf(redis)
    await writer.send('XADD', [stream('kraken'), '*', 'junk', 'yes'])
    await writer.send('XADD', [stream('kraken'), '*', 's', 'x', 'k', '7', 'm', '[{"t":'])
    delta(feed, BTC, [['59999.95', '2']], [])
    await coreMatches(core, books, 'kraken', BTC)
    expect(core.mirror.stats.bad).toBe(2)
    expect(sourceOf(core, 'kraken').errors['bad bus entry']).toBe(2)
    // A bad message inside a good entry: that message is dropped, the others apply.
    await xadd(writer, 'okx', 'w1', 1, [
      snap(BTC, [['60000.00', 'lots']], [['60001.00', '1']]),
      { t: 'q' },
      snap(ETH, [['3000.00', '1']], [['3001.00', '1']]),
    ])
    await whenCore(core, () => core.books.get('okx', ETH)?.state === 'live', 'okx ETH/USDT live')
    expect(core.mirror.stats.bad).toBe(4)
    expect(sourceOf(core, 'okx').errors['bad bus entry']).toBe(2)
    expect(core.books.get('okx', BTC)?.state).not.toBe('live')
    expect(core.mirror.stats.gaps).toBe(0)
    // Kraken's stream reads on.
    delta(feed, BTC, [['59999.96', '1']], [])
    await coreMatches(core, books, 'kraken', BTC)
  })

  test('a silent venue stream makes its books stale ("ingest shard silent") and its source down; they come back with it', async () => {
    const redis = track(await startLocalRedis())
    const core = await startCore(redis, { silentMs: 1_000, venues: ['kraken', 'coinbase'] })
    const books = new Books()
    const kraken = shardFeed(books, 'kraken', [BTC, ETH])
    const cb = shardFeed(books, 'coinbase', [BTC])
    const shardA = startShard(redis, books, ['kraken'], [kraken], { heartbeatMs: 50 })
    startShard(redis, books, ['coinbase'], [cb], { heartbeatMs: 50 })
    kraken.snapshot(BTC, BTC_BIDS, BTC_ASKS, Date.now())
    kraken.snapshot(ETH, ETH_BIDS, ETH_ASKS, Date.now())
    cb.snapshot(BTC, BTC_BIDS, BTC_ASKS, Date.now())
    for (const [v, p] of [
      ['kraken', BTC],
      ['kraken', ETH],
      ['coinbase', BTC],
    ] as const)
      await coreMatches(core, books, v, p)
    await whenCore(core, () => sourceOf(core, 'kraken').state === 'connected', 'kraken connected')

    const mark = core.seen.length
    const silent = core.mirror.events.next('silent', (e) => e.venue === 'kraken', 10_000)
    shardA.bookPublisher.stop()
    expect(await silent).toEqual({ type: 'silent', venue: 'kraken', books: 2 })
    expect(invalidsOf(core, mark)).toEqual([
      { venue: 'kraken', pair: BTC, reason: 'ingest shard silent', state: 'stale' },
      { venue: 'kraken', pair: ETH, reason: 'ingest shard silent', state: 'stale' },
    ])
    const status = sourceOf(core, 'kraken')
    expect(status.state).toBe('down')
    expect(status.errors['ingest shard silent']).toBe(1)
    // The other shard's venue speaks on.
    expect(core.books.get('coinbase', BTC)!.state).toBe('live')
    expect(sourceOf(core, 'coinbase').state).toBe('connected')

    const resumed = core.mirror.events.next('resumed', (e) => e.venue === 'kraken')
    shardA.bookPublisher.start()
    await resumed
    await whenCore(core, () => status.state === 'connected', 'kraken connected again')
    // Nothing was missed (no gap): the books are live again with the stream itself, before any
    // change, exact, their quotes as old as their last change.
    for (const p of [BTC, ETH]) {
      const e = core.books.get('kraken', p)!
      expect([p, e.state]).toEqual([p, 'live'])
      expect(e.lastUpdateMs).toBe(books.get('kraken', p)!.lastUpdateMs)
      expect(rows(e.book.bids)).toEqual(rows(books.get('kraken', p)!.book.bids))
    }
    delta(kraken, BTC, [['59999.95', '2']], [])
    delta(kraken, ETH, [['2999.95', '2']], [])
    await coreMatches(core, books, 'kraken', BTC)
    await coreMatches(core, books, 'kraken', ETH)
    expect(status.errors['ingest shard silent']).toBe(1)
    expect(core.mirror.stats.gaps).toBe(0)
  }, 20_000)

  test('after redis-server restarts empty, the core creates its group again and reads on', async () => {
    const redis = track(await startLocalRedis())
    // Heartbeats only at the start: no entry is in flight when the server dies.
    const { core, books, feed } = await krakenLive(redis, { heartbeatMs: 60_000 })
    const seen: MirrorEvent['type'][] = []
    core.mirror.events.on((e) => e.type !== 'entry' && seen.push(e.type))
    await redis.restart()
    const reader = await clientOf(redis)
    delta(feed, BTC, [['59999.95', '2']], [['60000.20', '0']])
    await coreMatches(core, books, 'kraken', BTC, 15_000)
    expect(rows(core.books.get('kraken', BTC)!.book.asks)[0]).toEqual(['60000.30', '1.0'])
    // The group on the emptied server is the core's, made again.
    const groups = (await reader.send('XINFO', ['GROUPS', stream('kraken')])) as unknown[]
    expect(JSON.stringify(groups)).toContain('"core"')
    expect(seen).toContain('down')
    expect(seen.at(-1)).toBe('up')
    expect(core.mirror.down).toBe(false)
    // No entry was lost, so no book had to wait.
    expect(core.mirror.stats.gaps).toBe(0)
    expect(core.books.get('kraken', ETH)!.state).toBe('live')
  }, 30_000)

  test('a core started while Redis is down says so, joins once it is up, and stops cleanly', async () => {
    const redis = track(await startLocalRedis())
    await redis.kill()
    const core = await startCore(redis)
    if (!core.mirror.down) await core.mirror.events.next('down', undefined, 10_000)
    expect(core.mirror.down).toBe(true)
    const up = core.mirror.events.next('up', undefined, 15_000)
    await redis.start()
    await up
    const books = new Books()
    const feed = shardFeed(books, 'kraken', [BTC])
    startShard(redis, books, ['kraken'], [feed])
    feed.snapshot(BTC, BTC_BIDS, BTC_ASKS, Date.now())
    await coreMatches(core, books, 'kraken', BTC)

    // Redis goes away again: stopping the core does not wait for it to come back.
    const down = core.mirror.events.next('down', undefined, 10_000)
    await redis.kill()
    await down
    await core.mirror.stop()
    expect(core.mirror.down).toBe(true)
  }, 30_000)
})
