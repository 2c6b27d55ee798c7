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
 *
 * `bun run demo -- --split` runs the same offline world split as on several machines: a local
 * redis-server (Debian's package), two ingest shards as their own processes (half the venues
 * each, `ROLE=ingest`), and the core here (`ROLE=core`) with the dashboard.
 */
import { join } from 'node:path'
import type { Subprocess } from 'bun'
import { startLocalRedis, type LocalRedis } from './bus/local-redis.ts'
import { startApp, type App } from './main.ts'
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

export interface SplitDemo {
  readonly core: App
  readonly redis: LocalRedis
  readonly shards: readonly Subprocess[]
  stop(): Promise<void>
}

/**
 * The split offline: a local redis-server, `shards` ingest processes sharing the venues of
 * `EXCHANGES` (round robin), and the core in this process. `env` is the core's environment (the
 * simulated venues' endpoints included); each shard gets it too, with its own role and venues.
 */
export async function startSplitDemo(
  env: Record<string, string | undefined>,
  { shards = 2, shardLogLevel = 'warn' } = {},
): Promise<SplitDemo> {
  const redis = await startLocalRedis()
  const venues = (env.EXCHANGES ?? '').split(',').filter((v) => v !== '')
  const groups = Array.from({ length: shards }, (_, i) => venues.filter((_, j) => j % shards === i))
  const bus = { BUS_URL: redis.url }
  const main = join(import.meta.dir, 'main.ts')
  const procs = groups.map((own) =>
    Bun.spawn([process.execPath, main], {
      env: {
        ...env,
        ...bus,
        ROLE: 'ingest',
        EXCHANGES: own.join(','),
        UNIVERSE_EXCHANGES: venues.join(','),
        PORT: '0',
        LOG_LEVEL: shardLogLevel,
      },
      stdin: 'ignore',
      stdout: 'inherit',
      stderr: 'inherit',
    }),
  )
  const stopShards = async () => {
    for (const p of procs) p.kill('SIGTERM')
    await Promise.all(procs.map((p) => p.exited))
  }
  let core: App
  try {
    core = await startApp({ ...env, ...bus, ROLE: 'core' })
  } catch (err) {
    await stopShards()
    await redis.stop()
    throw err
  }
  return {
    core,
    redis,
    shards: procs,
    async stop() {
      await stopShards()
      await core.stop()
      await redis.stop()
    },
  }
}

if (import.meta.main) {
  const venues = startSimulatedVenues()
  const split = process.argv.includes('--split')
  const env = {
    DATABASE_URL: 'file:data/demo.db',
    SYMBOLS: 'auto',
    // Every simulated venue, those `EXCHANGES` must name on the real venues too.
    EXCHANGES: VENUES.map((v) => v.id).join(','),
    TRIANGLES: 'off',
    ...process.env,
    // The simulated venues always win over endpoint variables in the environment.
    ...venues.env,
  }
  let splitDemo: SplitDemo | undefined
  const app = await runUntilSignal(
    async () => {
      if (!split) return startApp(env)
      splitDemo = await startSplitDemo(env)
      return { ...splitDemo.core, stop: () => splitDemo!.stop() }
    },
    { afterStop: () => venues.stop() },
  )
  if (app && splitDemo) {
    console.log(
      `\narbwatch split demo: redis-server on ${splitDemo.redis.url}, ${splitDemo.shards.length} ingest shards (pids ${splitDemo.shards.map((p) => p.pid).join(', ')}), the core below`,
    )
  }
  if (app) {
    const host = app.config.host === '0.0.0.0' ? 'localhost' : app.config.host
    const token = app.config.apiToken ? `?token=${encodeURIComponent(app.config.apiToken)}` : ''
    console.log(
      `\narbwatch demo: ${VENUES.length} simulated venues on 127.0.0.1 listing ${venues.universe.bookCount} books; dashboard at http://${host}:${app.port}/${token}\n`,
    )
  }
}
