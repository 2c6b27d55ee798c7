/**
 * @module
 * The composition root: config → logger → database → books → detector → venue connections →
 * HTTP server. The only place that wires modules together and the only reader of `process.env`.
 */
import { createApi } from './api/app.ts'
import { Books } from './book/books.ts'
import { ConfigError, parseConfig, type Config } from './config.ts'
import { DatabaseError, openDb, runMigrations, type DbHandle } from './db/client.ts'
import { Store } from './db/store.ts'
import { Detector, triangleMarkets } from './detector/detector.ts'
import { Connection } from './exchanges/connection.ts'
import { EXCHANGES } from './exchanges/index.ts'
import { createLogger, type Logger } from './log.ts'
import type { Pair } from './types.ts'

export interface App {
  readonly config: Config
  readonly books: Books
  readonly detector: Detector
  readonly store: Store
  readonly db: DbHandle
  readonly connections: readonly Connection[]
  readonly port: number
  stop(): Promise<void>
}

/** The markets to subscribe: the configured symbols plus every market a triangle needs. */
export function marketsToWatch(config: Config): Pair[] {
  const out = new Set<Pair>(config.symbols)
  for (const cycle of config.triangles) {
    for (const direction of [cycle, [cycle[0], cycle[2], cycle[1]] as const]) {
      for (const { market } of triangleMarkets(direction)) out.add(market)
    }
  }
  return [...out]
}

/** Starts everything from an environment; resolves once the HTTP server listens. */
export async function startApp(
  env: Record<string, string | undefined>,
  log?: Logger,
): Promise<App> {
  const config = parseConfig(env)
  const logger = log ?? createLogger(config.logLevel)
  const db = await openDb({ url: config.databaseUrl, authToken: config.databaseAuthToken })
  try {
    await runMigrations(db.db)
  } catch (err) {
    db.close()
    throw err
  }
  const store = new Store({ db: db.db, log: logger })
  store.start()

  const pairs = marketsToWatch(config)
  let detector: Detector | undefined
  const books = new Books({
    onUpdate: (e, now) => detector?.onBookUpdate(e, now),
    onInvalid: (e, reason) => detector?.onBookInvalid(e, reason),
    onResync: (e, reason) => logger.debug({ venue: e.venue, pair: e.pair, reason }, 'book resync'),
  })
  const connections: Connection[] = []
  for (const venue of config.exchanges) {
    const exchange = EXCHANGES[venue]
    books.addVenue(venue, exchange, pairs)
    connections.push(
      new Connection({
        exchange,
        wsUrl: config.endpoints[venue].wsUrl,
        restUrl: config.endpoints[venue].restUrl,
        pairs,
        sink: books,
        log: logger,
      }),
    )
  }
  detector = new Detector({
    books,
    venues: config.exchanges,
    symbols: config.symbols,
    triangles: config.triangles,
    feeBps: config.feeBps,
    sizeQuote: config.tradeSize,
    minSpreadBps: config.minSpreadBps,
    hysteresisBps: config.hysteresisBps,
    maxSpreadBps: config.maxSpreadBps,
    maxQuoteAgeMs: config.maxQuoteAgeMs,
  })
  detector.subscribe((event) => store.record(event))
  detector.subscribe((event) => {
    const o = event.opportunity
    if (event.type === 'updated') return
    logger.info(
      {
        id: o.id,
        netBps: Number(o.last.netBps.toFixed(2)),
        anomaly: o.anomaly,
        reason: o.closeReason,
      },
      `${o.anomaly ? 'anomaly' : 'opportunity'} ${event.type}: ${o.symbol} buy ${o.buyVenue} sell ${o.sellVenue}`,
    )
  })
  detector.start()

  const api = createApi({
    connections,
    books,
    detector,
    store,
    log: logger,
    sizeQuote: config.tradeSize,
  })
  const server = Bun.serve({ hostname: config.host, port: config.port, fetch: api.fetch })
  for (const c of connections) c.start()
  logger.info(
    { exchanges: config.exchanges, symbols: config.symbols, markets: pairs, port: server.port },
    `arbwatch listening on http://${config.host}:${server.port}`,
  )
  let stopped: Promise<void> | undefined
  return {
    config,
    books,
    detector,
    store,
    db,
    connections,
    port: server.port!,
    stop() {
      stopped ??= (async () => {
        for (const c of connections) c.stop()
        detector!.stop() // closes what is open, so the history stays consistent
        await store.stop()
        await server.stop(true)
        db.close()
      })()
      return stopped
    },
  }
}

if (import.meta.main) {
  try {
    const app = await startApp(process.env)
    let stopping = false
    const shutdown = (signal: string) => {
      if (stopping) return
      stopping = true
      console.error(`${signal} received, shutting down`)
      const force = setTimeout(() => process.exit(1), 10_000)
      void app.stop().then(() => {
        clearTimeout(force)
        process.exit(0)
      })
    }
    process.on('SIGTERM', () => shutdown('SIGTERM'))
    process.on('SIGINT', () => shutdown('SIGINT'))
  } catch (err) {
    if (err instanceof ConfigError || err instanceof DatabaseError) {
      console.error(err.message)
      process.exit(2)
    }
    throw err
  }
}
