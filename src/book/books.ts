/**
 * @module
 * Every (venue, pair) book and the rules that keep it exact: snapshots replace, deltas must be
 * contiguous, checksums must match, books must not cross. Anything else resets that one book and
 * asks its connection for a new snapshot. No I/O happens here.
 */
import type { BookEvent, DeltaEvent, SnapshotEvent } from '../exchanges/exchange.ts'
import type { ChecksumAlgo, Pair, VenueId } from '../types.ts'
import {
  applyDelta,
  applySnapshot,
  clearBook,
  createBook,
  isCrossed,
  truncateBook,
  type OrderBook,
} from './book.ts'
import { computeChecksum } from './checksum.ts'

/** How a venue's books are synchronised (a subset of the venue's Exchange description). */
export interface BookProfile {
  readonly snapshotSource: 'rest' | 'ws'
  readonly checksum?: ChecksumAlgo
  readonly maxDepth?: number
}

export type BookState = 'syncing' | 'live' | 'stale'

export interface BookEntry {
  readonly venue: VenueId
  readonly pair: Pair
  readonly book: OrderBook
  state: BookState
  /** Sequence the book is at (undefined when the venue has none). */
  lastSeq: number | undefined
  /** When the book last changed or was confirmed by a snapshot, local ms. */
  lastUpdateMs: number
  /** Exchange time of the last applied data, when the venue sends one. */
  exchangeTsMs: number | undefined
  resyncs: number
  updates: number
  lastResyncReason: string | undefined
  /** Updates held while a REST snapshot is on its way. */
  buffer: DeltaEvent[]
  hasSnapshot: boolean
  /** Incremented by every reset; lets a late snapshot for an earlier incarnation be discarded. */
  epoch: number
}

/** Why books of a venue were rebuilt, by kind. */
export interface ResyncCounts {
  checksum: number
  sequence: number
  crossed: number
  /** Bad input, connection-level resets and everything else. */
  other: number
}

export interface BooksOptions {
  /** Called after every change that leaves a book live (the detector hangs off this). */
  onUpdate?: (entry: BookEntry, receivedAtMs: number) => void
  /** Called when a book is reset, with the reason (for logs and counters). */
  onResync?: (entry: BookEntry, reason: string) => void
  /** Called when a live book stops being trustworthy: a resync or its connection going down. */
  onInvalid?: (entry: BookEntry, reason: string) => void
  /** Most updates buffered per book while waiting for a REST snapshot. */
  maxBuffer?: number
}

const NONE: readonly Pair[] = Object.freeze([])

export class Books {
  readonly #venues = new Map<
    VenueId,
    { profile: BookProfile; books: Map<Pair, BookEntry>; resyncs: ResyncCounts }
  >()
  readonly #onUpdate: BooksOptions['onUpdate']
  readonly #onResync: BooksOptions['onResync']
  readonly #onInvalid: BooksOptions['onInvalid']
  readonly #maxBuffer: number

  constructor({ onUpdate, onResync, onInvalid, maxBuffer = 20_000 }: BooksOptions = {}) {
    this.#onUpdate = onUpdate
    this.#onResync = onResync
    this.#onInvalid = onInvalid
    this.#maxBuffer = maxBuffer
  }

  /** Registers a venue's books; they start `syncing` and empty. */
  addVenue(venue: VenueId, profile: BookProfile, pairs: Iterable<Pair>): void {
    const books = new Map<Pair, BookEntry>()
    for (const pair of pairs) books.set(pair, newEntry(venue, pair))
    this.#venues.set(venue, {
      profile,
      books,
      resyncs: { checksum: 0, sequence: 0, crossed: 0, other: 0 },
    })
  }

  get(venue: VenueId, pair: Pair): BookEntry | undefined {
    return this.#venues.get(venue)?.books.get(pair)
  }

  /** Every book of a venue, in subscription order. */
  ofVenue(venue: VenueId): Iterable<BookEntry> {
    return this.#venues.get(venue)?.books.values() ?? []
  }

  epochOf(venue: VenueId, pair: Pair): number {
    return this.#venues.get(venue)?.books.get(pair)?.epoch ?? 0
  }

  /** Resyncs of a venue's books by kind (checksum and sequence failures, crossed books, other). */
  resyncCounts(venue: VenueId): ResyncCounts {
    return {
      ...(this.#venues.get(venue)?.resyncs ?? { checksum: 0, sequence: 0, crossed: 0, other: 0 }),
    }
  }

  needsSnapshot(venue: VenueId, pair: Pair): boolean {
    const e = this.#venues.get(venue)?.books.get(pair)
    return e !== undefined && !e.hasSnapshot
  }

  venues(): Iterable<VenueId> {
    return this.#venues.keys()
  }

  connectionChanged(venue: VenueId, up: boolean, _atMs: number): void {
    const v = this.#venues.get(venue)
    if (!v) return
    for (const e of v.books.values()) {
      const wasLive = e.state === 'live'
      if (up || e.state === 'syncing') reset(e)
      else if (wasLive) e.state = 'stale'
      if (wasLive) this.#onInvalid?.(e, up ? 'reconnected' : 'connection down')
    }
  }

  apply(venue: VenueId, event: BookEvent, receivedAtMs: number): readonly Pair[] {
    const v = this.#venues.get(venue)
    if (!v) return NONE
    if (event.type === 'reset') {
      if (event.pair === undefined) {
        const all: Pair[] = []
        for (const e of v.books.values()) {
          this.#resync(e, event.reason)
          all.push(e.pair)
        }
        return all
      }
      const e = v.books.get(event.pair)
      if (!e) return NONE
      this.#resync(e, event.reason)
      return [e.pair]
    }
    const e = v.books.get(event.pair)
    if (!e) return NONE
    const problem =
      event.type === 'snapshot'
        ? this.#snapshot(e, v.profile, event, receivedAtMs)
        : this.#delta(e, v.profile, event, receivedAtMs)
    if (problem === undefined) return NONE
    if (problem === NEED_SNAPSHOT) return [e.pair]
    this.#resync(e, problem)
    return [e.pair]
  }

  #snapshot(e: BookEntry, p: BookProfile, ev: SnapshotEvent, now: number): Problem {
    let firstKept = 0
    const buf = e.buffer
    if (ev.seq !== undefined && buf.length > 0) {
      while (firstKept < buf.length && (buf[firstKept]!.seq ?? Infinity) <= ev.seq) firstKept++
      const first = buf[firstKept]
      if (first?.prevSeq !== undefined && first.prevSeq > ev.seq) {
        // The snapshot is older than the updates we hold: ask for another, keep the buffer.
        buf.splice(0, firstKept)
        return NEED_SNAPSHOT
      }
    }
    applySnapshot(e.book, ev.bids, ev.asks)
    if (p.maxDepth !== undefined) truncateBook(e.book, p.maxDepth)
    e.lastSeq = ev.seq
    e.hasSnapshot = true
    if (ev.exchangeTsMs !== undefined) e.exchangeTsMs = ev.exchangeTsMs
    const bad = check(e, p, ev.checksum)
    if (bad !== undefined) return bad
    for (let i = firstKept; i < buf.length; i++) {
      const problem = this.#applyDelta(e, p, buf[i]!)
      if (problem !== undefined) return problem
    }
    buf.length = 0
    e.state = 'live'
    e.lastUpdateMs = now
    e.updates++
    this.#onUpdate?.(e, now)
    return undefined
  }

  #delta(e: BookEntry, p: BookProfile, ev: DeltaEvent, now: number): Problem {
    if (!e.hasSnapshot) {
      if (p.snapshotSource === 'ws') return undefined // the snapshot is on its way; it supersedes this
      if (e.buffer.length >= this.#maxBuffer) e.buffer.shift()
      e.buffer.push(ev)
      return NEED_SNAPSHOT
    }
    const problem = this.#applyDelta(e, p, ev)
    if (problem !== undefined) return problem
    e.state = 'live'
    e.lastUpdateMs = now
    e.updates++
    this.#onUpdate?.(e, now)
    return undefined
  }

  /** Sequencing, then the levels, then the checks. */
  #applyDelta(e: BookEntry, p: BookProfile, ev: DeltaEvent): Problem {
    if (ev.seq !== undefined && e.lastSeq !== undefined) {
      if (ev.prevSeq === undefined) {
        if (ev.seq <= e.lastSeq) return undefined // at or before the snapshot: already in it
      } else if (ev.prevSeq !== e.lastSeq) {
        if (ev.seq <= e.lastSeq) return undefined // stale, already applied
        if (ev.prevSeq > e.lastSeq) return `sequence gap: expected ${e.lastSeq}, got ${ev.prevSeq}`
        // Overlaps the book's position (the first update after a snapshot): levels are absolute.
      }
    }
    applyDelta(e.book, ev.bids, ev.asks)
    if (p.maxDepth !== undefined) truncateBook(e.book, p.maxDepth)
    if (ev.seq !== undefined) e.lastSeq = ev.seq
    if (ev.exchangeTsMs !== undefined) e.exchangeTsMs = ev.exchangeTsMs
    return check(e, p, ev.checksum)
  }

  #resync(e: BookEntry, reason: string): void {
    const wasLive = e.state === 'live'
    reset(e)
    e.resyncs++
    e.lastResyncReason = reason
    const counts = this.#venues.get(e.venue)?.resyncs
    if (counts) {
      if (reason.startsWith('checksum')) counts.checksum++
      else if (reason.startsWith('sequence')) counts.sequence++
      else if (reason.startsWith('crossed')) counts.crossed++
      else counts.other++
    }
    this.#onResync?.(e, reason)
    if (wasLive) this.#onInvalid?.(e, `resync: ${reason}`)
  }
}

const NEED_SNAPSHOT = Symbol('need-snapshot')
type Problem = string | typeof NEED_SNAPSHOT | undefined

function check(e: BookEntry, p: BookProfile, checksum: number | undefined): string | undefined {
  if (checksum !== undefined && p.checksum !== undefined) {
    const mine = computeChecksum(p.checksum, e.book)
    if (mine !== checksum) return `checksum mismatch: venue ${checksum}, book ${mine}`
  }
  if (isCrossed(e.book))
    return `crossed book: bid ${e.book.bids[0]!.pxText} >= ask ${e.book.asks[0]!.pxText}`
  return undefined
}

function reset(e: BookEntry): void {
  e.epoch++
  clearBook(e.book)
  e.state = 'syncing'
  e.lastSeq = undefined
  e.hasSnapshot = false
  e.buffer.length = 0
}

function newEntry(venue: VenueId, pair: Pair): BookEntry {
  return {
    venue,
    pair,
    book: createBook(),
    state: 'syncing',
    lastSeq: undefined,
    lastUpdateMs: 0,
    exchangeTsMs: undefined,
    resyncs: 0,
    updates: 0,
    lastResyncReason: undefined,
    buffer: [],
    hasSnapshot: false,
    epoch: 0,
  }
}
