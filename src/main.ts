/**
 * @module
 * The composition root: config → logger → books → venue connections → HTTP server. The only
 * place that wires modules together and the only reader of `process.env`.
 */
import { createApi } from './api/app.ts'
import { Books } from './book/books.ts'
import { ConfigError, parseConfig, type Config } from './config.ts'
import { Connection } from './exchanges/connection.ts'
import { EXCHANGES } from './exchanges/index.ts'
import { createLogger, type Logger } from './log.ts'

export interface App {
  readonly config: Config
  readonly books: Books
  readonly connections: readonly Connection[]
  readonly port: number
  stop(): Promise<void>
}

/** Starts everything from an environment; resolves once the HTTP server listens. */
export async function startApp(
  env: Record<string, string | undefined>,
  log?: Logger,
): Promise<App> {
  const config = parseConfig(env)
  const logger = log ?? createLogger(config.logLevel)
  const books = new Books({
    onResync: (e, reason) => logger.debug({ venue: e.venue, pair: e.pair, reason }, 'book resync'),
  })
  const connections: Connection[] = []
  for (const venue of config.exchanges) {
    const exchange = EXCHANGES[venue]
    if (!exchange) {
      logger.warn(`${venue} has no adapter in this build; skipped`)
      continue
    }
    books.addVenue(venue, exchange, config.symbols)
    connections.push(
      new Connection({
        exchange,
        wsUrl: config.endpoints[venue].wsUrl,
        restUrl: config.endpoints[venue].restUrl,
        pairs: config.symbols,
        sink: books,
        log: logger,
      }),
    )
  }
  const api = createApi({ connections, books, log: logger })
  const server = Bun.serve({ hostname: config.host, port: config.port, fetch: api.fetch })
  for (const c of connections) c.start()
  logger.info(
    { exchanges: config.exchanges, symbols: config.symbols, port: server.port },
    `arbwatch listening on http://${config.host}:${server.port}`,
  )
  return {
    config,
    books,
    connections,
    port: server.port!,
    async stop() {
      for (const c of connections) c.stop()
      await server.stop(true)
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
    if (err instanceof ConfigError) {
      console.error(err.message)
      process.exit(2)
    }
    throw err
  }
}
