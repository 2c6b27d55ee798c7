/**
 * @module
 * The HTTP face of an ingest shard (`ROLE=ingest`): `/healthz` for Fly's checks, `/readyz` (its
 * venues have live books and Redis takes its writes), `/api/status` (its venues, as the core shows
 * them, plus what it has written to the bus) and `/metrics`. The dashboard, the opportunities and
 * the bots live on the core.
 */
import { Hono } from 'hono'
import type { Books } from '../book/books.ts'
import type { StreamPublisher } from '../bus/publisher.ts'
import type { Logger } from '../log.ts'
import { tokenGuard } from './app.ts'
import { onError } from './errors.ts'
import { buildStatus, connectionsOf, type BudgetSource, type StatusSource } from './status.ts'

export interface IngestApiDeps {
  readonly connections: () => readonly StatusSource[]
  readonly budgets?: BudgetSource
  readonly books: Books
  readonly publisher: StreamPublisher
  readonly log: Logger
  readonly apiToken?: string
  /** Extra routes behind the API token (/metrics). */
  readonly mount?: (app: Hono) => void
}

export function createIngestApi(deps: IngestApiDeps): Hono {
  const app = new Hono()
  app.onError(onError(deps.log))
  app.notFound((c) => c.json({ error: `no route for ${c.req.method} ${c.req.path}` }, 404))
  app.get('/healthz', (c) => c.json({ ok: true, role: 'ingest' }))
  app.get('/readyz', (c) => {
    const reasons: string[] = []
    if (deps.publisher.down) reasons.push('Redis does not take this shard’s writes')
    const venues = new Set(connectionsOf(deps.connections).map((x) => x.venue))
    const quiet = [...venues].filter((v) => {
      for (const e of deps.books.ofVenue(v)) if (e.state === 'live') return false
      return true
    })
    if (quiet.length > 0) reasons.push(`no live books yet on ${quiet.join(', ')}`)
    return reasons.length === 0
      ? c.json({ ready: true, venues: [...venues] })
      : c.json({ ready: false, reasons }, 503)
  })
  if (deps.apiToken !== undefined) app.use('*', tokenGuard(deps.apiToken))
  deps.mount?.(app)
  app.get('/api/status', (c) => {
    const status = buildStatus(deps.connections(), deps.books, Date.now(), deps.budgets)
    const streams = Object.fromEntries(deps.publisher.streamStats())
    return c.json({
      role: 'ingest',
      ...status,
      bus: { down: deps.publisher.down, buffered: deps.publisher.buffered, streams },
    })
  })
  return app
}
