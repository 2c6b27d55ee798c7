/**
 * @module
 * Book synchronisation, owned here and nowhere else: for one venue's connection it decides when a
 * book needs a snapshot and gets it (a REST fetch within the venue's budget, or a resubscribe on
 * the socket), buffers updates meanwhile, aligns the snapshot with them, applies every update by
 * the venue's sequence rule, verifies checksums and crossed books, and resyncs just the book that
 * broke. The rules themselves (`applySnapshot`, `applyUpdate`) are pure functions of a book entry.
 *
 * Rules that real sessions showed to matter:
 * - a book never goes live at a sequence below the latest update it has received: the update
 *   that reveals a gap stays buffered, and a REST snapshot too old to join the buffer is fetched
 *   again (a recorded real session answered with a snapshot older than the stream);
 * - a REST snapshot older than the live book it would replace is discarded (a late answer to a
 *   repeated request must not rewind the book);
 * - a chain venue's REST snapshot without a sequence id cannot be aligned, and says so;
 * - where the venue has an independent channel for its best levels (a ticker stream), the book
 *   is compared with it only when live and exactly at that channel's sequence: the latest top is
 *   held per book until the book reaches its sequence and dropped once the book passes it
 *   (bookTicker `u` is a single update id, often inside a 100 ms diff batch, so many never match);
 *   where the venue's book messages carry a cross sequence (`crossSeq`) the book's
 *   comparable sequence is the `crossSeq` of its last applied message, else its `lastSeq`.
 */
import type { Logger } from '../log.ts'
import type { Level, Pair } from '../types.ts'
import { backoffMs, type Connection, type ConnectionEvent } from '../venues/connection.ts'
import { RestBudget } from '../venues/rest-budget.ts'
import {
  ParseError,
  type DeltaEvent,
  type SnapshotEvent,
  type SyncRules,
  type TopEvent,
  type Venue,
  type VenueEvent,
} from '../venues/venue.ts'
import {
  applyDelta,
  applySnapshot as replaceBook,
  clearBook,
  isCrossed,
  truncateBook,
} from './book.ts'
import type { BookEntry, BookFailure, Books } from './books.ts'

/** What a rule decided about one message. */
export type SyncOutcome =
  /** Applied; the book is live at the new state. */
  | { readonly kind: 'applied' }
  /** Nothing to apply (already in the book, or superseded by the coming snapshot). */
  | { readonly kind: 'ignored' }
  /** Held until a snapshot arrives (REST venues). */
  | { readonly kind: 'buffered' }
  /** A snapshot older than the live book it would replace: dropped, the book stays as it is. */
  | { readonly kind: 'discarded'; readonly why: string }
  /** The snapshot cannot be used; the book keeps what it has and another is needed. */
  | { readonly kind: 'refetch'; readonly why: string }
  /** The book is broken: resync it. */
  | Failed

type Failed = { readonly kind: 'failed'; readonly failure: BookFailure }

/** What the cross-check decided about a top from the venue's independent channel. */
export type TopOutcome =
  /** Compared with the book at exactly its sequence, and equal. */
  | { readonly kind: 'matched' }
  /** Held until the book reaches its sequence (the latest one per book). */
  | { readonly kind: 'pending' }
  /** Never comparable: the book is already past its sequence. */
  | { readonly kind: 'skipped' }
  /** The book's top differs from the venue's at the same sequence: resync it. */
  | Failed

/** Updates older than a fresh snapshot tolerated in a row before the book resyncs. */
const MAX_BEHIND_RUN = 100

const APPLIED: SyncOutcome = Object.freeze({ kind: 'applied' })
const IGNORED: SyncOutcome = Object.freeze({ kind: 'ignored' })
const BUFFERED: SyncOutcome = Object.freeze({ kind: 'buffered' })
const MATCHED: TopOutcome = Object.freeze({ kind: 'matched' })
const PENDING: TopOutcome = Object.freeze({ kind: 'pending' })
const SKIPPED: TopOutcome = Object.freeze({ kind: 'skipped' })

/**
 * Applies a snapshot to a book under the venue's rules. `fromRest` snapshots were fetched
 * beside the stream and must be aligned with the buffered updates; socket snapshots are in the
 * stream's own order and always replace the book.
 */
export function applySnapshot(
  e: BookEntry,
  rules: SyncRules,
  ev: SnapshotEvent,
  fromRest: boolean,
): SyncOutcome {
  const buf = e.buffer
  let firstKept = 0
  if (fromRest) {
    if (e.hasSnapshot) {
      // The stream already keeps this book (a socket snapshot, or an earlier answer): a REST answer
      // arriving now is at best as new and usually older (a late answer to a repeated request).
      const why =
        ev.seq !== undefined && e.lastSeq !== undefined
          ? `snapshot at ${ev.seq} arrived for a book already at ${e.lastSeq}`
          : 'snapshot arrived for a book the stream already keeps'
      return { kind: 'discarded', why }
    }
    if (rules.sequence !== 'none' && ev.seq === undefined) {
      return { kind: 'refetch', why: 'the REST snapshot carries no sequence id to align it with' }
    }
    if (ev.seq !== undefined && rules.sequence === 'stamp') {
      // The buffer holds every diff since the subscription; a snapshot stamped before the first of
      // them may miss diffs from before it (never seen on recorded real sessions, where the
      // snapshot is seconds newer, but a stale cache can answer so).
      const first = buf.find((d) => d.seq !== undefined && d.seq > 0)
      if (first !== undefined && ev.seq < first.seq!) {
        return { kind: 'refetch', why: `snapshot at ${ev.seq} is older than diff ${first.seq}` }
      }
    }
    if (ev.seq !== undefined) {
      while (firstKept < buf.length && (buf[firstKept]!.seq ?? Infinity) <= ev.seq) firstKept++
      const first = buf[firstKept]
      if (rules.sequence === 'chain' && first?.prevSeq !== undefined && first.prevSeq > ev.seq) {
        buf.splice(0, firstKept)
        return {
          kind: 'refetch',
          why: `snapshot at ${ev.seq} is older than update ${first.prevSeq + 1}`,
        }
      }
      if (first === undefined && e.lastSeenSeq !== undefined && ev.seq < e.lastSeenSeq) {
        buf.length = 0
        return {
          kind: 'refetch',
          why: `snapshot at ${ev.seq} is older than update ${e.lastSeenSeq}`,
        }
      }
    }
  }
  replaceBook(e.book, ev.bids, ev.asks)
  if (rules.maxDepth !== undefined) truncateBook(e.book, rules.maxDepth)
  e.lastSeq = ev.seq
  e.crossSeq = ev.crossSeq
  e.hasSnapshot = true
  e.aligned = false
  e.behindRun = 0
  e.syncNote = undefined
  if (ev.exchangeTsMs !== undefined) e.exchangeTsMs = ev.exchangeTsMs
  const bad = check(e, rules, ev.checksum)
  if (bad !== undefined) return bad
  for (let i = firstKept; i < buf.length; i++) {
    const outcome = placeUpdate(e, rules, buf[i]!)
    if (outcome.kind === 'failed') return outcome
  }
  buf.length = 0
  return APPLIED
}

/** Applies one update to a book under the venue's rules (buffering it while there is no book). */
export function applyUpdate(
  e: BookEntry,
  rules: SyncRules,
  ev: DeltaEvent,
  maxBuffer: number,
): SyncOutcome {
  if (ev.seq !== undefined) e.lastSeenSeq = ev.seq
  if (!e.hasSnapshot) {
    if (rules.snapshot === 'ws') return IGNORED // the socket snapshot on its way supersedes it
    if (e.buffer.length >= maxBuffer) e.buffer.shift()
    e.buffer.push(ev)
    return BUFFERED
  }
  return placeUpdate(e, rules, ev)
}

/** Sequencing, then the levels, then the checks. */
function placeUpdate(e: BookEntry, rules: SyncRules, ev: DeltaEvent): SyncOutcome {
  const last = e.lastSeq
  if (ev.seq !== undefined && last !== undefined) {
    if (rules.sequence === 'stamp' || ev.prevSeq === undefined) {
      if (ev.seq <= last) return IGNORED // at or before the snapshot: already in it
    } else if (rules.sequence === 'chain') {
      if (!e.aligned) {
        // The first update after a snapshot may straddle it; older ones are already in it.
        if (ev.seq <= last && ev.prevSeq < last) {
          // A REST snapshot a little ahead of the stream makes a few of these; a run of them means
          // the venue's sequence went back without the update that said so (a lost reset).
          if (++e.behindRun <= MAX_BEHIND_RUN) return IGNORED
          const detail = `${MAX_BEHIND_RUN} updates in a row behind the snapshot at ${last}`
          return failed(e, 'sequence', last, ev.seq, detail)
        }
        if (ev.prevSeq > last) return gap(e, last, ev.prevSeq)
      } else if (ev.prevSeq !== last) {
        if (ev.prevSeq > last) return gap(e, last, ev.prevSeq)
        return failed(
          e,
          'sequence',
          last,
          ev.prevSeq,
          `sequence went back: after ${last} came one following ${ev.prevSeq}`,
        )
      }
    }
  }
  applyDelta(e.book, ev.bids, ev.asks)
  if (rules.maxDepth !== undefined) truncateBook(e.book, rules.maxDepth)
  if (ev.seq !== undefined) e.lastSeq = ev.seq
  e.crossSeq = ev.crossSeq
  e.aligned = true
  if (ev.exchangeTsMs !== undefined) e.exchangeTsMs = ev.exchangeTsMs
  return check(e, rules, ev.checksum) ?? APPLIED
}

/**
 * Places a top from the venue's independent channel against a book: compared at once when the book
 * is live and exactly at its sequence, skipped when the book is past it, else held as the book's
 * pending top (replacing any older one) until `settleTop` finds the book there.
 */
export function placeTop(e: BookEntry, ev: TopEvent): TopOutcome {
  const last = topSeq(e)
  if (e.state === 'live' && last !== undefined) {
    if (ev.seq === last) return compareTop(e, ev)
    if (ev.seq < last) return SKIPPED
  }
  e.pendingTop = ev
  return PENDING
}

/**
 * After a live book moved: compares its pending top if the book is exactly at that sequence, drops
 * it if the book passed it. Undefined when there is nothing to decide yet.
 */
export function settleTop(e: BookEntry): TopOutcome | undefined {
  const top = e.pendingTop
  const last = topSeq(e)
  if (top === undefined || e.state !== 'live' || last === undefined || last < top.seq) return
  e.pendingTop = undefined
  return last === top.seq ? compareTop(e, top) : SKIPPED
}

/** The sequence a top is compared at: the venue's cross sequence where it sends one. */
const topSeq = (e: BookEntry): number | undefined => e.crossSeq ?? e.lastSeq

function compareTop(e: BookEntry, ev: TopEvent): TopOutcome {
  const bid = e.book.bids[0]
  const ask = e.book.asks[0]
  let side: string
  if (!sameLevel(bid, ev.bid)) side = 'bid'
  else if (!sameLevel(ask, ev.ask)) side = 'ask'
  else return MATCHED
  const venue = levelText(side === 'bid' ? ev.bid : ev.ask)
  const book = levelText(side === 'bid' ? bid : ask)
  const detail = `cross-check at ${ev.seq}: venue best ${side} ${venue}, book ${book}`
  return failed(e, 'cross-check', venue, book, detail)
}

const sameLevel = (a: Level | undefined, b: Level | undefined): boolean =>
  a === undefined || b === undefined ? a === b : a.px === b.px && a.qty === b.qty

const levelText = (l: Level | undefined): string =>
  l === undefined ? 'none' : `${l.pxText} x ${l.qtyText}`

const gap = (e: BookEntry, expected: number, got: number): SyncOutcome =>
  failed(e, 'sequence', expected, got, `sequence gap: expected ${expected}, got ${got}`)

function failed(
  e: BookEntry,
  kind: BookFailure['kind'],
  expected: number | string | undefined,
  got: number | string | undefined,
  detail: string,
): Failed {
  return { kind: 'failed', failure: { kind, venue: e.venue, pair: e.pair, expected, got, detail } }
}

function check(
  e: BookEntry,
  rules: SyncRules,
  checksum: number | undefined,
): SyncOutcome | undefined {
  if (checksum !== undefined && rules.checksum !== undefined) {
    const mine = rules.checksum(e.book)
    if (mine !== checksum) {
      return failed(
        e,
        'checksum',
        checksum,
        mine,
        `checksum mismatch: venue ${checksum}, book ${mine}`,
      )
    }
  }
  if (isCrossed(e.book)) {
    const bid = e.book.bids[0]!.pxText
    const ask = e.book.asks[0]!.pxText
    return failed(e, 'crossed', ask, bid, `crossed book: bid ${bid} >= ask ${ask}`)
  }
  return undefined
}

export interface BookSyncOptions {
  readonly connection: Connection
  readonly books: Books
  readonly log: Logger
  /** A snapshot asked for and not received within this long is asked for again (default 10 s). */
  readonly snapshotTimeoutMs?: number
  /** Backoff for failed snapshot requests (defaults: the connection's 500 ms → 30 s). */
  readonly backoffBaseMs?: number
  readonly backoffCapMs?: number
  /** Most updates buffered per book while waiting for a REST snapshot. */
  readonly maxBuffer?: number
  /** Told how long applying each frame's events took, seconds (metrics; includes listeners). */
  readonly onFrameApplied?: (seconds: number) => void
  /** The venue's REST budget, shared by every connection to it (default: this sync's own). */
  readonly budget?: RestBudget
}

interface Pending {
  readonly atMs: number
  readonly epoch: number
}

/**
 * Keeps one venue's books exact from its connection's events.
 *
 * @example
 * ```ts
 * const sync = new BookSync({ connection, books, log })
 * sync.start()
 * connection.start()
 * ```
 */
export class BookSync {
  readonly #conn: Connection
  readonly #venue: Venue
  readonly #rules: SyncRules
  readonly #books: Books
  readonly #entries: ReadonlyMap<Pair, BookEntry>
  readonly #log: Logger
  readonly #timeoutMs: number
  readonly #baseMs: number
  readonly #capMs: number
  readonly #maxBuffer: number
  readonly #onFrameApplied: ((seconds: number) => void) | undefined
  readonly #pending = new Map<Pair, Pending>()
  /** Books waiting for a REST request slot, in order. */
  readonly #queue = new Set<Pair>()
  readonly #attempts = new Map<Pair, number>()
  readonly #timers = new Set<ReturnType<typeof setTimeout>>()
  readonly #budget: RestBudget
  readonly #concurrency: number
  #inFlight = 0
  #pumpTimer: ReturnType<typeof setTimeout> | undefined
  #sweeper: ReturnType<typeof setInterval> | undefined
  #upSinceMs: number | undefined
  /** Books whose subscription the venue confirmed on this connection (or whose data arrived). */
  readonly #confirmed = new Set<Pair>()
  /** Natives to subscribe again at the end of this turn, in one batch. */
  readonly #resubscribing = new Set<string>()
  #streamSeq: number | undefined
  #off: (() => void) | undefined

  constructor(options: BookSyncOptions) {
    this.#conn = options.connection
    this.#venue = options.connection.spec
    this.#rules = this.#venue.sync
    this.#books = options.books
    this.#log = options.log.child({ venue: this.#venue.id })
    this.#timeoutMs = options.snapshotTimeoutMs ?? 10_000
    this.#baseMs = options.backoffBaseMs ?? 500
    this.#capMs = options.backoffCapMs ?? 30_000
    this.#maxBuffer = options.maxBuffer ?? 20_000
    this.#onFrameApplied = options.onFrameApplied
    this.#budget =
      options.budget ?? new RestBudget(this.#venue.limits.rest, { fetch: options.connection.fetch })
    this.#concurrency = this.#venue.limits.rest.concurrency ?? 8
    this.#entries = options.books.addVenue(this.#venue.id, options.connection.pairs)
  }

  start(): void {
    this.#off ??= this.#conn.events.on((ev) => this.#onConnection(ev))
    const every = Math.max(20, Math.min(1000, this.#timeoutMs / 4))
    this.#sweeper ??= setInterval(() => this.#sweep(), every)
  }

  stop(): void {
    this.#off?.()
    this.#off = undefined
    if (this.#sweeper !== undefined) clearInterval(this.#sweeper)
    if (this.#pumpTimer !== undefined) clearTimeout(this.#pumpTimer)
    for (const t of this.#timers) clearTimeout(t)
    this.#timers.clear()
    this.#queue.clear()
    this.#pending.clear()
  }

  #onConnection(ev: ConnectionEvent): void {
    switch (ev.type) {
      case 'listed':
        for (const pair of ev.unlisted) {
          const e = this.#entries.get(pair)
          if (e) e.syncNote = `${this.#venue.name} does not list ${pair}`
        }
        return
      case 'up':
        this.#upSinceMs = ev.atMs
        this.#streamSeq = undefined
        this.#pending.clear()
        this.#queue.clear()
        this.#confirmed.clear()
        for (const e of this.#listed()) {
          if (!this.#venue.acksSubscriptions) this.#confirmed.add(e.pair)
          this.#invalidate(e, 'reconnected')
          this.#reset(e)
          // A socket venue's subscription brings the snapshot; it is awaited like a request.
          if (this.#rules.snapshot === 'ws')
            this.#pending.set(e.pair, { atMs: ev.atMs, epoch: e.epoch })
        }
        return
      case 'down':
        this.#upSinceMs = undefined
        for (const e of this.#entries.values()) {
          if (e.state === 'live') {
            e.state = 'stale'
            this.#books.events.emit({ type: 'invalid', entry: e, reason: 'connection down' })
          } else if (e.state === 'syncing') this.#reset(e)
        }
        return
      case 'frame':
        for (let i = 0; i < ev.events.length; i++)
          this.#onVenueEvent(ev.events[i]!, ev.receivedAtMs)
        return
      default: {
        const never: never = ev
        throw new Error(`unhandled connection event ${JSON.stringify(never)}`)
      }
    }
  }

  #onVenueEvent(ev: VenueEvent, now: number): void {
    switch (ev.type) {
      case 'snapshot': {
        const e = this.#entries.get(ev.pair)
        if (e === undefined) return
        this.#confirmed.add(ev.pair)
        this.#pending.delete(ev.pair)
        this.#settle(e, applySnapshot(e, this.#rules, ev, ev.requested === true), now)
        return
      }
      case 'delta': {
        const e = this.#entries.get(ev.pair)
        if (e === undefined) return
        this.#confirmed.add(ev.pair)
        const outcome = applyUpdate(e, this.#rules, ev, this.#maxBuffer)
        this.#settle(e, outcome, now, ev)
        return
      }
      case 'top': {
        const e = this.#entries.get(ev.pair)
        if (e === undefined) return
        if (e.pendingTop !== undefined) this.#books.countCrossCheck(e.venue, 'skipped')
        this.#settleTop(e, placeTop(e, ev))
        return
      }
      case 'stream-seq': {
        const last = this.#streamSeq
        this.#streamSeq = ev.seq
        if (last === undefined || ev.seq === last + 1) return
        const detail =
          ev.seq > last
            ? `sequence gap: expected ${last + 1}, got ${ev.seq}`
            : `sequence went back from ${last} to ${ev.seq}`
        for (const e of this.#listed()) {
          this.#resync(e, {
            kind: 'sequence',
            venue: e.venue,
            pair: e.pair,
            expected: last + 1,
            got: ev.seq,
            detail,
          })
        }
        return
      }
      case 'rejected': {
        const all = ev.all === true || (ev.pairs === undefined && !this.#rules.detectsGaps)
        const targets = all
          ? [...this.#listed()]
          : (ev.pairs ?? []).map((p) => this.#entries.get(p))
        for (const e of targets) {
          if (e !== undefined) {
            this.#resync(e, { kind: 'bad-input', venue: e.venue, pair: e.pair, detail: ev.message })
          }
        }
        return
      }
      case 'subscribed':
        for (const pair of ev.pairs) {
          const e = this.#entries.get(pair)
          if (e === undefined) continue
          this.#confirmed.add(pair)
          e.syncNote = undefined
          // A book without sequence ids is seeded now rather than at its first update (a quiet
          // market may send none for minutes). A chain venue's documented procedure fetches after
          // the first update is buffered, so the snapshot can be checked against it (or at the
          // snapshot timeout, for a quiet market).
          const now = this.#rules.sequence !== 'chain'
          if (this.#rules.snapshot !== 'ws' && !e.hasSnapshot && now) this.#request(pair)
        }
        return
      case 'venue-error': {
        // An error naming a book is a refused (or dropped) subscription: its data will not flow.
        const e = ev.pair === undefined ? undefined : this.#entries.get(ev.pair)
        if (e === undefined) return
        this.#confirmed.delete(e.pair)
        if (e.state === 'live' || e.hasSnapshot) {
          this.#resync(e, { kind: 'venue', venue: e.venue, pair: e.pair, detail: ev.message })
        }
        e.syncNote = `the venue refused the subscription: ${ev.message}`
        this.#resubscribeLater(e.pair)
        return
      }
      case 'reconnect':
      case 'info':
      case 'reply':
      case 'welcome':
      case 'unknown':
        return
      default: {
        const never: never = ev
        throw new Error(`unhandled venue event ${JSON.stringify(never)}`)
      }
    }
  }

  /** Acts on a rule's decision. `reveal` is the update that produced it, kept across a resync. */
  #settle(e: BookEntry, outcome: SyncOutcome, now: number, reveal?: DeltaEvent): void {
    switch (outcome.kind) {
      case 'applied': {
        const wasLive = e.state === 'live'
        e.state = 'live'
        e.lastUpdateMs = now
        e.updates++
        this.#attempts.delete(e.pair)
        if (!wasLive) this.#books.events.emit({ type: 'live', entry: e, atMs: now })
        if (e.pendingTop !== undefined) {
          const top = settleTop(e)
          // A mismatch resyncs the book before anyone is told it changed.
          if (top !== undefined && !this.#settleTop(e, top)) return
        }
        this.#books.events.emit({ type: 'update', entry: e, receivedAtMs: now, delta: reveal })
        return
      }
      case 'ignored':
        return
      case 'discarded':
        this.#conn.countError('late-snapshot', `${e.pair}: ${outcome.why}; discarded`)
        this.#books.events.emit({
          type: 'snapshot-rejected',
          entry: e,
          action: 'discarded',
          why: outcome.why,
        })
        return
      case 'buffered':
        this.#request(e.pair)
        return
      case 'refetch':
        e.syncNote = outcome.why
        this.#conn.countError('stale-snapshot', `${e.pair}: ${outcome.why}; asking again`)
        this.#books.events.emit({
          type: 'snapshot-rejected',
          entry: e,
          action: 'refetch',
          why: outcome.why,
        })
        this.#retryLater(e.pair)
        return
      case 'failed':
        this.#resync(e, outcome.failure, outcome.failure.kind === 'sequence' ? reveal : undefined)
        return
      default: {
        const never: never = outcome
        throw new Error(`unhandled outcome ${JSON.stringify(never)}`)
      }
    }
  }

  /** Counts a cross-check's outcome and resyncs on a mismatch. False when the book resynced. */
  #settleTop(e: BookEntry, outcome: TopOutcome): boolean {
    switch (outcome.kind) {
      case 'pending':
        return true
      case 'matched':
        this.#books.countCrossCheck(e.venue, 'compared')
        return true
      case 'skipped':
        this.#books.countCrossCheck(e.venue, 'skipped')
        return true
      case 'failed':
        this.#books.countCrossCheck(e.venue, 'compared')
        this.#resync(e, outcome.failure)
        return false
      default: {
        const never: never = outcome
        throw new Error(`unhandled top outcome ${JSON.stringify(never)}`)
      }
    }
  }

  /** Empties a book for a new snapshot; a top it still held can no longer be compared. */
  #reset(e: BookEntry): void {
    if (e.pendingTop !== undefined) this.#books.countCrossCheck(e.venue, 'skipped')
    reset(e)
  }

  #resync(e: BookEntry, failure: BookFailure, reveal?: DeltaEvent): void {
    this.#invalidate(e, `resync: ${failure.detail}`)
    this.#reset(e)
    e.resyncs++
    e.lastResyncReason = failure.detail
    e.lastFailure = failure
    this.#books.countResync(failure)
    this.#conn.countError('resync', `${e.pair}: ${failure.detail}`)
    this.#log.debug({ pair: e.pair, failure }, 'book resync')
    this.#books.events.emit({ type: 'resync', entry: e, failure })
    // The update that revealed a gap is newer than anything the book had: the next snapshot must
    // reach it, so it stays buffered (REST venues; a socket snapshot supersedes it anyway).
    if (reveal !== undefined && this.#rules.snapshot !== 'ws') {
      e.buffer.push(reveal)
      if (reveal.seq !== undefined) e.lastSeenSeq = reveal.seq
    }
    this.#pending.delete(e.pair)
    this.#request(e.pair)
  }

  #invalidate(e: BookEntry, reason: string): void {
    if (e.state === 'live') this.#books.events.emit({ type: 'invalid', entry: e, reason })
  }

  /** Asks for a snapshot of one book unless one is already on its way. */
  #request(pair: Pair): void {
    const e = this.#entries.get(pair)
    const native = this.#conn.stats.markets.get(pair)
    if (e === undefined || native === undefined || !this.#conn.isUp) return
    const pending = this.#pending.get(pair)
    if (pending !== undefined && pending.epoch === e.epoch) return
    if (this.#queue.has(pair)) return
    // A REST snapshot of a book whose own data is not flowing would go live and then freeze.
    if (this.#rules.snapshot !== 'ws' && !this.#confirmed.has(pair)) return
    if (this.#rules.snapshot === 'ws') {
      this.#pending.set(pair, { atMs: Date.now(), epoch: e.epoch })
      for (const frame of this.#venue.resubscribe?.(native) ?? []) this.#conn.send(frame)
      return
    }
    if (this.#rules.snapshot === 'request') {
      // Asked on the socket (HTX `req`); its answer is aligned with the buffer like a REST one.
      this.#pending.set(pair, { atMs: Date.now(), epoch: e.epoch })
      for (const frame of this.#venue.requestSnapshot?.(native) ?? []) this.#conn.send(frame)
      return
    }
    this.#queue.add(pair)
    this.#pump()
  }

  /** Asks again after a backoff (a snapshot too old, a failed request). */
  #retryLater(pair: Pair, err?: unknown): void {
    const attempt = this.#attempts.get(pair) ?? 0
    this.#attempts.set(pair, attempt + 1)
    this.#pending.delete(pair)
    const delay = backoffMs(attempt, this.#baseMs, this.#capMs, err)
    const t = setTimeout(() => {
      this.#timers.delete(t)
      const e = this.#entries.get(pair)
      if (e !== undefined && e.state !== 'live') this.#request(pair)
    }, delay)
    this.#timers.add(t)
  }

  /**
   * Starts queued REST requests while the venue's budget allows (and a pause it asked for is
   * over), a few at a time; the snapshot timeout starts only once a request is sent.
   */
  #pump(): void {
    this.#pumpTimer = undefined
    const cost = this.#venue.limits.rest.snapshotCost
    let waitMs = 0
    while (this.#queue.size > 0 && this.#inFlight < this.#concurrency) {
      waitMs = this.#budget.tryTake(cost)
      if (waitMs > 0) break
      const [pair] = this.#queue
      this.#queue.delete(pair!)
      this.#inFlight++
      void this.#fetch(pair!).finally(() => {
        this.#inFlight--
        if (this.#queue.size > 0 && this.#pumpTimer === undefined) this.#pump()
      })
    }
    if (this.#queue.size === 0 || waitMs === 0) return
    this.#pumpTimer ??= setTimeout(() => this.#pump(), Math.max(5, waitMs))
  }

  async #fetch(pair: Pair): Promise<void> {
    const e = this.#entries.get(pair)
    const native = this.#conn.stats.markets.get(pair)
    const fetchSnapshot = this.#venue.fetchSnapshot
    if (e === undefined || native === undefined || fetchSnapshot === undefined) return
    const epoch = e.epoch
    this.#pending.set(pair, { atMs: Date.now(), epoch })
    const signal = AbortSignal.any([this.#conn.signal, AbortSignal.timeout(this.#timeoutMs)])
    let snap: SnapshotEvent
    try {
      snap = await fetchSnapshot.call(this.#venue, this.#conn.restUrl, native, pair, {
        fetch: this.#budget.observing,
        signal,
      })
    } catch (err) {
      if (this.#conn.signal.aborted) return
      const kind = err instanceof ParseError ? err.kind : 'snapshot'
      this.#conn.countError(kind, `${pair} snapshot failed: ${(err as Error).message}`)
      if (this.#pending.get(pair)?.epoch === epoch) this.#retryLater(pair, err)
      return
    }
    if (this.#conn.signal.aborted) return
    if (this.#pending.get(pair)?.epoch === epoch) this.#pending.delete(pair)
    if (e.epoch !== epoch) {
      // The book was reset while this was in flight: the updates it would align with are gone.
      if (!e.hasSnapshot) this.#request(pair)
      return
    }
    this.#settle(e, applySnapshot(e, this.#rules, snap, true), Date.now())
  }

  /** Books still without a snapshot well after connecting are asked for again. */
  #sweep(): void {
    const up = this.#upSinceMs
    const now = Date.now()
    if (up === undefined || now - up < this.#timeoutMs || !this.#conn.isUp) return
    for (const e of this.#listed()) {
      if (e.hasSnapshot) continue
      const pending = this.#pending.get(e.pair)
      if (
        pending !== undefined &&
        pending.epoch === e.epoch &&
        now - pending.atMs < this.#timeoutMs
      )
        continue
      if (this.#queue.has(e.pair)) continue
      this.#pending.delete(e.pair)
      if (this.#rules.snapshot !== 'ws' && !this.#confirmed.has(e.pair)) {
        // Neither an ack nor an update since the subscribe: it was lost. Send it again.
        this.#pending.set(e.pair, { atMs: now, epoch: e.epoch })
        this.#subscribeAgain(e.pair)
      } else this.#request(e.pair)
    }
  }

  /** Sends a book's subscription again (a resubscribe where the venue has one). */
  #subscribeAgain(pair: Pair): void {
    const native = this.#conn.stats.markets.get(pair)
    if (native === undefined || !this.#conn.isUp) return
    this.#conn.countError('resubscribe', `${pair}: no data and no ack since subscribing; again`)
    const resubscribe = this.#venue.resubscribe
    if (resubscribe !== undefined) {
      for (const frame of resubscribe.call(this.#venue, native)) this.#conn.send(frame)
      return
    }
    // Subscribed again together: the books a sweep finds in one pass go out in as few frames as
    // the venue allows (each frame counts against OKX's 480 requests per connection an hour).
    this.#resubscribing.add(native)
    if (this.#resubscribing.size > 1) return
    queueMicrotask(() => {
      const natives = [...this.#resubscribing]
      this.#resubscribing.clear()
      if (!this.#conn.isUp) return
      for (const frame of this.#venue.subscribe(natives)) this.#conn.send(frame)
    })
  }

  /** After a refusal, subscribes the book again with backoff until the venue accepts it. */
  #resubscribeLater(pair: Pair): void {
    const attempt = this.#attempts.get(pair) ?? 0
    this.#attempts.set(pair, attempt + 1)
    const t = setTimeout(
      () => {
        this.#timers.delete(t)
        if (!this.#confirmed.has(pair)) this.#subscribeAgain(pair)
      },
      backoffMs(attempt, this.#baseMs, this.#capMs),
    )
    this.#timers.add(t)
  }

  /** The books the venue lists (the ones subscribed). */
  *#listed(): Iterable<BookEntry> {
    for (const [pair, e] of this.#entries) if (this.#conn.stats.markets.has(pair)) yield e
  }
}

function reset(e: BookEntry): void {
  e.epoch++
  clearBook(e.book)
  e.state = 'syncing'
  e.lastSeq = undefined
  e.crossSeq = undefined
  e.lastSeenSeq = undefined
  e.hasSnapshot = false
  e.aligned = false
  e.buffer.length = 0
  e.pendingTop = undefined
}
