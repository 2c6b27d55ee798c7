/**
 * @module
 * Bitfinex, WebSocket API v2 `book` channel (P0, F0, len 25): array frames keyed by the channel
 * id each `subscribed` event names. The socket sends the snapshot after every subscribe, then one
 * message per changed level `[price, count, amount]` (count 0 deletes; amount > 0 bid, < 0 ask).
 * Integrity: conf flags 131072 (CHECKSUM: `[chanId, "cs", n]`, a CRC-32 of the top 25, verified in
 * book/sync.ts) + 65536 (SEQ_ALL: one counter over every message of the connection, heartbeats
 * included, passed on as `stream-seq`). Prices and amounts arrive as JSON numbers (`9.121E-7`);
 * their tokens are quoted before `JSON.parse` and kept as the venue's digits (an exponent token
 * becomes the same digits in plain decimal form, exactly).
 */
import { joinPair } from '../../symbols.ts'
import type { Level, Pair } from '../../types.ts'
import { ExchangeError, getJson, parseJson, ParseError, toLevel } from '../venue.ts'
import type { FetchOptions, FrameParser, Venue, VenueEvent } from '../venue.ts'
import { bitfinexChecksum } from './checksum.ts'
import { SimBitfinex } from './sim.ts'
import { bitfinexTransfers } from './transfers.ts'

/** Bitfinex's own codes for coins others name differently (pub:map:currency:sym; BFX-DOCS). */
export const BITFINEX_ASSETS = Object.freeze({ UST: 'USDT', UDC: 'USDC' })

/** Conf flags: CHECKSUM (131072) + SEQ_ALL (65536) (bitfinex-api-node lib/transports/ws2.js). */
export const BITFINEX_FLAGS = 131072 + 65536

/** `book` windows Bitfinex accepts: "25" or "100" (docs ws-public-books, `len`). */
export const BITFINEX_BOOK_LENS = [25, 100] as const
export type BitfinexBookLen = (typeof BITFINEX_BOOK_LENS)[number]

/** The `book` window subscribed (and kept) by default. */
export const BITFINEX_BOOK_LEN: BitfinexBookLen = 25

export interface BitfinexOptions {
  /** Levels per side to subscribe to and keep (the checksum covers the top 25 either way). */
  readonly len?: BitfinexBookLen
}

/** Channels one connection may hold: 25 (docs ws-general / ws-public, "Limits"). */
const CHANNELS_PER_CONNECTION = 25

/** Info codes (bitfinex-api-node WSv2.info). */
export const INFO = Object.freeze({
  SERVER_RESTART: 20051,
  MAINTENANCE_START: 20060,
  MAINTENANCE_END: 20061,
})

interface EventFrame {
  event?: unknown
  channel?: unknown
  chanId?: unknown
  symbol?: unknown
  code?: unknown
  msg?: unknown
  status?: unknown
  platform?: { status?: unknown } | null
}

/** A subscription the parser knows by channel id. */
interface Channel {
  readonly channel: string
  readonly symbol: string
  readonly pair: Pair | undefined
}

/**
 * Builds the Bitfinex venue for one book window (the replay of the len-100 capture needs 100).
 * Channel ids are per connection, but Bitfinex unsubscribes by channel
 * id only (`{"event":"unsubscribe","chanId":…}`), so the parsers record each book's current id
 * here for `resubscribe` (a market is on one connection at a time: venues/feed.ts shards them).
 *
 * @param options.len levels per side, 25 or 100 (default 25).
 * @example
 * ```ts
 * const deep = createBitfinex({ len: 100 })
 * ```
 */
export function createBitfinex({ len = BITFINEX_BOOK_LEN }: BitfinexOptions = {}): Venue {
  if (!BITFINEX_BOOK_LENS.includes(len)) {
    throw new RangeError(`Bitfinex book len must be 25 or 100, not ${String(len)}`)
  }
  /** Native symbol → its book channel id on the connection carrying it. */
  const chanIds = new Map<string, number>()
  let cid = 0
  const subscribeFrame = (symbol: string) =>
    JSON.stringify({
      event: 'subscribe',
      channel: 'book',
      symbol,
      prec: 'P0',
      freq: 'F0',
      len: String(len),
    })

  return {
    id: 'bitfinex',
    // Used when EXCHANGES names it (or is `all`): with all twelve venues the universe missed its
    // CPU and memory targets (README, "Universe benchmark"), so the default is the first six.
    enabledByDefault: false,
    name: 'Bitfinex',
    // 0.200 % taker / 0.100 % maker at "$0.00 or more traded" (bitfinex.com fee schedule,
    // "Order execution", as stored 2026). FEE_BPS_BITFINEX overrides it.
    takerFeeBps: 20,
    endpoints: {
      wsUrl: 'wss://api-pub.bitfinex.com/ws/2',
      restUrl: 'https://api-pub.bitfinex.com',
    },
    acksSubscriptions: true,
    sync: {
      snapshot: 'ws',
      sequence: 'none',
      checksum: bitfinexChecksum,
      maxDepth: len,
      detectsGaps: true,
    },
    assetAliases: BITFINEX_ASSETS,
    limits: {
      // Every channel gets `[chanId,"hb"]` when idle, ~15 s apart (docs ws-general; two per
      // channel in the 30 s capture); a ping every 10 s keeps something arriving besides.
      idleTimeoutMs: 30_000,
      pingIntervalMs: 10_000,
      // No message rate is published for the public socket; one subscribe frame per book, so a
      // full connection is conf + 25 frames. Chosen: 10 a second.
      sendPerSecond: 10,
      // "All websocket connections have a limit of 25 subscriptions to public market data feed
      // channels" (docs.bitfinex.com ws-general / ws-public; coincise network_connectivity.md).
      marketsPerConnection: CHANNELS_PER_CONNECTION,
      // "20 connections per minute" on api-pub.bitfinex.com (docs ws-public "Rate limits";
      // exceeding it is answered HTTP 429 for 60 s).
      connects: { count: 20, windowMs: 60_000 },
      // Public REST: "between 10 and 90 requests per minute" per endpoint, an IP over it is
      // blocked 10-60 s with ERR_RATE_LIMIT (docs.bitfinex.com/v1 note; v2 answers
      // ["error",11010,"ratelimit: error"] with 429). The lower bound, counted over all endpoints.
      rest: { weight: 10, windowMs: 60_000, snapshotCost: 1 },
    },
    ping: () => JSON.stringify({ event: 'ping', cid: ++cid }),
    simulate: (markets) => new SimBitfinex(markets),
    transfers: bitfinexTransfers,

    /** `GET /v2/conf/pub:list:pair:exchange`: the exchange (spot) pairs that trade now. */
    async listMarkets(restUrl, opts) {
      const out = new Map<Pair, string>()
      for (const [pair, native] of await fetchPairs(restUrl, opts)) out.set(pair, native)
      return out
    },

    /**
     * `GET /v2/tickers?symbols=ALL`: trading rows `[SYMBOL, BID, BID_SIZE, ASK, ASK_SIZE,
     * DAILY_CHANGE, DAILY_CHANGE_RELATIVE, LAST_PRICE, VOLUME, HIGH, LOW]` (docs rest-public-
     * tickers); VOLUME is the base volume of the last 24 h, times LAST_PRICE the quote volume.
     * Funding rows (`f…`) are left out.
     */
    async fetchVolumes(restUrl, opts) {
      const pairs = new Map<string, Pair>()
      for (const [pair, native] of await fetchPairs(restUrl, opts)) pairs.set(native, pair)
      const body = await getJson('bitfinex', `${restUrl}/v2/tickers?symbols=ALL`, opts)
      const out = new Map<Pair, number>()
      if (!Array.isArray(body)) throw new ParseError('bad-message', 'tickers is not a list')
      for (const row of body as unknown[]) {
        if (!Array.isArray(row) || typeof row[0] !== 'string') continue
        const pair = pairs.get(row[0])
        const last = row[7]
        const volume = row[8]
        if (pair === undefined || typeof last !== 'number' || typeof volume !== 'number') continue
        const quote = Math.abs(volume) * last
        if (Number.isFinite(quote)) out.set(pair, quote)
      }
      return out
    },

    wsUrl: (base) => base,

    // conf first (flags apply to the subscriptions after it), then one subscribe per book: a
    // subscribe names one channel and symbol (docs ws-public-books).
    subscribe: (natives) => [
      JSON.stringify({ event: 'conf', flags: BITFINEX_FLAGS }),
      ...natives.map(subscribeFrame),
    ],

    // A fresh snapshot comes only with a new subscription: unsubscribe by channel id, then
    // subscribe (GCT exchanges/bitfinex resubOrderbook does the same). Without a known id
    // (never acked) only the subscribe is sent.
    resubscribe: (native) => {
      const chanId = chanIds.get(native)
      const subscribe = subscribeFrame(native)
      if (chanId === undefined) return [subscribe]
      return [JSON.stringify({ event: 'unsubscribe', chanId }), subscribe]
    },

    createParser: (markets) => createJsonParser(markets, chanIds),
  }
}

/** Bitfinex with the `book` channel at P0, F0, len 25. */
export const bitfinex: Venue = createBitfinex()

/** `pub:list:pair:exchange` as unified pair → native `t` symbol. */
async function fetchPairs(restUrl: string, opts: FetchOptions): Promise<Map<Pair, string>> {
  const body = await getJson('bitfinex', `${restUrl}/v2/conf/pub:list:pair:exchange`, opts)
  if (isErrorBody(body)) {
    throw new ExchangeError('bitfinex', `pub:list:pair:exchange answered ${JSON.stringify(body)}`)
  }
  const list = Array.isArray(body) ? (body[0] as unknown) : undefined
  if (!Array.isArray(list)) throw new ParseError('bad-message', 'pair list is not [[...]]')
  const out = new Map<Pair, string>()
  for (const name of list) {
    if (typeof name !== 'string') continue
    const pair = splitPair(name)
    if (pair !== undefined) out.set(pair, `t${name}`)
  }
  return out
}

/** `["error", code, "message"]`, how v2 REST answers a failure. */
const isErrorBody = (body: unknown): boolean => Array.isArray(body) && body[0] === 'error'

/**
 * A Bitfinex pair name as a unified pair: `BTCUSD` (two 3-letter codes) or `AVAX:USD`,
 * `TESTBTC:TESTUSD` (a longer code, colon-separated); UST is USDT (BITFINEX_ASSETS).
 *
 * @example
 * ```ts
 * splitPair('BTCUST') // 'BTC/USDT'
 * ```
 */
export function splitPair(name: string): Pair | undefined {
  const colon = name.indexOf(':')
  const [base, quote] =
    colon === -1
      ? name.length === 6
        ? [name.slice(0, 3), name.slice(3)]
        : ['', '']
      : [name.slice(0, colon), name.slice(colon + 1)]
  if (base === '' || quote === '') return undefined
  try {
    return joinPair(base, quote, BITFINEX_ASSETS)
  } catch {
    return undefined
  }
}

/** JSON whitespace: space, tab, line feed, carriage return. */
const isSpace = (c: number): boolean => c === 32 || c === 9 || c === 10 || c === 13

/**
 * Puts quotes around every number token outside strings, so `JSON.parse` keeps Bitfinex's
 * literal digits (`2.2626931299999997`, `9.121E-7`). One pass, no regex.
 *
 * @example
 * ```ts
 * quoteNumbers('[17082,[7254.7,3,3.3],19]') // '["17082",["7254.7","3","3.3"],"19"]'
 * ```
 */
export function quoteNumbers(raw: string): string {
  const n = raw.length
  let out = ''
  let from = 0
  for (let i = 0; i < n; i++) {
    const c = raw.charCodeAt(i)
    if (c === 34) {
      // a string: skip to its closing quote
      for (i++; i < n; i++) {
        const d = raw.charCodeAt(i)
        if (d === 92) i++
        else if (d === 34) break
      }
      continue
    }
    if (c !== 45 && (c < 48 || c > 57)) continue
    let e = i + 1
    for (; e < n; e++) {
      const d = raw.charCodeAt(e)
      if (d === 44 || d === 93 || d === 125 || isSpace(d)) break
    }
    out += raw.slice(from, i) + '"' + raw.slice(i, e) + '"'
    from = e
    i = e - 1
  }
  return from === 0 ? raw : out + raw.slice(from)
}

/**
 * A JSON number token as plain decimal text with the same digits: `9.121E-7` is
 * `0.0000009121`, `1e+3` is `1000`; a token without exponent is returned as it is.
 */
export function plainDecimal(token: string): string {
  const e = token.search(/[eE]/)
  if (e === -1) return token
  const neg = token.startsWith('-')
  const mantissa = token.slice(neg ? 1 : 0, e)
  const exp = Number(token.slice(e + 1))
  const dot = mantissa.indexOf('.')
  const digits = dot === -1 ? mantissa : mantissa.slice(0, dot) + mantissa.slice(dot + 1)
  if (!/^\d+$/.test(digits) || !Number.isInteger(exp) || Math.abs(exp) > 60) return token
  const point = (dot === -1 ? mantissa.length : dot) + exp
  let text: string
  if (point <= 0) text = `0.${'0'.repeat(-point)}${digits}`
  else if (point >= digits.length) text = digits + '0'.repeat(point - digits.length)
  else text = `${digits.slice(0, point)}.${digits.slice(point)}`
  // Leading zeros of the integer part (from `0.5e1` and the like), one kept.
  text = text.replace(/^0+(?=\d)/, '')
  return neg ? `-${text}` : text
}

/** One `[PRICE, COUNT, AMOUNT]` entry (quoted tokens) as a bid or an ask level. */
function toEntry(row: unknown, pair: Pair): { ask: boolean; level: Level } {
  if (!Array.isArray(row) || row.length < 3) {
    throw new ParseError('bad-level', 'book entry is not [price, count, amount]', pair)
  }
  const [px, count, amount] = row as unknown[]
  if (typeof px !== 'string' || typeof count !== 'string' || typeof amount !== 'string') {
    throw new ParseError('bad-level', `bad book entry ${JSON.stringify(row)}`, pair)
  }
  const n = Number(count)
  const amountText = plainDecimal(amount)
  const ask = amountText.startsWith('-')
  if (!Number.isInteger(n) || n < 0 || (n > 0 && Number(amountText) === 0)) {
    throw new ParseError('bad-level', `bad book entry ${JSON.stringify(row)}`, pair)
  }
  // COUNT 0 deletes the level; AMOUNT is then 1 (bids) or -1 (asks) and only names the side.
  const qty = n === 0 ? '0' : ask ? amountText.slice(1) : amountText
  return { ask, level: toLevel(plainDecimal(px), qty, pair) }
}

const isInt32 = (x: number): boolean => Number.isInteger(x) && x >= -0x80000000 && x <= 0x7fffffff

/**
 * The `JSON.parse` parser: events (objects) as they are, channel frames (arrays) with their
 * number tokens quoted. `chanIds` is the venue's record of each book's channel id (see
 * createBitfinex); the parser keeps its own map of this connection's channels.
 */
export function createJsonParser(
  markets: ReadonlyMap<string, Pair>,
  chanIds: Map<string, number> = new Map(),
): FrameParser {
  const channels = new Map<number, Channel>()
  return (raw): VenueEvent[] => {
    let i = 0
    while (i < raw.length && isSpace(raw.charCodeAt(i))) i++
    if (raw.charCodeAt(i) === 91) return parseChannelFrame(parseJson(quoteNumbers(raw)))
    const msg = parseJson(raw) as EventFrame
    if (msg === null || typeof msg !== 'object' || Array.isArray(msg)) {
      throw new ParseError('bad-message', 'frame is neither an event nor a channel array')
    }
    return parseEvent(msg)
  }

  function parseChannelFrame(msg: unknown): VenueEvent[] {
    if (!Array.isArray(msg) || msg.length < 2) {
      throw new ParseError('bad-message', 'channel frame is not [chanId, ...]')
    }
    const out: VenueEvent[] = []
    // SEQ_ALL: the public sequence is the last value of every channel frame (bitfinex-api-node
    // ws2.js _validateMessageSeq); checked in book/sync.ts over the whole connection. `subscribe`
    // always sends SEQ_ALL, so a trailing integer here is the sequence (a `cs` frame without it
    // would end in its checksum instead).
    const last = msg[msg.length - 1]
    const hasSeq = typeof last === 'string' && msg.length >= 3 && /^\d+$/.test(last)
    if (hasSeq) out.push({ type: 'stream-seq', seq: Number(last) })
    const chanId = Number(msg[0])
    const ch = channels.get(chanId)
    const body = msg[1]
    if (body === 'hb') {
      out.push({ type: 'info' })
      return out
    }
    if (ch === undefined) {
      // A channel just unsubscribed (its last frames may still come) or never ours.
      out.push({ type: 'info' })
      return out
    }
    if (ch.channel !== 'book' || ch.pair === undefined) {
      out.push({ type: 'unknown', what: `${ch.channel} ${ch.symbol}` })
      return out
    }
    const pair = ch.pair
    if (body === 'cs') {
      const checksum = Number(msg[2])
      if (typeof msg[2] !== 'string' || !isInt32(checksum)) {
        throw new ParseError('bad-message', `bad checksum for ${pair}`, pair)
      }
      out.push({ type: 'delta', pair, bids: [], asks: [], checksum })
      return out
    }
    if (!Array.isArray(body)) {
      out.push({ type: 'unknown', what: `book frame ${String(body)}` })
      return out
    }
    const bids: Level[] = []
    const asks: Level[] = []
    if (body.length === 0 || Array.isArray(body[0])) {
      try {
        for (const row of body) {
          const { ask, level } = toEntry(row, pair)
          ;(ask ? asks : bids).push(level)
        }
      } catch (err) {
        if (err instanceof ParseError) {
          out.push({ type: 'rejected', kind: err.kind, message: err.message, pairs: [pair] })
          return out
        }
        throw err
      }
      // The venue's order is best-first already; sorted anyway so the book rules see it so.
      bids.sort((a, b) => b.px - a.px)
      asks.sort((a, b) => a.px - b.px)
      out.push({ type: 'snapshot', pair, bids, asks })
      return out
    }
    try {
      const { ask, level } = toEntry(body, pair)
      ;(ask ? asks : bids).push(level)
    } catch (err) {
      if (err instanceof ParseError) {
        out.push({ type: 'rejected', kind: err.kind, message: err.message, pairs: [pair] })
        return out
      }
      throw err
    }
    out.push({ type: 'delta', pair, bids, asks })
    return out
  }

  function parseEvent(msg: EventFrame): VenueEvent[] {
    switch (msg.event) {
      case 'subscribed': {
        const chanId = msg.chanId
        const symbol = msg.symbol
        const channel = msg.channel
        if (
          typeof chanId !== 'number' ||
          typeof symbol !== 'string' ||
          typeof channel !== 'string'
        ) {
          throw new ParseError('bad-message', 'subscribed without chanId, channel or symbol')
        }
        const pair = markets.get(symbol)
        channels.set(chanId, { channel, symbol, pair })
        if (channel !== 'book' || pair === undefined) {
          return [{ type: 'unknown', what: `subscribed ${channel} ${symbol}` }]
        }
        chanIds.set(symbol, chanId)
        return [{ type: 'subscribed', pairs: [pair] }]
      }
      case 'unsubscribed': {
        const chanId = Number(msg.chanId)
        const ch = channels.get(chanId)
        channels.delete(chanId)
        if (ch !== undefined && chanIds.get(ch.symbol) === chanId) chanIds.delete(ch.symbol)
        return [{ type: 'info' }]
      }
      case 'info':
        return parseInfo(msg)
      case 'conf':
        if (msg.status !== undefined && msg.status !== 'OK') {
          return [{ type: 'venue-error', message: `conf ${String(msg.status)}` }]
        }
        return [{ type: 'info' }]
      case 'pong':
        return [{ type: 'info' }]
      case 'error': {
        const symbol = typeof msg.symbol === 'string' ? msg.symbol : undefined
        const pair = symbol === undefined ? undefined : markets.get(symbol)
        const message = `error ${String(msg.code)}: ${String(msg.msg)}`
        return pair === undefined
          ? [{ type: 'venue-error', message }]
          : [{ type: 'venue-error', message, pair }]
      }
      default:
        return [{ type: 'unknown', what: `event ${String(msg.event)}` }]
    }
  }
}

/**
 * `{"event":"info",...}`: the greeting (`platform.status` 0 is maintenance) or a code
 * (bitfinex-api-node WSv2.info): 20051 "stop/restart websocket server, please reconnect";
 * 20060 maintenance starts (nothing flows; the books stay as they are until it ends or the idle
 * watchdog trips); 20061 maintenance ended: "unsubscribe/subscribe again all channels" — a
 * reconnect does that and brings fresh snapshots.
 */
function parseInfo(msg: EventFrame): VenueEvent[] {
  switch (msg.code) {
    case INFO.SERVER_RESTART:
      return [{ type: 'reconnect', reason: `info 20051: ${String(msg.msg ?? 'server restart')}` }]
    case INFO.MAINTENANCE_START:
      return [{ type: 'venue-error', message: 'info 20060: maintenance started' }]
    case INFO.MAINTENANCE_END:
      return [{ type: 'reconnect', reason: 'info 20061: maintenance ended, resubscribe' }]
    case undefined:
      if (msg.platform?.status === 0) {
        return [{ type: 'venue-error', message: 'platform status 0: maintenance' }]
      }
      return [{ type: 'info' }]
    default:
      return [{ type: 'unknown', what: `info ${String(msg.code)}` }]
  }
}
