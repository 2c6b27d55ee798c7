/**
 * @module
 * Bitget API v2 spot ("classic account"): the public `books` channel (full depth) on
 * `wss://ws.bitget.com/v2/ws/public`. A subscription starts with an `action: snapshot` push that
 * replaces the book, then `action: update` pushes of absolute levels (size "0" deletes). Every
 * update carries a CRC-32 `checksum` over the top 25 levels a side (checksum.ts), verified by
 * book/sync.ts after each message; a v2 snapshot carries `checksum: 0`, so the check starts at the
 * first update (a real A2ZUSDT snapshot in thrasher-corp/gocryptotrader PR #1844).
 *
 * `seq` "is incrementing except during symbol maintenance" (Bitget "Depth Channel") and is not +1
 * (a real 2025 pair went 395681152 → 395681167), so it is neither a chain nor a safe stamp (a
 * maintenance reset would freeze a stamped book): the parser leaves it out, and integrity comes from
 * the checksum on every update (a lost update shows as a mismatch; book/sync.ts resubscribes that
 * book for a fresh snapshot). (Bitget's UTA depth page shows a `seq` of 1304314508780744705, past
 * a double's exact integers: another reason not to compare it.) The parser only parses. Keep-alive is the bare text `ping`/`pong`.
 */
import { joinPair, SymbolError } from '../../symbols.ts'
import type { Pair } from '../../types.ts'
import { ExchangeError, getJson, isDecimalText, parseJson, ParseError, toLevels } from '../venue.ts'
import type { FrameParser, Venue, VenueEvent } from '../venue.ts'
import { bitgetChecksum } from './checksum.ts'
import { SimBitget } from './sim.ts'
import { bitgetTransfers } from './transfers.ts'

/**
 * Subscribe args per request, and markets per connection: Bitget allows 1000 channels a
 * connection but "strongly recommends" no more than 50 for stability (bitget.live zh-CN
 * "websocket-intro": 强烈建议单个连接不要订阅超过50个频道). A shard's 50 `books` args (~70 bytes
 * each) go in one request: one of the 240 subscription requests a connection may send per hour.
 */
export const BITGET_ARGS_PER_FRAME = 50

/** `{"code":"00000","msg":"success","requestTime":…,"data":[…]}`: Bitget's REST envelope. */
interface BitgetResponse<T> {
  code?: unknown
  msg?: unknown
  data?: T[] | null
}

interface BitgetSymbol {
  symbol?: unknown
  baseCoin?: unknown
  quoteCoin?: unknown
  status?: unknown
}

/** Every JSON shape the public socket sends: pushes (`action` + `arg` + `data`) and events. */
interface BitgetFrame {
  action?: unknown
  arg?: { instType?: unknown; channel?: unknown; instId?: unknown } | null
  data?: unknown
  event?: unknown
  code?: unknown
  msg?: unknown
}

interface BookData {
  asks?: unknown
  bids?: unknown
  checksum?: unknown
  seq?: unknown
  ts?: unknown
}

/** The data array of a successful REST answer; Bitget error codes become ExchangeError. */
function dataOf<T>(body: unknown, what: string): T[] {
  if (body === null || typeof body !== 'object') {
    throw new ParseError('bad-message', `${what}: not an object`)
  }
  const b = body as BitgetResponse<T>
  if (b.code !== '00000') {
    throw new ExchangeError(
      'bitget',
      `${what}: Bitget code ${String(b.code)} ${String(b.msg ?? '')}`,
    )
  }
  if (!Array.isArray(b.data)) throw new ParseError('bad-message', `${what}: no data array`)
  return b.data
}

/** Venue time as Bitget sends it (ms since the epoch, a string in `data`, a number outside). */
function toTsMs(ts: unknown): number | undefined {
  const n = typeof ts === 'string' ? +ts : typeof ts === 'number' ? ts : NaN
  return Number.isFinite(n) && n > 0 ? n : undefined
}

/** Spot pushes: `SPOT` in v2; the v1 stream of our capture echoed `sp`. */
const isSpot = (instType: unknown) =>
  instType === undefined || instType === 'SPOT' || instType === 'sp'

/**
 * The Bitget venue module.
 *
 * @example
 * ```ts
 * const conn = new Connection({ venue: bitget, wsUrl, restUrl, pairs: ['BTC/USDT'], log })
 * ```
 */
export const bitget: Venue = {
  id: 'bitget',
  name: 'Bitget',
  // Used when EXCHANGES names it (or is `all`): with all twelve venues the universe missed its
  // CPU and memory targets (README, "Universe benchmark"), so the default is the first six.
  enabledByDefault: false,
  // VIP 0 spot: 0.1 % maker / 0.1 % taker (bitget.com "Fee overview", spot fee rates; 0.08 % when
  // paid in BGB, not assumed here).
  takerFeeBps: 10,
  endpoints: { wsUrl: 'wss://ws.bitget.com/v2/ws/public', restUrl: 'https://api.bitget.com' },
  // One ack per arg: `{"event":"subscribe","arg":{"instType":"SPOT","channel":"books",…}}`.
  acksSubscriptions: true,
  sync: {
    snapshot: 'ws',
    sequence: 'none',
    checksum: bitgetChecksum,
    // No maxDepth: the `books` depth cap is not documented (151 bids / 200 asks seen in 2025). A
    // deep level left behind can only reach the top 25 through the checksum, which then resyncs.
    detectsGaps: true,
  },
  // Limits from Bitget's "Websocket API" intro page (bitget.com / bitget.media /api-doc/common/
  // websocket-intro, the newer version) and the REST endpoints' own limits (api-doc spot market
  // pages, as scraped in coincise docs/bitget/endpoints).
  limits: {
    // "send string ping every 30 s … disconnect if no ping received for 2 min" (newer page; the
    // older said 30 s, so the official SDK's 25 s interval satisfies both: BitgetLimited/
    // v3-bitget-api-sdk bitget_ws_client.py). A pong every 25 s even on a quiet book.
    idleTimeoutMs: 40_000,
    pingIntervalMs: 25_000,
    // "The Websocket server accepts up to 10 messages per second", string `ping` included; over
    // it the connection is closed (repeatedly: the IP may be blocked). Half of it.
    sendPerSecond: 5,
    // "Websocket will be forcibly disconnected every 24 hours": reconnect a little before.
    maxLifetimeMs: 23.5 * 3_600_000,
    marketsPerConnection: BITGET_ARGS_PER_FRAME,
    // "300 connection requests/IP/5min, Max 100 connections/IP"; 80 %.
    connects: { count: 240, windowMs: 300_000 },
    // GET /api/v2/spot/public/symbols and /api/v2/spot/market/tickers: 20 requests/s/IP each
    // (counted here in one budget); books come on the socket.
    rest: { weight: 20, windowMs: 1000, snapshotCost: 1 },
  },
  ping: () => 'ping',
  simulate: (markets) => new SimBitget(markets),
  transfers: bitgetTransfers,

  // GET /api/v2/spot/public/symbols: `status` online | gray (pre-trading) | halt | offline;
  // only `online` markets trade.
  async listMarkets(restUrl, opts) {
    const body = await getJson('bitget', `${restUrl}/api/v2/spot/public/symbols`, opts)
    const out = new Map<Pair, string>()
    for (const s of dataOf<BitgetSymbol | null>(body, 'symbols')) {
      if (s?.status !== 'online' || typeof s.symbol !== 'string') continue
      if (typeof s.baseCoin !== 'string' || typeof s.quoteCoin !== 'string') continue
      if (s.baseCoin === '' || s.quoteCoin === '') continue
      try {
        out.set(joinPair(s.baseCoin, s.quoteCoin), s.symbol)
      } catch (err) {
        if (!(err instanceof SymbolError)) throw err
      }
    }
    return out
  },

  // GET /api/v2/spot/market/tickers (every symbol in one request): `quoteVolume` is the 24 h
  // "trading volume (quote currency)"; `baseVolume` is in the base coin, `usdtVolume` in USDT.
  async fetchVolumes(restUrl, opts) {
    const [markets, body] = await Promise.all([
      this.listMarkets(restUrl, opts),
      getJson('bitget', `${restUrl}/api/v2/spot/market/tickers`, opts),
    ])
    const pairOf = new Map([...markets].map(([pair, native]) => [native, pair]))
    const out = new Map<Pair, number>()
    type Ticker = { symbol?: unknown; quoteVolume?: unknown } | null
    for (const t of dataOf<Ticker>(body, 'tickers')) {
      const pair = typeof t?.symbol === 'string' ? pairOf.get(t.symbol) : undefined
      const v = t?.quoteVolume
      if (pair !== undefined && typeof v === 'string' && isDecimalText(v)) out.set(pair, +v)
    }
    return out
  },

  wsUrl: (base) => base,

  subscribe(natives) {
    const frames: string[] = []
    for (let i = 0; i < natives.length; i += BITGET_ARGS_PER_FRAME) {
      frames.push(opFrame('subscribe', natives.slice(i, i + BITGET_ARGS_PER_FRAME)))
    }
    return frames
  },

  // A fresh subscription starts with a snapshot (the resubscribe BG-SDK does on a mismatch).
  resubscribe: (native) => [opFrame('unsubscribe', [native]), opFrame('subscribe', [native])],

  createParser: (markets) => createJsonParser(markets),
}

function opFrame(op: 'subscribe' | 'unsubscribe', natives: readonly string[]): string {
  const args = natives.map((instId) => ({ instType: 'SPOT', channel: 'books', instId }))
  return JSON.stringify({ op, args })
}

/** The parser: `JSON.parse`, then the frame's shape. It only parses. */
export function createJsonParser(markets: ReadonlyMap<string, Pair>): FrameParser {
  return (raw): VenueEvent[] => {
    if (raw === 'pong') return [{ type: 'info' }]
    const msg = parseJson(raw) as BitgetFrame | null
    if (msg === null || typeof msg !== 'object' || Array.isArray(msg)) {
      throw new ParseError('bad-message', 'frame is not an object')
    }
    const arg = msg.arg ?? undefined
    const instId = typeof arg?.instId === 'string' ? arg.instId : undefined
    const books = arg?.channel === 'books' && isSpot(arg.instType)
    if (msg.event !== undefined) {
      switch (msg.event) {
        case 'subscribe': {
          const pair = books && instId !== undefined ? markets.get(instId) : undefined
          return [pair === undefined ? { type: 'info' } : { type: 'subscribed', pairs: [pair] }]
        }
        case 'unsubscribe':
          return [{ type: 'info' }]
        case 'error': {
          const pair = instId === undefined ? undefined : markets.get(instId)
          const message = `${String(msg.code)} ${String(msg.msg ?? '')}`
          return [
            pair === undefined
              ? { type: 'venue-error', message }
              : { type: 'venue-error', message, pair },
          ]
        }
        default:
          return [{ type: 'unknown', what: `event ${String(msg.event)}` }]
      }
    }
    if (arg === undefined || typeof arg !== 'object') {
      return [{ type: 'unknown', what: 'frame without arg or event' }]
    }
    if (!books) return [{ type: 'unknown', what: `${String(arg.channel)} push` }]
    const pair = instId === undefined ? undefined : markets.get(instId)
    if (pair === undefined) return [{ type: 'unknown', what: `books for ${String(instId)}` }]
    const data = msg.data
    if (!Array.isArray(data) || data.length === 0) {
      throw new ParseError('bad-message', `books push for ${pair} has no data`, pair)
    }
    const action = msg.action
    if (action !== 'snapshot' && action !== 'update') {
      throw new ParseError(
        'bad-message',
        `books push for ${pair} with action ${String(action)}`,
        pair,
      )
    }
    const out: VenueEvent[] = []
    for (const d of data as (BookData | null)[]) {
      if (d === null || typeof d !== 'object') {
        throw new ParseError('bad-message', `books data for ${pair} is not an object`, pair)
      }
      if (
        d.checksum !== undefined &&
        (typeof d.checksum !== 'number' || !Number.isInteger(d.checksum))
      ) {
        throw new ParseError('bad-message', `books ${action} for ${pair} has a bad checksum`, pair)
      }
      // 0 is the v2 snapshot's "absent"; a real CRC is 0 once in 2^32 and is then not compared.
      const checksum = d.checksum === 0 ? undefined : (d.checksum as number | undefined)
      const bids = toLevels(d.bids, pair)
      const asks = toLevels(d.asks, pair)
      const exchangeTsMs = toTsMs(d.ts)
      out.push(
        action === 'snapshot'
          ? { type: 'snapshot', pair, bids, asks, checksum, exchangeTsMs }
          : { type: 'delta', pair, bids, asks, checksum, exchangeTsMs },
      )
    }
    return out
  }
}
