/**
 * @module
 * The status view: per venue connection health and per book its state and top of book, with
 * prices as the venue's own decimal strings.
 */
import type { Books } from '../book/books.ts'
import type { ConnectionState, ConnectionStats } from '../venues/connection.ts'
import type { Pair, VenueId } from '../types.ts'

export interface BookStatus {
  state: 'syncing' | 'live' | 'stale'
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

export interface VenueStatus {
  state: ConnectionState
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
  reconnects: number
  connectedSinceMs: number | null
  lastMessageAgeMs: number | null
  latencyMs: number | null
  errors: Record<string, number>
  unlisted: Pair[]
  books: Record<Pair, BookStatus>
}

export interface StatusSource {
  readonly venue: VenueId
  readonly stats: ConnectionStats
}

/** Builds the `/api/status` document. */
export function buildStatus(
  connections: readonly StatusSource[],
  books: Books,
  nowMs: number,
): { venues: Partial<Record<VenueId, VenueStatus>> } {
  const venues: Partial<Record<VenueId, VenueStatus>> = {}
  for (const { venue, stats } of connections) {
    const bookStatus: Record<Pair, BookStatus> = {}
    for (const e of books.ofVenue(venue)) {
      if (!stats.markets.has(e.pair) && stats.unlisted.includes(e.pair)) continue
      const bid = e.book.bids[0]
      const ask = e.book.asks[0]
      bookStatus[e.pair] = {
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
    const resyncs = books.resyncCounts(venue)
    const silentMs = stats.lastMessageMs !== undefined ? nowMs - stats.lastMessageMs : Infinity
    venues[venue] = {
      state: stats.state,
      messages: stats.messages,
      messagesPerSec: silentMs > 2000 ? 0 : Math.round(stats.messagesPerSec * 10) / 10,
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
      reconnects: stats.reconnects,
      connectedSinceMs: stats.connectedSinceMs ?? null,
      lastMessageAgeMs: stats.lastMessageMs !== undefined ? nowMs - stats.lastMessageMs : null,
      latencyMs: stats.latencyMs ?? null,
      errors: { ...stats.errors },
      unlisted: [...stats.unlisted],
      books: bookStatus,
    }
  }
  return { venues }
}

/** One line per venue for the chat `/status`: connection state and live books of those listed. */
export function summarizeVenues(
  connections: readonly StatusSource[],
  books: Books,
): { venue: VenueId; state: ConnectionState; liveBooks: number; books: number }[] {
  return connections.map(({ venue, stats }) => {
    const listed = [...books.ofVenue(venue)].filter((e) => stats.markets.has(e.pair))
    return {
      venue,
      state: stats.state,
      liveBooks: listed.filter((e) => e.state === 'live').length,
      books: listed.length,
    }
  })
}
