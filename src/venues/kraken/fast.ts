/**
 * @module
 * Kraken v2's hot frames read in place (venues/scan.ts): compact `book` snapshots and updates,
 * their levels' JSON-number tokens kept as the venue's text (what `quoteLevelNumbers` does before
 * `JSON.parse`), and heartbeats. Anything else, or anything not fully understood, gives undefined
 * and index.ts parses it with `JSON.parse`; both paths give the same events for every frame this
 * one accepts.
 */
import type { Level, Pair } from '../../types.ts'
import type { VenueEvent } from '../venue.ts'
import { Scanner, SymbolTable, UtcClock } from '../scan.ts'

const BOOK_PREFIX = '{"channel":"book","type":"'
const HEARTBEAT = '{"channel":"heartbeat"}'
const PRICE = '{"price":'
const QTY = ',"qty":'
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
  const s = new Scanner()
  const clock = new UtcClock()
  const symbols = new SymbolTable(markets)
  return (raw) => {
    if (raw === HEARTBEAT) return [{ type: 'info' }]
    s.reset(raw)
    if (!s.take(BOOK_PREFIX)) return undefined
    const type = s.take('snapshot"') ? 'snapshot' : s.take('update"') ? 'update' : undefined
    if (type === undefined) return undefined
    s.expectText(',"data":[')
    const events: VenueEvent[] = []
    do {
      const ev = scanEntry(s, type, symbols, clock)
      if (ev === undefined) return undefined
      events.push(ev)
    } while (!s.fail && s.more(93)) // ]
    s.expect(125) // }
    return s.done ? events : undefined
  }
}

const ENTRY_KEYS = ['symbol', 'bids', 'asks', 'checksum', 'timestamp']

/** One element of `data`: `{symbol, bids, asks, checksum, timestamp}` in any order. */
function scanEntry(
  s: Scanner,
  type: 'snapshot' | 'update',
  symbols: SymbolTable<Pair>,
  clock: UtcClock,
): VenueEvent | undefined {
  s.expect(123) // {
  let pair: Pair | undefined
  let bids: Level[] = []
  let asks: Level[] = []
  let checksum = -1
  let exchangeTsMs: number | undefined
  do {
    switch (s.member(ENTRY_KEYS)) {
      case 0:
        s.span()
        pair = symbols.get(s.text, s.from, s.to)
        break
      case 1:
        bids = objectLevels(s)
        break
      case 2:
        asks = objectLevels(s)
        break
      case 3:
        checksum = s.integer()
        break
      case 4: {
        // `Date.parse`, as the JSON.parse path reads it; only a string is read here.
        s.span()
        const ts = clock.parseAt(s.text, s.from, s.to)
        exchangeTsMs = Number.isNaN(ts) ? undefined : ts
        break
      }
      default:
        s.skip()
    }
  } while (!s.fail && s.more(125))
  if (s.fail || checksum < 0 || checksum > UINT32_MAX || pair === undefined) return undefined
  return type === 'snapshot'
    ? { type: 'snapshot', pair, bids, asks, checksum, exchangeTsMs }
    : { type: 'delta', pair, bids, asks, checksum, exchangeTsMs }
}

/**
 * `[{"price":45283.5,"qty":0.10000000},...]`: number tokens in plain decimal form, the price
 * positive, their text kept as sent.
 */
function objectLevels(s: Scanner): Level[] {
  const t = s.text
  const out: Level[] = []
  s.expect(91) // [
  if (s.take(']')) return out
  do {
    s.expectText(PRICE)
    const px = s.decimal()
    const pxText = t.slice(s.from, s.to)
    s.expectText(QTY)
    const qty = s.decimal()
    const qtyText = t.slice(s.from, s.to)
    s.expect(125) // }
    if (s.fail || !(px > 0)) {
      s.fail = true
      return out
    }
    out.push({ px, qty, pxText, qtyText })
  } while (s.more(93)) // ]
  return out
}
