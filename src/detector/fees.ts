/**
 * @module
 * Default spot taker fees at each venue's base (lowest-volume) tier, basis points. Conservative on
 * purpose: an opportunity that survives these survives better tiers. Override per venue with
 * `FEE_BPS_<VENUE>`. Sources: ../shared/docs/exchange-protocols.md §9 (re-check the venues' fee
 * pages; they change).
 */
import type { VenueId } from '../types.ts'

export const DEFAULT_TAKER_FEE_BPS: Readonly<Record<VenueId, number>> = {
  binance: 10, // 0.10 % VIP 0 (0.075 % paying in BNB)
  kraken: 40, // 0.40 % Kraken Pro, $0-10K 30-day volume
  coinbase: 120, // 1.20 % Advanced, under $1K 30-day volume
  bitstamp: 40, // 0.40 % $0-10K
  okx: 10, // 0.10 % regular Lv1
  bybit: 10, // 0.10 % VIP 0 spot
}
