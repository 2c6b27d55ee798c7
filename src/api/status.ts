/**
 * @module
 * The status view. Per venue, a summary over all of its connections (a venue's markets are
 * sharded over several): connection states, counts of its books by state, feed counters and its
 * REST budget. Per book, on request and paged: its state and top of book, with prices as the
 * venue's own decimal strings.
 */
import type { BookEntry, BookState, Books } from '../book/books.ts'
import type { ConnectionState, ConnectionStats } from '../venues/connection.ts'
import type { RestBudgetStats } from '../venues/rest-budget.ts'
import type { Pair, VenueId } from '../types.ts'

export interface BookStatus {
  state: BookState
  bestBid: string | null
  bestBidQty: string | null
  bestAsk: string | null
  bestAskQty: string | null
  bidLevels: number
  askLevels: number
  resyncs: number
  updates: number
  /** Since the book last changed or was confirmed, ms (null before the first snapshot). */
  ageMs: number | null
  lastResyncReason: string | null
  /** The kind of the last failure that rebuilt the book (checksum, sequence, crossed, ...). */
  lastFailureKind: string | null
  /** Why a book that is not live is not live yet, when there is more to say than "syncing". */
  syncNote: string | null
}

/** One book in the `/api/status` book list. */
export interface BookRow extends BookStatus {
  venue: VenueId
  pair: Pair
}

/**
 * A venue's state over its connections: `connected` when every one is up, `partial` when some
 * are up and some are not, `connecting` when none is up and some are connecting, else `down`.
 */
export type VenueState = ConnectionState | 'partial'

export interface BookCounts {
  total: number
  live: number
  syncing: number
  stale: number
}

/** A venue's REST budget as `/api/status` shows it (`RestBudgetStats`). */
export interface RestStatus {
  requests: number
  /** Most weight this process spent in one window. */
  peakWeight: number
  /** Answers 429 (slow down) and 418 (banned for not slowing down). */
  throttled: number
  banned: number
  /** What the venue last said it had counted, where it says so. */
  venueUsedWeight: number | null
  /** While the venue asked for a pause: until when nothing is sent (else null). */
  pausedUntilMs: number | null
}

export interface VenueStatus {
  state: VenueState
  /** The venue's connections (shards), by state. */
  connections: { total: number; connected: number; connecting: number; down: number }
  /** Markets subscribed over all connections. */
  markets: number
  /** Its books by state. */
  books: BookCounts
  /** Summed over the connections. */
  messages: number
  messagesPerSec: number
  /** Books rebuilt, in total and by kind of failure. */
  resyncs: number
  checksumFailures: number
  sequenceFailures: number
  crossedBooks: number
  /** Books whose top differed from the venue's independent channel of best levels. */
  crossCheckFailures: number
  /** Tops from that channel compared with a book at exactly their sequence, and skipped. */
  crossChecks: { compared: number; skipped: number }
  /** Summed over the connections. */
  reconnects: number
  /** While every connection is up: since the last of them came up (else null). */
  connectedSinceMs: number | null
  /** The most silent connected connection's last message, ms ago (null when none is connected). */
  lastMessageAgeMs: number | null
  /** The worst (highest) latest latency over the connections that report one. */
  latencyMs: number | null
  /** Exchange-to-receive and frame-to-decision latency over the recent window (`VenueLatency`). */
  latencies: VenueLatency
  /** Summed per kind over the connections. */
  errors: Record<string, number>
  /** Pairs asked for that the venue does not list. */
  unlisted: Pair[]
  /** The venue's REST budget, when one is known. */
  rest: RestStatus | null
}

export interface StatusSource {
  readonly venue: VenueId
  readonly stats: ConnectionStats
}

/** The median and 99th percentile of a latency over the recent window, ms, and its samples. */
export interface LatencyPercentiles {
  p50Ms: number
  p99Ms: number
  samples: number
}

/**
 * A venue's latencies over the last `windowMs`, from its book updates (null before any):
 * `exchangeToReceive` is the venue's timestamp to the frame's arrival here (venues that stamp
 * their data; it includes any clock difference), `frameToDecision` is the frame's arrival to the
 * detector having evaluated the update (this process's own work, ms resolution).
 */
export interface VenueLatency {
  windowMs: number
  exchangeToReceive: LatencyPercentiles | null
  frameToDecision: LatencyPercentiles | null
}

/** Over how long `VenueLatency` percentiles are taken. */
export const LATENCY_WINDOW_MS = 60_000
/** Samples kept per venue and kind, the oldest dropped first (bounds memory and the sort). */
const LATENCY_SAMPLES = 1200
/** At most one sample per venue and kind this often, so a busy venue's window still spans time. */
const SAMPLE_EVERY_MS = 50

/** A bounded ring of timed samples. */
class SampleRing {
  readonly #at = new Float64Array(LATENCY_SAMPLES)
  readonly #values = new Float64Array(LATENCY_SAMPLES)
  #next = 0
  #size = 0
  lastMs = -Infinity

  push(atMs: number, value: number): void {
    this.#at[this.#next] = atMs
    this.#values[this.#next] = value
    this.#next = (this.#next + 1) % LATENCY_SAMPLES
    this.#size = Math.min(this.#size + 1, LATENCY_SAMPLES)
    this.lastMs = atMs
  }

  /** Nearest-rank p50 and p99 of the samples taken since `sinceMs` (null when there are none). */
  percentiles(sinceMs: number): LatencyPercentiles | null {
    const values: number[] = []
    for (let i = 0; i < this.#size; i++) if (this.#at[i]! >= sinceMs) values.push(this.#values[i]!)
    if (values.length === 0) return null
    values.sort((a, b) => a - b)
    const rank = (q: number) => values[Math.max(0, Math.ceil(q * values.length) - 1)]!
    return { p50Ms: rank(0.5), p99Ms: rank(0.99), samples: values.length }
  }
}

/**
 * Samples each venue's latencies from its books' updates (`Books` events): the exchange time
 * of an update that carries a new one against the frame's arrival, and the frame's arrival
 * against now. Subscribed after the detector (which `main.ts` starts before the API), it runs
 * once the detector has evaluated the update, so "now" is when the decision was made.
 */
export class LatencyTracker {
  readonly #venues = new Map<VenueId, { exchange: SampleRing; decision: SampleRing }>()
  readonly #lastTs = new WeakMap<BookEntry, number>()
  readonly #clock: () => number
  readonly stop: () => void

  constructor(books: Books, clock: () => number = Date.now) {
    this.#clock = clock
    this.stop = books.events.on((e) => {
      if (e.type === 'update') this.onUpdate(e.entry, e.receivedAtMs)
    })
  }

  /** One book update, received at `receivedAtMs` (local ms) and decided on by now. */
  onUpdate(entry: BookEntry, receivedAtMs: number): void {
    const ts = entry.exchangeTsMs
    // Only an update that brought an exchange time of its own says how old its frame was.
    const stamped = ts !== undefined && this.#lastTs.get(entry) !== ts
    if (stamped) this.#lastTs.set(entry, ts)
    let v = this.#venues.get(entry.venue)
    if (v === undefined) {
      v = { exchange: new SampleRing(), decision: new SampleRing() }
      this.#venues.set(entry.venue, v)
    }
    const now = this.#clock()
    if (now - v.decision.lastMs >= SAMPLE_EVERY_MS) v.decision.push(now, now - receivedAtMs)
    if (stamped && now - v.exchange.lastMs >= SAMPLE_EVERY_MS) {
      v.exchange.push(now, receivedAtMs - ts)
    }
  }

  /** A venue's percentiles over the window ending at `nowMs`. */
  latency(venue: VenueId, nowMs: number): VenueLatency {
    const v = this.#venues.get(venue)
    const since = nowMs - LATENCY_WINDOW_MS
    return {
      windowMs: LATENCY_WINDOW_MS,
      exchangeToReceive: v?.exchange.percentiles(since) ?? null,
      frameToDecision: v?.decision.percentiles(since) ?? null,
    }
  }
}

const trackers = new WeakMap<Books, LatencyTracker>()

/**
 * The latency tracker of `books`, made (and subscribed) on first use: by the first status asked
 * for, so sampling starts then. A test may install one with its own clock first.
 */
export function latencyTracker(books: Books, clock?: () => number): LatencyTracker {
  let t = trackers.get(books)
  if (t === undefined) {
    t = new LatencyTracker(books, clock)
    trackers.set(books, t)
  }
  return t
}

/** A venue's REST budget figures, by venue (each venue's feed has one budget). */
export type BudgetSource = () => Iterable<readonly [VenueId, RestBudgetStats]>

/** A connection's messages per second, 0 once it has been silent for 2 s. */
function ratePerSec(stats: ConnectionStats, nowMs: number): number {
  const silentMs = stats.lastMessageMs !== undefined ? nowMs - stats.lastMessageMs : Infinity
  return silentMs > 2000 ? 0 : stats.messagesPerSec
}

/** The connections grouped by venue, venues in the order they first appear. */
function byVenue(connections: readonly StatusSource[]): Map<VenueId, ConnectionStats[]> {
  const out = new Map<VenueId, ConnectionStats[]>()
  for (const { venue, stats } of connections) {
    const list = out.get(venue)
    if (list === undefined) out.set(venue, [stats])
    else list.push(stats)
  }
  return out
}

/** The state of a venue from its connections' states (see `VenueState`). */
export function venueState(states: Iterable<ConnectionState>): VenueState {
  let total = 0
  let connected = 0
  let connecting = 0
  for (const s of states) {
    total++
    if (s === 'connected') connected++
    else if (s === 'connecting') connecting++
  }
  if (total > 0 && connected === total) return 'connected'
  if (connected > 0) return 'partial'
  return connecting > 0 ? 'connecting' : 'down'
}

/**
 * A venue's books that count for it: every one but those of pairs the venue does not list (a
 * book is registered before the instrument list says so).
 */
function* venueBooks(books: Books, venue: VenueId, stats: readonly ConnectionStats[]) {
  const unlisted = new Set<Pair>()
  for (const s of stats) for (const p of s.unlisted) unlisted.add(p)
  for (const e of books.ofVenue(venue)) {
    if (unlisted.has(e.pair) && !stats.some((s) => s.markets.has(e.pair))) continue
    yield e
  }
}

function countBooks(entries: Iterable<BookEntry>): BookCounts {
  const counts: BookCounts = { total: 0, live: 0, syncing: 0, stale: 0 }
  for (const e of entries) {
    counts.total++
    counts[e.state]++
  }
  return counts
}

function restStatus(b: RestBudgetStats, nowMs: number): RestStatus {
  return {
    requests: b.requests,
    peakWeight: b.peakWeight,
    throttled: b.throttled,
    banned: b.banned,
    venueUsedWeight: b.venueUsedWeight ?? null,
    pausedUntilMs: b.pausedUntilMs > nowMs ? b.pausedUntilMs : null,
  }
}

/**
 * The per-venue summary of `/api/status`: one entry per venue with at least one connection,
 * aggregated over its connections (see `VenueStatus` for how each figure is combined). Costs one
 * pass over the books; no per-book data.
 *
 * @example
 * ```ts
 * buildStatus(feeds.flatMap((f) => f.connections), books, Date.now()).venues.binance?.books.live
 * ```
 */
export function buildStatus(
  connections: readonly StatusSource[],
  books: Books,
  nowMs: number,
  budgets?: BudgetSource,
): { venues: Partial<Record<VenueId, VenueStatus>> } {
  const rest = new Map<VenueId, RestBudgetStats>(budgets?.() ?? [])
  const venues: Partial<Record<VenueId, VenueStatus>> = {}
  for (const [venue, stats] of byVenue(connections)) {
    const conns = { total: stats.length, connected: 0, connecting: 0, down: 0 }
    const errors: Record<string, number> = {}
    const unlisted = new Set<Pair>()
    let messages = 0
    let perSec = 0
    let reconnects = 0
    let markets = 0
    let latencyMs: number | null = null
    let lastMessageAgeMs: number | null = null
    let connectedSinceMs: number | null = null
    for (const s of stats) {
      conns[s.state]++
      messages += s.messages
      perSec += ratePerSec(s, nowMs)
      reconnects += s.reconnects
      markets += s.markets.size
      for (const [kind, n] of Object.entries(s.errors)) errors[kind] = (errors[kind] ?? 0) + n
      for (const p of s.unlisted) unlisted.add(p)
      if (s.latencyMs !== undefined) latencyMs = Math.max(latencyMs ?? -Infinity, s.latencyMs)
      if (s.state === 'connected') {
        if (s.lastMessageMs !== undefined) {
          lastMessageAgeMs = Math.max(lastMessageAgeMs ?? -Infinity, nowMs - s.lastMessageMs)
        }
        if (s.connectedSinceMs !== undefined) {
          connectedSinceMs = Math.max(connectedSinceMs ?? -Infinity, s.connectedSinceMs)
        }
      }
    }
    const state = venueState(stats.map((s) => s.state))
    const resyncs = books.resyncCounts(venue)
    const budget = rest.get(venue)
    venues[venue] = {
      state,
      connections: conns,
      markets,
      books: countBooks(venueBooks(books, venue, stats)),
      messages,
      messagesPerSec: Math.round(perSec * 10) / 10,
      resyncs:
        resyncs.checksum +
        resyncs.sequence +
        resyncs.crossed +
        resyncs['cross-check'] +
        resyncs.other,
      checksumFailures: resyncs.checksum,
      sequenceFailures: resyncs.sequence,
      crossedBooks: resyncs.crossed,
      crossCheckFailures: resyncs['cross-check'],
      crossChecks: books.crossCheckCounts(venue),
      reconnects,
      connectedSinceMs: state === 'connected' ? connectedSinceMs : null,
      lastMessageAgeMs,
      latencyMs,
      latencies: latencyTracker(books).latency(venue, nowMs),
      errors,
      unlisted: [...unlisted],
      rest: budget === undefined ? null : restStatus(budget, nowMs),
    }
  }
  return { venues }
}

/** One book's status at `nowMs`. */
export function bookStatus(e: BookEntry, nowMs: number): BookStatus {
  const bid = e.book.bids[0]
  const ask = e.book.asks[0]
  return {
    state: e.state,
    bestBid: bid?.pxText ?? null,
    bestBidQty: bid?.qtyText ?? null,
    bestAsk: ask?.pxText ?? null,
    bestAskQty: ask?.qtyText ?? null,
    bidLevels: e.book.bids.length,
    askLevels: e.book.asks.length,
    resyncs: e.resyncs,
    updates: e.updates,
    ageMs: e.lastUpdateMs > 0 ? nowMs - e.lastUpdateMs : null,
    lastResyncReason: e.lastResyncReason ?? null,
    lastFailureKind: e.lastFailure?.kind ?? null,
    syncNote: e.state === 'live' ? null : (e.syncNote ?? null),
  }
}

/** Which books `listBooks` returns, and which page of them. */
export interface BookQuery {
  readonly venue?: VenueId
  /** Keeps the books whose pair this accepts. */
  readonly pair?: (pair: Pair) => boolean
  readonly states?: readonly BookState[]
  /** 1-based. */
  readonly page: number
  readonly limit: number
}

/**
 * A page of books matching `query`, ordered by venue (as the connections list them) then pair,
 * and how many match in all. Only the page's books are rendered.
 *
 * @example
 * ```ts
 * listBooks(connections, books, Date.now(), { venue: 'okx', states: ['stale'], page: 1, limit: 50 })
 * ```
 */
export function listBooks(
  connections: readonly StatusSource[],
  books: Books,
  nowMs: number,
  query: BookQuery,
): { total: number; page: number; limit: number; books: BookRow[] } {
  const states = query.states === undefined ? undefined : new Set(query.states)
  const matched: BookEntry[] = []
  for (const [venue, stats] of byVenue(connections)) {
    if (query.venue !== undefined && venue !== query.venue) continue
    const entries: BookEntry[] = []
    for (const e of venueBooks(books, venue, stats)) {
      if (states !== undefined && !states.has(e.state)) continue
      if (query.pair !== undefined && !query.pair(e.pair)) continue
      entries.push(e)
    }
    entries.sort((a, b) => (a.pair < b.pair ? -1 : a.pair > b.pair ? 1 : 0))
    for (const e of entries) matched.push(e)
  }
  const from = (query.page - 1) * query.limit
  return {
    total: matched.length,
    page: query.page,
    limit: query.limit,
    books: matched
      .slice(from, from + query.limit)
      .map((e) => ({ venue: e.venue, pair: e.pair, ...bookStatus(e, nowMs) })),
  }
}

/** One line per venue for the chat `/status`: its state over its connections and its live books. */
export function summarizeVenues(
  connections: readonly StatusSource[],
  books: Books,
): {
  venue: VenueId
  state: VenueState
  liveBooks: number
  books: number
  connections: number
  connected: number
}[] {
  return [...byVenue(connections)].map(([venue, stats]) => {
    const counts = countBooks(venueBooks(books, venue, stats))
    return {
      venue,
      state: venueState(stats.map((s) => s.state)),
      liveBooks: counts.live,
      books: counts.total,
      connections: stats.length,
      connected: stats.filter((s) => s.state === 'connected').length,
    }
  })
}

/** The connections as a list, whether given as one or as a function of the live set. */
export const connectionsOf = (
  source: readonly StatusSource[] | (() => readonly StatusSource[]),
): readonly StatusSource[] => (typeof source === 'function' ? source() : source)
