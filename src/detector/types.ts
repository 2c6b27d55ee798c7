/**
 * @module
 * What the detector produces: opportunities with their numbers, and the typed lifecycle events
 * the rest of the program (store, chat alerts, API, dashboard) subscribes to.
 */
import type { RouteTransfer } from '../transfers/types.ts'
import type { Pair, VenueId } from '../types.ts'

/**
 * The kinds of opportunity: one constant for the type, the store's column and its check.
 *   - `cross`: buy a market on one venue, sell the same market on another;
 *   - `triangle`: a cycle of three markets on one venue;
 *   - `cross-quote`: buy X/Q1 on one venue, sell X/Q2 on another, convert Q2 back to Q1 on the
 *     second venue's Q1/Q2 (or Q2/Q1) book.
 */
export const OPPORTUNITY_KINDS = ['cross', 'triangle', 'cross-quote'] as const
export type OpportunityKind = (typeof OPPORTUNITY_KINDS)[number]

/** One leg of a route: buy or sell the base of `market` on `venue`. */
export interface RouteLeg {
  readonly venue: VenueId
  readonly market: Pair
  readonly side: 'buy' | 'sell'
  /** Volume-weighted price paid or received at the trade size. */
  readonly price: number
}

/** The numbers of one opportunity at one moment. */
export interface Quote {
  /** Gross spread at the top of book, basis points: (bid_B - ask_A) / ask_A. */
  readonly grossBps: number
  /** Net spread after both (or all three) taker fees at `sizeQuote`, basis points. */
  readonly netBps: number
  /** Trade size the net spread is computed at, in the quote currency. */
  readonly sizeQuote: number
  /** Estimated profit at `sizeQuote` after fees, quote currency. */
  readonly profitQuote: number
  /** Largest size (quote currency) whose net spread is still at or above the threshold. */
  readonly maxSizeQuote: number
  /** Estimated profit at `maxSizeQuote`. */
  readonly maxProfitQuote: number
  /**
   * Volume-weighted buy price at `sizeQuote` (cross), the first leg's price (triangle, cross-quote:
   * in the starting quote Q1).
   */
  readonly buyPrice: number
  /**
   * Volume-weighted sell price at `sizeQuote` (cross), the last leg's price (triangle), the second
   * leg's price (cross-quote: in the other quote Q2).
   */
  readonly sellPrice: number
  /** Sum of the taker fees charged, basis points of notional per leg added up. */
  readonly feeBps: number
  /**
   * Age of the buy and sell books' data when computed, ms (a triangle: its oldest leg's; a
   * cross-quote's sell side: the older of the sell and conversion books).
   */
  readonly buyAgeMs: number
  readonly sellAgeMs: number
  /** Triangles and cross-quote routes: the three legs in order. */
  readonly legs?: readonly RouteLeg[]
}

/** One book level a walk took from: the level as the venue sent it, and how much of it was taken. */
export interface WalkLevel {
  /** The level's price and quantity, text exactly as the venue sent them. */
  readonly pxText: string
  readonly qtyText: string
  /** Base taken from this level (all of `qtyText` but at the last level walked). */
  readonly taken: number
}

/**
 * One leg of an opening walk: a buy spends the market's quote on its asks, a sell sells its base
 * into its bids; the taker fee is paid out of what came out, and the rest goes to the next leg.
 */
export interface WalkLeg {
  readonly venue: VenueId
  readonly market: Pair
  readonly side: 'buy' | 'sell'
  readonly feeBps: number
  /** The levels used, best first. */
  readonly levels: readonly WalkLevel[]
  /** What went in: quote spent (buy) or base sold (sell). */
  readonly amountIn: number
  /** What came out before the fee: base bought (buy) or quote received (sell). */
  readonly amountOut: number
  /** What came out after the fee: what the next leg gets, or the proceeds after the last. */
  readonly amountAfterFee: number
}

/**
 * The walk of both (or all three) books behind an opening quote: enough to check its net by hand
 * (`explain.ts` renders it). A cross is two legs: buy on the buy venue's asks, sell on the sell
 * venue's bids; a triangle or cross-quote route its three legs in order.
 */
export interface OpeningWalk {
  /** The trade size walked, in the start asset (the quote currency for a cross). */
  readonly sizeQuote: number
  readonly legs: readonly WalkLeg[]
}

export interface Opportunity {
  /** Stable id, e.g. `cross:BTC/USDT:<buy venue>><sell venue>:1795307804603`. */
  readonly id: string
  readonly kind: OpportunityKind
  /**
   * The market (cross), the cycle, e.g. `USDT>BTC>ETH>USDT` (triangle), or the bought and the sold
   * market, e.g. `BTC/USDT>BTC/USD` (cross-quote; the conversion market is in its legs).
   */
  readonly symbol: string
  readonly buyVenue: VenueId
  readonly sellVenue: VenueId
  /** Above MAX_SPREAD_PCT: recorded for inspection, never alerted. */
  readonly anomaly: boolean
  readonly openedAtMs: number
  /** The numbers when it opened, the latest ones, and the best net seen. */
  readonly open: Quote
  last: Quote
  peakNetBps: number
  updatedAtMs: number
  closedAtMs: number | undefined
  closeReason: string | undefined
  /**
   * Cross-venue routes: whether the coins can move from the buy venue to the sell venue, from the
   * transfer facts when it opened or last updated (undefined for triangles, which stay on one
   * venue, and when no transfer facts are wired).
   */
  transfer?: RouteTransfer | undefined
  /** The book levels the opening quote walked (absent on opportunities stored before it was kept). */
  readonly walk?: OpeningWalk | undefined
}

/** A cross-venue route as the transfer check sees it: the asset moved and the quote it opened at. */
export interface TransferQuery {
  /** The base asset bought on `buyVenue` and sold on `sellVenue`. */
  readonly asset: string
  readonly buyVenue: VenueId
  readonly sellVenue: VenueId
  readonly quote: Quote
}

export type OpportunityEvent =
  | {
      readonly type: 'opened'
      readonly opportunity: Opportunity
      readonly atMs: number
      /**
       * The detector pass it opened in: one book update re-evaluates every route reading that
       * book, synchronously, and the openings of that pass share this number (counted from 1 per
       * detector; with `atMs` it names the pass). Absent on openings not made by a detector.
       */
      readonly pass?: number
    }
  | { readonly type: 'updated'; readonly opportunity: Opportunity; readonly atMs: number }
  | { readonly type: 'closed'; readonly opportunity: Opportunity; readonly atMs: number }

export type OpportunityListener = (event: OpportunityEvent) => void
