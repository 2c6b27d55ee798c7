/**
 * @module
 * What is known about moving one asset in or out of one venue over one network, as the venue's
 * own endpoint said it at one moment. Venue modules fetch these (`Venue.transfers`); the rest of
 * the program (the route status, the store, the API, alerts) reads them. A fact that was not
 * given is `undefined`, never a guess: unknown is never shown as "ok".
 */
import type { VenueId } from '../types.ts'

/** One asset on one network at one venue. */
export interface TransferFact {
  readonly venue: VenueId
  /** The unified asset code (the venue's aliases applied: Kraken XBT is BTC). */
  readonly asset: string
  /** The network in the shared vocabulary of `networks.ts` (`ETH`, `TRX`, `BTC`…). */
  readonly network: string
  /** The venue's own name for it (`ERC20`, `USDT-ERC20`, `trc20usdt`). */
  readonly venueNetwork: string
  readonly depositEnabled: boolean | undefined
  readonly withdrawEnabled: boolean | undefined
  /** Fixed withdrawal fee, in units of the asset. */
  readonly withdrawFee: number | undefined
  /** Smallest withdrawal, in units of the asset. */
  readonly withdrawMin: number | undefined
  /** The token's contract on this network (lower-cased where the network is case-insensitive). */
  readonly contract: string | undefined
  /** When the venue answered, ms since the epoch. */
  readonly fetchedAtMs: number
  /** The endpoint that said so (`GET /api/v3/currencies`). */
  readonly source: string
}

/** A read-only API key for a venue's signed endpoints (`<VENUE>_API_KEY`, `_API_SECRET`, `_API_PASSPHRASE`). */
export interface Credentials {
  readonly key: string
  readonly secret: string
  readonly passphrase?: string
}

/** How a chat treats the transfer status: alert only `transferable` routes, any, or hide the line. */
export const TRANSFER_MODES = ['only', 'any', 'off'] as const
export type TransferMode = (typeof TRANSFER_MODES)[number]

/** Whether an opportunity's coins can move from the buy venue to the sell venue. */
export const ROUTE_STATUSES = ['transferable', 'blocked', 'unknown'] as const
export type RouteStatus = (typeof ROUTE_STATUSES)[number]

/**
 * The transfer truth behind one cross-venue opportunity, from the facts on both legs: withdraw the
 * asset from the buy venue, deposit it on the sell venue, over a network both list.
 */
export interface RouteTransfer {
  readonly status: RouteStatus
  /**
   * Why, in one short line for alerts and the dashboard: "Withdraw BTC from Binance: open (BTC) ·
   * deposit on Kraken: open · fee 0.0002 BTC", "blocked: withdrawals of BTC suspended on Binance",
   * "unknown: Binance's withdrawal status needs BINANCE_API_KEY".
   */
  readonly line: string
  /** `blocked`: which side stops it; `unknown`: which side's fact is missing. */
  readonly side?: 'withdraw' | 'deposit' | 'both'
  /** The cheapest open network both venues share (when transferable). */
  readonly network?: string
  /** Its withdrawal fee, in units of the asset, and valued in the quote at the buy price. */
  readonly fee?: number
  readonly feeQuote?: number
  /** Net after that fee at the trade size, bps (beside the opportunity's own net). */
  readonly netAfterFeeBps?: number
  /** True when both venues publish contracts for the asset and no network's contract matches. */
  readonly collision: boolean
  /** The oldest fact it rests on, ms since the epoch (undefined when there is none). */
  readonly factsAtMs?: number
  /** The endpoints the facts came from. */
  readonly sources: readonly string[]
}
