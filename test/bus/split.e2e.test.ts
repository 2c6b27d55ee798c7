import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { startLocalRedis, redisServerPath, type LocalRedis } from '../../src/bus/local-redis.ts'
import type { OpportunityEvent } from '../../src/detector/types.ts'
import { startApp, type App } from '../../src/main.ts'
import { deliveries } from '../../src/db/schema.ts'
import { FakeTelegramServer } from '../fakes/telegram-server.ts'
import { silent, until } from '../support.ts'
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
if (!hasRedis) {
  test('redis-server is installed (apt-get install redis-server)', () => {
    throw new Error('redis-server is not on PATH: the bus tests need it')
  })
}

describe.if(hasRedis)('split over Redis Streams: two ingest shards and a core', () => {
  let redis: LocalRedis
  let six: SixVenues
  let all: App
  let core: App
  let shards: Shard[] = []
  let telegram: FakeTelegramServer
  const bus = () => ({ BUS_URL: redis.url, BUS_SNAPSHOT_S: '2' })
  const coreEvents: OpportunityEvent[] = []
  const CHAT = 4242

  beforeAll(async () => {
    redis = await startLocalRedis()
    six = simulateSix()
    telegram = new FakeTelegramServer({ token: '110201543:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw' })
    all = await startApp(baseEnv(six), silent)
    shards = [spawnShard(baseEnv(six, bus()), SHARD_A), spawnShard(baseEnv(six, bus()), SHARD_B)]
    core = await startApp(
      baseEnv(six, {
        ...bus(),
        ROLE: 'core',
        TELEGRAM_BOT_TOKEN: telegram.token,
        TELEGRAM_API_ROOT: telegram.apiRoot,
        ALERT_COOLDOWN_S: '0',
      }),
      silent,
    )
    core.detector.subscribe((e) => coreEvents.push(e))
    await telegram.waitFor(() => telegram.callsOf('getUpdates').length > 0, 10_000, 'polling')
    await telegram.userSays(CHAT, 7, '/subscribe BTCUSDT')
    await telegram.waitForReply(CHAT)
    // The one process and the two shards: two clients on every simulated venue.
    await nudgeAll(six, 2)
    await Promise.all([liveOn(all.books, SIX), liveOn(core.books, SIX)])
  }, 60_000)

  afterAll(async () => {
    await Promise.all(shards.map((s) => s.stop()))
    await core?.stop()
    await all?.stop()
    six?.stop()
    telegram?.stop()
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

  test('a Redis restart mid-run loses nothing and doubles no alert', async () => {
    const gapsBefore = core.mirror!.stats.gaps
    const closedBefore = coreEvents.filter((e) => e.type === 'closed').length
    const mirrorEvents: string[] = []
    const off = core.mirror!.events.on((e) => e.type !== 'entry' && mirrorEvents.push(e.type))
    const down = core.mirror!.events.next('down', undefined, 10_000)
    await redis.kill()
    await down
    // While Redis is away the venues move; the shards hold what they verified.
    jump(six.sims.get('okx')!, '60250.00')
    await bestBidIs(all.books, 'okx', '60250.00')
    await redis.start()
    await bestBidIs(core.books, 'okx', '60250.00', 20_000)
    off()
    // The core saw Redis go and come back (the restart was real), and read on from there.
    expect(mirrorEvents).toEqual(['down', 'up'])
    expect(openOf(core)).toEqual(openOf(all))
    sameBooks()
    // Nothing was dropped, no stream entry was missed, and no book waited for a snapshot.
    expect(core.mirror!.stats.gaps).toBe(gapsBefore)
    const closedDuring = coreEvents.filter((e) => e.type === 'closed').slice(closedBefore)
    expect(closedDuring.filter((e) => /bus|silent/.test(e.opportunity.closeReason ?? ''))).toEqual(
      [],
    )
    // Every opening is one delivery to the chat, and no message reached it twice.
    const opened = coreEvents.filter((e) => e.type === 'opened' && !e.opportunity.anomaly)
    await until(() => core.dispatcher.stats.sent >= 1, 10_000, 'an alert through the dispatcher')
    const rows = await core.db.db.select().from(deliveries)
    const perOpportunity = new Map<string, number>()
    for (const r of rows)
      perOpportunity.set(r.opportunityId, (perOpportunity.get(r.opportunityId) ?? 0) + 1)
    expect([...perOpportunity.values()].every((n) => n === 1)).toBe(true)
    expect(perOpportunity.size).toBeLessThanOrEqual(opened.length)
    const texts = telegram.sent.filter((m) => m.chatId === CHAT).map((m) => m.text)
    expect(new Set(texts).size).toBe(texts.length)
  })

  test('a killed ingest shard makes its books stale within MAX_QUOTE_AGE_MS; restarted, they are live again', async () => {
    const maxQuoteAgeMs = core.config.maxQuoteAgeMs
    const killedAt = Date.now()
    const stale = core.books.events.next(
      'invalid',
      (e) => e.entry.venue === 'coinbase' && e.reason === 'ingest shard silent',
      maxQuoteAgeMs,
    )
    await shards[0]!.kill()
    const invalid = await stale
    expect(invalid.type).toBe('invalid')
    expect(Date.now() - killedAt).toBeLessThanOrEqual(maxQuoteAgeMs)
    await until(
      () => SHARD_A.every((v) => PAIRS.every((p) => core.books.get(v, p)!.state !== 'live')),
      maxQuoteAgeMs,
      "the killed shard's books stale",
    )
    const status = (await (await fetch(`http://127.0.0.1:${core.port}/api/status`)).json()) as any
    expect(status.venues.coinbase.state).toBe('down')
    expect(status.venues.coinbase.errors['ingest shard silent']).toBeGreaterThanOrEqual(1)
    expect(status.bus.role).toBe('core')
    expect(status.bus.reading.messages).toBeGreaterThan(0)
    expect(status.bus.lags.map((l: any) => l.venue).sort()).toEqual([...SIX].sort())
    // Nothing opens from them: a move on Kraken opens routes in one process, none in the core.
    const openedBefore = coreEvents.filter((e) => e.type === 'opened').length
    jump(six.sims.get('kraken')!, '60500.00')
    await bestBidIs(all.books, 'kraken', '60500.00')
    expect(all.detector.openOpportunities().some((o) => o.sellVenue === 'kraken')).toBe(true)
    const openedSince = coreEvents.filter((e) => e.type === 'opened').slice(openedBefore)
    expect(openedSince.filter((e) => /binance|kraken|coinbase/.test(e.opportunity.id))).toEqual([])
    expect(
      core.detector
        .openOpportunities()
        .filter(
          (o) => SHARD_A.includes(o.buyVenue as never) || SHARD_A.includes(o.sellVenue as never),
        ),
    ).toEqual([])

    // Restarted, the shard's books are live in the core again and agree with one process.
    shards[0] = spawnShard(baseEnv(six, bus()), SHARD_A)
    await nudgeAll(six, 2)
    await liveOn(core.books, SIX)
    await bestBidIs(core.books, 'kraken', '60500.00')
    await Promise.all(
      SIX.map(async (v) => {
        const top = all.books.get(v, 'BTC/USDT')!.book.bids[0]!.pxText
        await bestBidIs(core.books, v, top)
      }),
    )
    expect(openOf(core)).toEqual(openOf(all))
    sameBooks()
  })
})
