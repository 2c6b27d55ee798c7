/**
 * @module
 * MEXC spot API v3: the public `spot@public.aggre.depth.v3.api.pb@100ms@<SYMBOL>` channel (protobuf
 * diff depth, body 313 `publicAggreDepths`) on `wss://wbs-api.mexc.com/ws`, seeded from
 * `GET /api/v3/depth?symbol=&limit=1000` (`lastUpdateId`) and kept by the documented version chain
 * (applied in book/sync.ts through the normalised prevSeq = fromVersion - 1, seq = toVersion).
 * The parser only parses: binary frames are `PushDataV3ApiWrapper` messages decoded with MEXC's
 * own `.proto` files (./proto, see ./proto.ts); text frames are JSON acks, PONGs and refusals.
 *
 * Why this channel: it is the one MEXC's procedure "How to Properly Maintain a Local Copy of the
 * Order Book" names (MEXC docs "Websocket Market Streams", as scraped in rosssaunders/coincise
 * `docs/mexc/spot/public_websocket_api.md`, 2025-11: subscribe
 * `spot@public.aggre.depth.v3.api.pb@(100ms|10ms)@SYMBOL`, fetch `/api/v3/depth?limit=1000`, each
 * push's `fromVersion` must be the previous `toVersion + 1` else re-initialise, drop pushes whose
 * `toVersion` is below the snapshot's version, quantities are absolute) and the one ccxt's
 * `watchOrderBook` subscribes (ccxt `js/src/pro/mexc.js`, frequency default `100ms`). The
 * pre-2025 JSON channels (`spot@public.increase.depth.v3.api@SYM`) are refused since the
 * 2025-02-24 protobuf change ("Update Protocol Buffers websocket channels", MEXC changelog): real
 * refusals quoted in JKorf/Mexc.Net issue #35 (2025-08-12) and public client code read
 * `{"id":0,"code":0,"msg":"Not Subscribed successfully! [<channels>].  Reason： Blocked! "}` —
 * note `code` is 0 on a refusal too, so the parser reads the text, not the code. `100ms` rather
 * than `10ms`: a tenth of the frames for the same book, and what ccxt defaults to.
 *
 * Facts settled (sources as above unless named):
 * - wire layout (mexcdevelop/websocket-proto @ 7b8ac7a6, Apache-2.0): wrapper `channel = 1`,
 *   oneof body `publicAggreDepths = 313`, `symbol = 3`, `symbolId = 4`, int64 `createTime = 5`,
 *   `sendTime = 6`; body `asks = 1`, `bids = 2` (items `price = 1`, `quantity = 2`, strings),
 *   `eventType = 3`, `fromVersion = 4`, `toVersion = 5` (decimal strings), `lastOrderCreateTime = 6`.
 *   The docs' JSON rendering (`publicincreasedepths`, `asksList`) is a printer artefact; ccxt's
 *   decoded example of 2025-08 shows `publicAggreDepths` with `asks`/`bids`;
 * - `exchangeTsMs` is `sendTime` ("Event time"), else `createTime`;
 * - a quantity of zero in any spelling (`"0"` in ccxt's example, `"0.00000000"` in the docs')
 *   deletes the level (docs: "If the order quantity ... is 0 ... that price level should be
 *   removed");
 * - exchangeInfo `status`: **"1"** means online (docs table "1 - online, 2 - Pause, 3 - offline",
 *   the 2025-11 docs example `"status": "1"`, and ccxt `fetchSpotMarkets`: active iff
 *   `status === '1' && isSpotTradingAllowed`). The `"ENABLED"` of an older docs example is
 *   accepted as the same state; anything else is left out;
 * - price tick: exchangeInfo has no tick field; the price decimals are `quoteAssetPrecision`
 *   (ccxt uses it for `precision.price`; `quotePrecision` is the same figure, kept for Binance
 *   compatibility), the lot is `baseAssetPrecision` decimals, and `baseSizePrecision` /
 *   `quoteAmountPrecision` are minimum order quantity / amount (docs table). None is needed here.
 * Keep-alive: `{"method":"PING"}` → `{"id":0,"code":0,"msg":"PONG"}` (docs "PING/PONG
 * Mechanism"); with no data for a minute MEXC closes a subscribed socket, and a ping keeps it.
 */
import { joinPair } from '../../symbols.ts'
import type { Pair } from '../../types.ts'
import { SimMexc } from './sim.ts'
import { MEXC_TRANSFERS_PATH, mexcTransfers } from './transfers.ts'
import { int64Ms, pushDataType, type DepthItem, type PushData } from './proto.ts'
import { MEXC_DEPTH_CHANNEL, MEXC_REFUSAL, mexcCost, symbolOfChannel } from './protocol.ts'
import { getJson, isDecimalText, parseJson, ParseError, toLevel, toLevels } from '../venue.ts'
import type { DeltaEvent, FrameParser, SnapshotEvent, Venue, VenueEvent } from '../venue.ts'

export { MEXC_DEPTH_CHANNEL, MEXC_REFUSAL, mexcCost, symbolOfChannel } from './protocol.ts'

/**
 * Levels requested in the REST snapshot. `GET /api/v3/depth` weighs 1 whatever the `limit`
 * ("Weight(IP): 1", limit "default 100; max 5000"), so the weight does not choose it: the docs'
 * own procedure asks for 1000 levels, deep enough for any walk the detector makes, at a fifth of
 * the 5000-level body (tardis-node's choice) on every seed and resync. Levels beyond it that MEXC
 * changes arrive in the diffs; one it never changes is missing locally, which can only make a
 * depth walk more pessimistic (as for Binance's 100).
 */
export const MEXC_SNAPSHOT_LIMIT = 1000

/** `GET /api/v3/exchangeInfo` `symbols[]` rows (the fields used). */
interface MexcSymbol {
  symbol?: unknown
  status?: unknown
  baseAsset?: unknown
  quoteAsset?: unknown
  isSpotTradingAllowed?: unknown
}

/** `{"id":0,"code":0,"msg":...}`: acks, PONGs and refusals. */
interface AckFrame {
  id?: unknown
  code?: unknown
  msg?: unknown
}

/** A volume as MEXC writes it (a decimal string), or undefined. */
const volumeOf = (v: unknown): number | undefined =>
  typeof v === 'string' && isDecimalText(v) ? +v : undefined

/** A version as MEXC sends it (decimal string) as a safe integer, or undefined. */
function versionOf(v: unknown): number | undefined {
  if (typeof v !== 'string' || !/^\d{1,16}$/.test(v)) return undefined
  const n = Number(v)
  return Number.isSafeInteger(n) ? n : undefined
}

/**
 * The MEXC venue module.
 *
 * @example
 * ```ts
 * const conn = new Connection({ venue: mexc, wsUrl, restUrl, pairs: ['BTC/USDT'], log })
 * ```
 */
export const mexc: Venue = {
  id: 'mexc',
  name: 'MEXC',
  // Used when EXCHANGES names it (or is `all`): with all twelve venues the universe missed its
  // CPU and memory targets (README, "Universe benchmark"), so the default is the first six.
  enabledByDefault: false,
  // Spot "0% for makers and 0.05% for takers" (MEXC Learn "Calculation of Fees in Spot Trading",
  // 2025-07-16, and "MEXC Spot Trading Fees", 2025-09-02, both pointing at mexc.com/fee); the
  // 2025-05-08 instrument list's BTC_USDT row carries `taker_fee_rate` 0.0005 too. Some pairs
  // are promoted at 0 % and MX holders get discounts: the base rate is the safe figure.
  takerFeeBps: 5,
  endpoints: { wsUrl: 'wss://wbs-api.mexc.com/ws', restUrl: 'https://api.mexc.com' },
  // One SUBSCRIPTION per market, each answered by an ack echoing its channel.
  acksSubscriptions: true,
  // No maxDepth: the diffs cover the whole book (see MEXC_SNAPSHOT_LIMIT).
  sync: { snapshot: 'rest', sequence: 'chain', detectsGaps: true },
  // Limits from MEXC's docs "Websocket Market Streams" and "Rate Limits" (coincise
  // docs/mexc/{spot/public_websocket_api,rate_limits}.md, 2025-11).
  limits: {
    // "The Websocket limits is: 100times/s"; "A connection that goes beyond the limit will be
    // disconnected": 20 a second, so a shard's 30 subscribes take 1.5 s and never come near it.
    sendPerSecond: 20,
    // "One ws connection supports a maximum of 30 subscriptions", one per market here.
    marketsPerConnection: 30,
    // "Each connection ... is valid for no more than 24 hours": reconnect 10 minutes before.
    maxLifetimeMs: 23 * 3_600_000 + 50 * 60_000,
    // "If the subscription is successful but there is no data flow, the server will disconnect
    // after one minute. The client can send a ping to keep the connection alive": a PING every
    // 20 s (three a minute, so one lost PING or PONG costs nothing), and silence for 45 s — two
    // unanswered PINGs — is a dead socket.
    pingIntervalMs: 20_000,
    idleTimeoutMs: 45_000,
    // No connection rate or per-IP connection count is published: 20 a minute of our own.
    connects: { count: 20, windowMs: 60_000 },
    // "Each endpoint with IP limits has an independent 500 every 10 second limit", past it 429
    // (and Retry-After; repeated 429s ban the IP for 2 minutes to 3 days). One budget of 500
    // weight per 10 s for all endpoints keeps each under its own. Weights: depth 1 (any limit),
    // exchangeInfo 10, ticker/24hr 1 for a symbol or 40 for all.
    rest: {
      weight: 500,
      windowMs: 10_000,
      snapshotCost: 1,
      // capital/config/getall: weight(IP) 10 (docs, "Query the currency information").
      cost: (url) => (url.pathname === MEXC_TRANSFERS_PATH ? 10 : mexcCost(url)),
    },
  },
  // No asset aliases: MEXC writes the usual codes (BTC, ETH, USDT, USDC in the 2025-05-08 list).
  // ccxt's mexc commonCurrencies rename only small tokens that clash with others' codes
  // (GMT → GMTTOKEN, GAS → GASDAO, FREE → FREEROSSDAO, ...); ccxt's remapping is ccxt's own
  // convention, not a MEXC document, so none of them is declared distinct here.
  ping: () => JSON.stringify({ method: 'PING' }),
  simulate: (markets) => new SimMexc(markets),
  transfers: mexcTransfers,

  async listMarkets(restUrl, opts) {
    const body = (await getJson('mexc', `${restUrl}/api/v3/exchangeInfo`, opts)) as {
      symbols?: unknown
    } | null
    if (body === null || typeof body !== 'object' || !Array.isArray(body.symbols)) {
      throw new ParseError('bad-message', 'exchangeInfo has no symbols list')
    }
    const out = new Map<Pair, string>()
    for (const s of body.symbols as (MexcSymbol | null)[]) {
      if (
        (s?.status === '1' || s?.status === 'ENABLED') &&
        s.isSpotTradingAllowed === true &&
        typeof s.symbol === 'string' &&
        typeof s.baseAsset === 'string' &&
        typeof s.quoteAsset === 'string'
      )
        out.set(joinPair(s.baseAsset, s.quoteAsset), s.symbol)
    }
    return out
  },

  // `quoteVolume` is the "Quote asset volume" of `GET /api/v3/ticker/24hr` (no symbol: every
  // market in one request, weight 40). The docs' example shows `"quoteVolume": null`; such a
  // market's volume is then `volume × lastPrice`, in the quote asset as well.
  async fetchVolumes(restUrl, opts) {
    const [markets, body] = await Promise.all([
      this.listMarkets(restUrl, opts),
      getJson('mexc', `${restUrl}/api/v3/ticker/24hr`, opts),
    ])
    if (!Array.isArray(body)) throw new ParseError('bad-message', 'ticker/24hr is not an array')
    const pairOf = new Map([...markets].map(([pair, native]) => [native, pair]))
    const out = new Map<Pair, number>()
    type Ticker = { symbol?: unknown; quoteVolume?: unknown; volume?: unknown; lastPrice?: unknown }
    for (const t of body as (Ticker | null)[]) {
      const pair = typeof t?.symbol === 'string' ? pairOf.get(t.symbol) : undefined
      if (pair === undefined) continue
      let volume = volumeOf(t!.quoteVolume)
      if (volume === undefined) {
        const base = volumeOf(t!.volume)
        const last = volumeOf(t!.lastPrice)
        if (base !== undefined && last !== undefined) volume = base * last
      }
      if (volume !== undefined) out.set(pair, volume)
    }
    return out
  },

  wsUrl: (base) => base,

  // One channel per frame: each ack then names exactly one market (how MEXC acknowledges
  // several `params` at once is not documented).
  subscribe: (natives) =>
    natives.map((n) =>
      JSON.stringify({ method: 'SUBSCRIPTION', params: [`${MEXC_DEPTH_CHANNEL}${n}`] }),
    ),

  async fetchSnapshot(restUrl, native, pair, opts): Promise<SnapshotEvent> {
    const url = `${restUrl}/api/v3/depth?symbol=${native}&limit=${MEXC_SNAPSHOT_LIMIT}`
    const body = (await getJson('mexc', url, opts)) as {
      lastUpdateId?: unknown
      bids?: unknown
      asks?: unknown
    } | null
    const id = body?.lastUpdateId
    if (
      body === null ||
      typeof body !== 'object' ||
      typeof id !== 'number' ||
      !Number.isSafeInteger(id) ||
      id < 0
    ) {
      throw new ParseError('bad-message', `depth for ${native} has no lastUpdateId`, pair)
    }
    return {
      type: 'snapshot',
      pair,
      seq: id,
      bids: toLevels(body.bids, pair),
      asks: toLevels(body.asks, pair),
    }
  },

  createParser: (markets) => createMexcParser(markets),
}

/** The pairs named by a comma-separated list of channels (ours only). */
function pairsOf(channels: string, markets: ReadonlyMap<string, Pair>): Pair[] {
  const out: Pair[] = []
  for (const c of channels.split(',')) {
    const channel = c.trim()
    if (!channel.startsWith(MEXC_DEPTH_CHANNEL)) continue
    const pair = markets.get(symbolOfChannel(channel))
    if (pair !== undefined) out.push(pair)
  }
  return out
}

/** One venue-error per pair named, or one naming none. */
function venueErrors(message: string, pairs: readonly Pair[]): VenueEvent[] {
  if (pairs.length === 0) return [{ type: 'venue-error', message }]
  return pairs.map((pair) => ({ type: 'venue-error', message, pair }))
}

/** A JSON text frame: an ack, a PONG or a refusal. */
function parseText(raw: string, markets: ReadonlyMap<string, Pair>): VenueEvent[] {
  const msg = parseJson(raw) as AckFrame
  if (msg === null || typeof msg !== 'object' || Array.isArray(msg)) {
    throw new ParseError('bad-message', 'frame is not an object')
  }
  const text = typeof msg.msg === 'string' ? msg.msg : undefined
  if (text === 'PONG') return [{ type: 'info' }]
  if (text?.startsWith(MEXC_REFUSAL)) {
    const named = /\[([^\]]*)\]/.exec(text)?.[1] ?? ''
    return venueErrors(text.trim(), pairsOf(named, markets))
  }
  if (msg.code !== 0) {
    const message = `code ${String(msg.code)}: ${text ?? JSON.stringify(msg.msg ?? null)}`
    return venueErrors(message, text === undefined ? [] : pairsOf(text, markets))
  }
  if (text !== undefined && text.includes('@')) {
    const pairs = pairsOf(text, markets)
    // An ack of another channel (an unsubscribe, a market we do not follow) proves life only.
    return pairs.length > 0 ? [{ type: 'subscribed', pairs }] : [{ type: 'info' }]
  }
  return [{ type: 'unknown', what: `text frame ${raw.slice(0, 80)}` }]
}

/** Converts one body's items into levels. */
function levelsOf(items: DepthItem[] | undefined, pair: Pair) {
  const list = items ?? []
  const out = new Array(list.length)
  for (let i = 0; i < list.length; i++) out[i] = toLevel(list[i]!.price, list[i]!.quantity, pair)
  return out
}

/** A decoded wrapper: a delta for body 313 of a market we follow, else unknown. */
function toEvents(msg: PushData, markets: ReadonlyMap<string, Pair>): VenueEvent[] {
  const channel = typeof msg.channel === 'string' ? msg.channel : ''
  if (msg.body !== 'publicAggreDepths' || !msg.publicAggreDepths) {
    return [{ type: 'unknown', what: `${msg.body ?? 'no body'} ${channel}`.trim() }]
  }
  const symbol = msg.symbol ? msg.symbol : symbolOfChannel(channel)
  const pair = markets.get(symbol)
  if (pair === undefined) return [{ type: 'unknown', what: `publicAggreDepths for ${symbol}` }]
  const d = msg.publicAggreDepths
  const from = versionOf(d.fromVersion)
  const to = versionOf(d.toVersion)
  if (from === undefined || to === undefined || to < from || from < 1) {
    throw new ParseError(
      'bad-message',
      `publicAggreDepths with bad versions ${String(d.fromVersion)}..${String(d.toVersion)} for ${pair}`,
      pair,
    )
  }
  const delta: DeltaEvent = {
    type: 'delta',
    pair,
    prevSeq: from - 1,
    seq: to,
    bids: levelsOf(d.bids, pair),
    asks: levelsOf(d.asks, pair),
  }
  const exchangeTsMs = int64Ms(msg.sendTime) ?? int64Ms(msg.createTime)
  return [exchangeTsMs === undefined ? delta : { ...delta, exchangeTsMs }]
}

/**
 * The MEXC parser: JSON text (acks, PONG, refusals) through the call, protobuf binary
 * (`PushDataV3ApiWrapper`) through `binary`. Bytes protobufjs cannot decode are a ParseError of
 * kind `bad-message` (they are not JSON, so not `malformed-json`).
 *
 * @example
 * ```ts
 * const parse = createMexcParser(new Map([['BTCUSDT', 'BTC/USDT']]))
 * parse.binary!(bytes, Date.now())
 * ```
 */
export function createMexcParser(markets: ReadonlyMap<string, Pair>): FrameParser {
  const type = pushDataType()
  const parse: FrameParser = (raw) => parseText(raw, markets)
  parse.binary = (bytes) => {
    let msg: PushData
    try {
      msg = type.decode(bytes) as unknown as PushData
    } catch (err) {
      throw new ParseError(
        'bad-message',
        `undecodable protobuf frame (${bytes.length} bytes): ${(err as Error).message}`,
      )
    }
    return toEvents(msg, markets)
  }
  return parse
}
