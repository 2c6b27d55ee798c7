/**
 * @module
 * Bybit v5 spot: `orderbook.50.<SYMBOL>` topics on `/v5/public/spot`, at most 10 per subscribe
 * frame. Every `snapshot` replaces the book (u = 1 after a service restart); `delta`s carry
 * absolute levels (size "0" deletes) and an update id `u` one above the previous message's, so a
 * lost delta is a sequence gap (book/sync.ts resubscribes that book for a fresh snapshot).
 */
import { joinPair, SymbolError } from '../../symbols.ts'
import { SimBybit } from './sim.ts'
import type { Pair } from '../../types.ts'
import { ExchangeError, getJson, parseJson, ParseError, toLevels } from '../venue.ts'
import type { Venue, VenueEvent } from '../venue.ts'

/** The subscribed depth: 50 levels a side, pushed every 20 ms. */
export const BYBIT_DEPTH = 50
/** Spot accepts at most this many topics per subscribe request. */
export const BYBIT_MAX_ARGS = 10
/** Safety stop for `nextPageCursor` paging of the instrument list. */
const MAX_PAGES = 50

const TOPIC_PREFIX = `orderbook.${BYBIT_DEPTH}.`
const TOPIC_RE = new RegExp(`orderbook\\.${BYBIT_DEPTH}\\.([A-Z0-9]+)`)

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

/**
 * One `op` frame for these topics. `req_id` comes back in the answer: it names the topic when there
 * is only one, so a rejection can be tied to its book.
 */
function opFrame(op: 'subscribe' | 'unsubscribe', topics: readonly string[], batch = 0): string {
  const reqId = topics.length === 1 ? topics[0] : `${op}-${batch}`
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
  sync: { snapshot: 'ws', sequence: 'chain', maxDepth: BYBIT_DEPTH, detectsGaps: true },
  limits: {
    // Pongs arrive every 20 s even on a quiet book; two missed ones and a bit is a dead socket.
    idleTimeoutMs: 45_000,
    pingIntervalMs: 20_000,
    // Bybit publishes no inbound frame limit for public streams; stay modest.
    sendPerSecond: 10,
  },
  ping: () => JSON.stringify({ req_id: `ping-${Date.now()}`, op: 'ping' }),
  simulate: (markets) => new SimBybit(markets),

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

  wsUrl: (base) => base,

  subscribe(natives) {
    const frames: string[] = []
    for (let i = 0; i < natives.length; i += BYBIT_MAX_ARGS) {
      const topics = natives.slice(i, i + BYBIT_MAX_ARGS).map(topicOf)
      frames.push(opFrame('subscribe', topics, i / BYBIT_MAX_ARGS))
    }
    return frames
  },

  // A fresh subscription starts with a snapshot.
  resubscribe(native) {
    const topics = [topicOf(native)]
    return [opFrame('unsubscribe', topics), opFrame('subscribe', topics)]
  },

  createParser(markets) {
    return (raw): VenueEvent[] => {
      const msg = parseJson(raw) as BookFrame | OpFrame | null
      if (msg === null || typeof msg !== 'object' || Array.isArray(msg)) {
        throw new ParseError('bad-message', 'frame is not an object')
      }
      if (typeof (msg as BookFrame).topic === 'string') return parseTopic(msg as BookFrame, markets)
      return parseOp(msg as OpFrame, markets)
    }
  },
}

function parseTopic(msg: BookFrame, markets: ReadonlyMap<string, Pair>): VenueEvent[] {
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
  switch (msg.type) {
    case 'delta':
      return [{ type: 'delta', pair, bids, asks, prevSeq: u - 1, seq: u, exchangeTsMs }]
    case 'snapshot':
      // Every snapshot replaces the book, u = 1 (service restart) included.
      return [{ type: 'snapshot', pair, bids, asks, seq: u, exchangeTsMs }]
    default:
      // A book push we cannot place may hide changes: resync that book.
      throw new ParseError('bad-message', `${topic} with type ${String(msg.type)}`, pair)
  }
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
