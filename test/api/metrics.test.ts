/**
 * `/metrics` (src/metrics.ts) with a venue sharded over several connections: figures summed per
 * venue, connections and books by state, and each venue's REST budget; labels are venues, never
 * markets. The bus metrics are read from a real publisher and mirror on a real redis-server.
 */
import { describe, expect, test } from 'bun:test'
import { Books } from '../../src/book/books.ts'
import { redisServerPath, startLocalRedis } from '../../src/bus/local-redis.ts'
import { BookMirror } from '../../src/bus/mirror.ts'
import { StreamPublisher } from '../../src/bus/publisher.ts'
import { busClient } from '../../src/bus/redis.ts'
import { Store } from '../../src/db/store.ts'
import { createMetrics } from '../../src/metrics.ts'
import type { Pair } from '../../src/types.ts'
import type { ConnectionStats } from '../../src/venues/connection.ts'
import { openMemoryDb, silent, stopAfterEach } from '../support.ts'

const track = stopAfterEach()

function stats(markets: readonly Pair[], over: Partial<ConnectionStats> = {}): ConnectionStats {
  return {
    state: 'connected',
    messages: 10,
    reconnects: 1,
    errors: { 'malformed-json': 1 },
    connectedSinceMs: 1,
    lastMessageMs: Date.now(),
    messagesPerSec: 5,
    latencyMs: 10,
    markets: new Map(markets.map((p) => [p, p])),
    unlisted: [],
    ...over,
  }
}

async function scrape(connections: Parameters<typeof createMetrics>[0]['connections']) {
  const handle = await openMemoryDb(track)
  const books = new Books()
  const entries = books.addVenue('binance', ['BTC/USDT', 'ETH/USDT', 'SOL/USDT'])
  entries.get('BTC/USDT')!.state = 'live'
  entries.get('SOL/USDT')!.state = 'stale'
  const metrics = createMetrics({
    connections,
    books,
    store: new Store({ db: handle.db, log: silent }),
    budgets: () => [
      [
        'binance',
        {
          requests: 12,
          peakWeight: 950,
          throttled: 2,
          banned: 1,
          venueUsedWeight: 400,
          pausedUntilMs: Date.now() + 60_000,
        },
      ],
    ],
  })
  return metrics.render()
}

describe('metrics over sharded venues', () => {
  test('a venue is summed over its connections; connections and books by state', async () => {
    const text = await scrape(() => [
      { venue: 'binance', stats: stats(['BTC/USDT'], { latencyMs: 40 }) },
      { venue: 'binance', stats: stats(['ETH/USDT', 'SOL/USDT'], { state: 'connecting' }) },
    ])
    expect(text).toContain('arbwatch_messages_total{venue="binance"} 20')
    expect(text).toContain('arbwatch_reconnects_total{venue="binance"} 2')
    expect(text).toContain('arbwatch_input_errors_total{venue="binance",kind="malformed-json"} 2')
    expect(text).toContain('arbwatch_venue_connected{venue="binance"} 0')
    expect(text).toContain('arbwatch_venue_connections{venue="binance",state="connected"} 1')
    expect(text).toContain('arbwatch_venue_connections{venue="binance",state="connecting"} 1')
    expect(text).toContain('arbwatch_venue_latency_seconds{venue="binance"} 0.04')
    expect(text).toContain('arbwatch_books_live{venue="binance"} 1')
    expect(text).toContain('arbwatch_books{venue="binance",state="stale"} 1')
    expect(text).toContain('arbwatch_books{venue="binance",state="syncing"} 1')
    // One series per venue, not one per connection or market.
    expect(text.match(/^arbwatch_messages_total\{/gm)).toHaveLength(1)
    expect(text).not.toContain('BTC/USDT')
  })

  test("each venue's REST budget: requests, peak weight, 429s, 418s and the pause left", async () => {
    const text = await scrape([{ venue: 'binance', stats: stats(['BTC/USDT']) }])
    expect(text).toContain('arbwatch_venue_connected{venue="binance"} 1')
    expect(text).toContain('arbwatch_rest_requests_total{venue="binance"} 12')
    expect(text).toContain('arbwatch_rest_peak_weight{venue="binance"} 950')
    expect(text).toContain('arbwatch_rest_venue_used_weight{venue="binance"} 400')
    expect(text).toContain('arbwatch_rest_throttled_total{venue="binance"} 2')
    expect(text).toContain('arbwatch_rest_banned_total{venue="binance"} 1')
    const paused = Number(/arbwatch_rest_paused_seconds\{venue="binance"\} (\S+)/.exec(text)?.[1])
    expect(paused).toBeGreaterThan(50)
    expect(paused).toBeLessThanOrEqual(60)
  })
})

/** One sample's value in the exposition text (NaN when the series is absent). */
const sample = (text: string, series: string) => {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `))
  return line === undefined ? NaN : Number(line.slice(series.length + 1))
}

const hasRedis = redisServerPath() !== undefined

describe.if(hasRedis)('bus metrics, from a publisher and a mirror on a real redis-server', () => {
  test('written, dropped and waiting messages per stream; messages read and each stream’s lag', async () => {
    const redis = track(await startLocalRedis())
    const pubClient = busClient(redis.url)
    const readClient = busClient(redis.url)
    track({ stop: () => (pubClient.close(), readClient.close()) })
    const publisher = new StreamPublisher({
      client: pubClient,
      maxLen: 1000,
      maxBuffered: 3,
      log: silent,
    })
    const books = new Books()
    const mirror = new BookMirror({
      client: readClient,
      books,
      venues: ['kraken', 'okx'],
      prefix: 'm',
      group: 'core',
      consumer: 'core-1',
      silentMs: 60_000,
      joinBackMs: 60_000,
      log: silent,
    })
    track({ stop: () => mirror.stop() })
    track({ stop: () => publisher.stop(100) })
    const metrics = createMetrics({
      connections: () => mirror.sources,
      books,
      bus: { publisher, mirror },
    })
    await mirror.start()

    // The heartbeat, then the snapshot that makes the core's book live (each its own entry: with a
    // buffer of 3 an entry holds one message).
    const read = books.events.next('live', (e) => e.entry.venue === 'kraken')
    publisher.publish('m:books:kraken', { t: 'h', r: Date.now(), c: 1, u: 1 })
    publisher.publish('m:books:kraken', {
      t: 's',
      p: 'BTC/USDT',
      r: Date.now(),
      b: [['60000.00', '1']],
      a: [['60000.10', '2']],
    })
    publisher.publish('m:opportunities', { type: 'opened' })
    await publisher.flushed()
    await read
    let text = await metrics.render()
    expect(text).toContain('arbwatch_bus_up 1')
    expect(text).toContain('arbwatch_bus_published_messages_total{stream="m:books:kraken"} 2')
    expect(text).toContain('arbwatch_bus_published_messages_total{stream="m:opportunities"} 1')
    expect(text).toContain('arbwatch_bus_dropped_messages_total{stream="m:books:kraken"} 0')
    expect(text).toContain('arbwatch_bus_buffered_messages 0')
    expect(text).toContain('arbwatch_bus_consumed_messages_total 2')
    const lag = sample(text, 'arbwatch_bus_lag_seconds{venue="kraken"}')
    expect(Number.isFinite(lag)).toBe(true)
    expect(lag).toBeGreaterThanOrEqual(0)
    // A stream nothing was read from has no lag yet.
    expect(text).not.toContain('arbwatch_bus_lag_seconds{venue="okx"}')
    // The venue streams are the core's connections: Kraken's shard is up, its book live.
    expect(text).toContain('arbwatch_venue_connected{venue="kraken"} 1')
    expect(text).toContain('arbwatch_books_live{venue="kraken"} 1')

    // Redis goes away: the writes wait, up to the bound; past it they are dropped and counted.
    const down = publisher.events.next('down', undefined, 10_000)
    await redis.kill()
    for (let n = 1; n <= 5; n++) publisher.publish('m:opportunities', { n })
    await down
    text = await metrics.render()
    expect(text).toContain('arbwatch_bus_up 0')
    expect(text).toContain('arbwatch_bus_buffered_messages 3')
    expect(text).toContain('arbwatch_bus_dropped_messages_total{stream="m:opportunities"} 2')
    expect(text).toContain('arbwatch_bus_published_messages_total{stream="m:opportunities"} 1')

    // Back: what waited is written, and the figures say so.
    const up = publisher.events.next('up', undefined, 15_000)
    await redis.start()
    await up
    await publisher.flushed()
    if (mirror.down) await mirror.events.next('up', undefined, 15_000)
    text = await metrics.render()
    expect(text).toContain('arbwatch_bus_up 1')
    expect(text).toContain('arbwatch_bus_buffered_messages 0')
    expect(text).toContain('arbwatch_bus_published_messages_total{stream="m:opportunities"} 4')
    expect(text).toContain('arbwatch_bus_dropped_messages_total{stream="m:opportunities"} 2')
    expect(sample(text, 'arbwatch_bus_consumed_messages_total')).toBe(mirror.stats.messages)
  }, 30_000)
})
