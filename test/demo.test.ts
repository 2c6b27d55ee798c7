import { afterEach, describe, expect, test } from 'bun:test'
import { startSimulatedVenues, type Demo } from '../src/demo.ts'
import { startApp, type App } from '../src/main.ts'
import { VENUE_IDS } from '../src/venues/index.ts'
import { allLive, silent } from './support.ts'

let app: App | undefined
let venues: Demo | undefined
afterEach(async () => {
  await app?.stop()
  venues?.stop()
  app = venues = undefined
})

describe('offline demo', () => {
  test('every simulated venue lists its share of the universe, every common market goes live through the real adapters, and an opportunity opens', async () => {
    venues = startSimulatedVenues({ firstDislocationMs: 300, marketsPerVenue: 12 })
    app = await startApp(
      {
        ...venues.env,
        SYMBOLS: 'auto',
        EXCHANGES: VENUE_IDS.join(','),
        PORT: '0',
        HOST: '127.0.0.1',
        DATABASE_URL: ':memory:',
        TRIANGLES: 'off',
      },
      silent,
    )
    const decided = app.universe.current ?? (await app.universe.events.next('changed')).universe
    // Markets common to two or more venues, in both quote families, plus conversion books.
    expect(decided.markets.length).toBeGreaterThan(12)
    expect(decided.markets).toEqual(expect.arrayContaining(['BTC/USDT', 'BTC/USD']))
    await allLive(app.books, undefined, 15_000)
    expect([...app.books.venues()].sort()).toEqual([...VENUE_IDS].sort())
    for (const v of VENUE_IDS) {
      const subscribed = decided.perVenue.get(v)!
      expect([...app.books.ofVenue(v)].map((e) => e.pair).sort()).toEqual(
        [...subscribed.keys()].sort(),
      )
    }
    if (app.detector.stats.opened === 0) {
      await app.detector.events.next('opened', undefined, 20_000)
    }
    // The demo configures the simulated venues' read-only keys: every route knows whether its
    // coins can move (the sims list every coin open on a network every venue shares).
    await app.store.flush()
    const stored = (await app.store.listOpportunities({ includeAnomalies: true })).items
    const routes = stored.filter((r) => r.kind !== 'triangle')
    expect(routes.length).toBeGreaterThan(0)
    for (const r of routes) expect([r.id, r.transfer?.status]).toEqual([r.id, 'transferable'])
    const status = (await (await fetch(`http://127.0.0.1:${app.port}/api/status`)).json()) as any
    for (const v of VENUE_IDS) {
      expect(status.venues[v].state).toBe('connected')
      expect([v, status.venues[v].errors]).toEqual([v, {}])
    }
  }, 40_000)
})

describe('offline demo, split (`bun run demo -- --split`)', () => {
  test('two ingest shard processes and the core over a local redis-server: every book goes live in the core and an opportunity opens', async () => {
    const { startSplitDemo } = await import('../src/demo.ts')
    venues = startSimulatedVenues({ firstDislocationMs: 300, marketsPerVenue: 8 })
    const split = await startSplitDemo(
      {
        ...venues.env,
        SYMBOLS: 'auto',
        EXCHANGES: VENUE_IDS.join(','),
        PORT: '0',
        HOST: '127.0.0.1',
        DATABASE_URL: ':memory:',
        TRIANGLES: 'off',
        LOG_LEVEL: 'silent',
      },
      { shardLogLevel: 'silent' },
    )
    app = { ...split.core, stop: () => split.stop() } as App
    const core = split.core
    expect(split.shards).toHaveLength(2)
    const decided = core.universe.current ?? (await core.universe.events.next('changed')).universe
    // Every book of every venue the universe decided, rebuilt from the bus.
    const want = [...decided.perVenue].flatMap(([v, m]) => [...m.keys()].map((p) => `${v} ${p}`))
    const live = () =>
      want.every((k) => {
        const [v, p] = k.split(' ')
        return core.books.get(v!, p!)?.state === 'live'
      })
    if (!live()) await core.books.events.next('live', live, 30_000)
    expect(core.connections).toHaveLength(0)
    if (core.detector.stats.opened === 0) {
      await core.detector.events.next('opened', undefined, 20_000)
    }
    const status = (await (await fetch(`http://127.0.0.1:${core.port}/api/status`)).json()) as any
    for (const v of VENUE_IDS) expect([v, status.venues[v].state]).toEqual([v, 'connected'])
  }, 60_000)
})
