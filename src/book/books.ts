/**
 * @module
 * Every (venue, pair) book, readable by the detector, the API and the metrics, and the typed
 * events that say what happened to them. The books are kept exact by book/sync.ts, the one owner
 * of the synchronisation rules; nothing here does I/O.
 */
import { Emitter } from '../events.ts'
import type { Pair, VenueId } from '../types.ts'
import type { DeltaEvent, TopEvent } from '../venues/venue.ts'
import { createBook, type OrderBook } from './book.ts'

export type BookState = 'syncing' | 'live' | 'stale'

/** Why a book stopped being trusted: a typed value, never a prefix-matched string. */
export interface BookFailure {
  readonly kind:
    | 'checksum'
    | 'sequence'
    | 'crossed'
    /** The book's top differed from the venue's independent channel at the same sequence. */
    | 'cross-check'
    | 'bad-input'
    | 'venue'
    | 'other'
  readonly venue: VenueId
  readonly pair: Pair
  /** What the rule expected and what arrived (sequence ids, checksums, prices). */
  readonly expected?: number | string
  readonly got?: number | string
  /** One line for logs and /api/status. */
  readonly detail: string
}

export interface BookEntry {
  readonly venue: VenueId
  readonly pair: Pair
  readonly book: OrderBook
  state: BookState
  /** Sequence the book is at (undefined when the venue has none). */
  lastSeq: number | undefined
  /** The venue's cross sequence of the last applied message, where it sends one. */
  crossSeq: number | undefined
  /** The latest sequence received on the stream for this book (buffered or applied). */
  lastSeenSeq: number | undefined
  /** When the book last changed or was confirmed by a snapshot, local ms. */
  lastUpdateMs: number
  /** Exchange time of the last applied data, when the venue sends one. */
  exchangeTsMs: number | undefined
  resyncs: number
  updates: number
  lastResyncReason: string | undefined
  lastFailure: BookFailure | undefined
  /** Why the book is not live yet, when there is more to say than "waiting for a snapshot". */
  syncNote: string | undefined
  /** Updates held while a REST snapshot is on its way. */
  buffer: DeltaEvent[]
  hasSnapshot: boolean
  /** False until the first update after a snapshot has been placed against it. */
  aligned: boolean
  /** Updates ignored in a row since the snapshot for being older than it. */
  behindRun: number
  /** Incremented by every reset; lets a late snapshot for an earlier incarnation be discarded. */
  epoch: number
  /** The latest top from the venue's independent channel, held until the book reaches its seq. */
  pendingTop: TopEvent | undefined
}

/** Why books of a venue were rebuilt, by kind. */
export interface ResyncCounts {
  checksum: number
  sequence: number
  crossed: number
  /** The top differed from the venue's independent channel (its ticker or top-of-book stream). */
  'cross-check': number
  /** Bad input, connection-level resets and everything else. */
  other: number
}

/** Cross-checks of a venue's books against its independent channel, by outcome. */
export interface CrossCheckCounts {
  /** Tops compared with a book exactly at their sequence (mismatches are resyncs `cross-check`). */
  compared: number
  /** Tops never compared: the book passed their sequence first, or was replaced or not live. */
  skipped: number
}

/** What happens to books. */
export type BooksEvent =
  /** A live book changed (or went live); the detector re-evaluates what reads it. */
  | {
      readonly type: 'update'
      readonly entry: BookEntry
      readonly receivedAtMs: number
      /**
       * The venue update the change was, when it was exactly one (applied as it came, its levels
       * truncated to the venue's depth); absent when a snapshot replaced the book.
       */
      readonly delta?: DeltaEvent
    }
  /** A book went live after a snapshot. */
  | { readonly type: 'live'; readonly entry: BookEntry; readonly atMs: number }
  /** A live book stopped being trustworthy: a resync, or its connection going down. */
  | { readonly type: 'invalid'; readonly entry: BookEntry; readonly reason: string }
  /**
   * A snapshot was not used: too old to join the buffered updates (`refetch`: another is asked
   * for), or older than the live book it would replace (`discarded`: the book stays as it is).
   */
  | {
      readonly type: 'snapshot-rejected'
      readonly entry: BookEntry
      readonly action: 'refetch' | 'discarded'
      readonly why: string
    }
  /** A book was rebuilt because a rule failed. */
  | { readonly type: 'resync'; readonly entry: BookEntry; readonly failure: BookFailure }
  /** Books were registered (a connection's markets, a market that joined the universe). */
  | { readonly type: 'added'; readonly entries: readonly BookEntry[] }
  /** Books were dropped (their market left the universe); nothing reads them any more. */
  | {
      readonly type: 'removed'
      readonly entries: readonly BookEntry[]
      readonly reason: string
    }

export class Books {
  readonly events = new Emitter<BooksEvent>()
  readonly #venues = new Map<
    VenueId,
    { books: Map<Pair, BookEntry>; resyncs: ResyncCounts; crossChecks: CrossCheckCounts }
  >()

  /**
   * Registers books of a venue (several connections of one venue each add theirs); new ones
   * start `syncing` and empty, ones already registered are kept. Returns those asked for, by pair.
   */
  addVenue(venue: VenueId, pairs: Iterable<Pair>): ReadonlyMap<Pair, BookEntry> {
    let v = this.#venues.get(venue)
    if (v === undefined) {
      v = { books: new Map(), resyncs: noResyncs(), crossChecks: { compared: 0, skipped: 0 } }
      this.#venues.set(venue, v)
    }
    const out = new Map<Pair, BookEntry>()
    const added: BookEntry[] = []
    for (const pair of pairs) {
      let e = v.books.get(pair)
      if (e === undefined) {
        e = newEntry(venue, pair)
        v.books.set(pair, e)
        added.push(e)
      }
      out.set(pair, e)
    }
    if (added.length > 0) this.events.emit({ type: 'added', entries: added })
    return out
  }

  /**
   * Drops books of a venue (a market left the universe): a live one is first announced
   * `invalid` with `reason`, then each is announced `removed`.
   */
  remove(venue: VenueId, pairs: Iterable<Pair>, reason: string): void {
    const v = this.#venues.get(venue)
    if (v === undefined) return
    const removed: BookEntry[] = []
    for (const pair of pairs) {
      const e = v.books.get(pair)
      if (e === undefined) continue
      v.books.delete(pair)
      if (e.state === 'live') {
        e.state = 'stale'
        this.events.emit({ type: 'invalid', entry: e, reason })
      }
      removed.push(e)
    }
    if (removed.length > 0) this.events.emit({ type: 'removed', entries: removed, reason })
  }

  get(venue: VenueId, pair: Pair): BookEntry | undefined {
    return this.#venues.get(venue)?.books.get(pair)
  }

  /** Every book of a venue, in subscription order. */
  ofVenue(venue: VenueId): Iterable<BookEntry> {
    return this.#venues.get(venue)?.books.values() ?? []
  }

  venues(): Iterable<VenueId> {
    return this.#venues.keys()
  }

  /** Resyncs of a venue's books by kind (checksum and sequence failures, crossed books, other). */
  resyncCounts(venue: VenueId): ResyncCounts {
    return { ...(this.#venues.get(venue)?.resyncs ?? noResyncs()) }
  }

  /** Cross-checks of a venue's books against its independent channel, compared and skipped. */
  crossCheckCounts(venue: VenueId): CrossCheckCounts {
    return { ...(this.#venues.get(venue)?.crossChecks ?? { compared: 0, skipped: 0 }) }
  }

  /** Counts one top from the venue's independent channel (called by book/sync.ts). */
  countCrossCheck(venue: VenueId, outcome: keyof CrossCheckCounts): void {
    const counts = this.#venues.get(venue)?.crossChecks
    if (counts !== undefined) counts[outcome]++
  }

  /** Counts a resync by its kind (called by book/sync.ts). */
  countResync(failure: BookFailure): void {
    const counts = this.#venues.get(failure.venue)?.resyncs
    if (counts === undefined) return
    switch (failure.kind) {
      case 'checksum':
      case 'sequence':
      case 'crossed':
      case 'cross-check':
        counts[failure.kind]++
        break
      default:
        counts.other++
    }
  }
}

function newEntry(venue: VenueId, pair: Pair): BookEntry {
  return {
    venue,
    pair,
    book: createBook(),
    state: 'syncing',
    lastSeq: undefined,
    crossSeq: undefined,
    lastSeenSeq: undefined,
    lastUpdateMs: 0,
    exchangeTsMs: undefined,
    resyncs: 0,
    updates: 0,
    lastResyncReason: undefined,
    lastFailure: undefined,
    syncNote: undefined,
    buffer: [],
    hasSnapshot: false,
    aligned: false,
    behindRun: 0,
    epoch: 0,
    pendingTop: undefined,
  }
}

function noResyncs(): ResyncCounts {
  return { checksum: 0, sequence: 0, crossed: 0, 'cross-check': 0, other: 0 }
}
