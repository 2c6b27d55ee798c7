/**
 * @module
 * Kraken v2's hot frames read in place (venues/scan.ts): `book` snapshots and updates in the
 * shape Kraken sends them (docs/exchange-protocols.md §2.2: one symbol, keys in this order, levels
 * as JSON numbers), their number tokens kept as the venue's text as `quoteLevelNumbers` keeps
 * them, and heartbeats. Any other frame gives undefined and index.ts parses it with
 * `JSON.parse`; for every frame this path accepts both give the same events.
 */
import type { Level, Pair } from '../../types.ts'
import type { VenueEvent } from '../venue.ts'
import { Cursor, DECIMAL, list, STRING, SymbolTable, UTC_TIME, UtcClock } from '../scan.ts'
import { wholeFrame } from '../scan.ts'

const LEVELS = list(String.raw`\{"price":${DECIMAL},"qty":${DECIMAL}\}`)
/** A checksum is a uint32: at most 10 digits (and at most 0xffffffff, checked when read). */
const CHECKSUM = String.raw`(?:0|[1-9]\d{0,9})`

/** The frames read here. */
const BOOK = wholeFrame(
  String.raw`\{"channel":"book","type":"(?:snapshot|update)","data":\[\{"symbol":${STRING},` +
    String.raw`"bids":${LEVELS},"asks":${LEVELS},"checksum":${CHECKSUM},"timestamp":${UTC_TIME}\}\]\}`,
)
const HEARTBEAT = '{"channel":"heartbeat"}'
/** Where the symbol starts in an update, and in a snapshot. */
const UPDATE_SYMBOL = '{"channel":"book","type":"update","data":[{"symbol":"'.length
const SNAPSHOT_SYMBOL = '{"channel":"book","type":"snapshot","data":[{"symbol":"'.length
const UINT32_MAX = 0xffffffff

/**
 * The scanning parser: events for the frames it reads, undefined for the rest.
 *
 * @example
 * ```ts
 * const fast = createFastParser(new Map([['BTC/USD', 'BTC/USD']]))
 * fast(frame) ?? slow(frame)
 * ```
 */
export function createFastParser(
  markets: ReadonlyMap<string, Pair>,
): (raw: string) => VenueEvent[] | undefined {
  const c = new Cursor()
  const clock = new UtcClock()
  const symbols = new SymbolTable(markets)
  return (raw) => {
    if (raw === HEARTBEAT) return [{ type: 'info' }]
    if (!BOOK.test(raw)) return undefined
    c.text = raw
    const update = raw.charCodeAt(26) === 117 // u
    const from = update ? UPDATE_SYMBOL : SNAPSHOT_SYMBOL
    const to = c.stringEnd(from)
    const pair = symbols.get(raw, from, to)
    if (pair === undefined) return undefined
    const bids = objectLevels(c, c.at + 8) // ,"bids":
    if (bids === undefined) return undefined
    const asks = objectLevels(c, c.at + 8) // ,"asks":
    if (asks === undefined) return undefined
    const checksum = c.integer(c.at + 12) // ,"checksum":
    if (checksum > UINT32_MAX) return undefined
    const ts = clock.at(raw, c.at + 14) // ,"timestamp":"
    const exchangeTsMs = Number.isNaN(ts) ? undefined : ts
    return [
      update
        ? { type: 'delta', pair, bids, asks, checksum, exchangeTsMs }
        : { type: 'snapshot', pair, bids, asks, checksum, exchangeTsMs },
    ]
  }
}

/**
 * `[{"price":45283.5,"qty":0.10000000},...]` at `i` (the '['), or undefined when a price is not
 * positive or a text too long (what `toLevel` rejects).
 */
function objectLevels(c: Cursor, i: number): Level[] | undefined {
  const t = c.text
  const out: Level[] = []
  if (t.charCodeAt(i + 1) === 93) {
    c.at = i + 2
    return out
  }
  i += 10 // [{"price":
  for (;;) {
    const px = c.decimal(i)
    const pxEnd = c.at
    const qty = c.decimal(pxEnd + 7) // ,"qty":
    const qtyEnd = c.at
    if (!(px > 0) || qty !== qty) return undefined
    out.push({ px, qty, pxText: t.slice(i, pxEnd), qtyText: t.slice(pxEnd + 7, qtyEnd) })
    if (t.charCodeAt(qtyEnd + 1) === 93) {
      c.at = qtyEnd + 2
      return out
    }
    i = qtyEnd + 11 // },{"price":
  }
}
