/**
 * @module
 * The venue registry: one line per venue.
 */
import type { VenueId } from '../types.ts'
import { binance } from './binance.ts'
import { bitstamp } from './bitstamp.ts'
import { bybit } from './bybit.ts'
import { coinbase } from './coinbase.ts'
import type { Exchange } from './exchange.ts'
import { kraken } from './kraken.ts'
import { okx } from './okx.ts'

export const EXCHANGES: Readonly<Record<VenueId, Exchange>> = {
  binance,
  kraken,
  coinbase,
  bitstamp,
  okx,
  bybit,
}
