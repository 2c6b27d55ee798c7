/**
 * @module
 * OKX v5's hot frames read in place (venues/scan.ts): `books` pushes (snapshot or update) in the
 * shape and key order OKX sends today (docs/exchange-protocols.md §5.2-5.3: `[px, sz, "0",
 * orders]` rows, `ts`, `checksum`, `prevSeqId`, `seqId`), and the bare `pong`. The rows' third
 * and fourth members are checked by the pattern and never copied. Any other frame (the 2022 form
 * without seqId among them) gives undefined and index.ts parses it with `JSON.parse`; for every
 * frame this path accepts both give the same events.
 */
import type { Level, Pair } from '../../types.ts'
import type { VenueEvent } from '../venue.ts'
import { Cursor, INT, ROWS, STRING, SymbolTable, UINT, wholeFrame } from '../scan.ts'

const ENTRY = String.raw`\{"asks":${ROWS},"bids":${ROWS},"ts":"${UINT}","checksum":${INT},"prevSeqId":${INT},"seqId":${UINT}\}`
const BOOKS = wholeFrame(
  String.raw`\{"arg":\{"channel":"books","instId":${STRING}\},"action":"(?:snapshot|update)",` +
    String.raw`"data":\[${ENTRY}(?:,${ENTRY})*\]\}`,
)
const INST_ID = '{"arg":{"channel":"books","instId":"'.length
const ACTION = '"},"action":"'.length
const DATA = '","data":['.length
const ASKS = '{"asks":'.length
const BIDS = ',"bids":'.length
const TS = ',"ts":"'.length
const CHECKSUM = '","checksum":'.length
const PREV_SEQ_ID = ',"prevSeqId":'.length
const SEQ_ID = ',"seqId":'.length

/**
 * The scanning parser: events for the frames it reads, undefined for the rest.
 *
 * @example
 * ```ts
 * const fast = createFastParser(new Map([['BTC-USDT', 'BTC/USDT']]))
 * fast(frame) ?? slow(frame)
 * ```
 */
export function createFastParser(
  markets: ReadonlyMap<string, Pair>,
): (raw: string) => VenueEvent[] | undefined {
  const c = new Cursor()
  const instruments = new SymbolTable(markets)
  return (raw) => {
    if (raw === 'pong') return [{ type: 'info' }]
    if (!BOOKS.test(raw)) return undefined
    c.text = raw
    const pair = instruments.get(raw, INST_ID, c.stringEnd(INST_ID))
    if (pair === undefined) return undefined
    const snapshot = raw.charCodeAt(c.at - 1 + ACTION) === 115 // s
    let i = c.at - 1 + ACTION + (snapshot ? 8 : 6) + DATA // the first entry's '{'
    const out: VenueEvent[] = []
    for (;;) {
      const asks = c.rows(i + ASKS)
      if (asks === undefined) return undefined
      const bids = c.rows(c.at + BIDS)
      if (bids === undefined) return undefined
      const ts = c.integer(c.at + TS)
      // As `toTsMs` reads it; 0 is what OKX sends for a retired checksum: "absent".
      const exchangeTsMs = ts > 0 ? ts : undefined
      const sum = c.integer(c.at + CHECKSUM)
      const checksum = sum !== 0 ? sum : undefined
      const prevSeq = c.integer(c.at + PREV_SEQ_ID)
      const seq = c.integer(c.at + SEQ_ID)
      out.push(bookEvent(snapshot, pair, bids, asks, seq, prevSeq, checksum, exchangeTsMs))
      // After the entry's '}': ',' and the next one, or ']' and the end.
      if (raw.charCodeAt(c.at + 1) !== 44) return out
      i = c.at + 2
    }
  }
}

function bookEvent(
  snapshot: boolean,
  pair: Pair,
  bids: Level[],
  asks: Level[],
  seq: number,
  prevSeq: number,
  checksum: number | undefined,
  exchangeTsMs: number | undefined,
): VenueEvent {
  return snapshot
    ? { type: 'snapshot', pair, bids, asks, seq, checksum, exchangeTsMs }
    : { type: 'delta', pair, bids, asks, seq, prevSeq, checksum, exchangeTsMs }
}
