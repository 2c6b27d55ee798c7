import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { startLocalRedis, redisServerPath, type LocalRedis } from '../../src/bus/local-redis.ts'
import type { OpportunityEvent } from '../../src/detector/types.ts'
import { startApp, type App } from '../../src/main.ts'
import { silent } from '../support.ts'
import {
  baseEnv,
  bestBidIs,
  byRoute,
  jump,
  liveOn,
  nudgeAll,
  numbers,
  PAIRS,
  SHARD_A,
  SHARD_B,
  simulateSix,
  SIX,
  spawnShard,
  type Shard,
  type SixVenues,
} from './split.support.ts'

// Debian's redis-server is installed by .ci/run; without it this suite says so and fails.
const hasRedis = redisServerPath() !== undefined

describe.skipIf(!hasRedis)('split over Redis Streams: two ingest shards and a core', () => {
  let redis: LocalRedis
  let six: SixVenues
  let all: App
  let core: App
  let shards: Shard[] = []
  const coreEvents: OpportunityEvent[] = []

  beforeAll(async () => {
    redis = await startLocalRedis()
    six = simulateSix()
    const bus = { BUS_URL: redis.url, BUS_SNAPSHOT_S: '2' }
    all = await startApp(baseEnv(six), silent)
    shards = [spawnShard(baseEnv(six, bus), SHARD_A), spawnShard(baseEnv(six, bus), SHARD_B)]
    core = await startApp(baseEnv(six, { ...bus, ROLE: 'core' }), silent)
    core.detector.subscribe((e) => coreEvents.push(e))
    // The one process and the two shards: two clients on every simulated venue.
    await nudgeAll(six, 2)
    await Promise.all([liveOn(all.books, SIX), liveOn(core.books, SIX)])
  }, 60_000)

  afterAll(async () => {
    await Promise.all(shards.map((s) => s.stop()))
    await core?.stop()
    await all?.stop()
    six?.stop()
    await redis?.stop()
  })

  /** The open opportunities of a process, by route, with their numbers. */
  const openOf = (app: App) => app.detector.openOpportunities().map(numbers).sort(byRoute)

  /** Every book of the core equals the one process's, level by level, digits included. */
  function sameBooks(): void {
    for (const v of SIX) {
      for (const p of PAIRS) {
        const a = all.books.get(v, p)!.book
        const c = core.books.get(v, p)!.book
        const text = (b: typeof a) => ({
          bids: b.bids.map((l) => [l.pxText, l.qtyText]),
          asks: b.asks.map((l) => [l.pxText, l.qtyText]),
        })
        expect({ v, p, ...text(c) }).toEqual({ v, p, ...text(a) })
      }
    }
  }

  test('the core rebuilds every book exactly as one process keeps it', () => {
    expect(core.connections).toHaveLength(0)
    expect(core.mirror!.sources.map((s) => s.venue).sort()).toEqual([...SIX].sort())
    sameBooks()
  })

  test('it finds the same opportunities with the same numbers as one ROLE=all process', async () => {
    const steps: [string, string][] = [
      ['bybit', '60200.00'],
      ['kraken', '60150.00'],
      ['bybit', '60000.00'],
      ['coinbase', '60300.00'],
    ]
    for (const [venue, bid] of steps) {
      jump(six.sims.get(venue)!, bid)
      await Promise.all([bestBidIs(all.books, venue, bid), bestBidIs(core.books, venue, bid)])
      const one = openOf(all)
      expect(openOf(core)).toEqual(one)
    }
    // The moves opened routes (some closed again): the comparison had something to compare.
    expect(coreEvents.filter((e) => e.type === 'opened').length).toBeGreaterThanOrEqual(5)
    expect(coreEvents.filter((e) => e.type === 'closed').length).toBeGreaterThanOrEqual(1)
    sameBooks()
    // Quote ages count from the shard's receive time: the core's are not younger than its books.
    for (const o of core.detector.openOpportunities()) {
      const e = core.books.get(o.buyVenue, o.symbol)!
      expect(e.lastUpdateMs).toBeLessThanOrEqual(Date.now())
    }
  })

  test('the opportunities stream carries every opened, updated and closed event', async () => {
    await core.publisher!.flushed()
    const { busClient } = await import('../../src/bus/redis.ts')
    const client = busClient(redis.url)
    await client.connect()
    const entries = (await client.send('XRANGE', ['arbwatch:opportunities', '-', '+'])) as [
      string,
      string[],
    ][]
    client.close()
    const events = entries.flatMap(([, fields]) => {
      const m = fields[fields.indexOf('m') + 1]!
      return JSON.parse(m) as { type: string; opportunity: { id: string } }[]
    })
    const opened = coreEvents.filter((e) => e.type === 'opened').map((e) => e.opportunity.id)
    expect(events.filter((e) => e.type === 'opened').map((e) => e.opportunity.id)).toEqual(opened)
    const closed = coreEvents.filter((e) => e.type === 'closed').map((e) => e.opportunity.id)
    expect(events.filter((e) => e.type === 'closed').map((e) => e.opportunity.id)).toEqual(closed)
  })
})
