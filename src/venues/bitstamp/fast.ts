/**
 * @module
 * Bitstamp v2's hot frames read in place (venues/scan.ts): `data` on `diff_order_book_<pair>`
 * into deltas, and on `order_book_<pair>` into `top` events, in the shape Bitstamp sends
 * (docs/exchange-protocols.md §4). Of an `order_book_` push (the top 100 levels a side) only the
 * best bid and ask are read: the pattern checks the other 198 levels, nothing builds them. Any
 * other frame gives undefined and index.ts parses it with `JSON.parse`; for every frame this path
 * accepts both give the same events.
 */
import type { Pair } from '../../types.ts'
import { isDecimalText, type VenueEvent } from '../venue.ts'
import { Cursor, ROWS, STRING, SymbolTable, wholeFrame } from '../scan.ts'

/** Channel prefix of the full-depth diff stream. */
export const DIFF_CHANNEL = 'diff_order_book_'
/** Channel prefix of the top-100 book pushes: the independent channel tops come from. */
export const BOOK_CHANNEL = 'order_book_'

/** The frames read here (both channels: the channel name comes after the data). */
const DATA = wholeFrame(
  String.raw`\{"data":\{"timestamp":${STRING},"microtimestamp":${STRING},"bids":${ROWS},` +
    String.raw`"asks":${ROWS}\},"channel":${STRING},"event":"data"\}`,
)
const TIMESTAMP = '{"data":{"timestamp":"'.length
const MICROS = '","microtimestamp":"'.length
const BIDS = '","bids":'.length
const ASKS = ',"asks":'.length
/** What follows the channel name: its quote, then `,"event":"data"}`. */
const TAIL = '","event":"data"}'.length

/**
 * Reads a microtimestamp (µs since the epoch as a decimal string; 16 digits, below 2^53, so a
 * JS number holds it exactly). Returns NaN when it is not one.
 */
export function readMicros(text: unknown): number {
  if (typeof text !== 'string' || !isDecimalText(text)) return NaN
  const micros = +text
  return Number.isSafeInteger(micros) && micros > 0 ? micros : NaN
}

/**
 * The scanning parser: events for the frames it reads, undefined for the rest.
 *
 * @example
 * ```ts
 * const fast = createFastParser(new Map([['btcusd', 'BTC/USD']]))
 * fast(frame) ?? slow(frame)
 * ```
 */
export function createFastParser(
  markets: ReadonlyMap<string, Pair>,
): (raw: string) => VenueEvent[] | undefined {
  const c = new Cursor()
  const channels = (prefix: string) => [...markets].map(([n, pair]) => [prefix + n, pair] as const)
  const diffs = new SymbolTable(channels(DIFF_CHANNEL))
  const books = new SymbolTable(channels(BOOK_CHANNEL))
  return (raw) => {
    if (!DATA.test(raw)) return undefined
    c.text = raw
    const channelEnd = raw.length - TAIL
    const channel = raw.lastIndexOf('"', channelEnd - 1) + 1
    const diffPair = diffs.get(raw, channel, channelEnd)
    const topPair = diffPair === undefined ? books.get(raw, channel, channelEnd) : undefined
    if (diffPair === undefined && topPair === undefined) return undefined
    const micros = raw.indexOf('"', TIMESTAMP) + MICROS
    const seq = readMicros(c.string(micros))
    if (Number.isNaN(seq)) return undefined
    const bidsAt = c.at - 1 + BIDS
    if (topPair !== undefined) {
      const bid = c.firstRow(bidsAt)
      const ask = c.firstRow(raw.indexOf('],"asks":[', bidsAt) + 1 + ASKS)
      if (bid === null || ask === null) return undefined
      return [{ type: 'top', pair: topPair, seq, bid, ask }]
    }
    const bids = c.rows(bidsAt)
    if (bids === undefined) return undefined
    const asks = c.rows(c.at + ASKS)
    if (asks === undefined) return undefined
    return [
      { type: 'delta', pair: diffPair!, seq, bids, asks, exchangeTsMs: Math.floor(seq / 1000) },
    ]
  }
}
