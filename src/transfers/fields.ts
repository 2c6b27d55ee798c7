/**
 * @module
 * Reading one field of a venue's transfer endpoint the same way everywhere: an amount the venue
 * gave as a plain decimal string or a number, and a flag it gave as a boolean. Anything else is
 * `undefined` (not said), never zero or false.
 */
import { isDecimalText } from '../venues/venue.ts'

/** A non-negative amount: decimal text (`"0.0002"`) or a finite number; else undefined. */
export function amountOf(v: unknown): number | undefined {
  if (typeof v === 'string') return isDecimalText(v) ? +v : undefined
  return typeof v === 'number' && Number.isFinite(v) && v >= 0 ? v : undefined
}

/** A flag the venue gave as a boolean; else undefined. */
export const flagOf = (v: unknown): boolean | undefined => (typeof v === 'boolean' ? v : undefined)
