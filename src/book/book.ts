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

/** Longest run of levels moved by hand; a longer one is moved by `splice` (a native memmove). */
const MAX_HAND_MOVE = 48

/**
 * Sets one level on a side kept sorted best-first. `descending` is true for bids.
 * Binary search, then replace, insert or remove.
 */
export function setLevel(side: Level[], level: Level, descending: boolean): void {
  const px = level.px
  const n = side.length
  let lo = 0
  let hi = n
  if (descending) {
    while (lo < hi) {
      const mid = (lo + hi) >>> 1
      if (side[mid]!.px > px) lo = mid + 1
      else hi = mid
    }
  } else {
    while (lo < hi) {
      const mid = (lo + hi) >>> 1
      if (side[mid]!.px < px) lo = mid + 1
      else hi = mid
    }
  }
  const found = lo < n && side[lo]!.px === px
  if (level.qty === 0) {
    if (!found) return
    if (n - lo > MAX_HAND_MOVE) side.splice(lo, 1)
    else {
      for (let i = lo + 1; i < n; i++) side[i - 1] = side[i]!
      side.pop()
    }
  } else if (found) {
    side[lo] = level
  } else if (lo === n) {
    side.push(level)
  } else if (n - lo > MAX_HAND_MOVE) {
    side.splice(lo, 0, level)
  } else {
    side.push(side[n - 1]!)
    for (let i = n - 1; i > lo; i--) side[i] = side[i - 1]!
    side[lo] = level
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
