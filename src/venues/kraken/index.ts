/**
 * @module
 * Kraken spot, WebSocket v2 `book` channel: snapshot and updates over the socket, each carrying a
 * CRC-32 of the top 10 levels per side (the only gap detector: v2 has no sequence numbers). Books
 * are truncated to the subscribed depth after every message, as Kraken sends no delete for a level
 * pushed out of the window. Prices and quantities arrive as JSON numbers whose trailing zeros count
 * in the checksum, so their tokens are quoted before `JSON.parse` and kept as the venue's text.
 */
import { joinPair } from '../../symbols.ts'
import { krakenChecksum } from './checksum.ts'
import { SimKraken } from './sim.ts'
import type { Level, Pair } from '../../types.ts'
import { ExchangeError, getJson, parseJson, ParseError, toLevel } from '../venue.ts'
import type { Venue, VenueEvent } from '../venue.ts'

/**
 * Kraken's own asset codes for coins others name differently (AssetPairs `wsname` still says
 * `XBT/USD`; the X/Z-prefixed codes are its legacy names). From Kraken's Assets list.
 */
export const KRAKEN_ASSETS = Object.freeze({
  XBT: 'BTC',
  XXBT: 'BTC',
  XDG: 'DOGE',
  XXDG: 'DOGE',
  XETH: 'ETH',
})

/** Book depths Kraken v2 accepts. */
export const KRAKEN_DEPTHS = [10, 25, 100, 500, 1000] as const
export type KrakenDepth = (typeof KRAKEN_DEPTHS)[number]

export interface KrakenOptions {
  /** Levels per side to subscribe to (and keep); the checksum always covers the top 10. */
  readonly depth?: KrakenDepth
}

interface AssetPair {
  wsname?: unknown
  status?: unknown
}

interface BookData {
  symbol?: unknown
  bids?: unknown
  asks?: unknown
  checksum?: unknown
  timestamp?: unknown
}

interface Frame {
  channel?: unknown
  type?: unknown
  data?: unknown
  method?: unknown
  success?: unknown
  error?: unknown
  symbol?: unknown
  result?: { symbol?: unknown } | null
}

/**
 * Builds the Kraken venue for one subscribed depth (the replay of a depth-1000 capture needs 1000).
 *
 * @param options.depth levels per side, one of 10, 25, 100, 500, 1000 (default 25).
 * @returns the `Venue` description for the connection loop.
 * @example
 * ```ts
 * const deep = createKraken({ depth: 1000 })
 * ```
 */
export function createKraken({ depth = 25 }: KrakenOptions = {}): Venue {
  if (!KRAKEN_DEPTHS.includes(depth)) {
    const allowed = KRAKEN_DEPTHS.join(', ')
    throw new RangeError(`Kraken book depth must be one of ${allowed}, not ${depth}`)
  }
  let reqId = 0
  const request = (method: 'subscribe' | 'unsubscribe', symbols: readonly string[]): string => {
    const params =
      method === 'subscribe'
        ? { channel: 'book', symbol: symbols, depth, snapshot: true }
        : { channel: 'book', symbol: symbols, depth }
    return JSON.stringify({ method, params, req_id: ++reqId })
  }

  return {
    id: 'kraken',
    name: 'Kraken',
    // 0.40 % taker / 0.25 % maker at $0-10K 30-day volume: api-evangelist/kraken
    // plans/kraken-plans-pricing.yml (2026-05-30), summarising kraken.com/features/fee-schedule.
    // The 0.26 % still in ccxt/ccxt ts/src/kraken.ts@b872403 is the older $0-50K tier; 40 is the
    // conservative of the two. FEE_BPS_KRAKEN overrides it.
    takerFeeBps: 40,
    endpoints: { wsUrl: 'wss://ws.kraken.com/v2', restUrl: 'https://api.kraken.com' },
    // v2 has no sequence numbers: the CRC-32 of the top 10 levels is the only gap detector.
    // Acked per symbol; the snapshot that follows proves the book's data flows.
    acksSubscriptions: true,
    sync: {
      snapshot: 'ws',
      sequence: 'none',
      checksum: krakenChecksum,
      maxDepth: depth,
      detectsGaps: true,
    },
    assetAliases: KRAKEN_ASSETS,
    limits: {
      // Kraken sends a heartbeat about once a second once anything is subscribed.
      idleTimeoutMs: 10_000,
      pingIntervalMs: 20_000,
      // Kraken publishes no number: its rate-limit guide (docs.kraken.com/api/docs/guides/
      // spot-ratelimits, as quoted by nautilustrader.io nautilus_kraken
      // KRAKEN_SPOT_WS_SUBSCRIPTION_QUOTA) says the message rate varies with system load and an
      // excess is answered {"Error":"Exceeded msg rate"} and the connection stays open (seen on v1
      // in bitrich-info/xchange-stream#502). A resubscribe costs two frames; leave room for a few.
      sendPerSecond: 10,
      // PROVISIONAL
      marketsPerConnection: 100,
      connects: { count: 10, windowMs: 1000 },
      rest: { weight: 10, windowMs: 1000, snapshotCost: 1 },
    },
    ping: () => JSON.stringify({ method: 'ping', req_id: ++reqId }),
    simulate: (markets) => new SimKraken(markets),

    async listMarkets(restUrl, opts) {
      const body = (await getJson('kraken', `${restUrl}/0/public/AssetPairs`, opts)) as {
        error?: unknown
        result?: Record<string, AssetPair>
      }
      if (Array.isArray(body?.error) && body.error.length > 0) {
        throw new ExchangeError('kraken', `AssetPairs answered ${body.error.join('; ')}`)
      }
      if (body?.result === null || typeof body?.result !== 'object') {
        throw new ParseError('bad-message', 'AssetPairs has no result')
      }
      const out = new Map<Pair, string>()
      for (const info of Object.values(body.result)) {
        // Dark-pool pairs (`.d`) have no wsname; only 'online' pairs stream a live book.
        if (info?.status !== 'online' || typeof info.wsname !== 'string') continue
        const slash = info.wsname.indexOf('/')
        if (slash <= 0 || slash === info.wsname.length - 1) continue
        let pair: Pair
        try {
          pair = joinPair(info.wsname.slice(0, slash), info.wsname.slice(slash + 1), KRAKEN_ASSETS)
        } catch {
          continue
        }
        // v2 names are the normalised BASE/QUOTE (XBT/USD is BTC/USD), the same as our pairs.
        out.set(pair, pair)
      }
      return out
    },

    wsUrl: (base) => base,

    subscribe: (natives) => (natives.length === 0 ? [] : [request('subscribe', natives)]),

    resubscribe: (native) => [request('unsubscribe', [native]), request('subscribe', [native])],

    createParser(markets) {
      return (raw): VenueEvent[] => {
        // Only book frames carry prices; the search is cheap on the small control frames.
        const text = raw.indexOf('"book"') === -1 ? raw : quoteLevelNumbers(raw)
        const msg = parseJson(text) as Frame
        if (msg === null || typeof msg !== 'object' || Array.isArray(msg)) {
          throw new ParseError('bad-message', 'frame is not an object')
        }
        const channel = msg.channel
        if (channel === 'book') return parseBook(msg, markets)
        if (channel === 'heartbeat') return [{ type: 'info' }]
        if (channel === 'status') return parseStatus(msg)
        if (channel !== undefined) return [{ type: 'unknown', what: `channel ${String(channel)}` }]
        return parseResponse(msg, markets)
      }
    },
  }
}

/** Kraken at the default depth of 25 levels per side. */
export const kraken: Venue = createKraken()

function parseBook(msg: Frame, markets: ReadonlyMap<string, Pair>): VenueEvent[] {
  const type = msg.type
  if (type !== 'snapshot' && type !== 'update') {
    return [{ type: 'unknown', what: `book ${String(type)}` }]
  }
  const data = msg.data
  if (!Array.isArray(data)) throw new ParseError('bad-message', 'book frame without a data list')
  const events: VenueEvent[] = []
  for (let i = 0; i < data.length; i++) {
    const d = data[i] as BookData | null
    if (d === null || typeof d !== 'object') {
      throw new ParseError('bad-message', 'book entry is not an object')
    }
    const pair = markets.get(d.symbol as string)
    if (pair === undefined) {
      events.push({ type: 'unknown', what: `book for ${String(d.symbol)}` })
      continue
    }
    const checksum = d.checksum
    if (!isUint32(checksum)) {
      throw new ParseError('bad-message', `book ${type} for ${pair} without a valid checksum`, pair)
    }
    const bids = toObjectLevels(d.bids, pair)
    const asks = toObjectLevels(d.asks, pair)
    const ts = typeof d.timestamp === 'string' ? Date.parse(d.timestamp) : NaN
    const exchangeTsMs = Number.isNaN(ts) ? undefined : ts
    events.push(
      type === 'snapshot'
        ? { type: 'snapshot', pair, bids, asks, checksum, exchangeTsMs }
        : { type: 'delta', pair, bids, asks, checksum, exchangeTsMs },
    )
  }
  return events
}

/** `[{price, qty}, ...]` (both already text, see quoteLevelNumbers) into levels. */
function toObjectLevels(rows: unknown, pair: Pair): Level[] {
  if (rows === undefined) return []
  if (!Array.isArray(rows)) throw new ParseError('bad-message', 'level list is not an array', pair)
  const out: Level[] = new Array(rows.length)
  for (let i = 0; i < rows.length; i++) {
    const row = rows[i] as { price?: unknown; qty?: unknown } | null
    if (row === null || typeof row !== 'object') {
      throw new ParseError('bad-level', 'level is not an object', pair)
    }
    out[i] = toLevel(row.price, row.qty, pair)
  }
  return out
}

function parseStatus(msg: Frame): VenueEvent[] {
  const first = Array.isArray(msg.data) ? (msg.data[0] as { system?: unknown } | null) : undefined
  const system = first?.system
  if (system === undefined || system === 'online') return [{ type: 'info' }]
  return [{ type: 'venue-error', message: `system status ${String(system)}` }]
}

/** Method responses: subscribe/unsubscribe acks, pongs, and their failures. */
function parseResponse(msg: Frame, markets: ReadonlyMap<string, Pair>): VenueEvent[] {
  const method = msg.method
  if (msg.success === false || msg.error !== undefined) {
    const symbol = msg.symbol ?? msg.result?.symbol
    const pair = typeof symbol === 'string' ? markets.get(symbol) : undefined
    const what = String(msg.error ?? 'failed')
    const message = typeof method === 'string' ? `${method}: ${what}` : what
    if (pair === undefined) return [{ type: 'venue-error', message }]
    return [{ type: 'venue-error', message, pair }]
  }
  switch (method) {
    case 'subscribe':
    case 'unsubscribe':
    case 'pong':
      return [{ type: 'info' }]
    default:
      if (method !== undefined) return [{ type: 'unknown', what: `method ${String(method)}` }]
      return [{ type: 'unknown', what: 'frame without channel or method' }]
  }
}

const isUint32 = (x: unknown): x is number =>
  typeof x === 'number' && Number.isInteger(x) && x >= 0 && x <= 0xffffffff

/** JSON whitespace: space, tab, line feed, carriage return. */
const isSpace = (c: number): boolean => c === 32 || c === 9 || c === 10 || c === 13

/**
 * Puts quotes around the number tokens of every `"price"` and `"qty"` member so `JSON.parse` keeps
 * Kraken's literal digits (`0.10000000`, not 0.1). Tokens that are not numbers are left alone, and
 * a negative number becomes a string `toLevel` then rejects. One pass, no regex.
 *
 * @example
 * ```ts
 * quoteLevelNumbers('{"price":45283.5,"qty":0.10000000}')
 * // '{"price":"45283.5","qty":"0.10000000"}'
 * ```
 */
export function quoteLevelNumbers(raw: string): string {
  const n = raw.length
  let out = ''
  let from = 0
  let p = raw.indexOf('"price"')
  let q = raw.indexOf('"qty"')
  while (p !== -1 || q !== -1) {
    let k: number
    if (q === -1 || (p !== -1 && p < q)) {
      k = p + 7
      p = raw.indexOf('"price"', k)
    } else {
      k = q + 5
      q = raw.indexOf('"qty"', k)
    }
    let c = raw.charCodeAt(k)
    while (isSpace(c)) c = raw.charCodeAt(++k)
    if (c !== 58) continue // not a member name (the word inside some other string)
    c = raw.charCodeAt(++k)
    while (isSpace(c)) c = raw.charCodeAt(++k)
    if (c !== 45 && (c < 48 || c > 57)) continue // a string, null, ...: left for toLevel to judge
    let e = k + 1
    for (; e < n; e++) {
      c = raw.charCodeAt(e)
      if (c === 44 || c === 125 || c === 93 || isSpace(c)) break
    }
    out += raw.slice(from, k) + '"' + raw.slice(k, e) + '"'
    from = e
  }
  return from === 0 ? raw : out + raw.slice(from)
}
