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
