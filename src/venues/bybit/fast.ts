/**
 * @module
 * Bybit v5's hot frames read in place (venues/scan.ts): `orderbook.50` and `orderbook.1` pushes
 * in the shape Bybit sends (docs/exchange-protocols.md §6; spot puts `ts` before `type`, the
 * published examples after it: both are read). The level-1 book kept per connection for the
 * cross-check (`TopState`) is shared with index.ts's `JSON.parse` path, and so are the rules
 * that keep it (`topEvent`): this path changes the state only for a frame it accepts whole. Any
 * other frame gives undefined and index.ts parses it with `JSON.parse`; for every frame this path
 * accepts both give the same events.
 */
import type { Level, Pair } from '../../types.ts'
import type { VenueEvent } from '../venue.ts'
import { Cursor, ROWS, STRING, SymbolTable, UINT, wholeFrame } from '../scan.ts'

/** The topic prefixes: the subscribed depth's (`orderbook.50.`), the level-1 book's. */
export interface Topics {
  readonly book: string
  readonly top: string
}

/** A market's level-1 book as this connection last received it. */
export interface TopState {
  u: number
  bid: Level | undefined
  ask: Level | undefined
}

/** What a parser keeps between frames, shared by both paths. */
export interface ParserState {
  readonly tops: Map<Pair, TopState>
  /** Books whose last depth-50 push carried a cross sequence: only theirs can be compared. */
  readonly crossed: Set<Pair>
}

/** A `seq` usable as a cross sequence, or undefined. */
export const crossSeqOf = (seq: unknown): number | undefined =>
  typeof seq === 'number' && Number.isSafeInteger(seq) && seq > 0 ? seq : undefined

/**
 * One side of a level-1 book after these rows (quantity 0 deletes, a later row for a price
 * replaces an earlier one): its best level.
 */
export function applyTopSide(
  best: Level | undefined,
  rows: readonly Level[],
  better: (a: number, b: number) => boolean,
): Level | undefined {
  if (rows.length === 0) return best
  let out: Level | undefined
  if (best !== undefined && !rows.some((l) => l.px === best.px)) out = best
  for (let i = 0; i < rows.length; i++) {
    const l = rows[i]!
    if (l.qty === 0) continue
    let last = true
    for (let j = i + 1; j < rows.length && last; j++) if (rows[j]!.px === l.px) last = false
    if (last && (out === undefined || better(l.px, out.px))) out = l
  }
  return out
}

const higher = (a: number, b: number) => a > b
const lower = (a: number, b: number) => a < b

/**
 * A level-1 push that passed its checks into the level-1 state and its event: a `top` at `seq`
 * when the book's last depth-50 push carried a cross sequence, else `info`. A snapshot starts the
 * state; a delta must follow it by one `u` (the caller checks).
 */
export function topEvent(
  state: ParserState,
  pair: Pair,
  snapshot: boolean,
  u: number,
  bids: readonly Level[],
  asks: readonly Level[],
  seqValue: unknown,
): VenueEvent {
  let top = state.tops.get(pair)
  if (snapshot || top === undefined) {
    top = { u, bid: undefined, ask: undefined }
    state.tops.set(pair, top)
  }
  top.u = u
  top.bid = applyTopSide(top.bid, bids, higher)
  top.ask = applyTopSide(top.ask, asks, lower)
  const seq = crossSeqOf(seqValue)
  if (seq === undefined || !state.crossed.has(pair)) return { type: 'info' }
  return { type: 'top', pair, seq, bid: top.bid, ask: top.ask }
}

const TYPE = '"(?:snapshot|delta)"'
const PUSH = wholeFrame(
  String.raw`\{"topic":${STRING},(?:"ts":${UINT},"type":${TYPE}|"type":${TYPE},"ts":${UINT}),` +
    String.raw`"data":\{"s":${STRING},"b":${ROWS},"a":${ROWS},"u":${UINT},"seq":${UINT}\}` +
    String.raw`(?:,"cts":${UINT})?\}`,
)
const TOPIC = '{"topic":"'.length
const TS = '","ts":'.length
const TYPE_AFTER_TS = ',"type":"'.length
const TYPE_FIRST = '","type":"'.length
const TS_AFTER_TYPE = '","ts":'.length
const DATA_S = ',"data":{"s":"'.length
const DATA_S_AFTER_TYPE = '","data":{"s":"'.length
const B = '","b":'.length
const A = ',"a":'.length
const U = ',"u":'.length
const SEQ = ',"seq":'.length

/**
 * The scanning parser: events for the frames it reads, undefined for the rest.
 *
 * @example
 * ```ts
 * const state = { tops: new Map(), crossed: new Set() }
 * const fast = createFastParser(new Map([['BTCUSDT', 'BTC/USDT']]), state, BYBIT_TOPICS)
 * fast(frame) ?? slow(frame)
 * ```
 */
export function createFastParser(
  markets: ReadonlyMap<string, Pair>,
  state: ParserState,
  topics: Topics,
): (raw: string) => VenueEvent[] | undefined {
  const c = new Cursor()
  const symbols = new SymbolTable(markets)
  return (raw) => {
    if (!PUSH.test(raw)) return undefined
    c.text = raw
    const level1 = raw.startsWith(topics.top, TOPIC)
    if (!level1 && !raw.startsWith(topics.book, TOPIC)) return undefined
    const native = TOPIC + (level1 ? topics.top : topics.book).length
    const nativeEnd = c.stringEnd(native)
    const pair = symbols.get(raw, native, nativeEnd)
    if (pair === undefined) return undefined
    // `ts` then `type` (spot), or `type` then `ts`.
    let ts: number
    let snapshot: boolean
    let s: number
    if (raw.charCodeAt(nativeEnd + 4) === 115) {
      ts = c.integer(nativeEnd + TS)
      snapshot = raw.charCodeAt(c.at + TYPE_AFTER_TS) === 115
      s = c.at + TYPE_AFTER_TS + (snapshot ? 8 : 5) + DATA_S_AFTER_TYPE
    } else {
      snapshot = raw.charCodeAt(nativeEnd + TYPE_FIRST) === 115
      ts = c.integer(nativeEnd + TYPE_FIRST + (snapshot ? 8 : 5) + TS_AFTER_TYPE)
      s = c.at + DATA_S
    }
    // `s` names the topic's own market.
    const sEnd = c.stringEnd(s)
    if (sEnd - s !== nativeEnd - native) return undefined
    for (let k = 0; k < sEnd - s; k++)
      if (raw.charCodeAt(s + k) !== raw.charCodeAt(native + k)) return undefined
    const bids = c.rows(sEnd + B)
    if (bids === undefined) return undefined
    const asks = c.rows(c.at + A)
    if (asks === undefined) return undefined
    const u = c.integer(c.at + U)
    const seq = c.integer(c.at + SEQ)
    if (u < 1) return undefined
    if (level1) {
      // A delta is read here only in sequence; anything else pauses the tops (index.ts).
      const top = state.tops.get(pair)
      if (!snapshot && (top === undefined || u !== top.u + 1)) return undefined
      return [topEvent(state, pair, snapshot, u, bids, asks, seq)]
    }
    const crossSeq = crossSeqOf(seq)
    if (crossSeq === undefined) state.crossed.delete(pair)
    else state.crossed.add(pair)
    return [
      snapshot
        ? { type: 'snapshot', pair, bids, asks, seq: u, exchangeTsMs: ts, crossSeq }
        : { type: 'delta', pair, bids, asks, prevSeq: u - 1, seq: u, exchangeTsMs: ts, crossSeq },
    ]
  }
}
