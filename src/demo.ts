/**
 * @module
 * `bun run demo`: arbwatch fully offline. Every registered venue's simulated venue starts on
 * 127.0.0.1, each speaking its real protocol (the same ones the tests use) and listing its own
 * share of a simulated market universe: some venues quote USDT and USDC, others USD and USDT, with
 * the conversion books between them. Prices random-walk around one fair value per asset and now and
 * then dislocate on one venue. The real bot is then started against them with `SYMBOLS=auto`
 * through the endpoint overrides, so every code path is the live one: the universe, the sharded
 * connections, the REST budgets, cross-venue and cross-quote routes.
 * With TELEGRAM_BOT_TOKEN or DISCORD_TOKEN set it also sends real alerts.
 */
import { startApp } from './main.ts'
import { runUntilSignal } from './run.ts'
import { VENUES } from './venues/index.ts'
import { SimUniverse } from './venues/sim/universe.ts'

export interface Demo {
  readonly env: Record<string, string>
  readonly universe: SimUniverse
  stop(): void
}

/** Starts every simulated venue and the market driver; returns the endpoint overrides. */
export function startSimulatedVenues({
  seed = 7,
  marketsPerVenue = 30,
  ratePerSecond = 300,
  firstDislocationMs = 8_000,
} = {}): Demo {
  const universe = new SimUniverse({ venues: VENUES, marketsOf: () => marketsPerVenue, seed })
  // Dislocations happen on the venues with the lowest taker fees, where they are tradable.
  const lowest = Math.min(...VENUES.map((v) => v.takerFeeBps))
  const cheap = VENUES.filter((v) => v.takerFeeBps === lowest).map((v) => v.id)
  const stopDriving = universe.drive({ ratePerSecond, dislocateOn: cheap, firstDislocationMs })
  return {
    env: universe.env,
    universe,
    stop() {
      stopDriving()
      universe.stop()
    },
  }
}

if (import.meta.main) {
  const venues = startSimulatedVenues()
  const app = await runUntilSignal(
    () =>
      startApp({
        DATABASE_URL: 'file:data/demo.db',
        SYMBOLS: 'auto',
        // Every simulated venue, those `EXCHANGES` must name on the real venues too.
        EXCHANGES: VENUES.map((v) => v.id).join(','),
        TRIANGLES: 'off',
        ...process.env,
        // The simulated venues always win over endpoint variables in the environment.
        ...venues.env,
      }),
    { afterStop: () => venues.stop() },
  )
  if (app) {
    const host = app.config.host === '0.0.0.0' ? 'localhost' : app.config.host
    const token = app.config.apiToken ? `?token=${encodeURIComponent(app.config.apiToken)}` : ''
    console.log(
      `\narbwatch demo: ${VENUES.length} simulated venues on 127.0.0.1 listing ${venues.universe.bookCount} books; dashboard at http://${host}:${app.port}/${token}\n`,
    )
  }
}
