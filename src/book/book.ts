/**
 * @module
 * An L2 order book as two sorted arrays (bids best-first descending, asks best-first ascending)
 * and the pure operations on it. Levels keep the venue's own decimal strings; ordering uses the
 * parsed numbers. `Number(text)` is correctly rounded, so two decimal strings parse to the same
 * double exactly when they denote the same value (for the ≤15 significant digits venues send), which
 * is what makes the numeric key exact here.
 */
import type { Level } from '../types.ts'

export interface OrderBook {
  /** Best (highest) first. */
  bids: Level[]
  /** Best (lowest) first. */
  asks: Level[]
}

export const createBook = (): OrderBook => ({ bids: [], asks: [] })

/** Empties the book in place (a reset: no ghost levels survive). */
export function clearBook(book: OrderBook): void {
  book.bids.length = 0
  book.asks.length = 0
}

/** Replaces the book with a snapshot; levels are sorted and zero quantities dropped. */
export function applySnapshot(
  book: OrderBook,
  bids: readonly Level[],
  asks: readonly Level[],
): void {
  clearBook(book)
  for (const l of bids) setLevel(book.bids, l, true)
  for (const l of asks) setLevel(book.asks, l, false)
}

/** Applies absolute level updates; quantity 0 deletes the level (deleting an absent level is a no-op). */
export function applyDelta(book: OrderBook, bids: readonly Level[], asks: readonly Level[]): void {
  for (let i = 0; i < bids.length; i++) setLevel(book.bids, bids[i]!, true)
  for (let i = 0; i < asks.length; i++) setLevel(book.asks, asks[i]!, false)
}

/**
 * Sets one level on a side kept sorted best-first. `descending` is true for bids.
 * Binary search, then replace, insert or remove.
 */
export function setLevel(side: Level[], level: Level, descending: boolean): void {
  const px = level.px
  let lo = 0
  let hi = side.length
  while (lo < hi) {
    const mid = (lo + hi) >>> 1
    const p = side[mid]!.px
    if (descending ? p > px : p < px) lo = mid + 1
    else hi = mid
  }
  const found = lo < side.length && side[lo]!.px === px
  if (level.qty === 0) {
    if (found) side.splice(lo, 1)
  } else if (found) {
    side[lo] = level
  } else if (lo === side.length) {
    side.push(level)
  } else {
    side.splice(lo, 0, level)
  }
}

/** Drops levels beyond `depth` on each side (venues with a fixed depth send no deletes for levels pushed out). */
export function truncateBook(book: OrderBook, depth: number): void {
  if (book.bids.length > depth) book.bids.length = depth
  if (book.asks.length > depth) book.asks.length = depth
}

/** True when the best bid is at or above the best ask: a broken book. */
export function isCrossed(book: OrderBook): boolean {
  const bid = book.bids[0]
  const ask = book.asks[0]
  return bid !== undefined && ask !== undefined && bid.px >= ask.px
}
