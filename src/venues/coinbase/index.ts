/**
 * @module
 * Coinbase Advanced Trade: the public `level2` channel (frames arrive on channel `l2_data`) plus
 * `heartbeats` to keep quiet connections open. Each subscription starts with a `snapshot` event,
 * then `update` events with absolute quantities. Integrity comes from the envelope's
 * `sequence_num`, which counts every message on the connection (heartbeats too); the parser passes
 * it on as a `stream-seq` event, and a gap or a step back resyncs every book on the connection
 * (book/sync.ts; unsubscribe + subscribe brings a fresh snapshot).
 */
import { joinPair } from '../../symbols.ts'
import { SimCoinbase } from './sim.ts'
import type { Level, Pair } from '../../types.ts'
import { getJson, isDecimalText, parseJson, ParseError, toLevel, scannedFirst } from '../venue.ts'
import type { FetchOptions, FrameParser, Venue, VenueEvent } from '../venue.ts'
import { createFastParser } from './fast.ts'
import { coinbaseTransfers } from './transfers.ts'

/** Most pages of the product list fetched (a guard; the list normally comes in one page). */
const MAX_PRODUCT_PAGES = 20

/**
 * Most level2 products one connection may hold at once: Coinbase answers the 31st with
 * `{"type":"error","message":"too many L2 streams requested in a single session"}` and keeps the
 * socket open (undocumented; measured by bisection, 30 accepted and 31 refused, in public design
 * notes of 2026-09-06 and 2026-09-08; JKorf/Coinbase.Net#19 saw 32 refused, 16 accepted).
 * An unsubscribe frees its place.
 */
export const COINBASE_L2_PER_CONNECTION = 30

/** One product of `GET /api/v3/brokerage/market/products` (the fields used here). */
interface Product {
  product_id?: unknown
  base_currency_id?: unknown
  quote_currency_id?: unknown
  status?: unknown
  trading_disabled?: unknown
  is_disabled?: unknown
  alias?: unknown
  price?: unknown
  volume_24h?: unknown
  approximate_quote_24h_volume?: unknown
}

interface ProductList {
  products?: unknown
  num_products?: unknown
}

/** Every server message: `{channel, client_id, timestamp, sequence_num, events}` or an error. */
interface Envelope {
  channel?: unknown
  timestamp?: unknown
  sequence_num?: unknown
  events?: unknown
  type?: unknown
  message?: unknown
}

interface L2Event {
  type?: unknown
  product_id?: unknown
  updates?: unknown
}

interface L2Update {
  side?: unknown
  price_level?: unknown
  new_quantity?: unknown
}

const INFO: VenueEvent = Object.freeze({ type: 'info' })

const frame = (type: 'subscribe' | 'unsubscribe', channel: string, productIds: readonly string[]) =>
  JSON.stringify({ type, product_ids: productIds, channel })

/**
 * A product is its own market when it is online, tradable and not an alias of another book.
 * USDC products alias the USD book (BTC-USDC has `alias: 'BTC-USD'`): the socket sends the USD
 * book for both, so they are one market, listed once under its USD name.
 */
function isOwnBook(p: Product): boolean {
  return (
    p.status === 'online' &&
    p.trading_disabled !== true &&
    p.is_disabled !== true &&
    (p.alias === undefined || p.alias === null || p.alias === '')
  )
}

export const coinbase: Venue = {
  id: 'coinbase',
  name: 'Coinbase',
  takerFeeBps: 120, // 1.20 % Advanced, under $1K 30-day volume
  endpoints: { wsUrl: 'wss://advanced-trade-ws.coinbase.com', restUrl: 'https://api.coinbase.com' },
  // Integrity is the connection-wide `sequence_num` (a `stream-seq` event), not a per-book rule:
  // any lost message, on any channel, shows as a gap. No top-of-book cross-check: the `ticker`
  // channel's best_bid/best_ask carry no level2 sequence to align with, so no exact comparison
  // exists (the issue asks for one only where one exists), and a lost message is already caught.
  // Acked with a `subscriptions` message; the snapshot proves the book's data flows.
  acksSubscriptions: true,
  sync: { snapshot: 'ws', sequence: 'none', detectsGaps: true },
  limits: {
    // The heartbeats channel sends one message a second; ten silent seconds means a dead socket.
    idleTimeoutMs: 10_000,
    // Unauthenticated messages: 8 a second per IP (Coinbase's "Advanced Trade WebSocket Rate
    // Limits" page, docs.cdp.coinbase.com/coinbase-app/advanced-trade-apis/websocket/
    // websocket-rate-limits and the coinbase-business copy, both agree). Connections: 750 a
    // second per IP there, but the page's .md rendition says 8, so count on 8. What the server
    // answers when either is exceeded is not documented (nor handled in coinbase/
    // coinbase-advanced-py@54fb8ed); stay under the message limit.
    // The message limit is per IP: every connection's frames share one window of 5 a second
    // (venues/feed.ts), 3 under the limit for the jitter of the way there; one connection sends
    // at most 4 of them.
    sendPerSecond: 4,
    sendPerSecondPerIp: 5,
    // level2 holds at most 30 products per connection (COINBASE_L2_PER_CONNECTION); 25 leaves
    // room for the unsubscribe-then-subscribe of a resync to never touch the limit.
    marketsPerConnection: 25,
    // 8 connections a second per IP (above); 2 keeps the subscribe frames of new connections at
    // 4 a second of the 8 messages the IP may send.
    connects: { count: 2, windowMs: 1000 },
    // Public REST: 10 requests a second per IP (docs.cloud.coinbase.com/advanced-trade/docs/
    // rest-api-rate-limits, as quoted by ccxt/ccxt ts/src/coinbase.ts@000ed66; the Exchange API
    // states the same, bursts up to 15, 429 over: docs.cdp.coinbase.com/exchange/rest-api/
    // rate-limits). Every request counts 1; no used-weight header. Books come over the socket:
    // only the product list is fetched (snapshotCost is unused).
    rest: { weight: 10, windowMs: 1000, snapshotCost: 1 },
  },
  simulate: (markets) => new SimCoinbase(markets),
  transfers: coinbaseTransfers(),

  async listMarkets(restUrl, opts) {
    const out = new Map<Pair, string>()
    for (const { pair, id } of await fetchOwnBooks(restUrl, opts)) out.set(pair, id)
    return out
  },

  /**
   * From the same product list: `approximate_quote_24h_volume` (the 24 h volume in the quote
   * asset), else `volume_24h` (base) x `price`: product fields of the official SDK
   * (coinbase/coinbase-advanced-py coinbase/rest/types/product_types.py@314a675), strings. Alias
   * books are not markets (see listMarkets).
   */
  async fetchVolumes(restUrl, opts) {
    const out = new Map<Pair, number>()
    for (const { pair, product } of await fetchOwnBooks(restUrl, opts)) {
      const volume = quoteVolume(product)
      if (!Number.isNaN(volume)) out.set(pair, volume)
    }
    return out
  },

  wsUrl: (base) => base,

  // One channel per message (CB-AT). level2 frames name at most COINBASE_L2_PER_CONNECTION
  // products, so a connection given more still gets its first 30 (the rest are refused).
  subscribe: (natives) => {
    const frames: string[] = []
    for (let i = 0; i < natives.length; i += COINBASE_L2_PER_CONNECTION) {
      frames.push(frame('subscribe', 'level2', natives.slice(i, i + COINBASE_L2_PER_CONNECTION)))
    }
    frames.push(frame('subscribe', 'heartbeats', natives))
    return frames
  },

  // Subscribing again to a product sends a fresh snapshot event for it.
  resubscribe: (native) => [
    frame('unsubscribe', 'level2', [native]),
    frame('subscribe', 'level2', [native]),
  ],

  createParser: (markets) => scannedFirst(createFastParser(markets), createJsonParser(markets)),
}

/**
 * The `JSON.parse` path: every frame the scanner (fast.ts) leaves, and the reference it is tested
 * against (test/venues/coinbase.test.ts, "fast path").
 */
export function createJsonParser(markets: ReadonlyMap<string, Pair>): FrameParser {
  return (raw): VenueEvent[] => {
    const msg = parseJson(raw) as Envelope
    if (msg === null || typeof msg !== 'object') {
      throw new ParseError('bad-message', 'frame is not an object')
    }
    const out: VenueEvent[] = []
    const seq = msg.sequence_num
    // Checked in book/sync.ts: one counter over every channel of the connection.
    if (typeof seq === 'number') out.push({ type: 'stream-seq', seq })
    switch (msg.channel) {
      case 'l2_data':
        if (typeof seq !== 'number') {
          return rejectL2(msg, markets, out, 'l2_data frame without sequence_num')
        }
        return parseL2(msg, markets, out)
      case 'heartbeats':
      case 'subscriptions':
        out.push(INFO)
        return out
      case undefined:
        if (msg.type === 'error') {
          out.push({ type: 'venue-error', message: String(msg.message ?? 'no message') })
          return out
        }
        out.push({ type: 'unknown', what: `frame without channel (type ${String(msg.type)})` })
        return out
      default:
        out.push({ type: 'unknown', what: `channel ${String(msg.channel)}` })
        return out
    }
  }
}

/**
 * Every product of `GET /api/v3/brokerage/market/products?product_type=SPOT` that is a market of
 * its own (`isOwnBook`), with its unified pair. Rows that are not products are skipped.
 */
async function fetchOwnBooks(
  restUrl: string,
  opts: FetchOptions,
): Promise<{ pair: Pair; id: string; product: Product }[]> {
  const out: { pair: Pair; id: string; product: Product }[] = []
  let seen = 0
  for (let page = 0; page < MAX_PRODUCT_PAGES; page++) {
    const offset = seen === 0 ? '' : `&offset=${seen}`
    const url = `${restUrl}/api/v3/brokerage/market/products?product_type=SPOT${offset}`
    const body = (await getJson('coinbase', url, opts)) as ProductList
    if (!Array.isArray(body?.products)) {
      throw new ParseError('bad-message', 'product list has no products')
    }
    const products = body.products as Product[]
    for (const p of products) {
      if (p === null || typeof p !== 'object' || !isOwnBook(p)) continue
      const { product_id: id, base_currency_id: base, quote_currency_id: quote } = p
      if (typeof id !== 'string' || typeof base !== 'string' || typeof quote !== 'string') {
        continue
      }
      try {
        out.push({ pair: joinPair(base, quote), id, product: p })
      } catch {
        // base equals quote: not a market
      }
    }
    seen += products.length
    // The endpoint pages with limit/offset; ask again only while it says more exist.
    const total = body.num_products
    if (products.length === 0 || typeof total !== 'number' || seen >= total) break
  }
  return out
}

/** A product's 24 h volume in its quote asset, or NaN when it gives none readable. */
function quoteVolume(p: Product): number {
  const decimal = (x: unknown): number => (typeof x === 'string' && isDecimalText(x) ? +x : NaN)
  const quote = decimal(p.approximate_quote_24h_volume)
  if (!Number.isNaN(quote)) return quote
  const volume = decimal(p.volume_24h) * decimal(p.price)
  return Number.isFinite(volume) ? volume : NaN
}

/** Turns the events of one `l2_data` frame into snapshots and deltas, appended to `out`. */
function parseL2(
  msg: Envelope,
  markets: ReadonlyMap<string, Pair>,
  out: VenueEvent[],
): VenueEvent[] {
  const events = msg.events
  if (!Array.isArray(events)) return rejectL2(msg, markets, out, 'l2_data frame without events')
  const kept = out.length
  const tsMs = typeof msg.timestamp === 'string' ? Date.parse(msg.timestamp) : NaN
  const exchangeTsMs = Number.isNaN(tsMs) ? undefined : tsMs
  try {
    for (let i = 0; i < events.length; i++) {
      const ev = events[i] as L2Event
      if (ev === null || typeof ev !== 'object') {
        throw new ParseError('bad-message', 'l2_data event is not an object')
      }
      const pair = markets.get(ev.product_id as string)
      if (pair === undefined) {
        out.push({ type: 'unknown', what: `l2_data for ${String(ev.product_id)}` })
        continue
      }
      const updates = ev.updates
      if (!Array.isArray(updates)) {
        throw new ParseError('bad-message', `l2_data event for ${pair} has no updates`, pair)
      }
      const bids: Level[] = []
      const asks: Level[] = []
      for (let j = 0; j < updates.length; j++) {
        const u = updates[j] as L2Update
        if (u === null || typeof u !== 'object') {
          throw new ParseError('bad-level', 'l2_data update is not an object', pair)
        }
        const level = toLevel(u.price_level, u.new_quantity, pair)
        switch (u.side) {
          case 'bid':
            bids.push(level)
            break
          case 'offer':
          case 'ask':
            asks.push(level)
            break
          default:
            throw new ParseError('bad-level', `unknown side ${String(u.side)}`, pair)
        }
      }
      switch (ev.type) {
        case 'snapshot':
          out.push({ type: 'snapshot', pair, bids, asks, exchangeTsMs })
          break
        case 'update':
          out.push({ type: 'delta', pair, bids, asks, exchangeTsMs })
          break
        default:
          throw new ParseError('bad-message', `l2_data event type ${String(ev.type)}`, pair)
      }
    }
  } catch (err) {
    if (!(err instanceof ParseError)) throw err
    out.length = kept
    return rejectL2(msg, markets, out, err.message, err)
  }
  return out
}

/**
 * A bad `l2_data` frame is rejected whole, naming every book it carried data for (those resync;
 * when its books cannot be told, every book does). `out` holds the frame's `stream-seq`, kept so
 * the connection's sequence stays followed.
 */
function rejectL2(
  msg: Envelope,
  markets: ReadonlyMap<string, Pair>,
  out: VenueEvent[],
  reason: string,
  err?: ParseError,
): VenueEvent[] {
  const kind = err?.kind ?? 'bad-message'
  const events = msg.events
  const pairs = new Set<Pair>()
  let known = Array.isArray(events)
  if (known) {
    for (const ev of events as L2Event[]) {
      if (ev === null || typeof ev !== 'object' || typeof ev.product_id !== 'string') {
        known = false
        break
      }
      const pair = markets.get(ev.product_id)
      if (pair !== undefined) pairs.add(pair)
    }
  }
  out.push(
    known
      ? { type: 'rejected', kind, message: reason, pairs: [...pairs] }
      : { type: 'rejected', kind, message: reason, all: true },
  )
  return out
}
