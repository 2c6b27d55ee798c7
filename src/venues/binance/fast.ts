/**
 * @module
 * Binance's hot frames read in place (venues/scan.ts): `depthUpdate` and `bookTicker` payloads,
 * raw or in the combined-stream envelope, in the shape and key order Binance documents
 * (web-socket-streams.md), straight into `delta` and `top` events. Any other frame gives
 * undefined and index.ts parses it with `JSON.parse`; for every frame this path accepts both give
 * the same events.
 */
import type { Level, Pair } from '../../types.ts'
import { isDecimalText, type VenueEvent } from '../venue.ts'
import { Cursor, ROWS, STRING, SymbolTable, UINT, wholeFrame } from '../scan.ts'

const DEPTH = String.raw`\{"e":"depthUpdate","E":${UINT},"s":${STRING},"U":${UINT},"u":${UINT},"b":${ROWS},"a":${ROWS}\}`
const TICKER = String.raw`\{"u":${UINT},"s":${STRING},"b":${STRING},"B":${STRING},"a":${STRING},"A":${STRING}\}`
const envelope = (payload: string) => String.raw`\{"stream":${STRING},"data":${payload}\}`

const COMBINED_DEPTH = wholeFrame(envelope(DEPTH))
const COMBINED_TICKER = wholeFrame(envelope(TICKER))
const RAW_DEPTH = wholeFrame(DEPTH)
const RAW_TICKER = wholeFrame(TICKER)

const COMBINED = '{"stream":"'
const DEPTH_E = '{"e":"depthUpdate","E":'.length

/**
 * The scanning parser: events for the frames it reads, undefined for the rest.
 *
 * @example
 * ```ts
 * const fast = createFastParser(new Map([['BTCUSDT', 'BTC/USDT']]))
 * fast(frame) ?? slow(frame)
 * ```
 */
export function createFastParser(
  markets: ReadonlyMap<string, Pair>,
): (raw: string) => VenueEvent[] | undefined {
  const c = new Cursor()
  const symbols = new SymbolTable(markets)
  return (raw) => {
    c.text = raw
    let payload = 0
    let ticker: boolean
    if (raw.startsWith(COMBINED)) {
      // The stream name says which payload to expect; the payload alone decides what it is.
      c.stringEnd(COMBINED.length)
      payload = c.at + 8 // ,"data":
      ticker = raw.endsWith('@bookTicker', c.at - 1)
      if (!(ticker ? COMBINED_TICKER : COMBINED_DEPTH).test(raw)) return undefined
    } else {
      ticker = raw.startsWith('{"u":')
      if (!(ticker ? RAW_TICKER : RAW_DEPTH).test(raw)) return undefined
    }
    const ev = ticker ? readTicker(c, payload, symbols) : readDepth(c, payload, symbols)
    return ev === undefined ? undefined : [ev]
  }
}

/** A matched `DEPTH` payload at `i` into a delta. */
function readDepth(c: Cursor, i: number, symbols: SymbolTable<Pair>): VenueEvent | undefined {
  const E = c.integer(i + DEPTH_E)
  const symbol = c.at + 6 // ,"s":"
  const pair = symbols.get(c.text, symbol, c.stringEnd(symbol))
  const U = c.integer(c.at + 5) // ,"U":
  const u = c.integer(c.at + 5) // ,"u":
  if (pair === undefined || u < U) return undefined
  const bids = c.rows(c.at + 5) // ,"b":
  if (bids === undefined) return undefined
  const asks = c.rows(c.at + 5) // ,"a":
  if (asks === undefined) return undefined
  return { type: 'delta', pair, prevSeq: U - 1, seq: u, bids, asks, exchangeTsMs: E }
}

/** A matched `TICKER` payload at `i` into a `top` event. */
function readTicker(c: Cursor, i: number, symbols: SymbolTable<Pair>): VenueEvent | undefined {
  const u = c.integer(i + 5) // {"u":
  const symbol = c.at + 6 // ,"s":"
  const pair = symbols.get(c.text, symbol, c.stringEnd(symbol))
  const b = c.string(c.at + 6) // ,"b":"
  const B = c.string(c.at + 6) // ,"B":"
  const a = c.string(c.at + 6) // ,"a":"
  const A = c.string(c.at + 6) // ,"A":"
  if (pair === undefined) return undefined
  const bid = tickerSide(b, B)
  const ask = tickerSide(a, A)
  if (bid === null || ask === null) return undefined
  return { type: 'top', pair, seq: u, bid, ask }
}

/** One bookTicker side: a level, undefined for an empty side (zero price and quantity), or null. */
export function tickerSide(px: string, qty: string): Level | undefined | null {
  if (!isDecimalText(px) || !isDecimalText(qty)) return null
  const p = +px
  const q = +qty
  if (p > 0) return { px: p, qty: q, pxText: px, qtyText: qty }
  return q === 0 ? undefined : null
}
