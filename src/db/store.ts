/**
 * @module
 * The opportunity queries. Opportunities are recorded synchronously from the detector's hot path
 * (as `toRecord` maps them) into an in-memory queue (coalesced per id): an opening and its alert
 * deliveries are written at once, updates by a background flusher in one transaction per flush;
 * failed writes stay queued, are retried within half a second, and are announced on `events`.
 * Rows and records differ only in `legs`, `transfer` and `walk` (JSON text in the row) and the
 * row's own `transferStatus`: `fromRow` is the way back.
 */
import {
  and,
  asc,
  desc,
  eq,
  getTableColumns,
  gte,
  inArray,
  isNull,
  lt,
  ne,
  sql,
  type SQL,
} from 'drizzle-orm'
import type { BatchItem } from 'drizzle-orm/batch'
import { toRecord, type OpportunityRecord } from '../detector/record.ts'
import type { RouteStatus, RouteTransfer } from '../transfers/types.ts'
import {
  OPPORTUNITY_KINDS,
  type OpeningWalk,
  type OpportunityEvent,
  type OpportunityKind,
  type RouteLeg,
} from '../detector/types.ts'
import { Emitter } from '../events.ts'
import type { Logger } from '../log.ts'
import type { VenueId } from '../types.ts'
import type { Db } from './client.ts'
import {
  deliveries as deliveriesTable,
  opportunities,
  type NewDeliveryRow,
  type NewOpportunityRow,
  type OpportunityRow,
} from './schema.ts'

export interface StoreOptions {
  readonly db: Db
  readonly log: Logger
  /**
   * How often pending updates are written; events within one interval coalesce per id. Openings
   * (and anything carrying deliveries) do not wait for it: they are written at once.
   */
  readonly flushIntervalMs?: number
  /** Most opportunities written in one transaction; a flush loops until the queue is empty. */
  readonly maxBatch?: number
  /**
   * First retry delay after a failed write; later ones double up to `retryCapMs` (default 500, so
   * writes resume within half a second of the database answering again; jitter takes up to half
   * off each delay).
   */
  readonly retryBaseMs?: number
  readonly retryCapMs?: number
  /** How long `stop()` keeps trying to write what is pending before giving up (and logging). */
  readonly stopTimeoutMs?: number
}

export interface StoreStats {
  /** Opportunities recorded but not written yet. */
  pending: number
  /** Opportunity rows upserted (one per opportunity per flush it was pending in). */
  written: number
  /** Transactions committed. */
  transactions: number
  /** Write attempts that failed. */
  failures: number
  /** The last write error while writes fail; null once a write succeeds again. */
  lastError: string | null
  /** When the current run of failed writes began; null while writes succeed. */
  failingSinceMs: number | null
  /** Alert deliveries dropped unsent because their opportunity had closed (see `write`). */
  dropped: number
  /** Events refused by `record()` because they could not be stored (e.g. non-finite numbers). */
  rejected: number
}

export type { OpportunityRecord }

export interface ListOptions {
  /** Exact market (`BTC/USDT`), triangle cycle or cross-quote route (`BTC/USDT>BTC/USD`). */
  readonly symbol?: string | undefined
  /** Either side's venue. */
  readonly venue?: VenueId | undefined
  readonly kind?: OpportunityKind | undefined
  /** Cross-venue routes whose coins can move, cannot, or whose facts are unknown. */
  readonly transfer?: RouteStatus | undefined
  /** Opened at or after this time. */
  readonly sinceMs?: number | undefined
  /** Opened before this time. */
  readonly untilMs?: number | undefined
  /** Best net spread seen (`peakNetBps`) at least this. */
  readonly minNetBps?: number | undefined
  /** Include rows flagged `anomaly` (default false). */
  readonly includeAnomalies?: boolean | undefined
  /** Page size, 1-500 (default 50). */
  readonly limit?: number | undefined
  /** `nextCursor` of the previous page. */
  readonly cursor?: string | undefined
}

export interface OpportunityPage {
  /** Newest first (by `openedAtMs`, then `id`). */
  items: OpportunityRecord[]
  /** Pass as `cursor` for the next page; null on the last page. */
  nextCursor: string | null
}

/** `flush()` could not write everything pending; the rows stay queued and are retried. */
export class StoreError extends Error {
  override name = 'StoreError'
}

/** A `cursor` that is not one this store handed out. */
export class CursorError extends Error {
  override name = 'CursorError'
  constructor(readonly cursor: string) {
    super('invalid cursor')
  }
}

export const DEFAULT_LIMIT = 50
export const MAX_LIMIT = 500
/** Rows per INSERT statement: 30 x 25 columns stays under SQLite's historic 999-parameter limit. */
const ROWS_PER_STATEMENT = 30

/**
 * On conflict, every column but the id takes the newly recorded value: the latest state wins. The
 * opening walk is written once: a stored walk is kept (an update or close never replaces it, nor
 * clears it), and only a row without one takes the recorded walk.
 */
const UPSERT_SET = {
  ...Object.fromEntries(
    Object.entries(getTableColumns(opportunities))
      .filter(([key]) => key !== 'id')
      .map(([key, column]) => [key, sql`excluded.${sql.identifier(column.name)}`]),
  ),
  walk: sql`coalesce(${opportunities.walk}, excluded.${sql.identifier(opportunities.walk.name)})`,
}

const TIMED_OUT = Symbol('timed out')

/** The upsert's condition: the recorded state is at least as new as the stored one. */
const NEWER = sql`excluded.${sql.identifier(opportunities.updatedAtMs.name)} >= ${opportunities.updatedAtMs}`

/** `last_error` of a delivery dropped because its opportunity closed before it was sent. */
export const DROPPED = 'dropped: the opportunity closed before the alert was sent'

/**
 * Persists opportunities without ever making the detector wait for the database.
 *
 * @example
 * ```ts
 * const store = new Store({ db, log })
 * store.start()
 * detector.subscribe((event) => store.record(event))
 * const { items, nextCursor } = await store.listOpportunities({ symbol: 'BTC/USDT' })
 * await store.stop()
 * ```
 */
/** What the store announces: rows that reached the database, and writes failing and recovering. */
export type StoreEvent =
  /** Alert deliveries were committed (with their opportunity); the dispatcher can send them. */
  | { readonly type: 'deliveries-written'; readonly count: number }
  /** Unsent deliveries of opportunities that had closed were dropped (counted in `dropped`). */
  | { readonly type: 'deliveries-dropped'; readonly count: number }
  /** A write failed after writes had been succeeding (once per outage; retries are counted). */
  | { readonly type: 'write-failed'; readonly error: string; readonly pending: number }
  /** A write succeeded again after failures. */
  | { readonly type: 'write-recovered'; readonly failures: number; readonly downMs: number }

export class Store {
  readonly events = new Emitter<StoreEvent>()
  readonly #db: Db
  readonly #log: Logger
  readonly #flushIntervalMs: number
  readonly #maxBatch: number
  readonly #retryBaseMs: number
  readonly #retryCapMs: number
  readonly #stopTimeoutMs: number
  readonly #opportunities = new Pending<NewOpportunityRow>()
  /** Alert deliveries waiting to be written with their opportunity, by opportunity id. */
  readonly #deliveries = new Map<string, NewDeliveryRow[]>()
  /** Kinds of failure already logged in the current outage. */
  readonly #logged = new Set<string>()
  #timer: ReturnType<typeof setTimeout> | undefined
  #running = false
  /** The write in progress; only one runs at a time so rows are written in the order recorded. */
  #busy: Promise<boolean> | undefined
  #consecutiveFailures = 0
  #retryAtMs = 0
  #lastCause: unknown
  #written = 0
  #transactions = 0
  #failures = 0
  #lastError: string | null = null
  #failingSinceMs: number | null = null
  #dropped = 0
  #rejected = 0
  /** A write was asked for now (an opening); it runs as soon as the one in progress ends. */
  #urgent = false

  constructor({
    db,
    log,
    flushIntervalMs = 250,
    maxBatch = 500,
    retryBaseMs = 50,
    retryCapMs = 500,
    stopTimeoutMs = 5_000,
  }: StoreOptions) {
    this.#db = db
    this.#log = log
    this.#flushIntervalMs = flushIntervalMs
    this.#maxBatch = Math.max(1, Math.floor(maxBatch))
    this.#retryBaseMs = retryBaseMs
    this.#retryCapMs = retryCapMs
    this.#stopTimeoutMs = stopTimeoutMs
  }

  get stats(): StoreStats {
    return {
      pending: this.#opportunities.size,
      written: this.#written,
      transactions: this.#transactions,
      failures: this.#failures,
      lastError: this.#lastError,
      failingSinceMs: this.#failingSinceMs,
      dropped: this.#dropped,
      rejected: this.#rejected,
    }
  }

  /**
   * Queues the opportunity's current state. Synchronous, O(1), never throws and never touches the
   * database: the detector calls it on the hot path. A later event for the same id replaces the
   * queued state. An opening, or an event with deliveries, is written as soon as the current
   * task ends (after the write in progress, if any), not at the next flush: an alert is durable
   * before it is sent, without waiting for a timer. Openings of one task share a transaction.
   */
  record(event: OpportunityEvent, deliveries: readonly NewDeliveryRow[] = []): void {
    try {
      const row = toRow(toRecord(event.opportunity))
      if (typeof row === 'string') {
        this.#reject(event.opportunity.id, row)
        return
      }
      this.#opportunities.put(row.id, row)
      if (deliveries.length > 0) {
        const list = this.#deliveries.get(row.id)
        if (list) list.push(...deliveries)
        else this.#deliveries.set(row.id, [...deliveries])
      }
      if (event.type === 'opened' || deliveries.length > 0) this.#writeSoon()
    } catch (err) {
      this.#reject(safeId(event), err instanceof Error ? err.message : String(err))
    }
  }

  /** Starts the background flusher. */
  start(): void {
    if (this.#running) return
    this.#running = true
    this.#schedule(this.#flushIntervalMs)
  }

  /**
   * Writes everything pending now, ignoring any retry delay.
   *
   * @throws StoreError when a write fails (the rows stay queued and are retried).
   */
  async flush(): Promise<void> {
    while (this.#busy) await this.#busy
    if (!(await this.#run())) {
      throw new StoreError(
        `${this.#opportunities.size} opportunities not written yet: ${this.#lastError}`,
        { cause: this.#lastCause },
      )
    }
  }

  /**
   * Stops the background flusher after writing what is pending, retrying for at most
   * `stopTimeoutMs`. Whatever could not be written is logged with its count. Never throws.
   */
  async stop(): Promise<void> {
    this.#running = false
    clearTimeout(this.#timer)
    this.#timer = undefined
    const deadlineMs = Date.now() + this.#stopTimeoutMs
    while (this.#opportunities.size > 0) {
      const leftMs = deadlineMs - Date.now()
      if (leftMs <= 0) break
      if (this.#busy) {
        await within(this.#busy, leftMs)
        continue
      }
      const ok = await within(this.#run(), leftMs)
      if (ok === false) {
        await Bun.sleep(
          Math.max(1, Math.min(this.#retryAtMs - Date.now(), deadlineMs - Date.now())),
        )
      }
    }
    const left = this.#opportunities.size
    if (left > 0) {
      this.#log.error(
        { pending: left, lastError: this.#lastError },
        `store stopped with ${left} opportunities not written`,
      )
    }
  }

  /** Whether the database answers within `timeoutMs`. */
  async ping(timeoutMs = 2_000): Promise<boolean> {
    try {
      return (await within(this.#db.run(sql`select 1`), timeoutMs)) !== TIMED_OUT
    } catch {
      return false
    }
  }

  /**
   * Stored opportunities, newest first, filtered; anomalies only when asked for.
   *
   * @throws CursorError for a cursor this store did not hand out.
   * @example
   * ```ts
   * const filter = { venue: 'some-venue', minNetBps: 5, limit: 100 } as const
   * let page = await store.listOpportunities(filter)
   * while (page.nextCursor) {
   *   page = await store.listOpportunities({ ...filter, cursor: page.nextCursor })
   * }
   * ```
   */
  async listOpportunities({
    symbol,
    venue,
    kind,
    transfer,
    sinceMs,
    untilMs,
    minNetBps,
    includeAnomalies = false,
    limit = DEFAULT_LIMIT,
    cursor,
  }: ListOptions = {}): Promise<OpportunityPage> {
    const t = opportunities
    const size = clampLimit(limit)
    const where: SQL[] = []
    if (symbol !== undefined) where.push(eq(t.symbol, symbol))
    if (kind !== undefined) where.push(eq(t.kind, kind))
    if (transfer !== undefined) where.push(eq(t.transferStatus, transfer))
    if (sinceMs !== undefined) where.push(gte(t.openedAtMs, sinceMs))
    if (untilMs !== undefined) where.push(lt(t.openedAtMs, untilMs))
    if (minNetBps !== undefined) where.push(gte(t.peakNetBps, minNetBps))
    if (!includeAnomalies) where.push(eq(t.anomaly, false))
    if (cursor !== undefined) {
      const after = decodeCursor(cursor)
      where.push(sql`(${t.openedAtMs}, ${t.id}) < (${after.openedAtMs}, ${after.id})`)
    }
    const page = (extra: SQL[]) =>
      this.#db
        .select()
        .from(t)
        .where(and(...where, ...extra))
        .orderBy(desc(t.openedAtMs), desc(t.id))
        .limit(size + 1)
    let rows: OpportunityRow[]
    if (venue === undefined) {
      rows = await page([])
    } else {
      // Either side: two index-ordered queries merged here, instead of one OR query that SQLite
      // answers by sorting every row of the venue.
      const [buys, sells] = await Promise.all([
        page([eq(t.buyVenue, venue)]),
        page([eq(t.sellVenue, venue), ne(t.buyVenue, venue)]),
      ])
      rows = [...buys, ...sells].sort(newestFirst).slice(0, size + 1)
    }
    const items = rows.slice(0, size).map(fromRow)
    const last = items.at(-1)
    return { items, nextCursor: rows.length > size && last ? encodeCursor(last) : null }
  }

  /**
   * Runs another writer's transaction between the store's own writes: two batches on one
   * connection collide ("cannot commit transaction - SQL statements in progress"), so the
   * transfer facts are saved through here. Rejects with `fn`'s error; the store's writes go on.
   */
  async exclusive<T>(fn: () => Promise<T>): Promise<T> {
    while (this.#busy) await this.#busy
    let outcome: { ok: true; value: T } | { ok: false; error: unknown } = {
      ok: false,
      error: new Error('not run'),
    }
    const run: Promise<boolean> = fn()
      .then(
        (value) => ((outcome = { ok: true, value }), true),
        (error: unknown) => ((outcome = { ok: false, error }), false),
      )
      .finally(() => {
        if (this.#busy === run) this.#busy = undefined
        if (this.#urgent) queueMicrotask(() => this.#writeNow())
      })
    this.#busy = run
    await run
    const o = outcome as { ok: true; value: T } | { ok: false; error: unknown }
    if (!o.ok) throw o.error
    return o.value
  }

  /** The chats an opportunity was alerted to, and how each delivery stands. */
  async deliveriesOf(
    id: string,
  ): Promise<{ platform: string; chatId: string; status: string; sentAtMs: number | null }[]> {
    return this.#db
      .select({
        platform: deliveriesTable.platform,
        chatId: deliveriesTable.chatId,
        status: deliveriesTable.status,
        sentAtMs: deliveriesTable.sentAtMs,
      })
      .from(deliveriesTable)
      .where(eq(deliveriesTable.opportunityId, id))
      .orderBy(asc(deliveriesTable.id))
  }

  /** Every stored opportunity opened at or after `sinceMs` (the backtest's history). */
  async opportunitiesSince(sinceMs: number): Promise<OpportunityRecord[]> {
    const rows = await this.#db
      .select()
      .from(opportunities)
      .where(gte(opportunities.openedAtMs, sinceMs))
      .orderBy(desc(opportunities.openedAtMs))
    return rows.map(fromRow)
  }

  /** The opportunities stored as still open (the detector resumes them at start-up). */
  async openOpportunities(): Promise<OpportunityRecord[]> {
    const rows = await this.#db
      .select()
      .from(opportunities)
      .where(isNull(opportunities.closedAtMs))
      .orderBy(desc(opportunities.openedAtMs))
    return rows.map(fromRow)
  }

  /** One stored opportunity, or undefined. */
  async getOpportunity(id: string): Promise<OpportunityRecord | undefined> {
    const rows = await this.#db.select().from(opportunities).where(eq(opportunities.id, id))
    const row = rows[0]
    return row ? fromRow(row) : undefined
  }

  #schedule(delayMs: number): void {
    this.#timer = setTimeout(() => void this.#tick(), delayMs)
    this.#timer.unref?.()
  }

  async #tick(): Promise<void> {
    this.#timer = undefined
    if (!this.#running) return
    if (this.#busy) await this.#busy
    else if (Date.now() >= this.#retryAtMs) await this.#run()
    if (!this.#running || this.#timer !== undefined) return
    this.#schedule(
      this.#consecutiveFailures > 0
        ? Math.max(1, this.#retryAtMs - Date.now())
        : this.#flushIntervalMs,
    )
  }

  /** Asks for a write at the end of the current task (or of the write in progress). */
  #writeSoon(): void {
    if (!this.#running || this.#urgent) return
    this.#urgent = true
    queueMicrotask(() => this.#writeNow())
  }

  /** The write `#writeSoon` asked for, unless one is in progress or writes are being retried. */
  #writeNow(): void {
    if (!this.#urgent || this.#busy || !this.#running) return
    this.#urgent = false
    // While writes fail, the retry timer writes everything pending (openings included).
    if (this.#consecutiveFailures > 0) return
    void this.#run()
  }

  /** Starts a drain; the caller has checked that no write is in progress. Never rejects. */
  #run(): Promise<boolean> {
    const run: Promise<boolean> = this.#drain().finally(() => {
      if (this.#busy === run) this.#busy = undefined
      if (this.#urgent) queueMicrotask(() => this.#writeNow())
    })
    this.#busy = run
    return run
  }

  /** Writes batches until what was pending at the start is written, or a write fails. */
  async #drain(): Promise<boolean> {
    let rounds = Math.ceil(this.#opportunities.size / this.#maxBatch)
    while (rounds-- > 0 && this.#opportunities.size > 0) {
      if (!(await this.#writeBatch())) return false
    }
    return true
  }

  /**
   * One transaction: the opportunities, the deliveries recorded with them, and, for those that
   * have closed, their deliveries still unsent marked `dropped` (an alert is never sent for an
   * opportunity that is already over, e.g. a backlog written after an outage or a chat still
   * waiting out a 429). A delivery claimed for sending is never dropped: the claim and the drop
   * both need `pending`, so exactly one of them wins.
   */
  async #writeBatch(): Promise<boolean> {
    const taken = this.#opportunities.take(this.#maxBatch)
    if (taken.length === 0) return true
    // Deliveries go in the same transaction as their opportunity (and never twice: the unique
    // index on opportunity and chat makes a repeated insert a no-op).
    const deliveries: [string, number][] = []
    const live: NewDeliveryRow[] = []
    const late: NewDeliveryRow[] = []
    const closed: string[] = []
    for (const { id, row } of taken) {
      const over = row.closedAtMs !== null && row.closedAtMs !== undefined
      if (over) closed.push(id)
      const list = this.#deliveries.get(id)
      if (list === undefined) continue
      deliveries.push([id, list.length])
      if (!over) live.push(...list)
      else for (const d of list) late.push({ ...d, status: 'dropped', lastError: DROPPED })
    }
    let dropped = 0
    try {
      const statements: BatchItem<'sqlite'>[] = []
      /** Statements whose returned rows are dropped deliveries. */
      const counted: number[] = []
      for (const rows of chunks(
        taken.map((e) => e.row),
        ROWS_PER_STATEMENT,
      )) {
        statements.push(
          this.#db
            .insert(opportunities)
            .values(rows)
            // A write that timed out may still land later: it never overwrites a newer state.
            .onConflictDoUpdate({ target: opportunities.id, set: UPSERT_SET, setWhere: NEWER }),
        )
      }
      for (const rows of chunks(live, ROWS_PER_STATEMENT)) {
        statements.push(this.#db.insert(deliveriesTable).values(rows).onConflictDoNothing())
      }
      for (const rows of chunks(late, ROWS_PER_STATEMENT)) {
        counted.push(statements.length)
        statements.push(
          this.#db
            .insert(deliveriesTable)
            .values(rows)
            .onConflictDoNothing()
            .returning({ id: deliveriesTable.id }),
        )
      }
      for (const ids of chunks(closed, 100)) {
        counted.push(statements.length)
        statements.push(
          this.#db
            .update(deliveriesTable)
            .set({ status: 'dropped', lastError: DROPPED })
            .where(
              and(
                eq(deliveriesTable.status, 'pending'),
                inArray(deliveriesTable.opportunityId, ids),
              ),
            )
            .returning({ id: deliveriesTable.id }),
        )
      }
      const [first, ...rest] = statements
      const results: unknown[] = first ? await this.#db.batch([first, ...rest]) : []
      for (const i of counted) dropped += (results[i] as unknown[]).length
    } catch (err) {
      this.#failed(err, taken.length)
      return false
    }
    for (const [id, count] of deliveries) {
      const list = this.#deliveries.get(id)!
      list.splice(0, count)
      if (list.length === 0) this.#deliveries.delete(id)
    }
    this.#opportunities.confirm(taken)
    this.#written += taken.length
    this.#transactions++
    this.#dropped += dropped
    if (this.#consecutiveFailures > 0) {
      const failures = this.#consecutiveFailures
      const downMs = Date.now() - (this.#failingSinceMs ?? Date.now())
      this.#log.info(
        { failures, downMs, pending: this.#opportunities.size },
        'database writes recovered',
      )
      this.#consecutiveFailures = 0
      this.#retryAtMs = 0
      this.#lastError = null
      this.#lastCause = undefined
      this.#failingSinceMs = null
      this.#logged.clear()
      this.events.emit({ type: 'write-recovered', failures, downMs })
    }
    if (dropped > 0) {
      this.#log.info({ dropped }, `${dropped} alerts dropped unsent: their opportunity had closed`)
      this.events.emit({ type: 'deliveries-dropped', count: dropped })
    }
    if (live.length > 0) this.events.emit({ type: 'deliveries-written', count: live.length })
    return true
  }

  #failed(err: unknown, rows: number): void {
    this.#failures++
    this.#consecutiveFailures++
    this.#lastCause = err
    this.#lastError = describe(err)
    const stepMs = this.#retryBaseMs * 2 ** Math.min(this.#consecutiveFailures - 1, 30)
    const delayMs = Math.min(this.#retryCapMs, stepMs) * (1 - Math.random() * 0.5)
    this.#retryAtMs = Date.now() + delayMs
    const kind = failureKind(err)
    if (!this.#logged.has(kind)) {
      this.#logged.add(kind)
      this.#log.error(
        { err, kind, rows, pending: this.#opportunities.size, retryInMs: Math.round(delayMs) },
        `database write failed (${kind}); opportunities stay queued and are retried`,
      )
    }
    if (this.#failingSinceMs === null) {
      this.#failingSinceMs = Date.now()
      this.events.emit({
        type: 'write-failed',
        error: this.#lastError,
        pending: this.#opportunities.size,
      })
    }
  }

  #reject(id: string, why: string): void {
    this.#rejected++
    const kind = `rejected:${why.replace(/[\d.]+/g, 'N')}`
    if (this.#logged.has(kind)) return
    this.#logged.add(kind)
    this.#log.error({ id, why }, `opportunity not recorded: ${why}`)
  }
}

interface Taken<T> {
  readonly id: string
  readonly row: T
  readonly version: number
}

/**
 * Rows waiting to be written, keyed by id, oldest first. Putting a row for a queued id replaces it
 * in place; a row leaves only when the version that was written is still the latest.
 */
class Pending<T> {
  readonly #rows = new Map<string, { row: T; version: number }>()
  #version = 0

  get size(): number {
    return this.#rows.size
  }

  put(id: string, row: T): void {
    const entry = this.#rows.get(id)
    if (entry) {
      entry.row = row
      entry.version = ++this.#version
    } else {
      this.#rows.set(id, { row, version: ++this.#version })
    }
  }

  take(max: number): Taken<T>[] {
    const out: Taken<T>[] = []
    for (const [id, entry] of this.#rows) {
      if (out.length >= max) break
      out.push({ id, row: entry.row, version: entry.version })
    }
    return out
  }

  /** Drops what was written; rows that changed meanwhile move to the back to be written again. */
  confirm(written: readonly Taken<T>[]): void {
    for (const { id, version } of written) {
      const entry = this.#rows.get(id)
      if (!entry) continue
      this.#rows.delete(id)
      if (entry.version !== version) this.#rows.set(id, entry)
    }
  }
}

const NUMERIC_KEYS = [
  'openedAtMs',
  'updatedAtMs',
  'sizeQuote',
  'grossBpsOpen',
  'netBpsOpen',
  'grossBps',
  'netBps',
  'profitQuote',
  'maxSizeQuote',
  'maxProfitQuote',
  'buyPrice',
  'sellPrice',
  'feeBps',
  'buyAgeMs',
  'sellAgeMs',
  'peakNetBps',
] as const satisfies readonly (keyof NewOpportunityRow)[]

/**
 * Each opening walk as JSON text, made once: an opportunity's every update and close records the
 * same walk object, and `record()` runs on the detector's hot path.
 */
const walkTexts = new WeakMap<OpeningWalk, string>()

function walkText(walk: OpeningWalk): string {
  let text = walkTexts.get(walk)
  if (text === undefined) {
    text = JSON.stringify(walk)
    walkTexts.set(walk, text)
  }
  return text
}

/** The record as a row (`legs`, `transfer` and `walk` as JSON text), or why it cannot be stored. */
function toRow(record: OpportunityRecord): NewOpportunityRow | string {
  const row = {
    ...record,
    legs: record.legs ? JSON.stringify(record.legs) : null,
    transferStatus: record.transfer?.status ?? null,
    transfer: record.transfer === null ? null : JSON.stringify(record.transfer),
    walk: record.walk === undefined ? null : walkText(record.walk),
  } satisfies NewOpportunityRow
  if (typeof row.id !== 'string' || row.id === '') return 'missing id'
  if (!OPPORTUNITY_KINDS.includes(row.kind)) return `unknown kind ${String(row.kind)}`
  for (const key of NUMERIC_KEYS) {
    if (!Number.isFinite(row[key])) return `${key} is not a finite number`
  }
  if (row.closedAtMs !== null && !Number.isFinite(row.closedAtMs)) {
    return 'closedAtMs is not a finite number'
  }
  return row
}

/**
 * A stored row as the record (`legs` parsed). The dispatcher's queries read through it too.
 * Triangle legs stored before legs carried their venue get the triangle's venue.
 *
 * @param row a row of `opportunities`
 * @returns the same record `toRecord` made when it was stored
 */
export function fromRow(row: OpportunityRow): OpportunityRecord {
  const { transferStatus: _status, ...rest } = row
  return {
    ...rest,
    legs: row.legs === null ? null : parseLegs(row.legs, row.buyVenue),
    transfer: row.transfer === null ? null : (JSON.parse(row.transfer) as RouteTransfer),
    walk: row.walk === null ? undefined : (JSON.parse(row.walk) as OpeningWalk),
  } satisfies OpportunityRecord
}

function parseLegs(text: string, venue: VenueId): RouteLeg[] {
  const legs = JSON.parse(text) as (Omit<RouteLeg, 'venue'> & { venue?: VenueId })[]
  return legs.map((l) => (l.venue === undefined ? { ...l, venue } : (l as RouteLeg)))
}

function newestFirst(a: OpportunityRow, b: OpportunityRow): number {
  if (a.openedAtMs !== b.openedAtMs) return b.openedAtMs - a.openedAtMs
  return a.id < b.id ? 1 : a.id > b.id ? -1 : 0
}

function clampLimit(limit: number): number {
  if (!Number.isFinite(limit)) return DEFAULT_LIMIT
  return Math.min(MAX_LIMIT, Math.max(1, Math.floor(limit)))
}

/** The cursor is the last item's (openedAtMs, id), base64url-encoded JSON. */
function encodeCursor(item: OpportunityRecord): string {
  return Buffer.from(JSON.stringify([item.openedAtMs, item.id])).toString('base64url')
}

function decodeCursor(cursor: string): { openedAtMs: number; id: string } {
  try {
    const value: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'))
    if (
      Array.isArray(value) &&
      value.length === 2 &&
      Number.isSafeInteger(value[0]) &&
      typeof value[1] === 'string'
    ) {
      return { openedAtMs: value[0] as number, id: value[1] }
    }
  } catch {
    // reported below
  }
  throw new CursorError(cursor)
}

/** Settles with the promise's value, or TIMED_OUT after `ms` (the promise keeps running). */
async function within<T>(promise: Promise<T>, ms: number): Promise<T | typeof TIMED_OUT> {
  let timer: ReturnType<typeof setTimeout> | undefined
  const timeout = new Promise<typeof TIMED_OUT>((resolve) => {
    timer = setTimeout(() => resolve(TIMED_OUT), ms)
  })
  try {
    return await Promise.race([promise, timeout])
  } finally {
    clearTimeout(timer)
  }
}

function chunks<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = []
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size))
  return out
}

function failureKind(err: unknown): string {
  if (!(err instanceof Error)) return typeof err
  const code = (err as { code?: unknown }).code
  return typeof code === 'string' ? `${err.name}:${code}` : err.name
}

function describe(err: unknown): string {
  if (!(err instanceof Error)) return String(err)
  const cause = err.cause instanceof Error ? `: ${err.cause.message}` : ''
  return `${err.name}: ${err.message}${cause}`
}

function safeId(event: OpportunityEvent): string {
  try {
    return String(event.opportunity.id)
  } catch {
    return '?'
  }
}
