/**
 * @module
 * KuCoin spot, classic API: a socket per connection handed out by `POST /api/v1/bullet-public`
 * (a token and an endpoint, `openSession`), the `welcome` greeting before any subscription, a
 * client `ping` every `pingInterval`, and the public `/market/level2:SYM,…` increments (all
 * depths) seeded from `GET /api/v1/market/orderbook/level2_100` and kept by KuCoin's
 * "calibration" procedure, applied in book/sync.ts through the normalised chain rule
 * prevSeq = sequenceStart - 1, seq = sequenceEnd. The parser only parses.
 *
 * Why the classic feed and not the Unified Trading Account (`x-push-spot`, channel `obu`): the
 * classic increments are what every recorded session holds (../shared/captures/kucoin, 2 symbols,
 * 0 gaps; test/venues/kucoin.test.ts replays them), their procedure (buffer, REST snapshot with
 * `sequence`, drop `sequenceEnd <= sequence`, first kept straddles, then
 * `sequenceStart == previous sequenceEnd + 1`) is exactly the `chain` rule book/sync.ts owns, and
 * KuCoin's own generated spec still lists `/market/level2` as not deprecated (Kucoin/
 * kucoin-universal-sdk `spec/ws/openapi-spot-public.json` @78c90c77, 2025-11-04, "Orderbook -
 * Increment", `deprecated: false`, "a topic supports up to 100 symbols"). The 2026-06 deprecation
 * notice ("500-Level Depth Feed", old `depth=increment` deprecated 2026-07-15) concerns the UTA
 * `obu` channel; no stored text says the classic topic is affected. `obu` has no real frame in any
 * stored repository and the meaning of its `O`/`C` sequences is not documented anywhere we found.
 *
 * What KuCoin sends, settled from its docs (KC-SDK = kucoin-universal-sdk specs @78c90c77;
 * KC-NEW = kucoin.com/docs-new, as scraped in rosssaunders/coincise `docs/kucoin/`, 2025-11):
 * - bullet-public answers `{code:"200000", data:{token, instanceServers:[{endpoint, protocol,
 *   encrypt, pingInterval: 18000, pingTimeout: 10000}]}}`; connect to
 *   `<endpoint>?token=…&connectId=…` (KC-SDK example); the token is valid 24 h and an expired or
 *   unknown one is answered `{"type":"error","code":401,"data":"token is expired"}` and the socket
 *   closed (logs in bmoscon/cryptofeed#1023, 2024, and knowm/XChange#4740, 2023; ccxt resets its
 *   cached URL on exactly that text, ccxt `js/src/pro/kucoin.js` handleErrorMessage): the parser
 *   turns it into `reconnect`, and every connection attempt fetches a new token first;
 * - `{"id":"<connectId>","type":"welcome"}` first; "only after the welcome is the connection
 *   usable" (Kucoin/kucoin-api-docs, former docs.kucoin.com);
 * - subscribe `{"id","type":"subscribe","topic","privateChannel":false,"response":true}` is
 *   answered `{"id","type":"ack"}` — the ack names only the id (see `subscribeId`); a refusal is
 *   `{"id","type":"error","code":…,"data":"…"}`: 404 "topic … is not found" (sammchardy/
 *   python-kucoin#52), 509 "exceed max subscription count limitation of 100 per time"
 *   (Kucoin/kucoin-python-sdk#32), 415 "type is not supported" (ccxt's comment);
 * - `trade.l2update` data `{sequenceStart, sequenceEnd, symbol, changes:{asks, bids}, time}`, each
 *   change `[price, size, sequence]` (KC-SDK example; `time` absent in 2021, CAP); price `"0"` is
 *   a sequence-only entry, never a level (kucoin-api-docs; 81 of 245 ANKR-BTC messages in the capture);
 *   size `"0"` deletes. A change's own sequence at or below the snapshot's needs no special case:
 *   the batch carries only the latest change of each price, so re-applying it sets the value the
 *   snapshot already has;
 * - no checksum: sequence continuity is the only integrity check.
 */
import { joinPair, SymbolError } from '../../symbols.ts'
import type { Level, Pair } from '../../types.ts'
import { SimKucoin } from './sim.ts'
import { kucoinTransfers } from './transfers.ts'
import { ExchangeError, isDecimalText, parseJson, ParseError, toLevel, toLevels } from '../venue.ts'
import type {
  DeltaEvent,
  FetchOptions,
  FrameParser,
  SessionTicket,
  SnapshotEvent,
  Venue,
  VenueEvent,
} from '../venue.ts'

/** The increments topic: every depth, pushed in real time (KC-SDK "Orderbook - Increment"). */
export const KUCOIN_BOOK_TOPIC = '/market/level2'

/** Symbols one topic (one subscribe frame) carries at most: 100 (KC-SDK; KC-NEW "100 topics"). */
export const KUCOIN_SYMBOLS_PER_FRAME = 100

/** Levels of the public REST seed: `level2_100` (the full `/api/v3` book needs an API key). */
export const KUCOIN_SNAPSHOT_DEPTH = 100

/** KuCoin's success code in every REST body. */
const OK = '200000'

/** The production socket base (what `endpoints.wsUrl` names when not overridden). */
const PROD_WS = 'wss://ws-api-spot.kucoin.com/'

/**
 * KuCoin codes for coins other venues name differently (ccxt 4.5.84 `js/src/kucoin.js`
 * `commonCurrencies`: KuCoin's WAX is the token others list as WAXP).
 */
export const KUCOIN_ASSETS = Object.freeze({ WAX: 'WAXP' })

/** KuCoin codes naming a different token than other venues use the code for (ccxt, as above). */
export const KUCOIN_DISTINCT_ASSETS = Object.freeze({
  ALT: 'KuCoin ALT is Aptos Launch Token (ccxt APTOSLAUNCHTOKEN); AltLayer is KALT on KuCoin',
})

/**
 * Weights of the Public resource pool (KC-SDK `x-api-rate-limit-weight`): bullet-public 10,
 * `level2_{size}` 2, `/api/v2/symbols` 4, allTickers 15, `/api/v3/currencies` 3. ccxt 4.5.84
 * charges `level2_100` 4 (and `level2_20` 2): a CONFLICT settled for KuCoin's own spec; a 429
 * pauses the budget anyway.
 */
export function kucoinCost(url: URL): number {
  const p = url.pathname
  if (p.endsWith('/bullet-public')) return 10
  if (p.includes('/market/orderbook/level2_')) return 2
  if (p.endsWith('/symbols')) return 4
  if (p.endsWith('/market/allTickers')) return 15
  if (p.endsWith('/api/v3/currencies')) return 3 // Get All Currencies: public weight 3
  return 1
}

/** Ids of subscribe frames this process sent, id → natives (bounded; oldest dropped first). */
const SENT = new Map<string, readonly string[]>()
const SENT_MAX = 10_000

/**
 * The id a subscribe of these natives carries: FNV-1a of the topic's symbols. KuCoin's ack names
 * only the id, so the natives of every id sent are remembered (bounded) and the parser maps an ack
 * back to its pairs with no state of its own; the id is the same whichever connection sends it.
 */
export function subscribeId(natives: readonly string[]): string {
  const text = natives.join(',')
  let h = 2166136261
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 16777619)
  const id = `l2-${(h >>> 0).toString(36)}-${natives.length}`
  if (!SENT.has(id)) {
    if (SENT.size >= SENT_MAX) SENT.delete(SENT.keys().next().value!)
    SENT.set(id, [...natives])
  }
  return id
}

/**
 * A KuCoin REST call: the body's `data` when `code` is 200000. HTTP errors become ExchangeError
 * with the wait KuCoin names (`Retry-After`, else `gw-ratelimit-reset` ms on a 429: "the request
 * can be re-requested after the length of time displayed in the request header", KC-NEW).
 */
export async function kucoinData(
  url: string,
  opts: FetchOptions,
  method: 'GET' | 'POST' = 'GET',
): Promise<unknown> {
  let res: Response
  try {
    res = await opts.fetch(url, {
      method,
      signal: opts.signal,
      headers: { accept: 'application/json' },
    })
  } catch (err) {
    throw new ExchangeError(
      'kucoin',
      `${method} ${url} failed: ${(err as Error).message}`,
      undefined,
      {
        cause: err,
      },
    )
  }
  const text = await res.text()
  if (!res.ok) {
    const retry = Number(res.headers.get('retry-after'))
    const reset = Number(res.headers.get('gw-ratelimit-reset'))
    const waitMs =
      Number.isFinite(retry) && retry > 0
        ? retry * 1000
        : res.status === 429 && Number.isFinite(reset) && reset > 0
          ? reset
          : undefined
    throw new ExchangeError(
      'kucoin',
      `${method} ${url} answered ${res.status} ${text.slice(0, 80)}`,
      waitMs,
    )
  }
  let body: { code?: unknown; msg?: unknown; data?: unknown }
  try {
    body = JSON.parse(text) as typeof body
  } catch {
    throw new ExchangeError('kucoin', `${method} ${url} returned malformed JSON`)
  }
  if (body === null || typeof body !== 'object' || body.code !== OK) {
    throw new ExchangeError(
      'kucoin',
      `${method} ${url} answered code ${String(body?.code)} ${String(body?.msg ?? '')}`,
    )
  }
  return body.data
}

/** A volume as KuCoin writes it (a plain decimal string), or undefined. */
const volumeOf = (v: unknown): number | undefined =>
  typeof v === 'string' && isDecimalText(v) ? +v : undefined

const isSeq = (v: unknown): v is number =>
  typeof v === 'number' && Number.isSafeInteger(v) && v >= 0

/** A sequence KuCoin writes as a decimal string (REST `sequence`, change entries). */
const seqOf = (v: unknown): number | undefined => {
  if (typeof v !== 'string' || !/^\d{1,16}$/.test(v)) return undefined
  const n = Number(v)
  return Number.isSafeInteger(n) ? n : undefined
}

/** `GET /api/v2/symbols` rows (the fields used). */
interface KucoinSymbol {
  symbol?: unknown
  baseCurrency?: unknown
  quoteCurrency?: unknown
  enableTrading?: unknown
}

/** Every JSON shape the public socket sends us. */
interface KucoinFrame {
  id?: unknown
  type?: unknown
  topic?: unknown
  subject?: unknown
  code?: unknown
  data?: unknown
}

interface L2Data {
  sequenceStart?: unknown
  sequenceEnd?: unknown
  symbol?: unknown
  changes?: { asks?: unknown; bids?: unknown } | null
  time?: unknown
}

/** A unique id for a connection or a ping (KuCoin asks only that it be unique). */
const uniqueId = (): string =>
  `${Date.now().toString(36)}${Math.floor(Math.random() * 36 ** 6).toString(36)}`

/**
 * The KuCoin venue module.
 *
 * @example
 * ```ts
 * const conn = new Connection({ venue: kucoin, wsUrl, restUrl, pairs: ['BTC/USDT'], log })
 * ```
 */
export const kucoin: Venue = {
  id: 'kucoin',
  name: 'KuCoin',
  // Used when EXCHANGES names it (or is `all`): with all twelve venues the universe missed its
  // CPU and memory targets (README, "Universe benchmark"), so the default is the first six.
  enabledByDefault: false,
  // VIP 0, Spot Class A (BTC, ETH, SOL …): 0.1 % maker / 0.1 % taker; Class B 0.2 %, Class C
  // 0.3 %; 20 % off paying in KCS (kucoin.com/support/48142946141635 "KuCoin VIP Fee Structure",
  // updated 2026-03-26). The base-tier rate of the markets arbwatch compares.
  takerFeeBps: 10,
  // The socket URL comes from bullet-public each time; wsUrl is the endpoint it names today.
  endpoints: { wsUrl: PROD_WS, restUrl: 'https://api.kucoin.com' },
  assetAliases: KUCOIN_ASSETS,
  distinctAssets: KUCOIN_DISTINCT_ASSETS,
  transfers: kucoinTransfers(KUCOIN_ASSETS, KUCOIN_DISTINCT_ASSETS),
  greets: true,
  acksSubscriptions: true,
  // All depths on the socket, a 100-level seed: like Binance, no depth cap (levels beyond the
  // seed are unknown until they change; the top, which the detector reads, is exact).
  sync: { snapshot: 'rest', sequence: 'chain', detectsGaps: true },
  limits: {
    // Replaced per connection by the bullet's pingInterval (18 s) and pingInterval + pingTimeout
    // (28 s): "no pong within pingTimeout: the link is dead" (KC-SDK example, kucoin-api-docs).
    idleTimeoutMs: 28_000,
    pingIntervalMs: 18_000,
    // "Message limit sent to the server: 100 per 10 seconds" (KC-NEW rate-limit). The connection
    // budgets per 1 s window, and a 10 s span touches 11 windows: 9 a second stays at 99.
    sendPerSecond: 9,
    // "Subscription limit for each connection: 400 topics" (KC-NEW, 2025), each symbol of a topic
    // counting as one; CONFLICT: 300 in the former docs.kucoin.com (kucoin-api-docs, 2023), and
    // 509 "…limitation of 300 per session" was still answered in 2022 (kucoin-api-docs#389);
    // cryptofeed enforces 300. 300 fits under both; 3 subscribe frames of 100 symbols each.
    marketsPerConnection: 300,
    // "Connection Limit: 30 per minute" (KC-NEW); ≤ 800 connections per user id at once.
    connects: { count: 30, windowMs: 60_000 },
    // Public resource pool: 2000 per 30 s per IP at every VIP level, over it HTTP 429 with code
    // 429000 (KC-NEW rate-limit, "Public … based on IP"); weights in `kucoinCost`.
    rest: { weight: 2000, windowMs: 30_000, snapshotCost: 2, cost: kucoinCost },
  },
  ping: () => JSON.stringify({ id: uniqueId(), type: 'ping' }),
  simulate: (markets) => new SimKucoin(markets),

  async openSession(wsBase, restUrl, _natives, opts): Promise<SessionTicket> {
    const data = (await kucoinData(`${restUrl}/api/v1/bullet-public`, opts, 'POST')) as {
      token?: unknown
      instanceServers?: unknown
    } | null
    const servers = Array.isArray(data?.instanceServers) ? data.instanceServers : []
    const server = (
      servers as ({ endpoint?: unknown; protocol?: unknown } & Record<string, unknown>)[]
    ).find(
      (s) =>
        s !== null &&
        typeof s === 'object' &&
        typeof s.endpoint === 'string' &&
        (s.protocol ?? 'websocket') === 'websocket',
    )
    if (typeof data?.token !== 'string' || data.token === '' || server === undefined) {
      throw new ParseError('bad-message', 'bullet-public names no token or websocket server')
    }
    // An overridden socket base (KUCOIN_WS_URL) wins over the endpoint the bullet names.
    const url = new URL(wsBase === PROD_WS ? (server.endpoint as string) : wsBase)
    url.searchParams.set('token', data.token)
    url.searchParams.set('connectId', uniqueId())
    const ping = Number(server.pingInterval)
    const timeout = Number(server.pingTimeout)
    const pingIntervalMs = Number.isFinite(ping) && ping > 0 ? ping : undefined
    const idleTimeoutMs =
      pingIntervalMs !== undefined && Number.isFinite(timeout) && timeout > 0
        ? pingIntervalMs + timeout
        : undefined
    return { url: url.toString(), pingIntervalMs, idleTimeoutMs }
  },

  // `GET /api/v2/symbols`: `enableTrading` false means halted or not yet open; tick is
  // `priceIncrement` and lot `baseIncrement` (BTC-USDT 0.1 / 0.00000001 on 2025-05-08).
  async listMarkets(restUrl, opts) {
    const data = await kucoinData(`${restUrl}/api/v2/symbols`, opts)
    if (!Array.isArray(data)) throw new ParseError('bad-message', 'symbols is not an array')
    const out = new Map<Pair, string>()
    for (const s of data as (KucoinSymbol | null)[]) {
      if (
        s?.enableTrading !== true ||
        typeof s.symbol !== 'string' ||
        typeof s.baseCurrency !== 'string' ||
        typeof s.quoteCurrency !== 'string'
      )
        continue
      try {
        out.set(joinPair(s.baseCurrency, s.quoteCurrency, KUCOIN_ASSETS), s.symbol)
      } catch (err) {
        if (!(err instanceof SymbolError)) throw err
      }
    }
    return out
  },

  // `volValue` is the 24 h "transaction amount" in the quote currency (`vol` is in the base),
  // every market in one `GET /api/v1/market/allTickers` (KC-SDK).
  async fetchVolumes(restUrl, opts) {
    const [markets, data] = await Promise.all([
      this.listMarkets(restUrl, opts),
      kucoinData(`${restUrl}/api/v1/market/allTickers`, opts),
    ])
    const tickers = (data as { ticker?: unknown } | null)?.ticker
    if (!Array.isArray(tickers))
      throw new ParseError('bad-message', 'allTickers has no ticker list')
    const pairOf = new Map([...markets].map(([pair, native]) => [native, pair]))
    const out = new Map<Pair, number>()
    for (const t of tickers as ({ symbol?: unknown; volValue?: unknown } | null)[]) {
      const pair = typeof t?.symbol === 'string' ? pairOf.get(t.symbol) : undefined
      const volume = volumeOf(t?.volValue)
      if (pair !== undefined && volume !== undefined) out.set(pair, volume)
    }
    return out
  },

  wsUrl: (base) => base,

  // Up to 100 symbols a topic, one frame each.
  subscribe: (natives) => {
    const frames: string[] = []
    for (let i = 0; i < natives.length; i += KUCOIN_SYMBOLS_PER_FRAME) {
      const group = natives.slice(i, i + KUCOIN_SYMBOLS_PER_FRAME)
      frames.push(
        JSON.stringify({
          id: subscribeId(group),
          type: 'subscribe',
          topic: `${KUCOIN_BOOK_TOPIC}:${group.join(',')}`,
          privateChannel: false,
          response: true,
        }),
      )
    }
    return frames
  },

  async fetchSnapshot(restUrl, native, pair, opts): Promise<SnapshotEvent> {
    const url = `${restUrl}/api/v1/market/orderbook/level2_${KUCOIN_SNAPSHOT_DEPTH}?symbol=${native}`
    const data = (await kucoinData(url, opts)) as {
      time?: unknown
      sequence?: unknown
      bids?: unknown
      asks?: unknown
    } | null
    const seq = seqOf(data?.sequence)
    if (data === null || typeof data !== 'object' || seq === undefined) {
      throw new ParseError('bad-message', `level2_100 for ${native} has no sequence`, pair)
    }
    return {
      type: 'snapshot',
      pair,
      seq,
      bids: toLevels(data.bids, pair),
      asks: toLevels(data.asks, pair),
      exchangeTsMs: typeof data.time === 'number' && data.time > 0 ? data.time : undefined,
    }
  },

  createParser: (markets) => createJsonParser(markets),
}

/** One side's changes: price "0" entries only advance the sequence (never levels). */
function changesOf(rows: unknown, pair: Pair): Level[] {
  if (rows === undefined) return []
  if (!Array.isArray(rows))
    throw new ParseError('bad-message', 'changes side is not an array', pair)
  const out: Level[] = []
  for (const row of rows) {
    if (!Array.isArray(row)) throw new ParseError('bad-level', 'change is not an array', pair)
    if (row[0] === '0') continue
    out.push(toLevel(row[0], row[1], pair))
  }
  return out
}

/** Turns one `trade.l2update` into a delta on the chain rule. */
function toDelta(d: L2Data, markets: ReadonlyMap<string, Pair>): VenueEvent {
  if (d === null || typeof d !== 'object') {
    throw new ParseError('bad-message', 'l2update data is not an object')
  }
  const pair = markets.get(d.symbol as string)
  if (pair === undefined) return { type: 'unknown', what: `l2update for ${String(d.symbol)}` }
  const start = d.sequenceStart
  const end = d.sequenceEnd
  if (!isSeq(start) || !isSeq(end) || end < start || start === 0) {
    throw new ParseError('bad-message', `l2update with bad sequences for ${pair}`, pair)
  }
  const changes = d.changes
  if (changes === null || typeof changes !== 'object') {
    throw new ParseError('bad-message', `l2update without changes for ${pair}`, pair)
  }
  const delta: DeltaEvent = {
    type: 'delta',
    pair,
    prevSeq: start - 1,
    seq: end,
    bids: changesOf(changes.bids, pair),
    asks: changesOf(changes.asks, pair),
  }
  return typeof d.time === 'number' && d.time > 0 ? { ...delta, exchangeTsMs: d.time } : delta
}

/**
 * The `JSON.parse` parser: welcome, acks (by subscribe id), pongs, errors and increments.
 *
 * @example
 * ```ts
 * const parse = createJsonParser(new Map([['BTC-USDT', 'BTC/USDT']]))
 * parse(frame, Date.now())
 * ```
 */
export function createJsonParser(markets: ReadonlyMap<string, Pair>): FrameParser {
  /** The pairs of this connection a subscribe id names. */
  const pairsOf = (id: unknown): Pair[] => {
    const natives = typeof id === 'string' ? SENT.get(id) : undefined
    const out: Pair[] = []
    for (const n of natives ?? []) {
      const pair = markets.get(n)
      if (pair !== undefined) out.push(pair)
    }
    return out
  }
  return (raw): VenueEvent[] => {
    const msg = parseJson(raw) as KucoinFrame
    if (msg === null || typeof msg !== 'object' || Array.isArray(msg)) {
      throw new ParseError('bad-message', 'frame is not an object')
    }
    switch (msg.type) {
      case 'message':
        if (msg.subject === 'trade.l2update') return [toDelta(msg.data as L2Data, markets)]
        return [{ type: 'unknown', what: `${String(msg.subject)} on ${String(msg.topic)}` }]
      case 'welcome':
        return [{ type: 'welcome' }]
      case 'pong':
        return [{ type: 'info' }]
      case 'ack': {
        const pairs = pairsOf(msg.id)
        return pairs.length === 0 ? [{ type: 'info' }] : [{ type: 'subscribed', pairs }]
      }
      case 'error': {
        const text = typeof msg.data === 'string' ? msg.data : JSON.stringify(msg.data ?? null)
        const message = `${String(msg.code)} ${text}`
        // An expired or unknown token is only cured by a new bullet: a new connection.
        if (msg.code === 401 || /token is expired/i.test(text)) {
          return [{ type: 'reconnect', reason: `KuCoin: ${message}` }]
        }
        const pairs = pairsOf(msg.id)
        if (pairs.length === 0) return [{ type: 'venue-error', message }]
        return pairs.map((pair) => ({ type: 'venue-error', message, pair }))
      }
      case 'notice':
        return [{ type: 'info' }]
      default:
        return [{ type: 'unknown', what: String(msg.type ?? 'frame without type') }]
    }
  }
}
