/**
 * @module
 * Bybit v5 spot: `orderbook.50.<SYMBOL>` topics on `/v5/public/spot`, at most 10 per subscribe
 * frame. Every `snapshot` replaces the book (u = 1 after a service restart); `delta`s carry
 * absolute levels (size "0" deletes) and an update id `u` one above the previous message's, so a
 * lost delta is a sequence gap (book/sync.ts resubscribes that book for a fresh snapshot).
 *
 * Bybit sends no checksum, so each book is also cross-checked against `orderbook.1.<SYMBOL>`, the
 * venue's own best bid and ask pushed every 10 ms (issue 10). `u` counts messages per topic, so it
 * cannot align the two; `seq` can: bybit-exchange/docs docs/v5/websocket/public/orderbook.mdx
 * calls it the "Cross sequence", and the published page adds "You can use this field to compare
 * different levels orderbook data, and for the smaller seq, then it means the data is generated
 * earlier". Depth-50 pushes therefore carry `crossSeq` = `seq` and level-1 pushes become `top`
 * events at their `seq`; book/sync.ts compares a top only when the book's last depth-50 message
 * has exactly that `seq` (two depths' data at one `seq` describe one engine state; that equal
 * `seq`s mean equal states is our reading of "compare", not a sentence of the docs). A top whose
 * `seq` the depth-50 stream never reports (it pushes less often) is skipped and counted, never
 * compared, so the rule can miss a fault for a while but cannot resync a good book.
 */
import { joinPair, SymbolError } from '../../symbols.ts'
import { SimBybit } from './sim.ts'
import { bybitTransfers } from './transfers.ts'
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
import type { FrameParser, Venue, VenueEvent } from '../venue.ts'
import { createFastParser, crossSeqOf, topEvent } from './fast.ts'
import type { ParserState, TopState, Topics } from './fast.ts'

/** The subscribed depth: 50 levels a side, pushed every 20 ms. */
export const BYBIT_DEPTH = 50
/** Spot accepts at most this many topics per subscribe request. */
export const BYBIT_MAX_ARGS = 10
/** Safety stop for `nextPageCursor` paging of the instrument list. */
const MAX_PAGES = 50

const TOPIC_PREFIX = `orderbook.${BYBIT_DEPTH}.`
/** The level-1 book: the independent channel the books are cross-checked against. */
const TOP_PREFIX = 'orderbook.1.'
const TOPIC_RE = new RegExp(`orderbook\\.(?:${BYBIT_DEPTH}|1)\\.([A-Z0-9]+)`)

/** `{topic, type, ts, data: {s, b, a, u, seq}, cts}`: a book push. */
interface BookFrame {
  topic: string
  type?: unknown
  ts?: unknown
  data?: { s?: unknown; b?: unknown; a?: unknown; u?: unknown; seq?: unknown }
}

/** `{success, ret_msg, conn_id, req_id, op}`: subscribe/unsubscribe acks and pongs. */
interface OpFrame {
  op?: unknown
  success?: unknown
  ret_msg?: unknown
  req_id?: unknown
}

interface InstrumentsBody {
  retCode?: unknown
  retMsg?: unknown
  result?: {
    list?: ({
      symbol?: unknown
      baseCoin?: unknown
      quoteCoin?: unknown
      status?: unknown
    } | null)[]
    nextPageCursor?: unknown
  }
}

const topicOf = (native: string): string => TOPIC_PREFIX + native
/** A market's topics: its book, then its level-1 top (the order a refusal names them in). */
const topicsOf = (native: string): string[] => [topicOf(native), TOP_PREFIX + native]

/**
 * One `op` frame for these topics. `req_id` comes back in the answer: it names the book's topic
 * when all are one market's, so a rejection can be tied to its book.
 */
function opFrame(op: 'subscribe' | 'unsubscribe', topics: readonly string[], batch = 0): string {
  const native = (t: string) => t.slice(t.lastIndexOf('.') + 1)
  const one = topics.every((t) => native(t) === native(topics[0]!))
  const reqId = one ? topics[0] : `${op}-${batch}`
  return JSON.stringify({ req_id: reqId, op, args: topics })
}

export const bybit: Venue = {
  id: 'bybit',
  name: 'Bybit',
  takerFeeBps: 10, // 0.10 % VIP 0 spot
  endpoints: { wsUrl: 'wss://stream.bybit.com/v5/public/spot', restUrl: 'https://api.bybit.com' },
  // `u` rises by exactly one per message of a topic (seen on real spot and linear sessions; the
  // docs say so for the REST book and the `orderbook.full` channel: bybit-exchange/docs
  // docs/v5/market/orderbook.mdx "Update ID, is always in sequence", docs/v5/websocket/public/
  // full-ob.mdx), so deltas chain prevSeq = u - 1 → seq = u and a lost one is a gap. A snapshot
  // replaces the book, u = 1 (a service restart, orderbook.mdx) included.
  // Acked per request; the snapshot proves the book's data flows.
  acksSubscriptions: true,
  sync: {
    snapshot: 'ws',
    sequence: 'chain',
    maxDepth: BYBIT_DEPTH,
    detectsGaps: true,
    topChannel: 'orderbook.1',
  },
  // Limits from bybit-exchange/docs (commit 072c197d, 2026-07): docs/v5/websocket/
  // wss-authentication.mdx "IP Limits" and "Public channel - Args limits", docs/v5/rate-limit/
  // rate-limit.mdx "IP Limit".
  limits: {
    // Pongs arrive every 20 s even on a quiet book; two missed ones and a bit is a dead socket.
    idleTimeoutMs: 45_000,
    pingIntervalMs: 20_000,
    // Bybit publishes no inbound frame limit for public streams; stay modest.
    sendPerSecond: 10,
    // At most 21,000 characters of args per public connection; a market holds two topics
    // (orderbook.50.X, orderbook.1.X), ~71 characters of JSON even with a 20-character symbol:
    // 100 markets are about a third of the limit.
    marketsPerConnection: 100,
    // 500 connections per 5 minutes per IP ("do not frequently connect and disconnect"); 80 %.
    connects: { count: 400, windowMs: 300_000 },
    // 600 requests per 5 s per IP; past it HTTP 403 "access too frequent" and a 10-minute wait.
    // Requests are counted, not weighed; no header reports the IP's count (X-Bapi-Limit-* are
    // per-UID API limits). Books come on the socket, so only lists and tickers use it.
    // Over the IP limit Bybit answers 403 "access too frequent" and bans the IP for 10 minutes
    // (docs/v5/rate-limit/rate-limit.mdx): every request pauses that long.
    rest: { weight: 600, windowMs: 5000, snapshotCost: 1, pauseOn: { 403: 600_000 } },
  },
  // Bybit's NEIRO is not the NEIRO of Binance and OKX (First Neiro On Ethereum): the same pair
  // priced about 100 times apart in 2025 (ccxt/ccxt issue #25500, no renaming by ccxt).
  distinctAssets: {
    NEIRO: 'Bybit NEIRO is another token than First Neiro On Ethereum, NEIRO on Binance and OKX',
  },
  ping: () => JSON.stringify({ req_id: `ping-${Date.now()}`, op: 'ping' }),
  simulate: (markets) => new SimBybit(markets),
  transfers: bybitTransfers,

  async listMarkets(restUrl, opts) {
    const out = new Map<Pair, string>()
    let cursor = ''
    for (let page = 0; page < MAX_PAGES; page++) {
      const query = cursor === '' ? '' : `&cursor=${encodeURIComponent(cursor)}`
      const url = `${restUrl}/v5/market/instruments-info?category=spot${query}`
      const body = (await getJson('bybit', url, opts)) as InstrumentsBody | null
      if (body === null || typeof body !== 'object') {
        throw new ParseError('bad-message', 'instruments-info is not an object')
      }
      if (body.retCode !== 0) {
        const why = `retCode ${String(body.retCode)}: ${String(body.retMsg)}`
        throw new ExchangeError('bybit', `instruments-info answered ${why}`)
      }
      const list = body.result?.list
      if (!Array.isArray(list)) {
        throw new ParseError('bad-message', 'instruments-info has no result.list')
      }
      for (const s of list) {
        if (s?.status !== 'Trading' || typeof s.symbol !== 'string') continue
        if (typeof s.baseCoin !== 'string' || typeof s.quoteCoin !== 'string') continue
        try {
          out.set(joinPair(s.baseCoin, s.quoteCoin), s.symbol)
        } catch (err) {
          // One odd entry (base = quote) must not hide the rest of the list.
          if (!(err instanceof SymbolError)) throw err
        }
      }
      const next = body.result?.nextPageCursor
      if (typeof next !== 'string' || next === '' || next === cursor) break
      cursor = next
    }
    return out
  },

  // `turnover24h` is the spot ticker's 24 h turnover, in the quote coin (docs/v5/market/
  // tickers.mdx: its BTCUSDT example has volume24h 11,801.28 and turnover24h 243,765,620.66, at
  // ~20,650 a coin); every spot ticker in one request. Pairs come from instruments-info.
  async fetchVolumes(restUrl, opts) {
    const [markets, body] = await Promise.all([
      this.listMarkets(restUrl, opts),
      getJson('bybit', `${restUrl}/v5/market/tickers?category=spot`, opts),
    ])
    const b = body as {
      retCode?: unknown
      retMsg?: unknown
      result?: { list?: unknown }
    } | null
    if (b === null || typeof b !== 'object') {
      throw new ParseError('bad-message', 'tickers is not an object')
    }
    if (b.retCode !== 0) {
      const why = `retCode ${String(b.retCode)}: ${String(b.retMsg)}`
      throw new ExchangeError('bybit', `tickers answered ${why}`)
    }
    const list = b.result?.list
    if (!Array.isArray(list)) throw new ParseError('bad-message', 'tickers has no result.list')
    const pairOf = new Map([...markets].map(([pair, native]) => [native, pair]))
    const out = new Map<Pair, number>()
    for (const t of list as ({ symbol?: unknown; turnover24h?: unknown } | null)[]) {
      const pair = typeof t?.symbol === 'string' ? pairOf.get(t.symbol) : undefined
      const v = t?.turnover24h
      if (pair !== undefined && typeof v === 'string' && isDecimalText(v)) out.set(pair, +v)
    }
    return out
  },

  wsUrl: (base) => base,

  // Two topics per market (book and level-1 top), at most 10 per frame.
  subscribe(natives) {
    const topics = natives.flatMap(topicsOf)
    const frames: string[] = []
    for (let i = 0; i < topics.length; i += BYBIT_MAX_ARGS) {
      const batch = topics.slice(i, i + BYBIT_MAX_ARGS)
      frames.push(opFrame('subscribe', batch, i / BYBIT_MAX_ARGS))
    }
    return frames
  },

  // A fresh subscription starts with a snapshot, of the level-1 top too.
  resubscribe(native) {
    const topics = topicsOf(native)
    return [opFrame('unsubscribe', topics, 0), opFrame('subscribe', topics, 0)]
  },

  createParser(markets) {
    const state: ParserState = { tops: new Map(), crossed: new Set() }
    return scannedFirst(
      createFastParser(markets, state, BYBIT_TOPICS),
      createJsonParser(markets, state),
    )
  },
}

/** The topic prefixes the parsers read: the subscribed depth's, then the level-1 book's. */
export const BYBIT_TOPICS: Topics = { book: TOPIC_PREFIX, top: TOP_PREFIX }

/**
 * The `JSON.parse` path: every frame the scanner (fast.ts) leaves, and the reference it is tested
 * against (test/venues/bybit.test.ts, "fast path"). `state` is shared with the fast path.
 */
export function createJsonParser(
  markets: ReadonlyMap<string, Pair>,
  state: ParserState = { tops: new Map(), crossed: new Set() },
): FrameParser {
  const { tops, crossed } = state
  return (raw): VenueEvent[] => {
    const msg = parseJson(raw) as BookFrame | OpFrame | null
    if (msg === null || typeof msg !== 'object' || Array.isArray(msg)) {
      throw new ParseError('bad-message', 'frame is not an object')
    }
    const topic = (msg as BookFrame).topic
    if (typeof topic !== 'string') return parseOp(msg as OpFrame, markets)
    if (topic.startsWith(TOP_PREFIX)) return parseTop(msg as BookFrame, markets, tops, crossed)
    return parseTopic(msg as BookFrame, markets, crossed)
  }
}

function parseTopic(
  msg: BookFrame,
  markets: ReadonlyMap<string, Pair>,
  crossed: Set<Pair>,
): VenueEvent[] {
  const topic = msg.topic
  if (!topic.startsWith(TOPIC_PREFIX)) return [{ type: 'unknown', what: `topic ${topic}` }]
  const native = topic.slice(TOPIC_PREFIX.length)
  const pair = markets.get(native)
  if (pair === undefined) return [{ type: 'unknown', what: `${topic}: not subscribed` }]
  const data = msg.data
  if (data === null || typeof data !== 'object') {
    throw new ParseError('bad-message', `${topic} without data`, pair)
  }
  if (data.s !== native && data.s !== undefined) {
    throw new ParseError('bad-message', `${topic} carries data for ${String(data.s)}`, pair)
  }
  const u = data.u
  if (typeof u !== 'number' || !Number.isSafeInteger(u) || u < 1) {
    throw new ParseError('bad-message', `${topic} without a valid update id u`, pair)
  }
  const bids = toLevels(data.b, pair)
  const asks = toLevels(data.a, pair)
  const exchangeTsMs = typeof msg.ts === 'number' ? msg.ts : undefined
  const crossSeq = crossSeqOf(data.seq)
  let ev: VenueEvent
  switch (msg.type) {
    case 'delta':
      ev = { type: 'delta', pair, bids, asks, prevSeq: u - 1, seq: u, exchangeTsMs, crossSeq }
      break
    case 'snapshot':
      // Every snapshot replaces the book, u = 1 (service restart) included.
      ev = { type: 'snapshot', pair, bids, asks, seq: u, exchangeTsMs, crossSeq }
      break
    default:
      // A book push we cannot place may hide changes: resync that book.
      throw new ParseError('bad-message', `${topic} with type ${String(msg.type)}`, pair)
  }
  // Without a cross sequence the book's comparable sequence would be `u`, another topic's count.
  if (crossSeq === undefined) crossed.delete(pair)
  else crossed.add(pair)
  return [ev]
}

/**
 * A level-1 push into a `top` event at its `seq`. The level-1 book is kept per connection from its
 * snapshot and deltas (chained by its own `u`); a delta without its predecessor, or before any
 * snapshot, pauses that market's tops until the next level-1 snapshot (a resubscribe brings one).
 */
function parseTop(
  msg: BookFrame,
  markets: ReadonlyMap<string, Pair>,
  tops: Map<Pair, TopState>,
  crossed: Set<Pair>,
): VenueEvent[] {
  const topic = msg.topic
  const native = topic.slice(TOP_PREFIX.length)
  const pair = markets.get(native)
  if (pair === undefined) return [{ type: 'unknown', what: `${topic}: not subscribed` }]
  const data = msg.data
  if (data === null || typeof data !== 'object' || (data.s !== native && data.s !== undefined)) {
    tops.delete(pair)
    return [{ type: 'unknown', what: `${topic}: unusable data` }]
  }
  const u = data.u
  const bids = toLevels(data.b, pair)
  const asks = toLevels(data.a, pair)
  if (typeof u !== 'number' || !Number.isSafeInteger(u) || u < 1) {
    tops.delete(pair)
    return [{ type: 'unknown', what: `${topic} without a valid update id u` }]
  }
  const state = tops.get(pair)
  const snapshot = msg.type === 'snapshot'
  if (!snapshot && (msg.type !== 'delta' || state === undefined || u !== state.u + 1)) {
    tops.delete(pair)
    return [{ type: 'unknown', what: `${topic}: ${String(msg.type)} ${u} out of sequence` }]
  }
  return [topEvent({ tops, crossed }, pair, snapshot, u, bids, asks, data.seq)]
}

function parseOp(msg: OpFrame, markets: ReadonlyMap<string, Pair>): VenueEvent[] {
  if (msg.success === false) {
    const text = `${String(msg.op ?? 'request')} failed: ${String(msg.ret_msg ?? '')}`
    const pair = pairOfError(msg, markets)
    if (pair === undefined) return [{ type: 'venue-error', message: text }]
    return [{ type: 'venue-error', message: text, pair }]
  }
  switch (msg.op) {
    case 'subscribe':
    case 'unsubscribe':
    case 'ping':
    case 'pong':
      if (msg.success === true || msg.op === 'pong') return [{ type: 'info' }]
      break
  }
  return [{ type: 'unknown', what: `op ${String(msg.op ?? 'missing')}` }]
}

/** The book a rejected request was about: a topic named in ret_msg, else the one-topic req_id. */
function pairOfError(msg: OpFrame, markets: ReadonlyMap<string, Pair>): Pair | undefined {
  for (const text of [msg.ret_msg, msg.req_id]) {
    if (typeof text !== 'string') continue
    const m = TOPIC_RE.exec(text)
    const pair = m ? markets.get(m[1]!) : undefined
    if (pair !== undefined) return pair
  }
  return undefined
}
