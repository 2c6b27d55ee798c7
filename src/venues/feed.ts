/**
 * @module
 * One venue's whole feed: its markets sharded over as many connections as the venue's limits
 * require (`limits.marketsPerConnection`), each shard a `Connection` with its own `BookSync`, all
 * sharing the venue's REST budget, its connection-rate window (`limits.connects`: first
 * connections and reconnects alike wait for a slot) and, where the venue counts frames per IP,
 * its outbound frame window (`limits.sendPerSecondPerIp`). The market set can change while running
 * (`setMarkets`, from the universe): only the shards whose markets changed are rebuilt, so a
 * listing or delisting, like a reconnect, touches only that shard's books.
 */
import type { Books } from '../book/books.ts'
import { BookSync, type BookSyncOptions } from '../book/sync.ts'
import { Emitter } from '../events.ts'
import type { Logger } from '../log.ts'
import type { Pair } from '../types.ts'
import { Connection, type ConnectionOptions } from './connection.ts'
import { RateWindow, RestBudget } from './rest-budget.ts'
import type { Venue } from './venue.ts'

/** What a feed announces. */
export type FeedEvent =
  /** A shard was started with these markets (at start, or rebuilt after the market set changed). */
  | { readonly type: 'shard-started'; readonly connection: Connection; readonly markets: number }
  /** A shard was stopped (its markets moved or left). */
  | { readonly type: 'shard-stopped'; readonly connection: Connection; readonly why: string }

export interface VenueFeedOptions {
  readonly venue: Venue
  readonly wsUrl: string
  readonly restUrl: string
  readonly books: Books
  readonly log: Logger
  readonly fetch?: typeof fetch
  /** Overrides the venue's `marketsPerConnection` (tests). */
  readonly marketsPerConnection?: number
  /** Passed to every shard's connection (backoff, idle timeout). */
  readonly connection?: Pick<ConnectionOptions, 'backoffBaseMs' | 'backoffCapMs' | 'idleTimeoutMs'>
  /** Passed to every shard's book sync (timeouts, buffer, metrics). */
  readonly sync?: Pick<
    BookSyncOptions,
    'snapshotTimeoutMs' | 'backoffBaseMs' | 'backoffCapMs' | 'maxBuffer' | 'onFrameApplied'
  >
}

interface Shard {
  readonly n: number
  readonly markets: ReadonlyMap<Pair, string>
  readonly connection: Connection
  readonly sync: BookSync
}

/**
 * @example
 * ```ts
 * const feed = new VenueFeed({ venue: binance, wsUrl, restUrl, books, log })
 * feed.setMarkets(await feed.listMarkets(signal))
 * feed.start()
 * ```
 */
export class VenueFeed {
  readonly venue: Venue
  readonly events = new Emitter<FeedEvent>()
  /** The venue's REST budget per IP: instrument lists, tickers and every shard's snapshots. */
  readonly budget: RestBudget
  readonly #o: VenueFeedOptions
  readonly #log: Logger
  readonly #connects: RateWindow
  readonly #sends: RateWindow | undefined
  readonly #perShard: number
  #shards: Shard[] = []
  #markets = new Map<Pair, string>()
  #unlisted: readonly Pair[] = []
  #nextShard = 1
  #started = false
  #stopped = false
  /** Shard rebuilds run one after another. */
  #work: Promise<void> = Promise.resolve()

  constructor(options: VenueFeedOptions) {
    this.#o = options
    this.venue = options.venue
    this.#log = options.log.child({ venue: options.venue.id })
    const limits = options.venue.limits
    this.budget = new RestBudget(limits.rest, { fetch: options.fetch ?? fetch })
    this.#connects = new RateWindow(limits.connects.count, limits.connects.windowMs)
    const perIp = limits.sendPerSecondPerIp
    this.#sends = perIp === undefined ? undefined : new RateWindow(perIp, 1000)
    this.#perShard = Math.max(1, options.marketsPerConnection ?? limits.marketsPerConnection)
  }

  /** Every shard's connection, in shard order. */
  get connections(): readonly Connection[] {
    return this.#shards.map((s) => s.connection)
  }

  /** Markets the user listed that this venue does not trade. */
  get unlisted(): readonly Pair[] {
    return this.#unlisted
  }

  /** The markets this feed keeps, unified → native. */
  get markets(): ReadonlyMap<Pair, string> {
    return this.#markets
  }

  /** The venue's trading markets, read through its REST budget. */
  listMarkets(signal: AbortSignal): Promise<Map<Pair, string>> {
    return this.venue.listMarkets(this.#o.restUrl, { fetch: this.budget.fetch, signal })
  }

  /** 24 h volumes per market (undefined where the venue module has no ticker endpoint). */
  async fetchVolumes(signal: AbortSignal): Promise<Map<Pair, number> | undefined> {
    return this.venue.fetchVolumes?.(this.#o.restUrl, { fetch: this.budget.fetch, signal })
  }

  /**
   * Makes the feed keep exactly these markets. Markets that left are dropped from the books
   * (`reason` says why); shards that lost or gained markets are rebuilt, others are untouched.
   * New markets fill shards that are rebuilt anyway, then shards with room, then new shards.
   */
  setMarkets(
    markets: ReadonlyMap<Pair, string>,
    reason = 'no longer watched',
    unlisted: readonly Pair[] = [],
  ): void {
    this.#unlisted = unlisted
    const removed = new Set<Pair>()
    for (const [pair, native] of this.#markets) if (markets.get(pair) !== native) removed.add(pair)
    const added: [Pair, string][] = []
    for (const [pair, native] of markets) {
      if (this.#markets.get(pair) !== native) added.push([pair, native])
    }
    if (removed.size === 0 && added.length === 0) return
    this.#markets = new Map(markets)

    // The new market set of every shard, and which shards change.
    const plan = this.#shards.map((s) => ({
      shard: s as Shard | undefined,
      markets: new Map([...s.markets].filter(([p]) => !removed.has(p))),
      changed: [...s.markets.keys()].some((p) => removed.has(p)),
    }))
    const room = (p: (typeof plan)[number]) => this.#perShard - p.markets.size
    const place = (targets: typeof plan) => {
      for (const p of targets) {
        while (added.length > 0 && room(p) > 0) {
          const [pair, native] = added.shift()!
          p.markets.set(pair, native)
          p.changed = true
        }
      }
    }
    place(plan.filter((p) => p.changed))
    place([...plan].filter((p) => !p.changed && room(p) > 0).sort((a, b) => room(b) - room(a)))
    while (added.length > 0) {
      const p = { shard: undefined, markets: new Map<Pair, string>(), changed: true }
      place([p])
      plan.push(p)
    }

    const next: Shard[] = []
    const rebuilds: { old: Shard | undefined; next: Shard | undefined }[] = []
    for (const p of plan) {
      if (!p.changed) {
        next.push(p.shard!)
        continue
      }
      const fresh = p.markets.size === 0 ? undefined : this.#shard(p.markets, p.shard?.n)
      if (fresh !== undefined) next.push(fresh)
      rebuilds.push({ old: p.shard, next: fresh })
    }
    this.#shards = next
    const gone = [...removed].filter((p) => !markets.has(p))
    this.#work = this.#work.then(async () => {
      for (const { old } of rebuilds)
        if (old !== undefined) await this.#retire(old, 'markets changed')
      // Books that left are dropped once their shard no longer feeds them.
      if (gone.length > 0) this.#o.books.remove(this.venue.id, gone, reason)
      for (const { next: s } of rebuilds) if (s !== undefined && this.#started) this.#begin(s)
    })
  }

  /** Starts every shard (connections open paced by the venue's connection-rate limit). */
  start(): void {
    if (this.#started || this.#stopped) return
    this.#started = true
    void this.#work.then(() => {
      for (const s of this.#shards) this.#begin(s)
    })
  }

  /** Waits until shard rebuilds asked for so far are done (tests, benchmarks). */
  settled(): Promise<void> {
    return this.#work
  }

  async stop(): Promise<void> {
    this.#stopped = true
    this.#started = false
    await this.#work
    await Promise.all(this.#shards.map((s) => this.#retire(s, 'stopping')))
    this.#shards = []
  }

  #shard(markets: ReadonlyMap<Pair, string>, n = this.#nextShard++): Shard {
    const o = this.#o
    const label = `${this.venue.id}#${n}`
    const connection = new Connection({
      ...o.connection,
      venue: this.venue,
      wsUrl: o.wsUrl,
      restUrl: o.restUrl,
      // The first shard also names what the user asked for and the venue does not list (status).
      pairs: n === 1 ? [...markets.keys(), ...this.#unlisted] : [...markets.keys()],
      markets,
      fetch: this.budget.fetch,
      log: o.log,
      label,
      beforeConnect: (signal) => this.#connects.take(1, signal),
      sendWindow: this.#sends,
    })
    const sync = new BookSync({
      ...o.sync,
      connection,
      books: o.books,
      log: o.log,
      budget: this.budget,
    })
    return { n, markets, connection, sync }
  }

  #begin(s: Shard): void {
    if (this.#stopped) return
    s.sync.start()
    s.connection.start()
    this.#log.debug({ shard: s.connection.label, markets: s.markets.size }, 'shard started')
    this.events.emit({ type: 'shard-started', connection: s.connection, markets: s.markets.size })
  }

  async #retire(s: Shard, why: string): Promise<void> {
    // The sync still listens while the socket closes, so its live books are marked stale first.
    await s.connection.stop()
    s.sync.stop()
    this.events.emit({ type: 'shard-stopped', connection: s.connection, why })
  }
}
