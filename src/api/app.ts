/**
 * @module
 * The HTTP API (Hono): health, status, current spreads and the opportunity history. Built from its
 * dependencies; opens no port itself.
 */
import { Hono } from 'hono'
import { z } from 'zod'
import type { Books } from '../book/books.ts'
import { CursorError, MAX_LIMIT, type Store } from '../db/store.ts'
import type { Detector } from '../detector/detector.ts'
import type { Logger } from '../log.ts'
import { normalizePair, SymbolError } from '../symbols.ts'
import { VENUES } from '../types.ts'
import { ApiError, onError } from './errors.ts'
import { buildStatus, type StatusSource } from './status.ts'

export interface ApiDeps {
  readonly connections: readonly StatusSource[]
  readonly books: Books
  readonly detector: Detector
  readonly store: Store
  readonly log: Logger
  /** The configured trade size (the default for `/api/spreads`). */
  readonly sizeQuote: number
  readonly now?: () => number
}

const sizeQuery = z.object({
  size: z.coerce
    .number({ message: 'size must be a number' })
    .positive('size must be a positive amount of the quote currency')
    .max(1e9, 'size must be below 1e9')
    .optional(),
})

const opportunitiesQuery = z.object({
  symbol: z.string().max(40, 'symbol is too long').optional(),
  venue: z.enum(VENUES, { message: `venue must be one of ${VENUES.join(', ')}` }).optional(),
  kind: z.enum(['cross', 'triangle'], { message: 'kind must be cross or triangle' }).optional(),
  since: z.coerce
    .number({ message: 'since must be a time in ms since the epoch' })
    .int()
    .nonnegative()
    .optional(),
  until: z.coerce
    .number({ message: 'until must be a time in ms since the epoch' })
    .int()
    .nonnegative()
    .optional(),
  minNetBps: z.coerce.number({ message: 'minNetBps must be a number' }).optional(),
  anomalies: z.enum(['true', 'false'], { message: 'anomalies must be true or false' }).optional(),
  limit: z.coerce
    .number({ message: `limit must be a whole number from 1 to ${MAX_LIMIT}` })
    .int(`limit must be a whole number from 1 to ${MAX_LIMIT}`)
    .min(1, `limit must be a whole number from 1 to ${MAX_LIMIT}`)
    .max(MAX_LIMIT, `limit must be a whole number from 1 to ${MAX_LIMIT}`)
    .optional(),
  cursor: z.string().max(200, 'cursor is too long').optional(),
})

/** Validates query parameters; a bad one is a 400 that says what is wrong. */
function parseQuery<T extends z.ZodType>(schema: T, query: Record<string, string>): z.infer<T> {
  const result = schema.safeParse(query)
  if (!result.success) {
    throw new ApiError(400, result.error.issues.map((i) => i.message).join('; '))
  }
  return result.data
}

/** A market name as users type it (`btcusdt`), or a triangle cycle (`USDT>BTC>ETH>USDT`). */
function parseSymbol(text: string): string {
  if (text.includes('>')) return text.toUpperCase()
  try {
    return normalizePair(text)
  } catch (err) {
    if (err instanceof SymbolError) throw new ApiError(400, err.message)
    throw err
  }
}

/**
 * @example
 * ```ts
 * const app = createApi({ connections, books, detector, store, log, sizeQuote: 1000 })
 * Bun.serve({ port: 8080, fetch: app.fetch })
 * ```
 */
export function createApi(deps: ApiDeps): Hono {
  const { connections, books, detector, store, log, sizeQuote, now = Date.now } = deps
  const app = new Hono()
  app.onError(onError(log))
  app.notFound((c) => c.json({ error: `no route for ${c.req.method} ${c.req.path}` }, 404))
  app.get('/healthz', (c) => c.json({ ok: true }))
  app.get('/api/status', (c) =>
    c.json({
      ...buildStatus(connections, books, now()),
      detector: { ...detector.stats, open: detector.openOpportunities().length },
      store: store.stats,
    }),
  )
  app.get('/api/spreads', (c) => {
    const { size = sizeQuote } = parseQuery(sizeQuery, c.req.query())
    return c.json({ sizeQuote: size, spreads: detector.spreads(size, now()) })
  })
  app.get('/api/opportunities', async (c) => {
    const q = parseQuery(opportunitiesQuery, c.req.query())
    try {
      const page = await store.listOpportunities({
        symbol: q.symbol === undefined ? undefined : parseSymbol(q.symbol),
        venue: q.venue,
        kind: q.kind,
        sinceMs: q.since,
        untilMs: q.until,
        minNetBps: q.minNetBps,
        includeAnomalies: q.anomalies === 'true',
        limit: q.limit,
        cursor: q.cursor,
      })
      return c.json(page)
    } catch (err) {
      if (err instanceof CursorError) throw new ApiError(400, 'cursor is not one this API returned')
      throw err
    }
  })
  app.get('/api/opportunities/:id', async (c) => {
    const id = c.req.param('id')
    if (id.length > 200) throw new ApiError(400, 'id is too long')
    const row = await store.getOpportunity(id)
    if (row === undefined) throw new ApiError(404, `no opportunity ${id}`)
    return c.json(row)
  })
  return app
}
