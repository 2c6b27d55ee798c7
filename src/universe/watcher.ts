/**
 * @module
 * Keeps the universe current: reads every enabled venue's instrument list (and, for
 * `MAX_MARKETS`, its 24 h tickers) through that venue's REST budget, decides the markets
 * (universe.ts), and hands each venue feed its share. It does so at start and then every
 * `refreshMs`: a newly listed market is picked up and a delisted or halted one dropped, each with a
 * log line, without a restart. A venue whose list cannot be read keeps its last one (and is asked
 * again sooner); one never read yet takes part from its first answer.
 */
import { Emitter } from '../events.ts'
import type { Logger } from '../log.ts'
import type { Pair, VenueId } from '../types.ts'
import { backoffMs, sleep } from '../venues/connection.ts'
import type { VenueFeed } from '../venues/feed.ts'
import { selectUniverse, type Listing, type Universe, type UniverseRules } from './universe.ts'

export type UniverseEvent =
  /** The universe was decided (first time, or it changed); `added`/`removed` per venue. */
  | {
      readonly type: 'changed'
      readonly universe: Universe
      readonly added: readonly { readonly venue: VenueId; readonly pair: Pair }[]
      readonly removed: readonly {
        readonly venue: VenueId
        readonly pair: Pair
        readonly why: string
      }[]
    }
  /** A venue's instrument list (or tickers) could not be read; its last listing stays. */
  | { readonly type: 'listing-failed'; readonly venue: VenueId; readonly message: string }

export interface UniverseWatcherOptions {
  readonly feeds: readonly VenueFeed[]
  readonly rules: UniverseRules
  /** How often the instrument lists are read again (ms). */
  readonly refreshMs: number
  readonly log: Logger
  /** How long one venue's listing may take before it counts as failed (default 30 s). */
  readonly requestTimeoutMs?: number
  /**
   * Whether this process keeps the books of a venue (default: every feed's). A feed it does not
   * keep only lends its instrument list to the decision: an ingest shard decides the universe
   * over every venue so it picks the markets one process would, and subscribes to its own.
   */
  readonly keeps?: (venue: VenueId) => boolean
}

export class UniverseWatcher {
  readonly events = new Emitter<UniverseEvent>()
  readonly #o: UniverseWatcherOptions
  readonly #log: Logger
  readonly #abort = new AbortController()
  readonly #listings = new Map<VenueId, Listing>()
  #current: Universe | undefined
  #running: Promise<void> | undefined
  #failures = 0

  constructor(options: UniverseWatcherOptions) {
    this.#o = options
    this.#log = options.log.child({ component: 'universe' })
  }

  /** The universe as last decided (undefined before the first listing answered). */
  get current(): Universe | undefined {
    return this.#current
  }

  /** The markets compared across venues now (empty before the first decision). */
  get markets(): readonly Pair[] {
    return this.#current?.markets ?? []
  }

  /** Reads the listings now and then on schedule; resolves after the first pass. */
  start(): Promise<unknown> {
    if (this.#running !== undefined) return Promise.resolve()
    const first = this.refresh()
    this.#running = first.then(() => this.#loop())
    return first
  }

  async stop(): Promise<void> {
    this.#abort.abort()
    await this.#running
  }

  /** One pass: read every venue's listing, decide, hand each feed its markets. */
  async refresh(): Promise<Universe | undefined> {
    const signal = this.#abort.signal
    const timeoutMs = this.#o.requestTimeoutMs ?? 30_000
    const wantVolumes = this.#o.rules.symbols === 'auto' && this.#o.rules.maxMarkets !== undefined
    let failed = false
    await Promise.all(
      this.#o.feeds.map(async (feed) => {
        const id = feed.venue.id
        const each = AbortSignal.any([signal, AbortSignal.timeout(timeoutMs)])
        try {
          const markets = await feed.listMarkets(each)
          const volumes = wantVolumes ? await feed.fetchVolumes(each) : undefined
          this.#listings.set(id, { markets, volumes, distinctAssets: feed.venue.distinctAssets })
        } catch (err) {
          if (signal.aborted) return
          failed = true
          const message = err instanceof Error ? err.message : String(err)
          const kept = this.#listings.has(id)
            ? 'keeping its last list'
            : 'not watched until it answers'
          this.#log.warn(
            { venue: id },
            `cannot read ${feed.venue.name}'s markets (${message}); ${kept}`,
          )
          this.events.emit({ type: 'listing-failed', venue: id, message })
        }
      }),
    )
    this.#failures = failed ? this.#failures + 1 : 0
    if (signal.aborted || this.#listings.size === 0) return this.#current
    const next = selectUniverse(this.#listings, this.#o.rules)
    this.#apply(next)
    return next
  }

  async #loop(): Promise<void> {
    const signal = this.#abort.signal
    while (!signal.aborted) {
      // After a failed read, ask again sooner (with backoff), but never later than the schedule.
      const wait =
        this.#failures > 0
          ? Math.min(this.#o.refreshMs, backoffMs(this.#failures, 2_000, 60_000))
          : this.#o.refreshMs
      await sleep(wait, signal)
      if (!signal.aborted) await this.refresh()
    }
  }

  #apply(next: Universe): void {
    const before = this.#current
    const added: { venue: VenueId; pair: Pair }[] = []
    const removed: { venue: VenueId; pair: Pair; why: string }[] = []
    for (const feed of this.#o.feeds) {
      const id = feed.venue.id
      const was = before?.perVenue.get(id) ?? new Map<Pair, string>()
      const now = next.perVenue.get(id) ?? new Map<Pair, string>()
      const listed = this.#listings.get(id)?.markets
      const gone: Pair[] = []
      for (const pair of was.keys()) {
        if (now.has(pair)) continue
        const why =
          listed !== undefined && !listed.has(pair)
            ? `no longer trading on ${feed.venue.name}`
            : 'no longer common to enough venues'
        removed.push({ venue: id, pair, why })
        gone.push(pair)
        this.#log.info({ venue: id, pair }, `${pair} dropped on ${feed.venue.name}: ${why}`)
      }
      const fresh = [...now.keys()].filter((p) => !was.has(p))
      for (const pair of fresh) added.push({ venue: id, pair })
      if (before !== undefined && fresh.length > 0) {
        const some = fresh.slice(0, 5).join(', ')
        this.#log.info(
          { venue: id, added: fresh.length },
          `${feed.venue.name}: now watching ${fresh.length} more market(s) (${some}${fresh.length > 5 ? ', ...' : ''})`,
        )
      }
      const reason = gone.length === 1 ? removed[removed.length - 1]!.why : 'left the universe'
      const rules = this.#o.rules
      const unlisted =
        rules.symbols === 'auto' || listed === undefined
          ? []
          : rules.symbols.filter((p) => !now.has(p))
      if (this.#o.keeps?.(id) ?? true) feed.setMarkets(now, reason, unlisted)
    }
    this.#current = next
    if (before === undefined) {
      const counts = this.#o.feeds.map(
        (f) => `${f.venue.id} ${next.perVenue.get(f.venue.id)?.size ?? 0}`,
      )
      this.#log.info(
        { markets: next.markets.length },
        `watching ${next.markets.length} market(s): ${counts.join(', ')}`,
      )
    }
    if (before === undefined || added.length > 0 || removed.length > 0) {
      this.events.emit({ type: 'changed', universe: next, added, removed })
    }
  }
}
