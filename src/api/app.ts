/**
 * @module
 * The HTTP API (Hono): health and status. Built from its dependencies; opens no port itself.
 */
import { Hono } from 'hono'
import type { Books } from '../book/books.ts'
import type { Logger } from '../log.ts'
import { onError } from './errors.ts'
import { buildStatus, type StatusSource } from './status.ts'

export interface ApiDeps {
  readonly connections: readonly StatusSource[]
  readonly books: Books
  readonly log: Logger
  readonly now?: () => number
}

/**
 * @example
 * ```ts
 * const app = createApi({ connections, books, log })
 * Bun.serve({ port: 8080, fetch: app.fetch })
 * ```
 */
export function createApi({ connections, books, log, now = Date.now }: ApiDeps): Hono {
  const app = new Hono()
  app.onError(onError(log))
  app.notFound((c) => c.json({ error: `no route for ${c.req.method} ${c.req.path}` }, 404))
  app.get('/healthz', (c) => c.json({ ok: true }))
  app.get('/api/status', (c) => c.json(buildStatus(connections, books, now())))
  return app
}
