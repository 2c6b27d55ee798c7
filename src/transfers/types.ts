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
