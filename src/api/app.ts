/**
 * @module
 * The HTTP API (Hono): health, status, current spreads, the opportunity history and the live event
 * stream, both sending opportunities as the one `OpportunityRecord`. Built from its dependencies;
 * opens no port itself.
 */
import { Hono, type Context, type MiddlewareHandler } from 'hono'
import { timingSafeEqual } from 'hono/utils/buffer'
import { secureHeaders } from 'hono/secure-headers'
import { z } from 'zod'
import type { Books } from '../book/books.ts'
import { CursorError, MAX_LIMIT, type Store } from '../db/store.ts'
import type { Detector } from '../detector/detector.ts'
import { explain } from '../detector/explain.ts'
import type { OpportunityRecord } from '../detector/record.ts'
import type { Logger } from '../log.ts'
import { normalizeAsset, normalizePair, splitPair, SymbolError } from '../symbols.ts'
import { backtest } from '../alerts/backtest.ts'
import type { TransferFacts } from '../transfers/facts.ts'
import { ROUTE_STATUSES } from '../transfers/types.ts'
import type { Pair } from '../types.ts'
import { ASSET_ALIASES, VENUE_IDS } from '../venues/index.ts'
import { ApiError, onError } from './errors.ts'
import { selectSpreads, SPREAD_SORTS } from './spreads.ts'
import {
  buildStatus,
  connectionsOf,
  listBooks,
  type BudgetSource,
  type StatusSource,
} from './status.ts'
import { StreamHub, type StreamLimits } from './stream.ts'

export interface ApiDeps {
  /** Every venue connection, or a function of the live set (shards come and go). */
  readonly connections: readonly StatusSource[] | (() => readonly StatusSource[])
  /** Each venue's REST budget figures, for `/api/status`. */
  readonly budgets?: BudgetSource
  readonly books: Books
  readonly detector: Detector
  readonly store: Store
  readonly log: Logger
  /** The configured trade size (the default for `/api/spreads`). */
  readonly sizeQuote: number
  /** With a token, everything but /healthz and /readyz needs it as a bearer token. */
  readonly apiToken?: string
  /** Venues with live books needed for /readyz (default 2). */
  readonly minLiveVenues?: number
  /** More reasons /readyz may have to say no (the bus unreachable, on a core process). */
  readonly readinessProblems?: () => readonly string[]
  /** The bus as `/api/status` shows it (`bus`), when this process reads or writes one. */
  readonly busStatus?: () => unknown
  /** Extra routes behind the API token, if any (the dashboard, /metrics). */
  readonly mount?: (app: Hono) => void
  /** Extra routes that carry their own authentication (the Telegram webhook's secret header). */
  readonly mountPublic?: (app: Hono) => void
  /** Most concurrent /api/stream clients; at the cap a new one replaces the slowest (default 100). */
  readonly maxStreams?: number
  /** How often /api/stream checks venue states for changes. */
  readonly streamPollMs?: number
  /** The other /api/stream bounds: streams per client address, unsent bytes per client, pings. */
  readonly streamLimits?: Omit<StreamLimits, 'maxStreams' | 'pollMs'>
  /**
   * A header that carries the client's address, set by a proxy in front that overwrites it
   * (`fly-client-ip` on Fly.io); without it the socket's address is used.
   */
  readonly clientIpHeader?: string
  /** The deposit and withdrawal facts, for `/api/transfers` (absent: it answers 404). */
  readonly transfers?: Pick<TransferFacts, 'all' | 'outcomes'>
  readonly now?: () => number
}

/** What follows an opportunity's id in the path of its explanation. */
const EXPLAIN_SUFFIX = '/explain'

/** Most rows one page of `/api/status` books or `/api/spreads` holds. */
export const MAX_PAGE_LIMIT = 500

const venueParam = z
  .enum(VENUE_IDS as [string, ...string[]], {
    message: `venue must be one of ${VENUE_IDS.join(', ')}`,
  })
  .optional()

const pageParams = {
  page: z.coerce
    .number({ message: 'page must be a whole number from 1' })
    .int('page must be a whole number from 1')
    .min(1, 'page must be a whole number from 1')
    .max(1e6, 'page must be at most 1000000')
    .optional(),
  limit: z.coerce
    .number({ message: `limit must be a whole number from 1 to ${MAX_PAGE_LIMIT}` })
    .int(`limit must be a whole number from 1 to ${MAX_PAGE_LIMIT}`)
    .min(1, `limit must be a whole number from 1 to ${MAX_PAGE_LIMIT}`)
    .max(MAX_PAGE_LIMIT, `limit must be a whole number from 1 to ${MAX_PAGE_LIMIT}`)
    .optional(),
}

const BOOK_STATES = ['syncing', 'live', 'stale'] as const
type BookStateName = (typeof BOOK_STATES)[number]

const statusQuery = z.object({
  venue: venueParam,
  symbol: z.string().max(40, 'symbol is too long').optional(),
  state: z
    .string()
    .max(40, 'state is too long')
    .transform((text, ctx) => {
      const states = text.split(',').map((s) => s.trim().toLowerCase())
      const bad = states.find((s) => !(BOOK_STATES as readonly string[]).includes(s))
      if (bad !== undefined) {
        ctx.addIssue({
          code: 'custom',
          message: `state must be ${BOOK_STATES.join(', ')} or several of them joined by commas`,
        })
        return z.NEVER
      }
      return states as BookStateName[]
    })
    .optional(),
  ...pageParams,
})

const sizeQuery = z.object({
  size: z.coerce
    .number({ message: 'size must be a number' })
    .positive('size must be a positive amount of the quote currency')
    .max(1e9, 'size must be below 1e9')
    .optional(),
})

const spreadsQuery = sizeQuery.extend({
  q: z.string().max(100, 'q is too long').optional(),
  kind: z
    .enum(['cross', 'triangle', 'cross-quote'], {
      message: 'kind must be cross, triangle or cross-quote',
    })
    .optional(),
  group: z.enum(['symbol'], { message: 'group must be symbol' }).optional(),
  sort: z
    .enum(SPREAD_SORTS, { message: `sort must be one of ${SPREAD_SORTS.join(', ')}` })
    .optional(),
  order: z.enum(['asc', 'desc'], { message: 'order must be asc or desc' }).optional(),
  ...pageParams,
})

const opportunitiesQuery = z.object({
  symbol: z.string().max(40, 'symbol is too long').optional(),
  venue: z
    .enum(VENUE_IDS as [string, ...string[]], {
      message: `venue must be one of ${VENUE_IDS.join(', ')}`,
    })
    .optional(),
  kind: z
    .enum(['cross', 'triangle', 'cross-quote'], {
      message: 'kind must be cross, triangle or cross-quote',
    })
    .optional(),
  transfer: z
    .enum(ROUTE_STATUSES, { message: `transfer must be one of ${ROUTE_STATUSES.join(', ')}` })
    .optional(),
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
  format: z.enum(['json', 'csv'], { message: 'format must be json or csv' }).optional(),
})

const backtestQuery = sizeQuery.extend({
  threshold: z.coerce
    .number({ message: 'threshold must be a net spread in percent, e.g. 0.5' })
    .min(0, 'threshold must be a net spread in percent, e.g. 0.5')
    .max(50, 'threshold must be a net spread in percent, e.g. 0.5'),
})

const transfersQuery = z.object({
  asset: z.string().max(20, 'asset is too long').optional(),
})

const CSV_COLUMNS = [
  'id',
  'kind',
  'symbol',
  'buyVenue',
  'sellVenue',
  'anomaly',
  'openedAt',
  'closedAt',
  'durationS',
  'grossBps',
  'netBps',
  'peakNetBps',
  'netBpsOpen',
  'feeBps',
  'sizeQuote',
  'profitQuote',
  'maxSizeQuote',
  'maxProfitQuote',
  'buyPrice',
  'sellPrice',
  'buyAgeMs',
  'sellAgeMs',
  'closeReason',
] as const

/** RFC 4180 field: quoted when it holds a comma, quote or newline; formula-leading text neutralised. */
function csvField(value: unknown): string {
  if (value === null || value === undefined) return ''
  let text = String(value)
  if (/^[=+\-@]/.test(text) && typeof value === 'string') text = `'${text}`
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text
}

function toCsv(items: readonly OpportunityRecord[]): string {
  const lines = [CSV_COLUMNS.join(',')]
  for (const o of items) {
    const row: Record<(typeof CSV_COLUMNS)[number], unknown> = {
      ...o,
      openedAt: new Date(o.openedAtMs).toISOString(),
      closedAt: o.closedAtMs === null ? null : new Date(o.closedAtMs).toISOString(),
      durationS: o.closedAtMs === null ? null : (o.closedAtMs - o.openedAtMs) / 1000,
    }
    lines.push(CSV_COLUMNS.map((c) => csvField(row[c])).join(','))
  }
  return `${lines.join('\r\n')}\r\n`
}

/**
 * Validates query parameters; a bad one is a 400 that says what is wrong. With `known`, a
 * parameter outside it (a typo) is one too; `token` is always allowed.
 */
function parseQuery<T extends z.ZodType>(
  schema: T,
  query: Record<string, string>,
  known?: readonly string[],
): z.infer<T> {
  if (known !== undefined) {
    const unknown = Object.keys(query).filter((k) => k !== 'token' && !known.includes(k))
    if (unknown.length > 0) {
      throw new ApiError(
        400,
        `unknown parameter ${unknown.map((k) => JSON.stringify(k.slice(0, 40))).join(', ')}; this route takes ${known.join(', ')}`,
      )
    }
  }
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
    return normalizePair(text, ASSET_ALIASES)
  } catch (err) {
    if (err instanceof SymbolError) throw new ApiError(400, err.message)
    throw err
  }
}

/** An asset as users type it (`xbt` is `BTC`), or a 400. */
function parseAsset(text: string): string {
  const asset = normalizeAsset(text, ASSET_ALIASES)
  if (!/^[A-Z0-9]{1,20}$/.test(asset)) throw new ApiError(400, `asset ${text} is not an asset code`)
  return asset
}

/**
 * Which pairs the `symbol` of `/api/status` selects: an asset (`SOL`: every market it is the base
 * or quote of, when some book trades it), else a market as users type it (`solusdt`).
 */
function pairFilter(text: string, books: Books): (pair: Pair) => boolean {
  const asset = normalizeAsset(text, ASSET_ALIASES)
  if (/^[A-Z0-9]{1,20}$/.test(asset)) {
    for (const venue of books.venues()) {
      for (const e of books.ofVenue(venue)) {
        const { base, quote } = splitPair(e.pair)
        if (base === asset || quote === asset) {
          return (pair) => {
            const p = splitPair(pair)
            return p.base === asset || p.quote === asset
          }
        }
      }
    }
  }
  const market = parseSymbol(text)
  return (pair) => pair === market
}

/**
 * @example
 * ```ts
 * const app = createApi({ connections, books, detector, store, log, sizeQuote: 1000 })
 * Bun.serve({ port: 8080, fetch: app.fetch })
 * ```
 */
export function createApi(deps: ApiDeps): Hono {
  const { books, detector, store, log, sizeQuote, now = Date.now } = deps
  const connections = () => connectionsOf(deps.connections)
  const app = new Hono()
  app.onError(onError(log))
  app.notFound((c) => c.json({ error: `no route for ${c.req.method} ${c.req.path}` }, 404))
  app.use(
    secureHeaders({
      contentSecurityPolicy: {
        defaultSrc: ["'self'"],
        scriptSrc: ["'self'"],
        styleSrc: ["'self'", "'unsafe-inline'"],
        imgSrc: ["'self'", 'data:'],
        connectSrc: ["'self'"],
      },
    }),
  )
  app.get('/healthz', (c) => c.json({ ok: true }))
  app.get('/readyz', async (c) => {
    const reasons: string[] = []
    if (!(await store.ping())) reasons.push('the database does not answer')
    // A database that answers reads can still refuse writes (a read-only file, a full disk).
    const { failingSinceMs, lastError } = store.stats
    if (failingSinceMs !== null) {
      const s = Math.max(0, Math.round((Date.now() - failingSinceMs) / 1000))
      reasons.push(`database writes have been failing for ${s} s: ${lastError}`)
    }
    const venues = new Set(connections().map((x) => x.venue))
    const live = [...venues].filter((v) => {
      for (const e of books.ofVenue(v)) if (e.state === 'live') return true
      return false
    })
    reasons.push(...(deps.readinessProblems?.() ?? []))
    const need = deps.minLiveVenues ?? 2
    if (live.length < need) {
      reasons.push(
        `${live.length} venue(s) with live books (${live.join(', ') || 'none'}), need ${need}`,
      )
    }
    return reasons.length === 0
      ? c.json({ ready: true, liveVenues: live })
      : c.json({ ready: false, reasons }, 503)
  })
  deps.mountPublic?.(app)
  if (deps.apiToken !== undefined) app.use('*', tokenGuard(deps.apiToken))
  deps.mount?.(app)
  const hub = new StreamHub(
    {
      subscribe: (listener) => detector.subscribe(listener),
      openOpportunities: () => detector.openOpportunities(),
      venues: () => buildStatus(connections(), books, now(), deps.budgets).venues,
      now,
    },
    { ...deps.streamLimits, maxStreams: deps.maxStreams, pollMs: deps.streamPollMs },
  )
  // A summary per venue; with any book parameter, also a page of the books that match.
  app.get('/api/status', (c) => {
    const query = c.req.query()
    const q = parseQuery(statusQuery, query, Object.keys(statusQuery.shape))
    const nowMs = now()
    const list = connections()
    const body = {
      ...buildStatus(list, books, nowMs, deps.budgets),
      detector: { ...detector.stats, open: detector.openOpportunities().length },
      store: store.stats,
      stream: hub.stats,
      ...(deps.busStatus === undefined ? {} : { bus: deps.busStatus() }),
    }
    const wantsBooks = Object.keys(query).some((k) => k !== 'token')
    if (!wantsBooks) return c.json(body)
    const page = listBooks(list, books, nowMs, {
      venue: q.venue,
      pair: q.symbol === undefined ? undefined : pairFilter(q.symbol, books),
      states: q.state,
      page: q.page ?? 1,
      limit: q.limit ?? 100,
    })
    return c.json({ ...body, ...page })
  })
  // Every route's figures at a size take tens of ms with thousands of routes: computed at most
  // once a second per size, whoever asks (dashboards poll every 2 s).
  const computed = new Map<number, { atMs: number; rows: ReturnType<typeof detector.spreads> }>()
  // An opening or closing is shown at the next poll, not a second later.
  detector.events?.on((e) => e.type !== 'updated' && computed.clear())
  const spreadsAt = (size: number) => {
    const t = now()
    let hit = computed.get(size)
    if (hit === undefined || t - hit.atMs >= 1000) {
      if (computed.size > 16) computed.clear()
      hit = { atMs: t, rows: detector.spreads(size, t) }
      computed.set(size, hit)
    }
    return hit.rows
  }
  app.get('/api/spreads', (c) => {
    const { size = sizeQuote, ...q } = parseQuery(spreadsQuery, c.req.query())
    return c.json({ sizeQuote: size, ...selectSpreads(spreadsAt(size), q) })
  })
  app.get('/api/opportunities', async (c) => {
    const q = parseQuery(opportunitiesQuery, c.req.query())
    let page
    try {
      page = await store.listOpportunities({
        symbol: q.symbol === undefined ? undefined : parseSymbol(q.symbol),
        venue: q.venue,
        kind: q.kind,
        transfer: q.transfer,
        sinceMs: q.since,
        untilMs: q.until,
        minNetBps: q.minNetBps,
        includeAnomalies: q.anomalies === 'true',
        limit: q.limit,
        cursor: q.cursor,
      })
    } catch (err) {
      if (err instanceof CursorError) throw new ApiError(400, 'cursor is not one this API returned')
      throw err
    }
    const csv =
      q.format === 'csv' ||
      (q.format === undefined && (c.req.header('accept') ?? '').includes('text/csv'))
    if (!csv) return c.json(page)
    if (page.nextCursor !== null) c.header('x-next-cursor', page.nextCursor)
    return c.body(toCsv(page.items), 200, {
      'content-type': 'text/csv; charset=utf-8',
      'content-disposition': 'attachment; filename="opportunities.csv"',
    })
  })
  // Ids hold a `/` (`cross:BTC/USDT:<buy>><sell>:…`): the id is the rest of the path, `/` as
  // typed or as `%2F`. `<id>/explain` is the arithmetic of its opening net, from the book levels
  // stored when it opened (ids end with their opening time, never so). One route for both: with
  // a second `…/:id{.+}/explain` route, Hono's RegExpRouter still hands such paths to this one.
  app.get('/api/opportunities/:id{.+}', async (c) => {
    const path = c.req.param('id')
    const explaining = path.endsWith(EXPLAIN_SUFFIX)
    const id = explaining ? path.slice(0, -EXPLAIN_SUFFIX.length) : path
    if (id.length > 200) throw new ApiError(400, 'id is too long')
    const row = await store.getOpportunity(id)
    if (row === undefined) throw new ApiError(404, `no opportunity ${id}`)
    if (!explaining) return c.json(row)
    if (row.walk === undefined) {
      throw new ApiError(
        404,
        `opportunity ${id} was recorded before opening walks were kept: there is no walk to explain`,
      )
    }
    const alerted = await store.deliveriesOf(id)
    return c.json({ id, walk: row.walk, lines: explain(row), alerted })
  })
  // How many alerts a threshold and size would have given over the last day and week, from the
  // store: at TRADE_SIZE from the stored nets, at another size from the stored opening walks
  // (`unknown`: openings whose walk is missing or does not reach that size).
  app.get('/api/backtest', async (c) => {
    const { size = sizeQuote, threshold } = parseQuery(backtestQuery, c.req.query())
    const nowMs = now()
    const rows = await store.opportunitiesSince(nowMs - 7 * 86_400_000)
    return c.json(backtest(rows, threshold * 100, size, nowMs))
  })
  // What each venue says about moving one asset (or all): status, fees and contracts per network,
  // each with its age and source, and each venue's last fetch (an error, a missing key).
  app.get('/api/transfers', (c) => {
    const facts = deps.transfers
    if (facts === undefined) throw new ApiError(404, 'no transfer facts are kept here')
    const q = parseQuery(transfersQuery, c.req.query())
    const asset = q.asset === undefined ? undefined : parseAsset(q.asset)
    const nowMs = now()
    const venues: Record<string, unknown> = {}
    for (const [venue, outcome] of facts.outcomes()) venues[venue] = { ...outcome, facts: [] }
    for (const f of facts.all(asset)) {
      const v = (venues[f.venue] ??= { facts: [] }) as { facts: unknown[] }
      v.facts.push({ ...f, ageMs: Math.max(0, nowMs - f.fetchedAtMs) })
    }
    return c.json({ asset: asset ?? null, venues })
  })
  app.get('/api/stream', (c) => {
    const body = hub.open(clientIp(c, deps.clientIpHeader))
    if (body === 'refused') {
      c.header('retry-after', '10')
      throw new ApiError(429, 'too many streams from this address; close one and try again')
    }
    return c.body(body, 200, {
      'content-type': 'text/event-stream',
      'cache-control': 'no-cache',
      'x-accel-buffering': 'no',
    })
  })
  return app
}

/**
 * Everything but /healthz and /readyz needs the API token: a bearer token, or `?token=` for what a
 * browser cannot add headers to (EventSource, links).
 */
export function tokenGuard(token: string): MiddlewareHandler {
  return async (c, next) => {
    if (c.req.path === '/healthz' || c.req.path === '/readyz') return next()
    const given = bearerToken(c.req.header('authorization')) ?? c.req.query('token') ?? ''
    if (given === '' || !(await timingSafeEqual(token, given))) {
      c.header('www-authenticate', 'Bearer realm="arbwatch"')
      throw new ApiError(401, 'this API needs the API_TOKEN as a bearer token')
    }
    return next()
  }
}

/** The credentials of an `Authorization: Bearer …` header (the scheme in any case, RFC 7235). */
function bearerToken(header: string | undefined): string | undefined {
  return /^bearer +(\S+) *$/i.exec(header ?? '')?.[1]
}

/** The client's address: the proxy's header when configured, else the socket's (or `unknown`). */
function clientIp(c: Context, header: string | undefined): string {
  const forwarded = header === undefined ? undefined : c.req.header(header)?.split(',')[0]?.trim()
  if (forwarded) return forwarded
  const server = c.env as { requestIP?(req: Request): { address: string } | null } | undefined
  return server?.requestIP?.(c.req.raw)?.address ?? 'unknown'
}
