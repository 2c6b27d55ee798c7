import { afterEach, describe, expect, test } from 'bun:test'
import { startSimulatedVenues, type Demo } from '../src/demo.ts'
import { startApp, type App } from '../src/main.ts'
import { VENUE_IDS } from '../src/venues/index.ts'
import { silent } from './support.ts'

let app: App | undefined
let venues: Demo | undefined
afterEach(async () => {
  await app?.stop()
  venues?.stop()
  app = venues = undefined
})

describe('offline demo', () => {
  test('six simulated venues go live through the real adapters and an opportunity opens', async () => {
    venues = startSimulatedVenues({ firstDislocationMs: 300, stepMs: 100 })
    app = await startApp(
      { ...venues.env, PORT: '0', HOST: '127.0.0.1', DATABASE_URL: ':memory:', TRIANGLES: 'off' },
      silent,
    )
    const a = app
    const allLive = () =>
      VENUE_IDS.every((v) => [...a.books.ofVenue(v)].every((e) => e.state === 'live'))
    if (!allLive()) await a.books.events.next('live', allLive, 10_000)
    if (a.detector.stats.opened === 0) await a.detector.events.next('opened', undefined, 20_000)
    const status = (await (await fetch(`http://127.0.0.1:${app.port}/api/status`)).json()) as any
    for (const v of VENUE_IDS) {
      expect(status.venues[v].state).toBe('connected')
      expect(status.venues[v].errors).toEqual({})
    }
  }, 40_000)
})
