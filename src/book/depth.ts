/**
 * @module
 * Depth and imbalance of one order book around its mid price, pure: the quote volume (Σ px·qty)
 * of the bids and of the asks within ±0.5 % and ±2 % of the mid, and the imbalance
 * (bid − ask) / (bid + ask) within ±0.5 %. A level exactly at a band's edge is inside it (up to a
 * relative 1e-12, so that `mid × 0.995` rounding in binary does not drop it).
 */
import type { Level } from '../types.ts'

/** The bands, as fractions of the mid. */
export const NEAR_BAND = 0.005
export const WIDE_BAND = 0.02
const EDGE_EPSILON = 1e-12

export interface BookDepth {
  /** Mid of the best bid and ask; the one best price when the other side is empty. */
  readonly mid: number
  /** Quote volume of the bids with px ≥ mid·(1 − 0.5 %), and of the asks with px ≤ mid·(1 + 0.5 %). */
  readonly bidNear: number
  readonly askNear: number
  /** The same within ±2 %. */
  readonly bidWide: number
  readonly askWide: number
  /** (bidNear − askNear) / (bidNear + askNear), in [−1, 1]; null when both are 0. */
  readonly imbalance: number | null
}

/** Σ px·qty of `side` (best first) while its price is within `limit` (bids: ≥, asks: ≤). */
function volumeWithin(side: readonly Level[], limit: number, bids: boolean): number {
  let sum = 0
  for (const l of side) {
    if (bids ? l.px < limit : l.px > limit) break
    sum += l.px * l.qty
  }
  return sum
}

/**
 * The depth figures of a book whose sides are best first; null when both sides are empty.
 *
 * @example
 * ```ts
 * bookDepth(entry.book)?.imbalance // 0.2: a fifth more bid than ask volume within ±0.5 %
 * ```
 */
export function bookDepth(book: {
  readonly bids: readonly Level[]
  readonly asks: readonly Level[]
}): BookDepth | null {
  const bid = book.bids[0]?.px
  const ask = book.asks[0]?.px
  if (bid === undefined && ask === undefined) return null
  const mid = bid !== undefined && ask !== undefined ? (bid + ask) / 2 : (bid ?? ask)!
  const edge = mid * EDGE_EPSILON
  const lower = (band: number) => mid * (1 - band) - edge
  const upper = (band: number) => mid * (1 + band) + edge
  const bidNear = volumeWithin(book.bids, lower(NEAR_BAND), true)
  const askNear = volumeWithin(book.asks, upper(NEAR_BAND), false)
  const total = bidNear + askNear
  return {
    mid,
    bidNear,
    askNear,
    bidWide: volumeWithin(book.bids, lower(WIDE_BAND), true),
    askWide: volumeWithin(book.asks, upper(WIDE_BAND), false),
    imbalance: total > 0 ? (bidNear - askNear) / total : null,
  }
}
