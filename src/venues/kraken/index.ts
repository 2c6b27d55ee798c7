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
import {
  ExchangeError,
  getJson,
  isDecimalText,
  parseJson,
  ParseError,
  toLevel,
  scannedFirst,
} from '../venue.ts'
import type { FetchOptions, FrameParser, Venue, VenueEvent } from '../venue.ts'
import { createFastParser } from './fast.ts'
import { krakenTransfers } from './transfers.ts'

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

/**
 * Kraken codes that name another token than the same code elsewhere, as ccxt/ccxt ts/src/kraken.ts
 * (commonCurrencies, @0000ca11) maps them. They are not aliased: the registry merges alias tables
 * for what users type, and `LUNA` must keep meaning Terra 2.0 there.
 */
export const KRAKEN_DISTINCT_ASSETS = Object.freeze({
  LUNA: 'Kraken LUNA is Terra Classic (LUNC elsewhere); Terra 2.0 is LUNA2 on Kraken',
  UST: 'Kraken UST is TerraClassicUSD (USTC elsewhere)',
  REP: 'Kraken REP is Augur v1 (REPV1 elsewhere); Augur v2 is REPV2 on Kraken',
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

/** One market of `GET /0/public/Ticker` (the fields used here): `[today, last 24 hours]`. */
interface TickerInfo {
  v?: unknown
  p?: unknown
}

/** Most symbols one connection carries (and one subscribe frame names); see `limits`. */
const MARKETS_PER_CONNECTION = 100

/** How long Kraken restricts public calls after "EGeneral:Too many requests": "a few seconds". */
const TOO_MANY_REQUESTS_WAIT_MS = 5_000

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
    distinctAssets: KRAKEN_DISTINCT_ASSETS,
    transfers: krakenTransfers(KRAKEN_ASSETS, KRAKEN_DISTINCT_ASSETS),
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
      // No symbol limit is published for `book`. The only per-connection figure Kraken gives is
      // 200 symbols for `level3` (docs.kraken.com/api/docs/websocket-v2/level3, "Subscription
      // limits"); 188 `book` symbols at depth 1000 on one connection were measured to work
      // (a public design note, 2026-09-08). Half of 200: one subscribe frame (see `subscribe`),
      // and a dropped connection takes 100 books down at most.
      marketsPerConnection: MARKETS_PER_CONNECTION,
      // No connection rate is published (the Cloudflare in front of ws.kraken.com drops
      // connections it dislikes: support.kraken.com 360044504011). Chosen: 5 per 10 s.
      connects: { count: 5, windowMs: 10_000 },
      // Public REST is limited per IP: "calling the public endpoints at a frequency of 1 per
      // second (or less) would remain within the rate limits" (support.kraken.com 206548367).
      // Every request counts 1 and no used-weight header is sent. Books come over the socket,
      // so only AssetPairs and Ticker are fetched (snapshotCost is unused).
      rest: { weight: 1, windowMs: 1000, snapshotCost: 1 },
    },
    ping: () => JSON.stringify({ method: 'ping', req_id: ++reqId }),
    simulate: (markets) => new SimKraken(markets),

    async listMarkets(restUrl, opts) {
      const out = new Map<Pair, string>()
      // v2 names are the normalised BASE/QUOTE (XBT/USD is BTC/USD), the same as our pairs.
      for (const pair of (await fetchOnlinePairs(restUrl, opts)).values()) out.set(pair, pair)
      return out
    },

    /**
     * `GET /0/public/Ticker` without `pair` answers every tradeable pair (krakenfx/api-specs
     * spot-rest/openapi_v3.yaml), keyed like AssetPairs: `v[1]` is the base volume of the last
     * 24 hours and `p[1]` its volume-weighted average price (spot-rest/schemas/objects/public/
     * ticker.yaml), so their product is the quote volume. AssetPairs names the keys.
     */
    async fetchVolumes(restUrl, opts) {
      const pairs = await fetchOnlinePairs(restUrl, opts)
      const result = await fetchResult(restUrl, 'Ticker', opts)
      const out = new Map<Pair, number>()
      for (const [key, info] of Object.entries(result as Record<string, TickerInfo | null>)) {
        const pair = pairs.get(key)
        const volume = pair === undefined ? NaN : quoteVolume(info?.v, info?.p)
        if (pair !== undefined && !Number.isNaN(volume)) out.set(pair, volume)
      }
      return out
    },

    wsUrl: (base) => base,

    // One frame per MARKETS_PER_CONNECTION symbols (no per-message limit is published; a frame of
    // 188 is known to work); Kraken acks every symbol on its own.
    subscribe: (natives) => {
      const frames: string[] = []
      for (let i = 0; i < natives.length; i += MARKETS_PER_CONNECTION) {
        frames.push(request('subscribe', natives.slice(i, i + MARKETS_PER_CONNECTION)))
      }
      return frames
    },

    resubscribe: (native) => [request('unsubscribe', [native]), request('subscribe', [native])],

    createParser: (markets) => scannedFirst(createFastParser(markets), createJsonParser(markets)),
  }
}

/** Kraken at the default depth of 25 levels per side. */
export const kraken: Venue = createKraken()

/**
 * The `JSON.parse` path: every frame the scanner (fast.ts) leaves, and the reference it is tested
 * against (test/venues/kraken.test.ts, "fast path").
 */
export function createJsonParser(markets: ReadonlyMap<string, Pair>): FrameParser {
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
}

/**
 * The `result` of a public REST method. Kraken answers errors in the body's `error` list (HTTP
 * status codes "are generally not used": docs.kraken.com/rest); a rate limit ("EGeneral:Too many
 * requests", ccxt/ccxt#20648) says when to try again ("restricted for a few seconds",
 * support.kraken.com 206548367).
 */
async function fetchResult(
  restUrl: string,
  method: 'AssetPairs' | 'Ticker',
  opts: FetchOptions,
): Promise<object> {
  const body = (await getJson('kraken', `${restUrl}/0/public/${method}`, opts)) as {
    error?: unknown
    result?: unknown
  } | null
  if (Array.isArray(body?.error) && body.error.length > 0) {
    const errors = body.error.map(String)
    const wait = errors.some((e) => e.startsWith('EGeneral:Too many requests'))
    const message = `${method} answered ${errors.join('; ')}`
    throw new ExchangeError('kraken', message, wait ? TOO_MANY_REQUESTS_WAIT_MS : undefined)
  }
  if (body?.result === null || typeof body?.result !== 'object') {
    throw new ParseError('bad-message', `${method} has no result`)
  }
  return body.result
}

/** AssetPairs keys of the pairs that stream a live book, with their unified pairs. */
async function fetchOnlinePairs(restUrl: string, opts: FetchOptions): Promise<Map<string, Pair>> {
  const result = (await fetchResult(restUrl, 'AssetPairs', opts)) as Record<string, AssetPair>
  const out = new Map<string, Pair>()
  for (const [key, info] of Object.entries(result)) {
    // Dark-pool pairs (`.d`) have no wsname; only 'online' pairs stream a live book.
    if (info?.status !== 'online' || typeof info.wsname !== 'string') continue
    const slash = info.wsname.indexOf('/')
    if (slash <= 0 || slash === info.wsname.length - 1) continue
    const [base, quote] = [info.wsname.slice(0, slash), info.wsname.slice(slash + 1)]
    try {
      out.set(key, joinPair(base, quote, KRAKEN_ASSETS))
    } catch {
      // base equals quote: not a market
    }
  }
  return out
}

/** Base volume x VWAP over the last 24 hours (`[1]` of each), or NaN when unreadable. */
function quoteVolume(volume: unknown, vwap: unknown): number {
  const v = Array.isArray(volume) ? volume[1] : undefined
  const p = Array.isArray(vwap) ? vwap[1] : undefined
  if (typeof v !== 'string' || typeof p !== 'string' || !isDecimalText(v) || !isDecimalText(p)) {
    return NaN
  }
  const quote = +v * +p
  return Number.isFinite(quote) ? quote : NaN
}

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
