/**
 * @module
 * Coinbase Advanced Trade's hot frames read in place (venues/scan.ts): `l2_data` snapshots and
 * updates and `heartbeats`, in the envelope and key order Coinbase sends (docs/exchange-
 * protocols.md §3.1; `client_id` may be left out). Only what the books need is read: the
 * `event_time` of every update and the heartbeat's content are skipped (checked by the pattern,
 * never copied). Any other frame gives undefined and index.ts parses it with `JSON.parse`; for
 * every frame this path accepts both give the same events.
 */
import type { Level, Pair } from '../../types.ts'
import type { VenueEvent } from '../venue.ts'
import { Cursor, list, QUOTED_DECIMAL, STRING, SymbolTable, UINT, UTC_TIME } from '../scan.ts'
import { UtcClock, wholeFrame } from '../scan.ts'

const UPDATE = String.raw`\{"side":"(?:bid|offer|ask)","event_time":${STRING},"price_level":${QUOTED_DECIMAL},"new_quantity":${QUOTED_DECIMAL}\}`
const EVENT = String.raw`\{"type":"(?:snapshot|update)","product_id":${STRING},"updates":${list(UPDATE)}\}`
const HEARTBEAT = String.raw`\{"current_time":${STRING},"heartbeat_counter":(?:${UINT}|${STRING})\}`
const envelope = (channel: string, events: string) =>
  wholeFrame(
    String.raw`\{"channel":"${channel}",(?:"client_id":${STRING},)?"timestamp":${UTC_TIME},` +
      String.raw`"sequence_num":${UINT},"events":${events}\}`,
  )

const L2_DATA = envelope('l2_data', String.raw`\[${EVENT}(?:,${EVENT})*\]`)
const HEARTBEATS = envelope('heartbeats', String.raw`\[${HEARTBEAT}\]`)

const L2_PREFIX = '{"channel":"l2_data",'
const HEARTBEATS_PREFIX = '{"channel":"heartbeats",'
const CLIENT_ID = '"client_id":"'
const TIMESTAMP = '"timestamp":"'
const SEQUENCE = '","sequence_num":'
const EVENTS = ',"events":['
const TYPE = '{"type":"'
const PRODUCT = '","product_id":"'
const UPDATES = ',"updates":'
const SIDE = '[{"side":"'
const TIME = '","event_time":"'
const PRICE = '","price_level":"'
const QUANTITY = '","new_quantity":"'
const NEXT_SIDE = '"},{"side":"'

/**
 * The scanning parser: events for the frames it reads, undefined for the rest.
 *
 * @example
 * ```ts
 * const fast = createFastParser(new Map([['BTC-USD', 'BTC/USD']]))
 * fast(frame) ?? slow(frame)
 * ```
 */
export function createFastParser(
  markets: ReadonlyMap<string, Pair>,
): (raw: string) => VenueEvent[] | undefined {
  const c = new Cursor()
  const clock = new UtcClock()
  const products = new SymbolTable(markets)
  return (raw) => {
    const l2 = raw.startsWith(L2_PREFIX)
    if (l2 ? !L2_DATA.test(raw) : !(raw.startsWith(HEARTBEATS_PREFIX) && HEARTBEATS.test(raw))) {
      return undefined
    }
    c.text = raw
    let i = l2 ? L2_PREFIX.length : HEARTBEATS_PREFIX.length
    if (raw.startsWith(CLIENT_ID, i)) i = raw.indexOf('"', i + CLIENT_ID.length) + 2
    const ts = clock.at(raw, i + TIMESTAMP.length)
    const exchangeTsMs = Number.isNaN(ts) ? undefined : ts
    const seq = c.integer(raw.indexOf('"', i + TIMESTAMP.length) + SEQUENCE.length)
    const out: VenueEvent[] = [{ type: 'stream-seq', seq }]
    if (!l2) {
      out.push({ type: 'info' })
      return out
    }
    i = c.at + EVENTS.length // the event's '{'
    for (;;) {
      const snapshot = raw.charCodeAt(i + TYPE.length) === 115 // s
      const product = i + TYPE.length + (snapshot ? 8 : 6) + PRODUCT.length
      const pair = products.get(raw, product, c.stringEnd(product))
      if (pair === undefined) return undefined
      const bids: Level[] = []
      const asks: Level[] = []
      if (!readUpdates(c, c.at + UPDATES.length, bids, asks)) return undefined
      out.push(
        snapshot
          ? { type: 'snapshot', pair, bids, asks, exchangeTsMs }
          : { type: 'delta', pair, bids, asks, exchangeTsMs },
      )
      // After the event's '}': ',' and the next one, or ']' and the end.
      if (raw.charCodeAt(c.at + 1) !== 44) return out
      i = c.at + 2
    }
  }
}

/**
 * The `updates` list whose '[' is at `i` into `bids` and `asks`; `at` is left on the event's
 * closing '}'. False when a level is one `toLevel` rejects.
 */
function readUpdates(c: Cursor, i: number, bids: Level[], asks: Level[]): boolean {
  const t = c.text
  if (t.charCodeAt(i + 1) === 93) {
    c.at = i + 2
    return true
  }
  i += SIDE.length
  for (;;) {
    const side = t.charCodeAt(i)
    const time = i + (side === 111 ? 5 : 3) + TIME.length // offer, or bid and ask
    const px = t.indexOf('"', time) + PRICE.length
    const price = c.decimal(px)
    const pxEnd = c.at
    const qtyAt = pxEnd + QUANTITY.length
    const qty = c.decimal(qtyAt)
    const qtyEnd = c.at
    if (!(price > 0) || qty !== qty) return false
    const level = { px: price, qty, pxText: t.slice(px, pxEnd), qtyText: t.slice(qtyAt, qtyEnd) }
    if (side === 98)
      bids.push(level) // b
    else asks.push(level)
    // "} then ',' and the next update, or ']' and the event's '}'.
    if (t.charCodeAt(qtyEnd + 2) === 93) {
      c.at = qtyEnd + 3
      return true
    }
    i = qtyEnd + NEXT_SIDE.length
  }
}
