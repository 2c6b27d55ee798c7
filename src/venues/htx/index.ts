/**
 * @module
 * HTX (Huobi) spot: the public `market.<symbol>.mbp.150` channel (150 levels, the difference of
 * two book snapshots every 100 ms) on `wss://api.huobi.pro/feed`, seeded by a `req` of the same
 * topic on the same socket and kept by the documented seqNum/prevSeqNum chain (book/sync.ts,
 * `snapshot: 'request'`, prevSeq = prevSeqNum, seq = seqNum). The parser only parses.
 *
 * Sources: HTX spot API docs (huobiapi.github.io/docs/spot/v1/en, as scraped in
 * rosssaunders/coincise `docs/htx/spot/public_websocket_api.md` and `public_rest_api.md`,
 * a00ae58b, 2025-11-30; "HTX-DOCS" below), HTX announcement 900001078223 (REQ and SUB on one
 * connection, 2020-06), ccxt `js/src/htx.js` / `js/src/pro/htx.js` (node_modules), cryptofeed
 * `huobi.py` and its sample data (../shared/captures/htx, test/fixtures/htx).
 *
 * Why mbp.150 and REQ: HTX-DOCS, `market.$symbol.mbp.$levels`: "REQ channel supports refreshing
 * message for 5-level, 20-level, and 150-level" (400 is subscribable but has no documented REQ;
 * tardis-node requests mbp.400 anyway, undocumented), and "20-level incremental channel only
 * supports" ~30 listed symbols while "150-level/400-level incremental channel supports all
 * symbols". 150 is the deepest level with a documented refresh. Procedure (HTX-DOCS): subscribe and
 * cache; `req` the same topic; the cached message whose `prevSeqNum` equals the refresh's `seqNum`
 * comes next; then every `prevSeqNum` equals the previous `seqNum`, else re-`req` and realign;
 * size 0 deletes. That is the `chain` rule; a gap shows as a prevSeqNum mismatch (detectsGaps).
 * 150-level messages carry both sides (an empty array for an unchanged side) and come every
 * 100 ms even when nothing changed, each with a new seqNum (HTX-DOCS) — so every book gets an
 * update within 100 ms of its subscription, and that first buffered update triggers the `req`.
 * A `rep` may list levels of size 0 (ccxt pro htx.js `handleOrderBookSnapshot` example); they are
 * dropped, not inserted.
 *
 * Wire facts (HTX-DOCS): every market frame is GZIP-compressed binary (`binary` gunzips with
 * `Bun.gunzipSync`; a frame that does not gunzip is a ParseError 'malformed-json', an unreadable
 * frame like truncated text); the server sends `{"ping":n}` every 5 s and disconnects after two
 * unanswered ones; the answer is `{"pong":n}` with the same integer (sent back as its exact text).
 * `sub` takes one topic or an array of topics ("Rule description": several topics "Allowed", and
 * every current example subscribes an array), each acknowledged by its own
 * `{"id","status":"ok","subbed":topic}`; cryptofeed and tardis-node send one topic per frame,
 * which the docs allow too. Errors are `{"status":"error","err-code":"bad-request","err-msg":…}`:
 * "invalid topic", "invalid symbol", "429 too many request", "not json string", … (HTX-DOCS
 * error table; the captured form `invalid mbp.150.symbol linkusdt` is from ccxt pro htx.js).
 * Prices and sizes are JSON numbers, exponent forms included (`9.121E-7`): see numbers.ts.
 *
 * The older full-snapshot topic `market.<symbol>.depth.step0` (on `/ws`; every push replaces the
 * book, `tick.version`) is parsed too, as socket snapshots, so the real 2021 capture replays
 * through this parser; arbwatch never subscribes it.
 */
import { joinPair } from '../../symbols.ts'
import type { Level, Pair } from '../../types.ts'
import {
  ExchangeError,
  getJson,
  parseJson,
  ParseError,
  toLevel,
  type DeltaEvent,
  type FrameParser,
  type SnapshotEvent,
  type Venue,
  type VenueEvent,
} from '../venue.ts'
import { expandExponent, quoteNumberTokens } from './numbers.ts'
import { SimHtx } from './sim.ts'
import { htxTransfers } from './transfers.ts'

/** Levels of the subscribed channel and of its `req` (the deepest with a documented REQ). */
export const HTX_BOOK_DEPTH = 150

/** The book topic of a native symbol (`market.btcusdt.mbp.150`). */
export const htxTopic = (native: string): string => `market.${native}.mbp.${HTX_BOOK_DEPTH}`

/**
 * The id every subscribe carries. HTX echoes it in each topic's ack (the topic names the pair);
 * it is a word the contract suite's lost-subscribe fault recognises subscribe frames by.
 */
export const HTX_SUB_ID = 'subscribe'

/** The id a `req` carries: `req.<native>`, so an error answering it is known for a request. */
export const htxReqId = (native: string): string => `req.${native}`

/**
 * HTX codes that name another token than the other venues' same code, from ccxt htx.js
 * `commonCurrencies` (which renames them; here their markets are simply never compared).
 */
export const HTX_DISTINCT_ASSETS: Readonly<Record<string, string>> = Object.freeze({
  GET: 'HTX GET is Themis (ccxt commonCurrencies), not GET Protocol',
  GTC: 'HTX GTC is Game.com (ccxt commonCurrencies), not Gitcoin',
  HIT: 'HTX HIT is HitChain (ccxt commonCurrencies)',
  PNT: 'HTX PNT is Penta (ccxt commonCurrencies, issue 7399), not pNetwork',
  SBTC: 'HTX SBTC is Super Bitcoin (ccxt commonCurrencies)',
  SOUL: 'HTX SOUL is SoulSaver (ccxt commonCurrencies)',
  BIFI: 'HTX BIFI is Bitcoin File (ccxt commonCurrencies, issue 8706), not Beefy.Finance',
  NGL: 'HTX NGL is GFNGL (ccxt commonCurrencies)',
  FUD: 'HTX FUD is FTX Users Debt (ccxt commonCurrencies)',
})

/** `GET /v2/settings/common/symbols` rows (the fields used; HTX-DOCS "Get all Supported Trading Symbol(V2)"). */
interface HtxSymbol {
  /** symbol, `btcusdt` */
  sc?: unknown
  /** base and quote currency, lower case */
  bc?: unknown
  qc?: unknown
  /** unknown|not-online|pre-online|online|suspend|offline|transfer-board|fuse */
  state?: unknown
  /** trade enabled */
  te?: unknown
  // tpp (price precision, decimals: the tick is 10^-tpp) and tap (amount precision, the lot)
  // are listed too; arbwatch keeps the venue's own price text and needs neither.
}

/** Every JSON shape the market socket sends (number tokens quoted). */
interface HtxFrame {
  ping?: unknown
  id?: unknown
  status?: unknown
  subbed?: unknown
  unsubbed?: unknown
  rep?: unknown
  ch?: unknown
  ts?: unknown
  tick?: unknown
  data?: unknown
  'err-code'?: unknown
  'err-msg'?: unknown
}

interface Tick {
  seqNum?: unknown
  prevSeqNum?: unknown
  version?: unknown
  bids?: unknown
  asks?: unknown
}

/** `market.<symbol>.<kind>` split: the symbol and the rest (`mbp.150`, `depth.step0`). */
function splitTopic(topic: unknown): { native: string; kind: string } | undefined {
  if (typeof topic !== 'string' || !topic.startsWith('market.')) return undefined
  const dot = topic.indexOf('.', 7)
  if (dot === -1) return undefined
  return { native: topic.slice(7, dot), kind: topic.slice(dot + 1) }
}

/** A quoted integer token (seqNum, version, ts) as a number, or undefined. */
function intOf(v: unknown): number | undefined {
  if (typeof v !== 'string' || !/^\d{1,16}$/.test(v)) return undefined
  const n = Number(v)
  return Number.isSafeInteger(n) ? n : undefined
}

/** `[[price, size], …]` (quoted tokens) as levels; `dropEmpty` leaves out size-0 levels. */
function levelsOf(rows: unknown, pair: Pair, dropEmpty: boolean): Level[] {
  if (rows === undefined) return []
  if (!Array.isArray(rows)) throw new ParseError('bad-message', 'level list is not an array', pair)
  const out: Level[] = []
  for (const row of rows) {
    if (!Array.isArray(row)) throw new ParseError('bad-level', 'level is not an array', pair)
    const [px, qty] = row as unknown[]
    const level = toLevel(
      typeof px === 'string' ? expandExponent(px) : px,
      typeof qty === 'string' ? expandExponent(qty) : qty,
      pair,
    )
    if (!dropEmpty || level.qty !== 0) out.push(level)
  }
  return out
}

/**
 * The HTX venue module.
 *
 * @example
 * ```ts
 * const conn = new Connection({ venue: htx, wsUrl, restUrl, pairs: ['BTC/USDT'], log })
 * ```
 */
export const htx: Venue = {
  id: 'htx',
  name: 'HTX',
  // Used when EXCHANGES names it (or is `all`): with all twelve venues the universe missed its
  // CPU and memory targets (README, "Universe benchmark"), so the default is the first six.
  enabledByDefault: false,
  // Base tier ("普通用户" level 1, < 1000 BTC a month) spot 0.20 % maker and taker: HTX's tiered
  // fee announcement htx.com/zh-cn/support/360000312282 (2019, still the base rate quoted on
  // htx.com/fee mirrors); ccxt htx.js `fees.trading.taker` 0.002 agrees. HT deductions ignored.
  takerFeeBps: 20,
  endpoints: { wsUrl: 'wss://api.huobi.pro/feed', restUrl: 'https://api.huobi.pro' },
  acksSubscriptions: true,
  sync: { snapshot: 'request', sequence: 'chain', maxDepth: HTX_BOOK_DEPTH, detectsGaps: true },
  distinctAssets: HTX_DISTINCT_ASSETS,
  limits: {
    // The server pings every 5 s (HTX-DOCS) and subscribed 150-level books push every 100 ms:
    // nothing for 12 s (two pings and more) means the socket is dead.
    idleTimeoutMs: 12_000,
    // "Rate limit of pull style query (req): The limitation of single connection is 100 ms"
    // (HTX-DOCS): one `req` per 100 ms. Frames leave at least 125 ms apart (room for network
    // jitter), so 8 a second at most; reqs queued together are spaced, not burst.
    minSendIntervalMs: 125,
    sendPerSecond: 8,
    // HTX publishes no topic or connection cap ("It is suggested not to subscribe too many topics
    // in a single websocket connection", HTX-DOCS best practice; ccxt issue 6834 saw
    // "429 too many request topics" subscribing every market on one socket). 20 books of 150
    // levels a socket, our choice: its subscribe (one frame) and 20 reqs leave in under 3 s, far
    // inside the two pings (10 s) a pong may wait.
    marketsPerConnection: 20,
    // No connection rate is published (hummingbot throttles itself to 50 connections a second,
    // not official): 20 a minute, our choice, enough for a 100-market universe at once.
    connects: { count: 20, windowMs: 60_000 },
    // `/market/tickers` "Rate Limit: 4,500 5 minutes" (HTX-DOCS); reference data
    // (`/v2/settings/common/symbols`) publishes none, HTX's general figures are 800 req/s for
    // market data and 120 per 3 s for other public endpoints per IP (HTX announcement as
    // summarised by api-evangelist/htx rate-limits.yml, 2026-07). 100 per 10 s stays under all.
    // Snapshots come on the socket (`req`) and spend none of it.
    rest: { weight: 100, windowMs: 10_000, snapshotCost: 1 },
  },
  simulate: (markets) => new SimHtx(markets),
  transfers: htxTransfers,

  // `/v2/settings/common/symbols` (HTX-DOCS "Get all Supported Trading Symbol(V2)"): `state`
  // and `te` (trade enabled) in one list; the legacy `/v1/common/symbols` (cryptofeed,
  // hummingbot) has `state` and `api-trading` instead.
  async listMarkets(restUrl, opts) {
    const body = (await getJson('htx', `${restUrl}/v2/settings/common/symbols`, opts)) as {
      status?: unknown
      data?: unknown
      'err-msg'?: unknown
      err_msg?: unknown
    } | null
    if (body?.status !== 'ok' || !Array.isArray(body.data)) {
      const why = body?.['err-msg'] ?? body?.err_msg ?? 'no data'
      throw new ExchangeError('htx', `symbols answered ${String(body?.status)}: ${String(why)}`)
    }
    return marketsOf(body.data as (HtxSymbol | null)[])
  },

  // `/market/tickers` (HTX-DOCS "Get Latest Tickers for All Pairs"): `vol` is "the aggregated
  // trading value in last 24 hours" (the quote volume; `amount` is the base volume), all
  // symbols in one request.
  async fetchVolumes(restUrl, opts) {
    const [markets, body] = await Promise.all([
      this.listMarkets(restUrl, opts),
      getJson('htx', `${restUrl}/market/tickers`, opts) as Promise<{
        status?: unknown
        data?: unknown
      } | null>,
    ])
    if (body?.status !== 'ok' || !Array.isArray(body.data)) {
      throw new ExchangeError('htx', `tickers answered ${String(body?.status)}`)
    }
    const pairOf = new Map([...markets].map(([pair, native]) => [native, pair]))
    const out = new Map<Pair, number>()
    for (const t of body.data as ({ symbol?: unknown; vol?: unknown } | null)[]) {
      const pair = typeof t?.symbol === 'string' ? pairOf.get(t.symbol) : undefined
      const vol = t?.vol
      if (pair !== undefined && typeof vol === 'number' && Number.isFinite(vol) && vol >= 0)
        out.set(pair, vol)
    }
    return out
  },

  wsUrl: (base) => base,

  subscribe: (natives) =>
    natives.length === 0 ? [] : [JSON.stringify({ sub: natives.map(htxTopic), id: HTX_SUB_ID })],

  requestSnapshot: (native) => [JSON.stringify({ req: htxTopic(native), id: htxReqId(native) })],

  createParser: (markets) => createHtxParser(markets),
}

/**
 * The tradable markets of a `/v2/settings/common/symbols` list: `state` "online" and `te` (trade
 * enabled) true, unified pair → native `sc`.
 */
export function marketsOf(rows: readonly (HtxSymbol | null)[]): Map<Pair, string> {
  const out = new Map<Pair, string>()
  for (const s of rows) {
    if (
      s?.state === 'online' &&
      s.te === true &&
      typeof s.sc === 'string' &&
      typeof s.bc === 'string' &&
      typeof s.qc === 'string'
    ) {
      try {
        out.set(joinPair(s.bc, s.qc), s.sc)
      } catch {
        // a row whose base and quote are the same asset: not a market
      }
    }
  }
  return out
}

/**
 * The parser for one connection: text frames (what `JSON.parse` takes) and, on `binary`, the gzip
 * frames HTX actually sends.
 *
 * @example
 * ```ts
 * const parse = createHtxParser(new Map([['btcusdt', 'BTC/USDT']]))
 * parse.binary!(Bun.gzipSync('{"ping":1}'), Date.now()) // [{ type: 'reply', frame: '{"pong":1}' }]
 * ```
 */
export function createHtxParser(markets: ReadonlyMap<string, Pair>): FrameParser {
  const decoder = new TextDecoder()
  const parse = ((raw: string): VenueEvent[] => parseFrame(raw, markets)) as FrameParser
  parse.binary = (bytes) => {
    let text: string
    try {
      text = decoder.decode(Bun.gunzipSync(bytes as Uint8Array<ArrayBuffer>))
    } catch {
      throw new ParseError(
        'malformed-json',
        `binary frame of ${bytes.length} bytes does not gunzip`,
      )
    }
    return parseFrame(text, markets)
  }
  return parse
}

function parseFrame(raw: string, markets: ReadonlyMap<string, Pair>): VenueEvent[] {
  const msg = parseJson(quoteNumberTokens(raw)) as HtxFrame
  if (msg === null || typeof msg !== 'object' || Array.isArray(msg)) {
    throw new ParseError('bad-message', 'frame is not an object')
  }
  if (msg.ping !== undefined) {
    if (intOf(msg.ping) === undefined) throw new ParseError('bad-message', 'ping without a number')
    return [{ type: 'reply', frame: `{"pong":${msg.ping as string}}` }]
  }
  if (msg.ch !== undefined) return [pushEvent(msg, markets)]
  if (msg.status === 'error') return [errorEvent(msg, markets)]
  if (msg.rep !== undefined) return [repEvent(msg, markets)]
  if (msg.subbed !== undefined) {
    const topics = Array.isArray(msg.subbed) ? (msg.subbed as unknown[]) : [msg.subbed]
    const pairs: Pair[] = []
    for (const t of topics) {
      const topic = splitTopic(t)
      const pair = topic?.kind === `mbp.${HTX_BOOK_DEPTH}` ? markets.get(topic.native) : undefined
      if (pair !== undefined) pairs.push(pair)
    }
    return [pairs.length === 0 ? { type: 'info' } : { type: 'subscribed', pairs }]
  }
  if (msg.unsubbed !== undefined) return [{ type: 'info' }]
  return [{ type: 'unknown', what: `frame with keys ${Object.keys(msg).join(',').slice(0, 60)}` }]
}

/** A `ch` push: an mbp diff (delta) or a depth.step0 full book (snapshot). */
function pushEvent(msg: HtxFrame, markets: ReadonlyMap<string, Pair>): VenueEvent {
  const topic = splitTopic(msg.ch)
  const pair = topic === undefined ? undefined : markets.get(topic.native)
  if (topic === undefined || pair === undefined) {
    return { type: 'unknown', what: `push on ${String(msg.ch).slice(0, 60)}` }
  }
  const tick = msg.tick as Tick | undefined
  const exchangeTsMs = intOf(msg.ts)
  if (topic.kind === `mbp.${HTX_BOOK_DEPTH}`) {
    if (tick === null || typeof tick !== 'object') {
      throw new ParseError('bad-message', `mbp push without tick for ${pair}`, pair)
    }
    const seq = intOf(tick.seqNum)
    const prevSeq = intOf(tick.prevSeqNum)
    if (seq === undefined || prevSeq === undefined || prevSeq >= seq) {
      throw new ParseError('bad-message', `mbp push with bad seqNum/prevSeqNum for ${pair}`, pair)
    }
    const delta: DeltaEvent = {
      type: 'delta',
      pair,
      prevSeq,
      seq,
      bids: levelsOf(tick.bids, pair, false),
      asks: levelsOf(tick.asks, pair, false),
    }
    return exchangeTsMs === undefined ? delta : { ...delta, exchangeTsMs }
  }
  if (topic.kind === 'depth.step0') {
    if (tick === null || typeof tick !== 'object') {
      throw new ParseError('bad-message', `depth push without tick for ${pair}`, pair)
    }
    const snap: SnapshotEvent = {
      type: 'snapshot',
      pair,
      seq: intOf(tick.version),
      bids: levelsOf(tick.bids, pair, true),
      asks: levelsOf(tick.asks, pair, true),
    }
    return exchangeTsMs === undefined ? snap : { ...snap, exchangeTsMs }
  }
  return { type: 'unknown', what: `push on ${String(msg.ch).slice(0, 60)}` }
}

/** The answer to a `req`: the refresh snapshot, aligned by sync with the buffered pushes. */
function repEvent(msg: HtxFrame, markets: ReadonlyMap<string, Pair>): VenueEvent {
  const topic = splitTopic(msg.rep)
  const pair = topic === undefined ? undefined : markets.get(topic.native)
  if (topic?.kind !== `mbp.${HTX_BOOK_DEPTH}` || pair === undefined) {
    return { type: 'unknown', what: `rep of ${String(msg.rep).slice(0, 60)}` }
  }
  const data = msg.data as Tick | undefined
  const seq = data === null || typeof data !== 'object' ? undefined : intOf(data.seqNum)
  if (seq === undefined || msg.status !== 'ok') {
    throw new ParseError('bad-message', `rep for ${pair} without data.seqNum`, pair)
  }
  const snap: SnapshotEvent = {
    type: 'snapshot',
    pair,
    seq,
    requested: true,
    bids: levelsOf(data!.bids, pair, true),
    asks: levelsOf(data!.asks, pair, true),
  }
  const exchangeTsMs = intOf(msg.ts)
  return exchangeTsMs === undefined ? snap : { ...snap, exchangeTsMs }
}

/**
 * `{"status":"error","err-code":…,"err-msg":…,"id":…}`. An error naming a market in its message
 * (`invalid mbp.150.symbol linkusdt`) is that market's refused subscription; an error answering a
 * `req` (its id `req.<native>`) names no pair: the book's request stays pending and book/sync.ts
 * asks again at its snapshot timeout (a `429 too many request` must not be retried at once).
 */
function errorEvent(msg: HtxFrame, markets: ReadonlyMap<string, Pair>): VenueEvent {
  const code = String(msg['err-code'] ?? '')
  const text = String(msg['err-msg'] ?? '')
  const id = typeof msg.id === 'string' ? msg.id : String(msg.id ?? '')
  const message = `${code} ${text}${id === '' ? '' : ` (id ${id})`}`.trim()
  if (id.startsWith('req.')) return { type: 'venue-error', message }
  for (const word of text.split(/[\s.,:;'"]+/)) {
    const pair = markets.get(word)
    if (pair !== undefined) return { type: 'venue-error', message, pair }
  }
  return { type: 'venue-error', message }
}
