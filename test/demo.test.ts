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
  test('six simulated venues go live through the real adapters and an opportunity opens', async () => {
    venues = startSimulatedVenues({ firstDislocationMs: 300, stepMs: 100 })
    app = await startApp(
      { ...venues.env, PORT: '0', HOST: '127.0.0.1', DATABASE_URL: ':memory:', TRIANGLES: 'off' },
      silent,
    )
    await allLive(app.books, undefined, 10_000)
    expect([...app.books.venues()]).toEqual([...VENUE_IDS])
    if (app.detector.stats.opened === 0) {
      await app.detector.events.next('opened', undefined, 20_000)
    }
    const status = (await (await fetch(`http://127.0.0.1:${app.port}/api/status`)).json()) as any
    for (const v of VENUE_IDS) {
      expect(status.venues[v].state).toBe('connected')
      expect(status.venues[v].errors).toEqual({})
    }
  }, 40_000)
})
