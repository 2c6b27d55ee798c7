/**
 * @module
 * The venue registry: one line per venue.
 */
import type { VenueId } from '../types.ts'
import { binance } from './binance.ts'
import type { Exchange } from './exchange.ts'

export const EXCHANGES: Partial<Record<VenueId, Exchange>> = {
  binance,
}
