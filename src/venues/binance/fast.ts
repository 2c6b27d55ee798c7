/**
 * @module
 * Binance's hot frames read in place (venues/scan.ts): compact `depthUpdate` and `bookTicker`
 * payloads, raw or in the combined-stream envelope, straight into `delta` and `top` events.
 * Anything else, or anything not fully understood, gives undefined and index.ts parses it with
 * `JSON.parse`; both paths give the same events for every frame this one accepts.
 */
import type { Level, Pair } from '../../types.ts'
import { isDecimalText, type DeltaEvent, type TopEvent, type VenueEvent } from '../venue.ts'
import { Scanner } from '../scan.ts'

const COMBINED_PREFIX = '{"stream":"'
const DATA_KEY = ',"data":'
const TICKER_STREAM = '@bookTicker'
const TICKER_KEYS = ['u', 's', 'b', 'B', 'a', 'A']

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
  const s = new Scanner()
  return (raw) => {
    const ev = scanFrame(s.reset(raw), markets)
    return ev === undefined ? undefined : [ev]
  }
}

/** One frame, raw or combined, into its event. */
function scanFrame(s: Scanner, markets: ReadonlyMap<string, Pair>): VenueEvent | undefined {
  const wrapped = s.text.startsWith(COMBINED_PREFIX)
  let ticker: boolean
  if (wrapped) {
    s.i = COMBINED_PREFIX.length - 1
    ticker = s.string().endsWith(TICKER_STREAM)
    s.expectText(DATA_KEY)
  } else ticker = s.text.startsWith('{"u":')
  const ev = ticker ? scanBookTicker(s, markets) : scanDepthUpdate(s, markets)
  if (wrapped) s.expect(125) // }
  return s.done ? ev : undefined
}

/**
 * A `depthUpdate` payload at the cursor into a delta (undefined: not one this path reads).
 * The caller checks that the frame ends after it.
 */
export function scanDepthUpdate(
  s: Scanner,
  markets: ReadonlyMap<string, Pair>,
): DeltaEvent | undefined {
  s.expect(123) // {
  let e = ''
  let sym = ''
  let E = -1
  let U = -1
  let u = -1
  let b: Level[] | undefined
  let a: Level[] | undefined
  do {
    const key = s.key()
    if (s.fail) return undefined
    switch (key) {
      case 'e':
        e = s.string()
        break
      case 's':
        sym = s.string()
        break
      case 'E':
        E = s.integer()
        break
      case 'U':
        U = s.integer()
        break
      case 'u':
        u = s.integer()
        break
      case 'b':
        b = s.levels()
        break
      case 'a':
        a = s.levels()
        break
      default:
        return undefined
    }
  } while (!s.fail && s.more(125))
  if (s.fail || e !== 'depthUpdate' || b === undefined || a === undefined) return undefined
  if (U < 0 || u < U) return undefined
  const pair = markets.get(sym)
  if (pair === undefined) return undefined
  return {
    type: 'delta',
    pair,
    prevSeq: U - 1,
    seq: u,
    bids: b,
    asks: a,
    exchangeTsMs: E >= 0 ? E : undefined,
  }
}

/**
 * A `bookTicker` payload at the cursor into a `top` event (undefined: not one this path reads).
 * The caller checks that the frame ends after it.
 */
export function scanBookTicker(
  s: Scanner,
  markets: ReadonlyMap<string, Pair>,
): TopEvent | undefined {
  s.expect(123) // {
  let sym = ''
  let u = -1
  // Texts of b, B, a, A in that order; `seen` has one bit per key.
  let b = ''
  let B = ''
  let a = ''
  let A = ''
  let seen = 0
  do {
    const k = TICKER_KEYS.indexOf(s.key())
    if (s.fail || k < 0) return undefined
    seen |= 1 << k
    if (k === 0) u = s.integer()
    else if (k === 1) sym = s.string()
    else if (k === 2) b = s.string()
    else if (k === 3) B = s.string()
    else if (k === 4) a = s.string()
    else A = s.string()
  } while (!s.fail && s.more(125))
  if (s.fail || seen !== 63) return undefined
  const pair = markets.get(sym)
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
