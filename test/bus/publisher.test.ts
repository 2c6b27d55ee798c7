/**
 * StreamPublisher (src/bus/publisher.ts) against a real redis-server (src/bus/local-redis.ts) and
 * Bun's Redis client: what lands in the streams, the MAXLEN cap, buffering through an outage
 * (killed with SIGKILL, started again empty), and the bound with what it drops.
 */
import { describe, expect, test } from 'bun:test'
import type { RedisClient } from 'bun'
import { decodeBatch } from '../../src/bus/codec.ts'
import { redisServerPath, startLocalRedis, type LocalRedis } from '../../src/bus/local-redis.ts'
import { MAX_ENTRY_BYTES, StreamPublisher, type PublisherEvent } from '../../src/bus/publisher.ts'
import { busClient } from '../../src/bus/redis.ts'
import { silent, stopAfterEach } from '../support.ts'

const hasRedis = redisServerPath() !== undefined
if (!hasRedis) {
  test('redis-server is installed (apt-get install redis-server)', () => {
    throw new Error('redis-server is not on PATH: the bus tests need it')
  })
}

const track = stopAfterEach()

/** A redis-server of the test's own, stopped after it. */
async function redisOfTest(): Promise<LocalRedis> {
  return track(await startLocalRedis())
}

/** A connected bus client, closed after the test. */
async function clientOf(redis: LocalRedis): Promise<RedisClient> {
  const client = busClient(redis.url)
  track({ stop: () => client.close() })
  await client.connect()
  return client
}

/** A publisher on its own client, stopped (and its client closed) after the test. */
function publisherOf(
  redis: LocalRedis,
  options: { maxLen?: number; maxBuffered?: number; batchMax?: number; src?: string } = {},
): StreamPublisher {
  const client = busClient(redis.url)
  track({ stop: () => client.close() })
  const publisher = new StreamPublisher({
    client,
    maxLen: options.maxLen ?? 10_000,
    maxBuffered: options.maxBuffered ?? 10_000,
    batchMax: options.batchMax,
    src: options.src,
    log: silent,
  })
  track({ stop: () => publisher.stop(100) })
  return publisher
}

interface ReadEntry {
  id: string
  fields: string[]
  src: string
  k: number
  messages: unknown[]
}

/** Every entry of a stream, decoded. */
async function entriesOf(client: RedisClient, stream: string): Promise<ReadEntry[]> {
  const raw = (await client.send('XRANGE', [stream, '-', '+'])) as [string, string[]][]
  return raw.map(([id, fields]) => ({ id, fields, ...decodeBatch(fields) }))
}

/** Every event the publisher emits from now on, in order. */
function recordEvents(publisher: StreamPublisher): PublisherEvent[] {
  const seen: PublisherEvent[] = []
  track({ stop: publisher.events.on((e) => seen.push(e)) })
  return seen
}

describe.if(hasRedis)('StreamPublisher over a real redis-server', () => {
  test('an entry holds about MAX_ENTRY_BYTES at most: a round of big snapshots is cut, in order, a big one alone', async () => {
    const redis = await redisOfTest()
    const reader = await clientOf(redis)
    const publisher = publisherOf(redis)
    const big = MAX_ENTRY_BYTES / 3 + 1
    // Seven snapshot-sized messages, a delta, and one bigger than an entry, in one turn.
    for (let n = 1; n <= 7; n++) publisher.publish('s', { n }, big)
    publisher.publish('s', { n: 8 }, 100)
    publisher.publish('s', { n: 9 }, MAX_ENTRY_BYTES * 2)
    await publisher.flushed()
    const entries = await entriesOf(reader, 's')
    expect(entries.map((e) => (e.messages as { n: number }[]).map((m) => m.n))).toEqual([
      [1, 2],
      [3, 4],
      [5, 6],
      [7, 8],
      [9],
    ])
    expect(entries.map((e) => e.k)).toEqual([1, 2, 3, 4, 5])
  })

  test('the messages of one turn of the event loop are one entry (s, k, m); k counts up by one', async () => {
    const redis = await redisOfTest()
    const reader = await clientOf(redis)
    const publisher = publisherOf(redis, { src: 'shard-a' })
    const events = recordEvents(publisher)
    publisher.publish('t:books:kraken', { n: 1 })
    publisher.publish('t:books:kraken', { n: 2 })
    publisher.publish('t:books:okx', { n: 'x' })
    publisher.publish('t:books:kraken', { n: 3 })
    expect(publisher.buffered).toBe(4)
    await publisher.flushed()
    expect(publisher.buffered).toBe(0)
    publisher.publish('t:books:kraken', { n: 4 })
    await publisher.flushed()

    const kraken = await entriesOf(reader, 't:books:kraken')
    expect(kraken.map((e) => e.fields.filter((_, i) => i % 2 === 0))).toEqual([
      ['s', 'k', 'm'],
      ['s', 'k', 'm'],
    ])
    expect(kraken.map((e) => [e.src, e.k, e.messages])).toEqual([
      ['shard-a', 1, [{ n: 1 }, { n: 2 }, { n: 3 }]],
      ['shard-a', 2, [{ n: 4 }]],
    ])
    // Each stream is numbered on its own.
    const okx = await entriesOf(reader, 't:books:okx')
    expect(okx.map((e) => [e.src, e.k, e.messages])).toEqual([['shard-a', 1, [{ n: 'x' }]]])
    expect(Object.fromEntries(publisher.streamStats())).toEqual({
      't:books:kraken': { published: 4, entries: 2, dropped: 0 },
      't:books:okx': { published: 1, entries: 1, dropped: 0 },
    })
    const written = events.filter((e) => e.type === 'written')
    expect(written).toContainEqual({ type: 'written', stream: 't:books:kraken', k: 1, messages: 3 })
    expect(written).toContainEqual({ type: 'written', stream: 't:books:kraken', k: 2, messages: 1 })
    expect(events.some((e) => e.type === 'down' || e.type === 'dropped')).toBe(false)
  })

  test('without a src each publisher names itself; two publishers do not share a name', async () => {
    const redis = await redisOfTest()
    const a = publisherOf(redis)
    const b = publisherOf(redis)
    expect(a.src).toMatch(/^[0-9a-f]{8}$/)
    expect(a.src).not.toBe(b.src)
  })

  test('a backlog goes out in entries of batchMax; MAXLEN ~ keeps the stream near its cap', async () => {
    const redis = await redisOfTest()
    const reader = await clientOf(redis)
    const publisher = publisherOf(redis, { maxLen: 100, batchMax: 2 })
    for (let n = 1; n <= 3000; n++) publisher.publish('t:capped', n)
    await publisher.flushed()
    expect(publisher.streamStats().get('t:capped')).toEqual({
      published: 3000,
      entries: 1500,
      dropped: 0,
    })
    // `~` trims whole radix-tree nodes (100 entries each by default): about the cap, not 1,500.
    const xlen = Number(await reader.send('XLEN', ['t:capped']))
    expect(xlen).toBeGreaterThanOrEqual(100)
    expect(xlen).toBeLessThanOrEqual(200)
    const kept = await entriesOf(reader, 't:capped')
    expect(kept).toHaveLength(xlen)
    // What is kept is the newest, in order, two messages an entry.
    expect(kept.at(-1)!.k).toBe(1500)
    expect(kept.at(-1)!.messages).toEqual([2999, 3000])
    expect(kept.map((e) => e.k)).toEqual(kept.map((_, i) => 1500 - xlen + 1 + i))
  })

  test('while Redis is down it buffers and says so; once back, everything is written in order, no gap', async () => {
    const redis = await redisOfTest()
    const reader = await clientOf(redis)
    const publisher = publisherOf(redis, { src: 'shard-b' })
    const events = recordEvents(publisher)
    publisher.publish('t:books:bybit', 'before')
    await publisher.flushed()

    await redis.kill()
    const down = publisher.events.next('down', undefined, 10_000)
    for (let n = 1; n <= 5; n++) publisher.publish('t:books:bybit', n)
    await down
    expect(publisher.down).toBe(true)
    // Still taking messages while down: they wait.
    for (let n = 6; n <= 10; n++) publisher.publish('t:books:bybit', n)
    expect(publisher.buffered).toBe(10)
    expect(publisher.streamStats().get('t:books:bybit')!.published).toBe(1)

    const up = publisher.events.next('up', undefined, 15_000)
    await redis.start()
    await up
    await publisher.flushed()
    expect(publisher.down).toBe(false)
    expect(publisher.buffered).toBe(0)
    // The server came back empty (no persistence): what it holds is what waited, all of it.
    const after = await entriesOf(reader, 't:books:bybit')
    expect(after.flatMap((e) => e.messages)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10])
    expect(after.map((e) => e.k)).toEqual(after.map((_, i) => 2 + i))
    expect(after.every((e) => e.src === 'shard-b')).toBe(true)
    expect(publisher.streamStats().get('t:books:bybit')).toMatchObject({
      published: 11,
      dropped: 0,
    })
    const kinds = events.map((e) => e.type).filter((t) => t !== 'written')
    expect(kinds).toEqual(['down', 'up'])
  }, 30_000)

  test('past maxBuffered while down the oldest go, counted exactly; the next entry skips a number', async () => {
    const redis = await redisOfTest()
    const reader = await clientOf(redis)
    const publisher = publisherOf(redis, { maxBuffered: 10, src: 'shard-c' })
    publisher.publish('t:books:okx', 0)
    await publisher.flushed()
    expect((await entriesOf(reader, 't:books:okx')).map((e) => e.k)).toEqual([1])

    await redis.kill()
    const dropped: PublisherEvent[] = []
    const off = publisher.events.on((e) => e.type === 'dropped' && dropped.push(e))
    track({ stop: off })
    for (let n = 1; n <= 25; n++) publisher.publish('t:books:okx', n)
    expect(publisher.buffered).toBe(10)
    expect(publisher.streamStats().get('t:books:okx')!.dropped).toBe(15)
    expect(dropped.reduce((sum, e) => sum + (e.type === 'dropped' ? e.messages : 0), 0)).toBe(15)
    expect(dropped.every((e) => e.type === 'dropped' && e.stream === 't:books:okx')).toBe(true)
    await publisher.events.next('down', undefined, 10_000)

    const up = publisher.events.next('up', undefined, 15_000)
    await redis.start()
    await up
    await publisher.flushed()
    const after = await entriesOf(reader, 't:books:okx')
    // The newest ten survived, in order; the entry after 1 is 3: a consumer sees one lost.
    expect(after.flatMap((e) => e.messages)).toEqual([16, 17, 18, 19, 20, 21, 22, 23, 24, 25])
    expect(after[0]!.k).toBe(3)
    expect(after.map((e) => e.k)).toEqual(after.map((_, i) => 3 + i))
    expect(publisher.streamStats().get('t:books:okx')).toMatchObject({ published: 11, dropped: 15 })
    // Only one gap per loss: the entries after the first one count up by one again.
    publisher.publish('t:books:okx', 26)
    await publisher.flushed()
    expect((await entriesOf(reader, 't:books:okx')).at(-1)!.k).toBe(after.at(-1)!.k + 1)
  }, 30_000)

  test('the bound is over all streams: a busy stream loses its own oldest messages', async () => {
    const redis = await redisOfTest()
    const publisher = publisherOf(redis, { maxBuffered: 4 })
    publisher.publish('t:quiet', 'q')
    await publisher.flushed()
    await redis.kill()
    publisher.publish('t:quiet', 'q1')
    for (let n = 1; n <= 6; n++) publisher.publish('t:busy', n)
    expect(publisher.buffered).toBe(4)
    expect(publisher.streamStats().get('t:quiet')!.dropped).toBe(0)
    expect(publisher.streamStats().get('t:busy')!.dropped).toBe(3)
    await publisher.events.next('down', undefined, 10_000)
    const up = publisher.events.next('up', undefined, 15_000)
    await redis.start()
    await up
    await publisher.flushed()
    const reader = await clientOf(redis)
    expect((await entriesOf(reader, 't:quiet')).flatMap((e) => e.messages)).toEqual(['q1'])
    expect((await entriesOf(reader, 't:busy')).flatMap((e) => e.messages)).toEqual([4, 5, 6])
  }, 30_000)

  test('stop() writes what is queued, then takes nothing more', async () => {
    const redis = await redisOfTest()
    const reader = await clientOf(redis)
    const publisher = publisherOf(redis)
    publisher.publish('t:stop', 'last')
    await publisher.stop()
    expect((await entriesOf(reader, 't:stop')).flatMap((e) => e.messages)).toEqual(['last'])
    publisher.publish('t:stop', 'after')
    expect(publisher.buffered).toBe(0)
    await publisher.flushed()
    expect(Number(await reader.send('XLEN', ['t:stop']))).toBe(1)
  })

  test('stop() while Redis is down gives up after its grace period', async () => {
    const redis = await redisOfTest()
    const publisher = publisherOf(redis)
    publisher.publish('t:stop', 'first')
    await publisher.flushed()
    await redis.kill()
    const down = publisher.events.next('down', undefined, 10_000)
    publisher.publish('t:stop', 'stuck')
    await down
    await publisher.stop(50)
    // What could not be written is still counted as waiting, not as written.
    expect(publisher.buffered).toBe(1)
    expect(publisher.streamStats().get('t:stop')!.published).toBe(1)
    publisher.publish('t:stop', 'after')
    expect(publisher.buffered).toBe(1)
  }, 30_000)
})
