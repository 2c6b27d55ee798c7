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
import { Scanner } from './fast-json.ts'
import { SimBinance } from './sim.ts'
import { getJson, parseJson, ParseError, toLevels } from '../venue.ts'
import { isDecimalText, toLevel } from '../venue.ts'
import type { DeltaEvent, SnapshotEvent, TopEvent, Venue, VenueEvent } from '../venue.ts'

/** Levels requested in the REST snapshot (weight 50; arbitrage needs only the top of the book). */
export const BINANCE_SNAPSHOT_LIMIT = 1000

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
  limits: {
    idleTimeoutMs: 60_000,
    // The server pings every 20 s and the runtime answers; this request keeps traffic flowing on
    // a quiet connection so the watchdog sees it alive (1 frame per 30 s, far under 5 msg/s).
    pingIntervalMs: 30_000,
    maxLifetimeMs: 23 * 60 * 60 * 1000 + 50 * 60 * 1000,
    sendPerSecond: 4,
    // 6,000 request weight a minute per IP; a limit-1000 depth snapshot weighs 50.
    // PROVISIONAL: sharding and REST figures to be settled from the venue's docs.
    marketsPerConnection: 200,
    connects: { count: 300, windowMs: 300_000 },
    rest: {
      weight: 6000,
      windowMs: 60_000,
      snapshotCost: 5,
      usedWeightHeader: 'x-mbx-used-weight-1m',
      cost: (url) => (url.pathname.endsWith('/exchangeInfo') ? 20 : url.pathname.endsWith('/ticker/24hr') ? 80 : 1),
    },
  },
  ping: () => JSON.stringify({ method: 'LIST_SUBSCRIPTIONS', id: Date.now() }),
  simulate: (markets) => new SimBinance(markets),

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

  createParser(markets) {
    const scanner = new Scanner()
    return (raw): VenueEvent[] => {
      const fast = scanDepthUpdate(scanner.reset(raw), markets)
      if (fast !== undefined) return [fast]
      const top = scanBookTicker(scanner.reset(raw), markets)
      if (top !== undefined) return [top]
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
        (msg.stream?.endsWith(TICKER_STREAM) === true ||
          ('u' in data && 'B' in data && 'A' in data))
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
  },
}

const COMBINED_PREFIX = '{"stream":"'
const DATA_KEY = ',"data":'

/**
 * Steps into a frame's payload: over the combined-stream envelope (`{"stream":…,"data":`) when
 * there is one, then past the payload's `{`. Returns whether it was wrapped, or undefined when
 * `stream` is given and the envelope names another stream.
 */
function openPayload(s: Scanner, stream?: string): boolean | undefined {
  const wrapped = s.text.startsWith(COMBINED_PREFIX)
  if (wrapped) {
    s.i = COMBINED_PREFIX.length - 1
    const name = s.string()
    if (stream !== undefined && !name.endsWith(stream)) return undefined
    s.expectText(DATA_KEY)
  }
  s.expect(123) // {
  return wrapped
}

/**
 * The hot path: a compact `depthUpdate` (raw or combined form) scanned straight into a delta.
 * Returns undefined for anything it does not fully understand; the JSON.parse path then handles
 * (and validates) the frame, so both paths accept exactly the same frames.
 */
export function scanDepthUpdate(
  s: Scanner,
  markets: ReadonlyMap<string, Pair>,
): DeltaEvent | undefined {
  const wrapped = openPayload(s)
  let e = ''
  let sym = ''
  let E = -1
  let U = -1
  let u = -1
  let b: Level[] | undefined
  let a: Level[] | undefined
  while (!s.fail) {
    const key = s.string()
    s.expect(58) // :
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
    const c = s.peek()
    s.i++
    if (c === 125) break // }
    if (c !== 44) return undefined
  }
  if (wrapped) s.expect(125)
  if (s.fail || s.i !== s.text.length || e !== 'depthUpdate' || b === undefined || a === undefined)
    return undefined
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
    const level = side(px, qty)
    if (level !== null) return level
  }
  return toLevel(px, qty, pair) // throws, saying why
}

/**
 * A compact bookTicker (raw or combined form) scanned into a `top` event, or undefined for
 * anything else (the JSON.parse path then handles and validates it). Tried only after
 * `scanDepthUpdate` gave up, so diff frames never pay for it.
 */
export function scanBookTicker(
  s: Scanner,
  markets: ReadonlyMap<string, Pair>,
): TopEvent | undefined {
  const wrapped = openPayload(s, TICKER_STREAM)
  if (wrapped === undefined) return undefined
  let sym = ''
  let u = -1
  // Texts of b, B, a, A in that order; `seen` has one bit per key.
  const texts = ['', '', '', '']
  let seen = 0
  while (!s.fail) {
    const key = s.string()
    s.expect(58) // :
    if (s.fail) return undefined
    const k = TICKER_KEYS.indexOf(key)
    if (k < 0) return undefined
    seen |= 1 << k
    if (k === 0) u = s.integer()
    else if (k === 1) sym = s.string()
    else texts[k - 2] = s.string()
    const c = s.peek()
    s.i++
    if (c === 125) break // }
    if (c !== 44) return undefined
  }
  if (wrapped) s.expect(125)
  if (s.fail || s.i !== s.text.length || seen !== 63) return undefined
  const pair = markets.get(sym)
  if (pair === undefined) return undefined
  const bid = side(texts[0]!, texts[1]!)
  const ask = side(texts[2]!, texts[3]!)
  if (bid === null || ask === null) return undefined
  return { type: 'top', pair, seq: u, bid, ask }
}

const TICKER_KEYS = ['u', 's', 'b', 'B', 'a', 'A']

/** One bookTicker side: a level, undefined for an empty side (zero price and quantity), or null. */
function side(px: string, qty: string): Level | undefined | null {
  if (!isDecimalText(px) || !isDecimalText(qty)) return null
  const p = +px
  const q = +qty
  if (p > 0) return { px: p, qty: q, pxText: px, qtyText: qty }
  return q === 0 ? undefined : null
}
