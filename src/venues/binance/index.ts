/**
 * @module
 * Binance spot: combined `<sym>@depth@100ms` streams in the URL, books seeded from the REST
 * snapshot and kept by the documented U/u/lastUpdateId rules (applied in book/sync.ts through the
 * normalised prevSeq = U - 1, seq = u). `serverShutdown` and the 24 h limit cause a planned reconnect.
 *
 * Binance sends no checksum, so each book is also cross-checked against `<sym>@bookTicker`, in the
 * same combined stream: "Pushes any update to the best bid or ask's price or quantity in real-time
 * for a specified symbol", payload `{u, s, b, B, a, A}` where `u` is the "order book updateId" and
 * `b`/`B`, `a`/`A` the best bid and ask price and quantity (binance/binance-spot-api-docs
 * web-socket-streams.md, "Individual Symbol Book Ticker Streams"; the field notes as in Binance's
 * OpenAPI-generated binance-sdk `spot/websocket_streams/models/book_ticker_response.rs`). Its `u`
 * is in the diff stream's id space, so book/sync.ts compares the top when the book is exactly at
 * `u` (a `top` event). Recorded tickers carry single ids inside the 100 ms diff batches, so most
 * are skipped, not compared (see test/fixtures/binance/README.md).
 */
import { joinPair } from '../../symbols.ts'
import type { Level, Pair } from '../../types.ts'
import { createFastParser, tickerSide } from './fast.ts'
import { SimBinance } from './sim.ts'
import { binanceTransfers } from './transfers.ts'
import { getJson, parseJson, ParseError, toLevels, scannedFirst } from '../venue.ts'
import { isDecimalText, toLevel } from '../venue.ts'
import type { FrameParser, SnapshotEvent, Venue, VenueEvent } from '../venue.ts'

/**
 * Levels requested in the REST snapshot: 100, weight 5 (1,000 would weigh 50; rest-api.md "Order
 * book"), so a universe of 1,500 markets syncs in under two minutes of the 6,000 a minute instead
 * of a quarter of an hour. 100 levels suffice: the detector walks a book only as deep as the trade
 * size reaches, and a level beyond the snapshot that the venue has not changed since is simply
 * missing from the local book (one it changes arrives in the diffs), which can only make a walk
 * more pessimistic, never rosier; a book too thin for the size says so.
 */
export const BINANCE_SNAPSHOT_LIMIT = 100

/** Request weight of `GET /api/v3/depth` by `limit` (rest-api.md "Order book"). */
function depthWeight(limit: number): number {
  if (limit <= 100) return 5
  if (limit <= 500) return 25
  if (limit <= 1000) return 50
  return 250
}

/**
 * The request weight of a GET, as binance/binance-spot-api-docs rest-api.md lists it (commit
 * a5e0bc3d, 2026-07): `exchangeInfo` 20; `depth` by limit (default 100); `ticker/24hr` 2 for one
 * symbol, 2/40/80 for 1-20/21-100/more `symbols`, 80 for all; anything else 1.
 */
export function binanceWeight(url: URL): number {
  const path = url.pathname
  if (path.endsWith('/exchangeInfo')) return 20
  // "All Coins' Information": weight(IP) 10 (wallet docs, capital/all-coins-info).
  if (path === '/sapi/v1/capital/config/getall') return 10
  if (path.endsWith('/depth')) return depthWeight(Number(url.searchParams.get('limit') ?? '100'))
  if (path.endsWith('/ticker/24hr')) {
    if (url.searchParams.has('symbol')) return 2
    const symbols = url.searchParams.get('symbols')
    if (symbols === null) return 80
    const n = symbols.split(',').length
    return n <= 20 ? 2 : n <= 100 ? 40 : 80
  }
  return 1
}

/** A volume as Binance writes it (a plain decimal string), or undefined. */
const volumeOf = (v: unknown): number | undefined =>
  typeof v === 'string' && isDecimalText(v) ? +v : undefined

interface DepthUpdate {
  e: 'depthUpdate'
  E: number
  s: string
  U: number
  u: number
  b: unknown
  a: unknown
}

/** `<sym>@bookTicker`: the best levels as of order book update id `u` (no event type `e`). */
interface BookTicker {
  u: number
  s: string
  b: unknown
  B: unknown
  a: unknown
  A: unknown
}

const TICKER_STREAM = '@bookTicker'

export const binance: Venue = {
  id: 'binance',
  name: 'Binance',
  takerFeeBps: 10, // 0.10 % VIP 0 (0.075 % paying in BNB)
  endpoints: { wsUrl: 'wss://stream.binance.com:9443', restUrl: 'https://api.binance.com' },
  // The documented procedure: buffer, REST snapshot, drop u <= lastUpdateId, the first kept event
  // straddles lastUpdateId + 1, then every U is the previous u + 1 (prevSeq = U - 1, seq = u).
  // The streams are in the URL: the connection itself is the subscription.
  acksSubscriptions: false,
  sync: { snapshot: 'rest', sequence: 'chain', detectsGaps: true, topChannel: '<sym>@bookTicker' },
  // Limits from binance/binance-spot-api-docs (commit a5e0bc3d, 2026-07): web-socket-streams.md
  // "WebSocket Limits" and rest-api.md "IP Limits"; enums.md gives REQUEST_WEIGHT 6,000 a minute.
  limits: {
    idleTimeoutMs: 60_000,
    // The server pings every 20 s and the runtime answers; this request keeps traffic flowing on
    // a quiet connection so the watchdog sees it alive (1 frame per 30 s, far under 5 msg/s).
    pingIntervalMs: 30_000,
    maxLifetimeMs: 23 * 60 * 60 * 1000 + 50 * 60 * 1000,
    // 5 incoming messages a second per connection, pings and pongs included (more disconnects):
    // one is left for the pong to the server's ping.
    sendPerSecond: 4,
    // 1,024 streams per connection, two per market (depth and bookTicker). The streams go in the
    // URL, which Binance cuts at 8,004 characters (2019) or about 16,000 (2020)
    // (oliver-zehentleitner/unicorn-binance-websocket-api issues #17, #120): 100 markets are 200
    // streams and at most ~6,600 characters even with 20-character symbols.
    marketsPerConnection: 100,
    // 300 connection attempts per 5 minutes per IP; 80 % of it leaves room for another process.
    connects: { count: 240, windowMs: 300_000 },
    // 6,000 request weight a minute per IP, reported in X-MBX-USED-WEIGHT-1M on every answer; a
    // 429 names a Retry-After and sending before it ends earns a 418 ban (rest-budget.ts pauses).
    rest: {
      weight: 6000,
      windowMs: 60_000,
      snapshotCost: depthWeight(BINANCE_SNAPSHOT_LIMIT),
      usedWeightHeader: 'x-mbx-used-weight-1m',
      cost: binanceWeight,
    },
  },
  ping: () => JSON.stringify({ method: 'LIST_SUBSCRIPTIONS', id: Date.now() }),
  simulate: (markets) => new SimBinance(markets),
  transfers: binanceTransfers,

  async listMarkets(restUrl, opts) {
    const body = (await getJson(
      'binance',
      `${restUrl}/api/v3/exchangeInfo?permissions=SPOT`,
      opts,
    )) as {
      symbols?: { symbol: string; status: string; baseAsset: string; quoteAsset: string }[]
    }
    if (!Array.isArray(body?.symbols))
      throw new ParseError('bad-message', 'exchangeInfo has no symbols')
    const out = new Map<Pair, string>()
    for (const s of body.symbols) {
      if (s.status === 'TRADING') out.set(joinPair(s.baseAsset, s.quoteAsset), s.symbol)
    }
    return out
  },

  // `quoteVolume` is the 24 h "Total trade volume (in quote asset)" (rest-api.md "24hr ticker
  // price change statistics", MINI response); all symbols in one request of weight 80. The
  // ticker names only the symbol, so pairs come from exchangeInfo, as in listMarkets.
  async fetchVolumes(restUrl, opts) {
    const [markets, body] = await Promise.all([
      this.listMarkets(restUrl, opts),
      getJson('binance', `${restUrl}/api/v3/ticker/24hr?type=MINI`, opts),
    ])
    if (!Array.isArray(body)) throw new ParseError('bad-message', 'ticker/24hr is not an array')
    const pairOf = new Map([...markets].map(([pair, native]) => [native, pair]))
    const out = new Map<Pair, number>()
    for (const t of body as ({ symbol?: unknown; quoteVolume?: unknown } | null)[]) {
      const pair = typeof t?.symbol === 'string' ? pairOf.get(t.symbol) : undefined
      const volume = volumeOf(t?.quoteVolume)
      if (pair !== undefined && volume !== undefined) out.set(pair, volume)
    }
    return out
  },

  wsUrl(base, natives) {
    const streams = natives
      .flatMap((n) => [`${n.toLowerCase()}@depth@100ms`, `${n.toLowerCase()}${TICKER_STREAM}`])
      .join('/')
    return `${base}/stream?streams=${streams}`
  },

  subscribe: () => [],

  async fetchSnapshot(restUrl, native, pair, opts): Promise<SnapshotEvent> {
    const url = `${restUrl}/api/v3/depth?symbol=${native}&limit=${BINANCE_SNAPSHOT_LIMIT}`
    const body = (await getJson('binance', url, opts)) as {
      lastUpdateId?: unknown
      bids?: unknown
      asks?: unknown
    }
    if (typeof body?.lastUpdateId !== 'number') {
      throw new ParseError('bad-message', `depth snapshot for ${native} has no lastUpdateId`, pair)
    }
    return {
      type: 'snapshot',
      pair,
      seq: body.lastUpdateId,
      bids: toLevels(body.bids, pair),
      asks: toLevels(body.asks, pair),
    }
  },

  createParser: (markets) => scannedFirst(createFastParser(markets), createJsonParser(markets)),
}

/**
 * The `JSON.parse` path: every frame the scanner (fast.ts) leaves, and the reference it is tested
 * against (test/venues/binance.test.ts, "fast path").
 */
export function createJsonParser(markets: ReadonlyMap<string, Pair>): FrameParser {
  return (raw): VenueEvent[] => {
    const msg = parseJson(raw) as {
      stream?: string
      data?: unknown
      result?: unknown
      id?: unknown
    }
    if (msg === null || typeof msg !== 'object')
      throw new ParseError('bad-message', 'frame is not an object')
    if ('result' in msg && 'id' in msg) return [{ type: 'info' }]
    const data = (msg.data ?? msg) as Omit<Partial<DepthUpdate>, 'e'> & {
      e?: string
      code?: unknown
      msg?: unknown
    }
    if (
      data.e === undefined &&
      (msg.stream?.endsWith(TICKER_STREAM) === true || ('u' in data && 'B' in data && 'A' in data))
    )
      return [parseBookTicker(data as Partial<BookTicker>, markets)]
    switch (data.e) {
      case 'depthUpdate': {
        const pair = markets.get(data.s as string)
        if (pair === undefined)
          return [{ type: 'unknown', what: `depthUpdate for ${String(data.s)}` }]
        if (typeof data.U !== 'number' || typeof data.u !== 'number' || data.u < data.U) {
          throw new ParseError('bad-message', `depthUpdate with bad U/u for ${pair}`, pair)
        }
        return [
          {
            type: 'delta',
            pair,
            prevSeq: data.U - 1,
            seq: data.u,
            bids: toLevels(data.b, pair),
            asks: toLevels(data.a, pair),
            exchangeTsMs: typeof data.E === 'number' ? data.E : undefined,
          },
        ]
      }
      case 'serverShutdown':
        return [{ type: 'reconnect', reason: 'serverShutdown' }]
      default:
        if (data.code !== undefined)
          return [{ type: 'venue-error', message: String(data.msg ?? data.code) }]
        return [
          { type: 'unknown', what: String(data.e ?? msg.stream ?? 'frame without event type') },
        ]
    }
  }
}

/** A bookTicker payload into a `top` event, validating like the fast path. */
function parseBookTicker(
  data: Partial<BookTicker>,
  markets: ReadonlyMap<string, Pair>,
): VenueEvent {
  const pair = markets.get(data.s as string)
  if (pair === undefined) return { type: 'unknown', what: `bookTicker for ${String(data.s)}` }
  if (typeof data.u !== 'number' || !Number.isSafeInteger(data.u) || data.u < 0) {
    throw new ParseError('bad-message', `bookTicker with bad u for ${pair}`, pair)
  }
  return {
    type: 'top',
    pair,
    seq: data.u,
    bid: tickerLevel(data.b, data.B, pair),
    ask: tickerLevel(data.a, data.A, pair),
  }
}

/** One side of a bookTicker; a zero price with zero quantity is an empty side. */
function tickerLevel(px: unknown, qty: unknown, pair: Pair): Level | undefined {
  if (typeof px === 'string' && typeof qty === 'string') {
    const level = tickerSide(px, qty)
    if (level !== null) return level
  }
  return toLevel(px, qty, pair) // throws, saying why
}
