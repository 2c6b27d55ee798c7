/**
 * @module
 * Shared vocabulary: venues, unified pairs and book levels.
 */

/** The venues arbwatch speaks to, in the order they are listed to users. */
export const VENUES = ['binance', 'kraken', 'coinbase', 'bitstamp', 'okx', 'bybit'] as const
export type VenueId = (typeof VENUES)[number]

/** A market in unified `BASE/QUOTE` form, e.g. `BTC/USDT`. */
export type Pair = string

/**
 * One price level as the venue sent it: the decimal strings are kept verbatim (checksums and the
 * status API use them), the numbers are parsed once at the boundary for ordering and maths.
 */
export interface Level {
  readonly px: number
  readonly qty: number
  readonly pxText: string
  readonly qtyText: string
}

export type Side = 'bid' | 'ask'

/** Book checksum algorithms a venue may send (computed in book/checksum.ts). */
export type ChecksumAlgo = 'kraken' | 'okx'
