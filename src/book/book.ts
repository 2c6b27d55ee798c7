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
  applySide(book.bids, bids, true)
  applySide(book.asks, asks, false)
}

/** Longest run of levels moved by hand; a longer one is moved by `splice` (a native memmove). */
const MAX_HAND_MOVE = 48

/** A message with this many levels for a side at least this deep is merged in one pass. */
const MERGE_MIN_LEVELS = 4
const MERGE_MIN_SIDE = 64

/**
 * One side's updates, in order. Venues send them sorted best-first (Binance, OKX, Bitstamp); many
 * of them on a deep side are merged in one pass (`mergeSorted`), which moves the levels behind
 * them once instead of once per insert or delete. The result is the same either way.
 */
function applySide(side: Level[], levels: readonly Level[], descending: boolean): void {
  const k = levels.length
  if (k >= MERGE_MIN_LEVELS && side.length >= MERGE_MIN_SIDE && isSorted(levels, descending)) {
    mergeSorted(side, levels, descending)
    return
  }
  for (let i = 0; i < k; i++) setLevel(side, levels[i]!, descending)
}

/** True when the prices strictly fall (bids) or rise (asks): no price twice. */
function isSorted(levels: readonly Level[], descending: boolean): boolean {
  for (let i = 1; i < levels.length; i++) {
    const a = levels[i - 1]!.px
    const b = levels[i]!.px
    if (descending ? !(a > b) : !(a < b)) return false
  }
  return true
}

/** First index of `side` whose price is not better than `px`. */
function lowerBound(side: readonly Level[], px: number, descending: boolean): number {
  let lo = 0
  let hi = side.length
  while (lo < hi) {
    const mid = (lo + hi) >>> 1
    const p = side[mid]!.px
    if (descending ? p > px : p < px) lo = mid + 1
    else hi = mid
  }
  return lo
}

/** Scratch space for `mergeSorted`, grown on demand: per update, then per stretch between them. */
let landing = new Int32Array(64)
let stretchFrom = new Int32Array(65)
let stretchTo = new Int32Array(65)
let stretchBy = new Int32Array(65)

/** Moves `side[from..to)` by `by` places; `by` < 0 moves left. */
function move(side: Level[], from: number, to: number, by: number): void {
  if (to - from > MAX_HAND_MOVE / 2) side.copyWithin(from + by, from, to)
  else if (by < 0) for (let i = from; i < to; i++) side[i + by] = side[i]!
  else for (let i = to - 1; i >= from; i--) side[i + by] = side[i]!
}

/**
 * Updates sorted best-first, at most one per price, applied as setting them one by one would:
 * each level between two updates moves once, by the net count of inserts and deletes before it
 * (those moving left first, in order, then those moving right, from the end, so none is
 * overwritten before it moved), then the updates are written where they land.
 */
function mergeSorted(side: Level[], levels: readonly Level[], descending: boolean): void {
  const n = side.length
  const k = levels.length
  if (landing.length < k) {
    landing = new Int32Array(2 * k)
    stretchFrom = new Int32Array(2 * k + 1)
    stretchTo = new Int32Array(2 * k + 1)
    stretchBy = new Int32Array(2 * k + 1)
  }
  let i = lowerBound(side, levels[0]!.px, descending) // the first level not yet placed
  let by = 0
  for (let j = 0; j < k; j++) {
    const l = levels[j]!
    let at = i
    // The next update's place: a short walk from the last one, a binary search when far.
    if (at < n && (descending ? side[at]!.px > l.px : side[at]!.px < l.px)) {
      at = i + 1
      if (at < n && (descending ? side[at]!.px > l.px : side[at]!.px < l.px)) {
        at = lowerBound(side, l.px, descending)
      }
    }
    stretchFrom[j] = i
    stretchTo[j] = at
    stretchBy[j] = by
    const found = at < n && side[at]!.px === l.px
    const kept = l.qty !== 0
    landing[j] = kept ? at + by : -1
    if (found) {
      i = at + 1
      if (!kept) by--
    } else {
      i = at
      if (kept) by++
    }
  }
  stretchFrom[k] = i
  stretchTo[k] = n
  stretchBy[k] = by
  for (let g = 0; g < by; g++) side.push(side[n - 1]!)
  for (let t = 0; t <= k; t++) {
    const d = stretchBy[t]!
    if (d < 0 && stretchTo[t]! > stretchFrom[t]!) move(side, stretchFrom[t]!, stretchTo[t]!, d)
  }
  for (let t = k; t >= 0; t--) {
    const d = stretchBy[t]!
    if (d > 0 && stretchTo[t]! > stretchFrom[t]!) move(side, stretchFrom[t]!, stretchTo[t]!, d)
  }
  for (let j = 0; j < k; j++) if (landing[j]! >= 0) side[landing[j]!] = levels[j]!
  if (by < 0) side.length = n + by
}

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
