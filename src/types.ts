/**
 * @module
 * Shared vocabulary: venues, unified pairs and book levels.
 */

/**
 * A venue's id, lower case. The list of venues is the registry in
 * venues/index.ts; config validates ids against it.
 */
export type VenueId = string

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
