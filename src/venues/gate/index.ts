/**
 * @module
 * Gate API v4 spot: the public `spot.order_book_update` channel (100 levels, 100 ms diffs) on one
 * socket, seeded from `GET /api/v4/spot/order_book?with_id=true` and kept by the documented U/u/id
 * rules (applied in book/sync.ts through the normalised prevSeq = U - 1, seq = u). The parser
 * only parses.
 *
 * Why this channel and not `spot.obu` ("Order Book V2", 2025-06): the docs' procedure for
 * `spot.order_book_update` ("How to maintain local order book": cache the updates, fetch the REST
 * book with `with_id=true`, drop updates with `u < id + 1`, start at the one with
 * `U <= id + 1 <= u`, then every `U` is the previous `u + 1`) is exactly the `chain` rule
 * book/sync.ts owns for Binance, and it is the only Gate book channel with real recorded frames
 * (../shared/captures/gate, 10 pairs, 0 gaps; test/venues/gate.test.ts replays them). `spot.obu`
 * would save the REST snapshot, but no real frame of it exists in any stored repository, its docs
 * examples come from the futures variant, and its gap recovery (unsubscribe + resubscribe, only
 * one subscription per stream) cannot be verified here.
 *
 * What Gate sends, settled from its docs (Gate API v4 "Spot WebSocket v4", as scraped in
 * rosssaunders/coincise `docs/gateio/spot_websocket_api.md`, 2025-11; WS changelog to 2025-06-24):
 * - requests carry `time` (unix seconds, "Gap between request time and server time must not exceed
 *   60 seconds") and an optional integer `id` "sent back by the server to help you identify which
 *   request the server responds to": the acks name no pair (the 2021 capture's acks carry only
 *   `{"status":"success"}`), so each subscribe carries an id derived from its pair (`requestId`);
 * - a subscription succeeded iff `error` is null; error codes 1 invalid body, 2 invalid argument,
 *   3 server error, 4 authentication;
 * - `spot.order_book_update` payload `[pair, "100ms"]` (100 levels) or `"20ms"` (20 levels);
 *   an update may carry `full: true`, a complete book of `l` levels that replaces the local one
 *   (a `snapshot` event here, stamped with its `u`);
 * - no checksum in either book channel's documented fields: id continuity is the only check.
 * Keep-alive: the server pings at the WebSocket level; `spot.ping` is answered `spot.pong`.
 */
import { joinPair } from '../../symbols.ts'
import type { Pair } from '../../types.ts'
import { SimGate } from './sim.ts'
import { gateTransfers } from './transfers.ts'
import { getJson, isDecimalText, parseJson, ParseError, toLevels } from '../venue.ts'
import type { DeltaEvent, FrameParser, SnapshotEvent, Venue, VenueEvent } from '../venue.ts'

/**
 * Levels in the channel (`100ms` interval: 100 levels) and so in the REST snapshot (`limit`):
 * the docs say to use the subscribed depth. A larger `limit` is not needed (levels beyond 100 are
 * never updated by this channel) and its maximum is not documented (ccxt's comment says 100,
 * cryptofeed requests 100, as in the capture): 100 is the one value every source agrees on.
 */
export const GATE_BOOK_DEPTH = 100

/** The channel's update interval; `100ms` gives 100 levels (`20ms` only 20). */
export const GATE_INTERVAL = '100ms'

export const GATE_BOOK_CHANNEL = 'spot.order_book_update'

/**
 * The request id a pair's subscribe carries (FNV-1a of its native name, 31 bits): Gate echoes it
 * in the ack, which otherwise names no pair, so the parser maps acks back to pairs without state.
 */
export function requestId(native: string): number {
  let h = 2166136261
  for (let i = 0; i < native.length; i++) h = Math.imul(h ^ native.charCodeAt(i), 16777619)
  return (h >>> 0) % 0x7fffffff
}

/** A volume as Gate writes it (a plain decimal string), or undefined. */
const volumeOf = (v: unknown): number | undefined =>
  typeof v === 'string' && isDecimalText(v) ? +v : undefined

/** `GET /api/v4/spot/currency_pairs` rows (the fields used). */
interface GatePair {
  id?: unknown
  base?: unknown
  quote?: unknown
  trade_status?: unknown
}

/** `result` of a `spot.order_book_update` push. */
interface BookResult {
  t?: unknown
  full?: unknown
  s?: unknown
  U?: unknown
  u?: unknown
  b?: unknown
  a?: unknown
}

/** Every JSON shape the public socket sends us (pushes, acks, pongs, errors). */
interface GateFrame {
  channel?: unknown
  event?: unknown
  id?: unknown
  error?: { code?: unknown; message?: unknown } | null
  result?: unknown
}

const isId = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0

/**
 * The Gate venue module.
 *
 * @example
 * ```ts
 * const conn = new Connection({ venue: gate, wsUrl, restUrl, pairs: ['BTC/USDT'], log })
 * ```
 */
export const gate: Venue = {
  id: 'gate',
  name: 'Gate',
  // Used when EXCHANGES names it (or is `all`): with all twelve venues the universe missed its
  // CPU and memory targets (README, "Universe benchmark"), so the default is the first six.
  enabledByDefault: false,
  // VIP 0 spot 0.1 % maker / 0.1 % taker, 0.09 % paying in GT (gate.com/fee, the "VIP fee" and
  // "GT fee" columns; the 2026-03-25 announcement 50390 lists the GT column, 0.09 %).
  takerFeeBps: 10,
  endpoints: { wsUrl: 'wss://api.gateio.ws/ws/v4/', restUrl: 'https://api.gateio.ws' },
  // One subscribe per market, each answered by an ack carrying the request id.
  acksSubscriptions: true,
  sync: { snapshot: 'rest', sequence: 'chain', maxDepth: GATE_BOOK_DEPTH, detectsGaps: true },
  // Limits from Gate's docs "Frequency limit rule" (coincise docs/gateio/rate_limits.md, 2025-11)
  // and the maintainers' answer in gateio/gatews issue #25 (2022).
  limits: {
    // Gate pings at the protocol level; `spot.ping` every 10 s (as Gate's own demo and
    // gocryptotrader do) keeps a quiet socket visibly alive for the watchdog.
    idleTimeoutMs: 30_000,
    pingIntervalMs: 10_000,
    // "WebSocket: ... Others: No limit" and "No limit for message sent" (gatews #25): a budget of
    // our own, so a shard's 50 subscribes take under 3 s.
    sendPerSecond: 20,
    // "No limit on subscriptions", but "the server will actively close the connection if the
    // client cannot consume the update in time" (gatews #25): 50 100-level books per socket.
    marketsPerConnection: 50,
    // "Number of connections per IP: <= 300" (open at once) and "100 connections at most from one
    // host are recommended" (gatews #25); no connection rate is published, so 20 a minute, far
    // under both however long the process runs.
    connects: { count: 20, windowMs: 60_000 },
    // "All public endpoints: 200r/10s per endpoint, per IP" (order book, tickers, pairs); counted
    // here in one budget, which keeps every endpoint under its own. Over it Gate answers 429.
    rest: { weight: 200, windowMs: 10_000, snapshotCost: 1 },
  },
  ping: () => JSON.stringify({ time: Math.floor(Date.now() / 1000), channel: 'spot.ping' }),
  simulate: (markets) => new SimGate(markets),
  transfers: gateTransfers,

  async listMarkets(restUrl, opts) {
    const body = await getJson('gate', `${restUrl}/api/v4/spot/currency_pairs`, opts)
    if (!Array.isArray(body)) throw new ParseError('bad-message', 'currency_pairs is not an array')
    // trade_status is untradable|buyable|sellable|tradable: only `tradable` takes both sides.
    const out = new Map<Pair, string>()
    for (const p of body as (GatePair | null)[]) {
      if (
        p?.trade_status === 'tradable' &&
        typeof p.id === 'string' &&
        typeof p.base === 'string' &&
        typeof p.quote === 'string'
      )
        out.set(joinPair(p.base, p.quote), p.id)
    }
    return out
  },

  // `quote_volume` is the "Trading volume in the last 24h, in terms of quote currency"
  // (`GET /api/v4/spot/tickers`, all pairs in one request). Pairs come from currency_pairs.
  async fetchVolumes(restUrl, opts) {
    const [markets, body] = await Promise.all([
      this.listMarkets(restUrl, opts),
      getJson('gate', `${restUrl}/api/v4/spot/tickers`, opts),
    ])
    if (!Array.isArray(body)) throw new ParseError('bad-message', 'spot/tickers is not an array')
    const pairOf = new Map([...markets].map(([pair, native]) => [native, pair]))
    const out = new Map<Pair, number>()
    for (const t of body as ({ currency_pair?: unknown; quote_volume?: unknown } | null)[]) {
      const pair = typeof t?.currency_pair === 'string' ? pairOf.get(t.currency_pair) : undefined
      const volume = volumeOf(t?.quote_volume)
      if (pair !== undefined && volume !== undefined) out.set(pair, volume)
    }
    return out
  },

  wsUrl: (base) => base,

  // The channel's payload is one pair and its interval: one request per market.
  subscribe: (natives) => {
    const time = Math.floor(Date.now() / 1000)
    return natives.map((n) =>
      JSON.stringify({
        time,
        id: requestId(n),
        channel: GATE_BOOK_CHANNEL,
        event: 'subscribe',
        payload: [n, GATE_INTERVAL],
      }),
    )
  },

  async fetchSnapshot(restUrl, native, pair, opts): Promise<SnapshotEvent> {
    const url =
      `${restUrl}/api/v4/spot/order_book?currency_pair=${native}` +
      `&limit=${GATE_BOOK_DEPTH}&with_id=true`
    const body = (await getJson('gate', url, opts)) as {
      id?: unknown
      current?: unknown
      bids?: unknown
      asks?: unknown
    }
    if (body === null || typeof body !== 'object' || !isId(body.id)) {
      throw new ParseError('bad-message', `order_book for ${native} has no id`, pair)
    }
    return {
      type: 'snapshot',
      pair,
      seq: body.id,
      bids: toLevels(body.bids, pair),
      asks: toLevels(body.asks, pair),
      exchangeTsMs: typeof body.current === 'number' ? body.current : undefined,
    }
  },

  createParser: (markets) => createJsonParser(markets),
}

/** Turns one `spot.order_book_update` result into a snapshot (`full`) or delta event. */
function toBookEvent(r: BookResult, markets: ReadonlyMap<string, Pair>): VenueEvent {
  if (r === null || typeof r !== 'object') {
    throw new ParseError('bad-message', 'order_book_update result is not an object')
  }
  const pair = markets.get(r.s as string)
  if (pair === undefined) return { type: 'unknown', what: `order_book_update for ${String(r.s)}` }
  if (!isId(r.U) || !isId(r.u) || r.u < r.U) {
    throw new ParseError('bad-message', `order_book_update with bad U/u for ${pair}`, pair)
  }
  const exchangeTsMs = typeof r.t === 'number' && r.t > 0 ? r.t : undefined
  const bids = toLevels(r.b ?? [], pair)
  const asks = toLevels(r.a ?? [], pair)
  if (r.full === true) return { type: 'snapshot', pair, seq: r.u, bids, asks, exchangeTsMs }
  const delta: DeltaEvent = { type: 'delta', pair, prevSeq: r.U - 1, seq: r.u, bids, asks }
  return exchangeTsMs === undefined ? delta : { ...delta, exchangeTsMs }
}

/**
 * The `JSON.parse` parser: book pushes, subscribe acks (by request id), pongs and errors.
 *
 * @example
 * ```ts
 * const parse = createJsonParser(new Map([['BTC_USDT', 'BTC/USDT']]))
 * parse(frame, Date.now())
 * ```
 */
export function createJsonParser(markets: ReadonlyMap<string, Pair>): FrameParser {
  const byId = new Map<number, Pair>()
  for (const [native, pair] of markets) byId.set(requestId(native), pair)
  return (raw): VenueEvent[] => {
    const msg = parseJson(raw) as GateFrame
    if (msg === null || typeof msg !== 'object' || Array.isArray(msg)) {
      throw new ParseError('bad-message', 'frame is not an object')
    }
    const pair = isId(msg.id) ? byId.get(msg.id) : undefined
    if (msg.error !== undefined && msg.error !== null) {
      const why = `${String(msg.error.code)} ${String(msg.error.message ?? '')}`
      const message = `${String(msg.channel)} ${String(msg.event)}: ${why}`
      return [
        pair === undefined
          ? { type: 'venue-error', message }
          : { type: 'venue-error', message, pair },
      ]
    }
    switch (msg.event) {
      case 'update':
        if (msg.channel === GATE_BOOK_CHANNEL)
          return [toBookEvent(msg.result as BookResult, markets)]
        return [{ type: 'unknown', what: `${String(msg.channel)} update` }]
      case 'subscribe':
        if (msg.channel !== GATE_BOOK_CHANNEL) return [{ type: 'info' }]
        return pair === undefined ? [{ type: 'info' }] : [{ type: 'subscribed', pairs: [pair] }]
      case 'unsubscribe':
        return [{ type: 'info' }]
      default:
        if (msg.channel === 'spot.pong') return [{ type: 'info' }]
        return [
          { type: 'unknown', what: String(msg.channel ?? msg.event ?? 'frame without channel') },
        ]
    }
  }
}
