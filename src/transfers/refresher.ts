/**
 * @module
 * Keeps `TransferFacts` current: each venue with `Venue.transfers` is fetched at start and then
 * every `refreshMs` (stretched by a random jitter, never shortened), through that venue's REST
 * budget, for the assets in use. A failure is recorded (`facts.fail`) and retried with a doubling
 * backoff, never sooner than the venue's `Retry-After`; facts already accepted are kept with their
 * age. A venue whose endpoint is signed and has no credentials is never fetched; its outcome names
 * the env var it needs. `stop()` clears the timers and aborts requests in flight.
 */
import { Emitter } from '../events.ts'
import type { VenueId } from '../types.ts'
import { RestBudget } from '../venues/rest-budget.ts'
import { ExchangeError, type Venue } from '../venues/venue.ts'
import type { TransferFacts } from './facts.ts'
import type { FetchOutcome } from './status.ts'
import type { Credentials, TransferFact } from './types.ts'

/** One venue to refresh: its module, its REST endpoint, the budget its requests go through. */
export interface TransferSource {
  readonly venue: Pick<Venue, 'id' | 'name' | 'transfers'>
  readonly restUrl: string
  /** The venue's shared REST budget (`VenueFeed.budget`), or a plain fetch (tests). */
  readonly budget: RestBudget | typeof fetch
  readonly credentials?: Credentials | undefined
}

export interface TransferRefresherOptions {
  readonly sources: readonly TransferSource[]
  readonly facts: TransferFacts
  /** The assets in use on a venue right now (per-asset venues fetch only these). */
  readonly assets: (venue: VenueId) => readonly string[]
  /** Where fetched facts and outcomes are saved (the database); failures are announced, not fatal. */
  readonly persist?: (
    venue: VenueId,
    facts: readonly TransferFact[] | undefined,
    outcome: FetchOutcome,
  ) => Promise<void> | void
  /** First retry after a failure, doubled each time up to the venue's `refreshMs` (default 30 s). */
  readonly retryMs?: number
  /** Up to this share of `refreshMs` is added at random to every wait (default 0.1). */
  readonly jitter?: number
  readonly now?: () => number
  readonly random?: () => number
}

export type TransferRefresherEvent =
  | {
      readonly type: 'fetched'
      readonly venue: VenueId
      readonly facts: number
      readonly changed: readonly string[]
      readonly atMs: number
      readonly nextInMs: number
    }
  | {
      readonly type: 'failed'
      readonly venue: VenueId
      readonly error: string
      readonly atMs: number
      readonly retryInMs: number
    }
  /** The venue's endpoint is signed and no key is set: it is never fetched. */
  | { readonly type: 'needs-key'; readonly venue: VenueId; readonly envVar: string }
  | { readonly type: 'persist-failed'; readonly venue: VenueId; readonly error: string }

/** The env var holding a venue's read-only key (`binance` → `BINANCE_API_KEY`). */
export const keyEnvVar = (venue: VenueId): string => `${venue.toUpperCase()}_API_KEY`

/**
 * @example
 * ```ts
 * const refresher = new TransferRefresher({
 *   sources: feeds.filter((f) => f.venue.transfers).map((f) => ({
 *     venue: f.venue, restUrl, budget: f.budget, credentials: config.credentials[f.venue.id] })),
 *   facts, assets: () => universe.assets(),
 * })
 * refresher.start()
 * await refresher.stop()
 * ```
 */
export class TransferRefresher {
  readonly events = new Emitter<TransferRefresherEvent>()
  readonly #o: TransferRefresherOptions
  readonly #now: () => number
  readonly #random: () => number
  readonly #timers = new Map<VenueId, ReturnType<typeof setTimeout>>()
  readonly #inFlight = new Set<Promise<void>>()
  #abort: AbortController | undefined

  constructor(options: TransferRefresherOptions) {
    this.#o = options
    this.#now = options.now ?? Date.now
    this.#random = options.random ?? Math.random
  }

  get running(): boolean {
    return this.#abort !== undefined
  }

  /** Fetches every venue now, then keeps refreshing; a second call does nothing. */
  start(): void {
    if (this.#abort) return
    const abort = (this.#abort = new AbortController())
    for (const source of this.#o.sources) {
      const t = source.venue.transfers
      if (t === undefined) continue
      if (t.needsKey && source.credentials === undefined) {
        const envVar = keyEnvVar(source.venue.id)
        this.#o.facts.needsKey(source.venue.id, envVar)
        this.events.emit({ type: 'needs-key', venue: source.venue.id, envVar })
        continue
      }
      this.#run(source, 0, abort.signal)
    }
  }

  /**
   * Fetches one venue now instead of at its next turn (its schedule restarts from this fetch);
   * nothing while stopped, or for a venue that needs a key it lacks.
   */
  refresh(venue: VenueId): void {
    const signal = this.#abort?.signal
    const source = this.#o.sources.find((s) => s.venue.id === venue)
    const t = source?.venue.transfers
    if (signal === undefined || source === undefined || t === undefined) return
    if (t.needsKey && source.credentials === undefined) return
    clearTimeout(this.#timers.get(venue))
    this.#timers.delete(venue)
    this.#run(source, 0, signal)
  }

  /** Stops the timers, aborts the requests in flight and waits for them to settle. */
  async stop(): Promise<void> {
    const abort = this.#abort
    if (!abort) return
    this.#abort = undefined
    for (const t of this.#timers.values()) clearTimeout(t)
    this.#timers.clear()
    abort.abort(new Error('transfer refresher stopped'))
    await Promise.allSettled([...this.#inFlight])
  }

  /** One fetch of one venue, then the next one scheduled. */
  #run(source: TransferSource, failures: number, signal: AbortSignal): void {
    const p = this.#fetchOnce(source, failures, signal).finally(() => this.#inFlight.delete(p))
    this.#inFlight.add(p)
  }

  async #fetchOnce(source: TransferSource, failures: number, signal: AbortSignal): Promise<void> {
    const { venue } = source
    const t = venue.transfers!
    const f = source.budget instanceof RestBudget ? source.budget.fetch : source.budget
    let facts: TransferFact[]
    try {
      facts = await t.fetch(source.restUrl, {
        fetch: f,
        signal,
        assets: this.#o.assets(venue.id),
        nowMs: this.#now(),
        ...(source.credentials === undefined ? {} : { credentials: source.credentials }),
      })
    } catch (err) {
      if (signal.aborted) return
      const atMs = this.#now()
      const error = (err as Error)?.message ?? String(err)
      const retryAfter = err instanceof ExchangeError ? (err.retryAfterMs ?? 0) : 0
      const backoff = Math.min(t.refreshMs, (this.#o.retryMs ?? 30_000) * 2 ** failures)
      const retryInMs = Math.max(retryAfter, this.#jittered(backoff, t.refreshMs))
      this.#o.facts.fail(venue.id, error, atMs)
      this.events.emit({ type: 'failed', venue: venue.id, error, atMs, retryInMs })
      this.#schedule(source, failures + 1, retryInMs, signal)
      await this.#persist(venue.id, undefined)
      return
    }
    if (signal.aborted) return
    const atMs = this.#now()
    const changed = this.#o.facts.replace(venue.id, facts, atMs)
    const nextInMs = this.#jittered(t.refreshMs, t.refreshMs)
    this.events.emit({
      type: 'fetched',
      venue: venue.id,
      facts: facts.length,
      changed,
      atMs,
      nextInMs,
    })
    this.#schedule(source, 0, nextInMs, signal)
    await this.#persist(venue.id, facts)
  }

  #jittered(ms: number, refreshMs: number): number {
    return ms + this.#random() * (this.#o.jitter ?? 0.1) * refreshMs
  }

  #schedule(source: TransferSource, failures: number, inMs: number, signal: AbortSignal): void {
    if (signal.aborted) return
    const id = source.venue.id
    clearTimeout(this.#timers.get(id))
    this.#timers.set(
      id,
      setTimeout(() => {
        this.#timers.delete(id)
        if (!signal.aborted) this.#run(source, failures, signal)
      }, inMs),
    )
  }

  async #persist(venue: VenueId, facts: readonly TransferFact[] | undefined): Promise<void> {
    const persist = this.#o.persist
    const outcome = this.#o.facts.outcome(venue)
    if (persist === undefined || outcome === undefined) return
    try {
      await persist(venue, facts, outcome)
    } catch (err) {
      this.events.emit({
        type: 'persist-failed',
        venue,
        error: (err as Error)?.message ?? String(err),
      })
    }
  }
}
