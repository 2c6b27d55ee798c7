/**
 * @module
 * OKX API v5 spot: the public `books` channel (400 levels, 100 ms increments) on one socket,
 * seeded from `GET /api/v5/market/books` and kept by the seqId/prevSeqId chain (applied in
 * book/sync.ts through the normalised prevSeq = prevSeqId, seq = seqId). The parser only parses.
 *
 * What OKX sends, settled from its docs (www.okx.com/docs-v5, changelog of 2026-02-12 and the
 * "Order book channel" and "GET / Order book" pages as of 2026-07):
 * - the `books` channel no longer sends an initial snapshot (production, August 2026), and
 *   `checksum` is always 0 since 2026-06-23 ("absent"); an older server's `action: snapshot` push
 *   (prevSeqId -1, with seqId) is still applied, and a non-zero checksum is still verified;
 * - the documented sync is: buffer, GET market/books, fetch again while its seqId is below the
 *   first buffered prevSeqId, drop updates with seqId <= it; the REST answer lists `seqId` in the
 *   2026-07 docs but not in earlier versions, so both forms are accepted and a body without it
 *   leaves the book syncing with that reason shown in /api/status;
 * - with no change for ~60 s an update arrives with empty sides and seqId == prevSeqId, and
 *   maintenance may reset the sequence (seqId < prevSeqId); both still satisfy the chain rule.
 * Keep-alive is the bare text `ping`/`pong`.
 */
import { joinPair } from '../../symbols.ts'
import { okxChecksum } from './checksum.ts'
import { SimOkx } from './sim.ts'
import { okxTransfers } from './transfers.ts'
import type { Pair } from '../../types.ts'
import {
  ExchangeError,
  getJson,
  isDecimalText,
  parseJson,
  ParseError,
  toLevels,
  scannedFirst,
} from '../venue.ts'
import type { DeltaEvent, FrameParser, SnapshotEvent, Venue, VenueEvent } from '../venue.ts'
import { createFastParser } from './fast.ts'

/**
 * Levels in the `books` channel and in the REST snapshot (the REST maximum, `sz` 400). A
 * market/books request costs one of the 40 per 2 s whatever its `sz` ("GET / Order book"), so
 * the snapshot takes the channel's whole depth: a shallower one would leave levels the channel
 * keeps missing until they change.
 */
export const OKX_BOOK_DEPTH = 400

/**
 * Subscribe args per request: OKX caps a request's channels at 64 KB in total ("Subscribe") and a
 * `books` arg is ~45 bytes, so 100 are ~4.5 KB. A shard (25 markets) goes in one request: one of
 * the 480 subscribe/unsubscribe requests a connection may send per hour ("Connect").
 */
const ARGS_PER_FRAME = 100

/** GET market/tickers and public/instruments: 20 per 2 s each, so 2 of the 40 books requests. */
function okxCost(url: URL): number {
  return url.pathname.endsWith('/market/tickers') || url.pathname.endsWith('/public/instruments')
    ? 2
    : 1
}

/** A volume as OKX writes it (a plain decimal string), or undefined. */
const volumeOf = (v: unknown): number | undefined =>
  typeof v === 'string' && isDecimalText(v) ? +v : undefined

/** The `notice` code OKX sends 30-60 s before a service upgrade closes the socket. */
const SERVICE_UPGRADE_CODE = '64008'

/** One element of a `books` push's `data` array (and of the REST books answer). */
interface BookData {
  asks?: unknown
  bids?: unknown
  ts?: unknown
  checksum?: unknown
  prevSeqId?: unknown
  seqId?: unknown
}

/** Every JSON shape the public socket sends us: pushes (`arg` + `data`) and events. */
interface OkxFrame {
  arg?: { channel?: unknown; instId?: unknown }
  action?: unknown
  data?: unknown
  event?: unknown
  code?: unknown
  msg?: unknown
}

/** OKX's REST envelope: `code` '0' is success. */
interface OkxResponse<T> {
  code?: unknown
  msg?: unknown
  data?: T[]
}

interface OkxInstrument {
  instType?: string
  instId: string
  baseCcy: string
  quoteCcy: string
  state: string
}

/** Venue time as OKX sends it (ms since the epoch, as a string). */
function toTsMs(ts: unknown): number | undefined {
  const n = typeof ts === 'string' ? +ts : typeof ts === 'number' ? ts : NaN
  return Number.isFinite(n) && n > 0 ? n : undefined
}

/** The data array of a successful REST answer; OKX error codes become ExchangeError. */
function dataOf<T>(body: OkxResponse<T>, what: string): T[] {
  if (body === null || typeof body !== 'object') {
    throw new ParseError('bad-message', `${what}: not an object`)
  }
  if (body.code !== '0') {
    const why = `${String(body.code)} ${String(body.msg ?? '')}`
    throw new ExchangeError('okx', `${what}: OKX code ${why}`)
  }
  if (!Array.isArray(body.data)) throw new ParseError('bad-message', `${what}: no data array`)
  return body.data
}

/** Turns one `books` data element into a snapshot or delta event. */
function toBookEvent(action: unknown, d: BookData, pair: Pair): SnapshotEvent | DeltaEvent {
  if (action !== 'update' && action !== 'snapshot') {
    const what = `books push for ${pair} with action ${String(action)}`
    throw new ParseError('bad-message', what, pair)
  }
  if (d === null || typeof d !== 'object') {
    throw new ParseError('bad-message', `books data for ${pair} is not an object`, pair)
  }
  const seqId = d.seqId
  const prevSeqId = d.prevSeqId
  if (seqId !== undefined && typeof seqId !== 'number') {
    throw new ParseError('bad-message', `books ${action} for ${pair} has a bad seqId`, pair)
  }
  // 0 is what OKX sends since the checksum was retired: "absent", never compared.
  const checksum = typeof d.checksum === 'number' && d.checksum !== 0 ? d.checksum : undefined
  const exchangeTsMs = toTsMs(d.ts)
  const bids = toLevels(d.bids, pair)
  const asks = toLevels(d.asks, pair)
  if (action === 'snapshot') {
    return { type: 'snapshot', pair, bids, asks, seq: seqId, checksum, exchangeTsMs }
  }
  if (seqId !== undefined && typeof prevSeqId !== 'number') {
    throw new ParseError('bad-message', `books update for ${pair} has seqId but no prevSeqId`, pair)
  }
  const prevSeq = seqId === undefined ? undefined : (prevSeqId as number)
  return { type: 'delta', pair, bids, asks, seq: seqId, prevSeq, checksum, exchangeTsMs }
}

/**
 * The OKX venue module.
 *
 * @example
 * ```ts
 * const conn = new Connection({ venue: okx, wsUrl, restUrl, pairs: ['BTC/USDT'], log })
 * ```
 */
export const okx: Venue = {
  id: 'okx',
  name: 'OKX',
  takerFeeBps: 10, // 0.10 % regular Lv1
  endpoints: { wsUrl: 'wss://ws.okx.com:8443/ws/v5/public', restUrl: 'https://www.okx.com' },
  // prevSeqId/seqId chain; a maintenance reset (seqId < prevSeqId) still follows the chain rule.
  // `{"event":"subscribe","arg":{...}}` per instrument (a `subscribed` event).
  acksSubscriptions: true,
  sync: {
    snapshot: 'rest',
    sequence: 'chain',
    checksum: okxChecksum,
    maxDepth: OKX_BOOK_DEPTH,
    detectsGaps: true,
  },
  // Limits from OKX's docs-v5 ("Connect", "Rate limits", "WS / Order book channel", the REST
  // endpoints' own limits), as mirrored in arakinyemi/exchange-api-docs OKX/.
  limits: {
    // OKX drops a socket after 30 s without a push and `books` may stay quiet for ~60 s, so the
    // bare `ping` every 20 s (answered `pong`) keeps both OKX and our watchdog satisfied.
    idleTimeoutMs: 30_000,
    pingIntervalMs: 20_000,
    // No per-second frame limit is published for public sockets, only 480 subscribe/unsubscribe
    // requests per connection per hour: we send one subscribe request per connect (and pings).
    sendPerSecond: 3,
    // "If subscribing to many 50 or 400 depth level channels, use multiple websocket connections
    // each with less than 30 channels": one `books` channel per market, 25 with headroom.
    marketsPerConnection: 25,
    // "Connection limit: 3 requests per second (based on IP)"; 2 leaves room for jitter.
    connects: { count: 2, windowMs: 1000 },
    // Per IP: market/books 40 requests per 2 s, market/tickers and public/instruments 20 per 2 s
    // (counted apart by OKX, here in one budget: tickers and instruments cost 2); over it a 429
    // with code 50011. OKX sends no used-weight header.
    rest: { weight: 40, windowMs: 2000, snapshotCost: 1, cost: okxCost },
  },
  ping: () => 'ping',
  simulate: (markets) => new SimOkx(markets),
  transfers: okxTransfers,

  async listMarkets(restUrl, opts) {
    const url = `${restUrl}/api/v5/public/instruments?instType=SPOT`
    const body = (await getJson('okx', url, opts)) as OkxResponse<OkxInstrument>
    // Quotes come from the instrument list itself, so USD spot is used exactly when okx.com lists
    // it. Whether it does is unsettled: the shared notes say no USD spot on the global site
    // (regional entities only), and no OKX doc page, SDK or GitHub issue found settles it.
    const out = new Map<Pair, string>()
    for (const i of dataOf(body, 'instruments')) {
      if (i?.state !== 'live' || (i.instType !== undefined && i.instType !== 'SPOT')) continue
      if (typeof i.baseCcy !== 'string' || typeof i.quoteCcy !== 'string') continue
      if (i.baseCcy === '' || i.quoteCcy === '') continue
      out.set(joinPair(i.baseCcy, i.quoteCcy), i.instId)
    }
    return out
  },

  // `volCcy24h` is the "24h trading volume ... SPOT: quantity in quote currency" (docs-v5 "GET /
  // Tickers"); every spot ticker in one request. Pairs come from the instrument list, as in
  // listMarkets.
  async fetchVolumes(restUrl, opts) {
    const [markets, body] = await Promise.all([
      this.listMarkets(restUrl, opts),
      getJson('okx', `${restUrl}/api/v5/market/tickers?instType=SPOT`, opts),
    ])
    const pairOf = new Map([...markets].map(([pair, native]) => [native, pair]))
    const out = new Map<Pair, number>()
    type Ticker = { instType?: unknown; instId?: unknown; volCcy24h?: unknown } | null
    for (const t of dataOf(body as OkxResponse<Ticker>, 'tickers')) {
      if (t?.instType !== undefined && t.instType !== 'SPOT') continue
      const pair = typeof t?.instId === 'string' ? pairOf.get(t.instId) : undefined
      const volume = volumeOf(t?.volCcy24h)
      if (pair !== undefined && volume !== undefined) out.set(pair, volume)
    }
    return out
  },

  wsUrl: (base) => base,

  subscribe(natives) {
    const frames: string[] = []
    for (let i = 0; i < natives.length; i += ARGS_PER_FRAME) {
      const batch = natives.slice(i, i + ARGS_PER_FRAME)
      const args = batch.map((instId) => ({ channel: 'books', instId }))
      frames.push(JSON.stringify({ op: 'subscribe', args }))
    }
    return frames
  },

  async fetchSnapshot(restUrl, native, pair, opts): Promise<SnapshotEvent> {
    const instId = encodeURIComponent(native)
    const url = `${restUrl}/api/v5/market/books?instId=${instId}&sz=${OKX_BOOK_DEPTH}`
    const body = (await getJson('okx', url, opts)) as OkxResponse<BookData>
    const d = dataOf(body, `books ${native}`)[0]
    if (d === undefined || d === null || typeof d !== 'object') {
      throw new ParseError('bad-message', `books snapshot for ${native} is empty`, pair)
    }
    // The 2026-07 docs list `seqId` in this answer; earlier versions had only asks, bids and ts.
    // Without it the snapshot cannot be aligned to the stream (book/sync.ts says so in the status).
    if (d.seqId !== undefined && typeof d.seqId !== 'number') {
      throw new ParseError('bad-message', `books snapshot for ${native} has a bad seqId`, pair)
    }
    return {
      type: 'snapshot',
      pair,
      seq: d.seqId,
      bids: toLevels(d.bids, pair),
      asks: toLevels(d.asks, pair),
      exchangeTsMs: toTsMs(d.ts),
    }
  },

  createParser: (markets) => scannedFirst(createFastParser(markets), createJsonParser(markets)),
}

/**
 * The `JSON.parse` path: every frame the scanner (fast.ts) leaves, and the reference it is tested
 * against (test/venues/okx.test.ts, "fast path").
 */
export function createJsonParser(markets: ReadonlyMap<string, Pair>): FrameParser {
  return (raw): VenueEvent[] => {
    if (raw === 'pong') return [{ type: 'info' }]
    const msg = parseJson(raw) as OkxFrame
    if (msg === null || typeof msg !== 'object') {
      throw new ParseError('bad-message', 'frame is not an object')
    }
    const arg = msg.arg
    if (msg.event !== undefined) {
      switch (msg.event) {
        case 'subscribe': {
          const books = arg?.channel === 'books' && typeof arg.instId === 'string'
          const pair = books ? markets.get(arg.instId as string) : undefined
          return [pair === undefined ? { type: 'info' } : { type: 'subscribed', pairs: [pair] }]
        }
        case 'unsubscribe':
          return [{ type: 'info' }]
        case 'error': {
          const pair = typeof arg?.instId === 'string' ? markets.get(arg.instId) : undefined
          const message = `${String(msg.code)} ${String(msg.msg ?? '')}`
          return [{ type: 'venue-error', message, pair }]
        }
        case 'notice':
          if (msg.code === SERVICE_UPGRADE_CODE) {
            return [{ type: 'reconnect', reason: `notice ${SERVICE_UPGRADE_CODE}` }]
          }
          return [{ type: 'unknown', what: `notice ${String(msg.code)}` }]
        default:
          return [{ type: 'unknown', what: `event ${String(msg.event)}` }]
      }
    }
    if (arg === undefined || arg === null || typeof arg !== 'object') {
      return [{ type: 'unknown', what: 'frame without arg or event' }]
    }
    if (arg.channel !== 'books') return [{ type: 'unknown', what: `${String(arg.channel)} push` }]
    const instId = arg.instId as string
    const pair = markets.get(instId)
    if (pair === undefined) return [{ type: 'unknown', what: `books for ${String(instId)}` }]
    const data = msg.data
    if (!Array.isArray(data)) {
      throw new ParseError('bad-message', `books push for ${pair} has no data`, pair)
    }
    const out: VenueEvent[] = new Array(data.length)
    for (let i = 0; i < data.length; i++)
      out[i] = toBookEvent(msg.action, data[i] as BookData, pair)
    return out
  }
}
