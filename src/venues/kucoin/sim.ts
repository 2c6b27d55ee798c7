/**
 * @module
 * A simulated KuCoin spot (classic API) on 127.0.0.1: `POST /api/v1/bullet-public` handing out
 * tokens and this server's socket endpoint with pingInterval/pingTimeout, `GET /api/v2/symbols`,
 * `GET /api/v1/market/allTickers`, `GET /api/v1/market/orderbook/level2_{20|100}` (sequence as a
 * string), and a socket that wants a valid token and a connectId, greets with `welcome`, answers
 * `ping` with `pong`, acks subscribes by id and pushes `/market/level2` increments whose change
 * entries carry their own sequences (with sequence-only `["0","0",seq]` entries on request).
 * REST bodies are KuCoin's `{code, data}` / `{code, msg}`.
 *
 * KuCoin's limits, answered as KuCoin answers (KC-NEW = kucoin.com/docs-new rate-limit page as
 * scraped in rosssaunders/coincise docs/kucoin/rate_limit_docs.md, 2025-11):
 * - Public REST pool: 2000 weight per 30 s per IP, counted from the first request; past it HTTP
 *   429 `{"code":"429000","msg":"Too Many Requests"}`; every answer carries `gw-ratelimit-limit`,
 *   `gw-ratelimit-remaining` and `gw-ratelimit-reset` (ms to the reset) (KC-NEW); weights as the
 *   venue module's `kucoinCost` (KuCoin's spec);
 * - 30 connections per minute (KC-NEW): an upgrade past it is answered HTTP 429 (KuCoin documents
 *   the limit, not the answer);
 * - a missing token is refused at the upgrade with HTTP 401 (ccxt/ccxt#11649 shows KuCoin's 401
 *   "Invalid response status"); an unknown or expired token is accepted, answered
 *   `{"type":"error","code":401,"data":"token is expired"}` and closed without a close frame
 *   (cryptofeed#1023, XChange#4740);
 * - 100 uplink messages per 10 s per connection (KC-NEW): past it the message is refused with
 *   error 509 "exceed max permits per second" (the wording is this sim's; KuCoin's is not quoted
 *   in any stored source);
 * - 100 topics per subscribe: error 509 "exceed max subscription count limitation of 100 per time"
 *   (Kucoin/kucoin-python-sdk#32); per connection 400 topics (KC-NEW): 509 "exceed max
 *   subscription count limitation of 400 per session" (the wording KuCoin used with 300,
 *   Kucoin/kucoin-api-docs#389); an unknown symbol: 404 "topic /market/level2:X is not found"
 *   (sammchardy/python-kucoin#52); an unknown type: 415 "type is not supported" (ccxt). A refused
 *   subscribe subscribes none of its symbols.
 * Faults: lost updates, crossed books, REST snapshot faults (incl. stale), held or canned
 * snapshots, expiring tokens, and everything SimServer offers.
 */
import type { Client } from '../sim/server.ts'
import { askToCross, SimBook, type Row } from '../sim/book.ts'
import { SimRestVenueBase, SimWindow, type SimSeqMarket } from '../sim/base.ts'
import { simVolume24h, type SimMarket } from '../sim/venue.ts'
import type { Pair } from '../../types.ts'
import type { SimNetwork, SimTransfers } from '../sim/transfers.ts'

export interface SimKucoinOptions {
  /** The sequence every book starts at (what level2_100 answers as `sequence`). */
  readonly firstSequence?: number
  /** Public pool weight per window (KuCoin: 2000 per 30 s). */
  readonly restWeight?: number
  readonly restWindowMs?: number
  /** New connections per window (KuCoin: 30 a minute). */
  readonly connectsPerWindow?: number
  readonly connectWindowMs?: number
  /** Uplink messages per connection per window (KuCoin: 100 per 10 s). */
  readonly uplinkPerWindow?: number
  readonly uplinkWindowMs?: number
  /** Topics (symbols) per subscribe (100) and per connection (400). */
  readonly topicsPerSubscribe?: number
  readonly topicsPerConnection?: number
  /** What bullet-public answers (KuCoin: 18000 / 10000). */
  readonly pingIntervalMs?: number
  readonly pingTimeoutMs?: number
  /** How long a token stays valid (KuCoin: 24 h). */
  readonly tokenTtlMs?: number
}

/** What the sim's limits refused, by kind (zero for a client that keeps them). */
export type KucoinLimited = {
  /** REST answers 429: over the Public pool's weight per 30 s. */
  requests: number
  /** Upgrades answered 429: over 30 new connections a minute. */
  connections: number
  /** Sockets refused for a missing, unknown or expired token (or a missing connectId). */
  tokens: number
  /** Messages refused: over 100 per 10 s on one connection. */
  uplink: number
  /** Subscribes refused: over 100 topics in one, or over the topics a connection may hold. */
  topics: number
  /** Requests refused as malformed, of an unknown type, or naming an unknown topic. */
  requestErrors: number
}

/** `seq` is the book's last sequence. */
interface Market extends SimSeqMarket {
  readonly symbol: string
  readonly pair: Pair
  readonly base: string
  readonly quote: string
  readonly trading: boolean
}

const TOPIC = '/market/level2'

/** KuCoin's REST error body for an HTTP status. */
function errorBody(status: number): { code: string; msg: string } {
  if (status === 429) return { code: '429000', msg: 'Too Many Requests' }
  if (status >= 500) return { code: '500000', msg: 'Internal Server Error' }
  return { code: '400100', msg: 'Invalid request parameter' }
}

/** Weights of the Public pool (KuCoin's spec; the venue module's `kucoinCost`). */
function weightOf(path: string): number {
  if (path.endsWith('/bullet-public')) return 10
  if (path.includes('/market/orderbook/level2_')) return 2
  if (path.endsWith('/symbols')) return 4
  if (path.endsWith('/market/allTickers')) return 15
  if (path.endsWith('/api/v3/currencies')) return 3
  return 1
}

/**
 * Answers one request of the transfer endpoint from `t`: the next fault (a status with the venue's
 * own `errorBody`, or a 200 whose body is not JSON), else `make()`.
 */
function serveTransfers(
  t: SimTransfers,
  make: () => unknown,
  errorBody: (status: number) => unknown,
): Response {
  const faulted = t.answerFault('[{"currency": "BTC", "chains', errorBody)
  if (faulted !== undefined) return faulted
  return Response.json(make())
}

/** KuCoin's chain names and ids, by the shared vocabulary's network. */
const KC_CHAINS: Readonly<Record<string, readonly [name: string, id: string]>> = {
  BTC: ['BTC', 'btc'],
  ETH: ['ERC20', 'eth'],
  TRX: ['TRC20', 'trx'],
  SOL: ['SOL', 'sol'],
  BSC: ['BEP20', 'bsc'],
  AVAXC: ['AVAX C-Chain', 'avaxc'],
}

/** KuCoin codes for unified ones it names differently (the venue's `KUCOIN_ASSETS`, reversed). */
const KC_CODES: Readonly<Record<string, string>> = { WAXP: 'WAX' }

/** One currency of `GET /api/v3/currencies`, its chains from the sim's transfer state. */
function currencyRow(asset: string, networks: readonly SimNetwork[]): unknown {
  const code = KC_CODES[asset] ?? asset
  return {
    currency: code,
    name: code,
    fullName: code,
    precision: 8,
    confirms: null,
    contractAddress: null,
    isMarginEnabled: true,
    isDebitEnabled: true,
    chains: networks.map((n) => {
      const [chainName, chainId] = KC_CHAINS[n.network] ?? [n.network, n.network.toLowerCase()]
      return {
        chainName,
        withdrawalMinSize: String(n.min),
        depositMinSize: null,
        withdrawFeeRate: '0',
        withdrawalMinFee: String(n.fee),
        isWithdrawEnabled: n.withdraw,
        isDepositEnabled: n.deposit,
        confirms: 12,
        preConfirms: 12,
        contractAddress: n.contract ?? '',
        withdrawPrecision: 8,
        maxWithdraw: null,
        maxDeposit: null,
        needTag: false,
        chainId,
      }
    }),
  }
}

/**
 * KuCoin spot on 127.0.0.1, keyed by unified pair (`BTC/USDT` is `BTC-USDT`).
 * @example
 * ```ts
 * const sim = new SimKucoin([{ base: 'BTC', quote: 'USDT', book: makeBook(60000) }])
 * sim.update('BTC/USDT', [['59999.90', '2.0']], [])
 * ```
 */
export class SimKucoin extends SimRestVenueBase<Market> {
  readonly limited: KucoinLimited = {
    requests: 0,
    connections: 0,
    tokens: 0,
    uplink: 0,
    topics: 0,
    requestErrors: 0,
  }
  /** Tokens handed out, token → expiry (ms since the epoch). */
  readonly tokens = new Map<string, number>()
  readonly #o: Required<SimKucoinOptions>
  readonly #bySymbol = new Map<string, Market>()
  readonly #volumes = new Map<string, number>()
  readonly #connects: SimWindow
  /** The pool's fixed window: its start and the weight spent in it. */
  #poolStartMs = 0
  #poolUsed = 0
  #nextToken = 0
  readonly #uplink = new Map<number, SimWindow>()
  readonly #subscribers = new Map<string, Set<Client>>()
  readonly #subscriptions = new Map<number, Set<string>>()

  constructor(markets: readonly SimMarket[], options: SimKucoinOptions = {}) {
    super('KuCoin')
    this.#o = {
      firstSequence: 1_000_000,
      restWeight: 2000,
      restWindowMs: 30_000,
      connectsPerWindow: 30,
      connectWindowMs: 60_000,
      uplinkPerWindow: 100,
      uplinkWindowMs: 10_000,
      topicsPerSubscribe: 100,
      topicsPerConnection: 400,
      pingIntervalMs: 18_000,
      pingTimeoutMs: 10_000,
      tokenTtlMs: 24 * 3600_000,
      ...options,
    }
    for (const m of markets) {
      const base = m.base.toUpperCase()
      const quote = m.quote.toUpperCase()
      const market: Market = {
        symbol: `${base}-${quote}`,
        pair: `${base}/${quote}`,
        base,
        quote,
        trading: m.trading !== false,
        book: m.book ?? new SimBook(),
        seq: this.#o.firstSequence,
        history: [],
      }
      this.list(market.pair, market)
      this.#bySymbol.set(market.symbol, market)
      this.#volumes.set(market.symbol, simVolume24h(m))
    }
    this.#connects = new SimWindow(this.#o.connectsPerWindow, this.#o.connectWindowMs)
  }

  /** The native symbol of a pair (`BTC-USDT`). */
  symbol(pair: Pair): string {
    return this.market(pair).symbol
  }

  /** Symbols a client is subscribed to. */
  subscriptionsOf(client: Client): string[] {
    return [...(this.#subscriptions.get(client.data.id) ?? [])]
  }

  /** Makes every token handed out so far expired (the next connection with one is refused). */
  expireTokens(): void {
    for (const t of this.tokens.keys()) this.tokens.set(t, 0)
  }

  /**
   * Applies and pushes one increment: each change takes one sequence, then `zeros`
   * sequence-only `["0","0",seq]` entries (an empty change is one of those). Returns the frame.
   */
  update(pair: Pair, bids: Row[], asks: Row[], { zeros = 0 }: { zeros?: number } = {}): string {
    const m = this.market(pair)
    const frame = this.#advance(m, bids, asks, zeros)
    this.#push(m.symbol, frame)
    return frame
  }

  /** Applies one increment and consumes its sequences, but never sends it. */
  lose(pair: Pair, bids: Row[], asks: Row[]): string {
    return this.#advance(this.market(pair), bids, asks, 0)
  }

  /** Pushes a chained increment with a bid at the best ask; the venue's book does not take it. */
  pushCrossed(pair: Pair): string {
    const m = this.market(pair)
    const ask = askToCross(m.book, pair)
    m.seq++
    const frame = l2Frame(m.symbol, m.seq, m.seq, [[ask[0], '1', String(m.seq)]], [])
    this.#push(m.symbol, frame)
    return frame
  }

  /** Sends a raw frame to a symbol's subscribers (or to every client with no symbol). */
  pushTo(symbol: string | undefined, frame: string): void {
    this.#push(symbol, frame)
  }

  #push(symbol: string | undefined, frame: string): void {
    const to = symbol === undefined ? this.server.clients : this.#subscribers.get(symbol)
    for (const c of to ?? []) this.server.send(frame, c)
  }

  #advance(m: Market, bids: Row[], asks: Row[], zeros: number): string {
    this.remember(m)
    const start = m.seq + 1
    let seq = m.seq
    const b = bids.map(([p, q]) => [p, q, String(++seq)])
    const a = asks.map(([p, q]) => [p, q, String(++seq)])
    for (let i = 0; i < zeros || seq < start; i++) a.push(['0', '0', String(++seq)])
    m.seq = seq
    m.book.apply(bids, asks)
    return l2Frame(m.symbol, start, seq, b, a)
  }

  /** Spends a request's weight in the pool's window; KuCoin's 429 when it is used up. */
  #spend(path: string, now = Date.now()): Response | undefined {
    if (now - this.#poolStartMs >= this.#o.restWindowMs) {
      this.#poolStartMs = now
      this.#poolUsed = 0
    }
    const weight = weightOf(path)
    if (this.#poolUsed + weight > this.#o.restWeight) {
      this.limited.requests++
      return Response.json(errorBody(429), { status: 429 })
    }
    this.#poolUsed += weight
    return undefined
  }

  protected override async rest(url: URL, req: Request): Promise<Response | undefined> {
    const path = url.pathname
    const res = this.#spend(path) ?? (await this.#route(url, req))
    if (res !== undefined) {
      const resetMs = Math.max(0, this.#poolStartMs + this.#o.restWindowMs - Date.now())
      res.headers.set('gw-ratelimit-limit', String(this.#o.restWeight))
      res.headers.set('gw-ratelimit-remaining', String(this.#o.restWeight - this.#poolUsed))
      res.headers.set('gw-ratelimit-reset', String(resetMs))
    }
    return res
  }

  async #route(url: URL, req: Request): Promise<Response | undefined> {
    const path = url.pathname
    if (path === '/api/v1/bullet-public') {
      if (req.method !== 'POST') return undefined
      const token = `sim${++this.#nextToken}${Math.random().toString(36).slice(2, 10)}`
      this.tokens.set(token, Date.now() + this.#o.tokenTtlMs)
      return Response.json({
        code: '200000',
        data: {
          token,
          instanceServers: [
            {
              endpoint: `${this.wsUrl}/`,
              encrypt: false,
              protocol: 'websocket',
              pingInterval: this.#o.pingIntervalMs,
              pingTimeout: this.#o.pingTimeoutMs,
            },
          ],
        },
      })
    }
    if (path === '/api/v2/symbols' || path === '/api/v1/symbols') {
      return Response.json({ code: '200000', data: this.markets().map((m) => symbolRow(m)) })
    }
    if (path === '/api/v3/currencies') {
      const data = () => this.transfers.entries().map(([asset, nets]) => currencyRow(asset, nets))
      return serveTransfers(this.transfers, () => ({ code: '200000', data: data() }), errorBody)
    }
    if (path === '/api/v1/market/allTickers') {
      const now = Date.now()
      return Response.json({
        code: '200000',
        data: { time: now, ticker: this.markets().map((m) => this.#ticker(m)) },
      })
    }
    const depth = /^\/api\/v1\/market\/orderbook\/level2_(20|100)$/.exec(path)
    if (depth !== null) {
      const symbol = url.searchParams.get('symbol') ?? ''
      const m = this.#bySymbol.get(symbol)
      if (m === undefined) {
        return Response.json({ code: '400100', msg: 'symbol not exists' }, { status: 400 })
      }
      const limit = Number(depth[1])
      // A held request shows the book of the moment it is released.
      await this.held()
      const body = (seq: number, book: SimBook) => ({
        code: '200000',
        data: {
          time: Date.now(),
          sequence: String(seq),
          bids: book.topBids(limit),
          asks: book.topAsks(limit),
        },
      })
      return this.serveBook(m, symbol, body, errorBody)
    }
    return undefined
  }

  /** A market's 24 h ticker (`GET /api/v1/market/allTickers`); `volValue` from its `volume24h`. */
  #ticker(m: Market): Record<string, unknown> {
    const volValue = this.#volumes.get(m.symbol) ?? 0
    const bid = m.book.topBids(1)[0]?.[0] ?? ''
    const ask = m.book.topAsks(1)[0]?.[0] ?? ''
    const mid = (Number(bid) + Number(ask)) / 2
    const last = mid > 0 ? mid.toFixed(8) : '0'
    return {
      symbol: m.symbol,
      symbolName: m.symbol,
      buy: bid,
      sell: ask,
      last,
      vol: (mid > 0 ? volValue / mid : 0).toFixed(8),
      volValue: volValue.toFixed(8),
      high: last,
      low: last,
      takerFeeRate: '0.001',
      makerFeeRate: '0.001',
    }
  }

  protected override refuseUpgrade(url: URL): Response | undefined {
    if (!url.searchParams.get('token') || !url.searchParams.get('connectId')) {
      this.limited.tokens++
      return new Response('Unauthorized', { status: 401 })
    }
    if (!this.#connects.hit()) {
      this.limited.connections++
      return new Response('Too Many Requests', { status: 429 })
    }
    return undefined
  }

  protected override onOpen(client: Client): void {
    const url = new URL(client.data.path, 'ws://sim')
    const token = url.searchParams.get('token') ?? ''
    const expires = this.tokens.get(token)
    if (expires === undefined || expires <= Date.now()) {
      this.limited.tokens++
      client.send(
        JSON.stringify({
          id: url.searchParams.get('connectId'),
          type: 'error',
          code: 401,
          data: 'token is expired',
        }),
      )
      client.close(1000, 'token is expired')
      return
    }
    this.#subscriptions.set(client.data.id, new Set())
    this.#uplink.set(client.data.id, new SimWindow(this.#o.uplinkPerWindow, this.#o.uplinkWindowMs))
    this.server.send(
      JSON.stringify({ id: url.searchParams.get('connectId'), type: 'welcome' }),
      client,
    )
  }

  protected override onClose(client: Client): void {
    for (const s of this.#subscriptions.get(client.data.id) ?? [])
      this.#subscribers.get(s)?.delete(client)
    this.#subscriptions.delete(client.data.id)
    this.#uplink.delete(client.data.id)
  }

  protected override onMessage(client: Client, text: string): void {
    const held = this.#subscriptions.get(client.data.id)
    if (held === undefined) return // refused at open
    let msg: { id?: unknown; type?: unknown; topic?: unknown; response?: unknown } | undefined
    try {
      msg = JSON.parse(text) as typeof msg
    } catch {
      msg = undefined
    }
    const id =
      typeof msg?.id === 'string' || typeof msg?.id === 'number' ? String(msg.id) : undefined
    const error = (code: number, data: string) =>
      this.server.send(JSON.stringify({ id, type: 'error', code, data }), client)
    if (!this.#uplink.get(client.data.id)!.hit()) {
      this.limited.uplink++
      error(509, 'exceed max permits per second')
      return
    }
    if (msg === null || typeof msg !== 'object' || typeof msg.type !== 'string') {
      this.limited.requestErrors++
      error(400, 'invalid request')
      return
    }
    if (msg.type === 'ping') {
      this.server.send(JSON.stringify({ id, type: 'pong' }), client)
      return
    }
    if (msg.type !== 'subscribe' && msg.type !== 'unsubscribe') {
      this.limited.requestErrors++
      error(415, 'type is not supported')
      return
    }
    const topic = typeof msg.topic === 'string' ? msg.topic : ''
    const [name, list = ''] = topic.split(':', 2)
    const symbols = list.split(',').filter(Boolean)
    if (name !== TOPIC || symbols.length === 0) {
      this.limited.requestErrors++
      error(404, `topic ${topic} is not found`)
      return
    }
    if (symbols.length > this.#o.topicsPerSubscribe) {
      this.limited.topics++
      error(
        509,
        `exceed max subscription count limitation of ${this.#o.topicsPerSubscribe} per time`,
      )
      return
    }
    const unknown = symbols.find((s) => !this.#bySymbol.has(s))
    if (unknown !== undefined) {
      this.limited.requestErrors++
      error(404, `topic ${TOPIC}:${unknown} is not found`)
      return
    }
    if (msg.type === 'subscribe') {
      const adding = symbols.filter((s) => !held.has(s))
      if (held.size + new Set(adding).size > this.#o.topicsPerConnection) {
        this.limited.topics++
        error(
          509,
          `exceed max subscription count limitation of ${this.#o.topicsPerConnection} per session`,
        )
        return
      }
      for (const s of adding) {
        held.add(s)
        let subs = this.#subscribers.get(s)
        if (subs === undefined) this.#subscribers.set(s, (subs = new Set()))
        subs.add(client)
      }
    } else {
      for (const s of symbols) {
        held.delete(s)
        this.#subscribers.get(s)?.delete(client)
      }
    }
    if (msg.response === true) this.server.send(JSON.stringify({ id, type: 'ack' }), client)
  }
}

/** A `/market/level2` increment as KuCoin sends it today (with `time`). */
function l2Frame(
  symbol: string,
  start: number,
  end: number,
  bids: unknown[],
  asks: unknown[],
): string {
  return JSON.stringify({
    topic: `${TOPIC}:${symbol}`,
    type: 'message',
    subject: 'trade.l2update',
    data: {
      changes: { asks, bids },
      sequenceEnd: end,
      sequenceStart: start,
      symbol,
      time: Date.now(),
    },
  })
}

/** A `GET /api/v2/symbols` row (the 2025 fields). */
function symbolRow(m: Market): Record<string, unknown> {
  return {
    symbol: m.symbol,
    name: m.symbol,
    baseCurrency: m.base,
    quoteCurrency: m.quote,
    feeCurrency: m.quote,
    market: 'USDS',
    baseMinSize: '0.00001',
    quoteMinSize: '0.1',
    baseMaxSize: '10000000000',
    quoteMaxSize: '99999999',
    baseIncrement: '0.00000001',
    quoteIncrement: '0.000001',
    priceIncrement: '0.01',
    priceLimitRate: '0.1',
    minFunds: '0.1',
    isMarginEnabled: false,
    enableTrading: m.trading,
    st: false,
    callauctionIsEnabled: false,
  }
}
