/**
 * `/metrics` (src/metrics.ts) with a venue sharded over several connections: figures summed per
 * venue, connections and books by state, and each venue's REST budget; labels are venues, never
 * markets.
 */
import { describe, expect, test } from 'bun:test'
import { Books } from '../../src/book/books.ts'
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
