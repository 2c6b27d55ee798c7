/**
 * @module
 * A simulated MEXC spot v3: `GET /api/v3/exchangeInfo`, `GET /api/v3/ticker/24hr`,
 * `GET /api/v3/depth?symbol=&limit=` (`lastUpdateId`) and the socket's
 * `spot@public.aggre.depth.v3.api.pb@(100ms|10ms)@SYMBOL` channel pushing binary
 * `PushDataV3ApiWrapper` frames (body 313, chained by fromVersion/toVersion) encoded with MEXC's
 * own `.proto` files; acks, PONGs and refusals as JSON text `{"id":0,"code":0,"msg":...}`.
 *
 * MEXC's limits, answered as MEXC answers (docs "Websocket Market Streams" and "Rate Limits", as
 * scraped in rosssaunders/coincise docs/mexc/, 2025-11):
 * - "One ws connection supports a maximum of 30 subscriptions": the 31st channel is refused with
 *   the refusal MEXC sends for any channel it will not serve, `"Not Subscribed successfully!
 *   [<channel>].  Reason： <why>"` with `code` 0 (shape from real refusals, JKorf/Mexc.Net #35;
 *   the reason MEXC gives for this case is not published, the sim's is its own);
 * - "The Websocket limits is: 100times/s ... A connection that goes beyond the limit will be
 *   disconnected": the 101st frame in a second closes the socket;
 * - "If there is no valid subscription on the websocket, the server will actively disconnect
 *   after 30 seconds. If the subscription is successful but there is no data flow, the server
 *   will disconnect after one minute. The client can send a ping": both, configurable;
 * - REST: "Each endpoint with IP limits has an independent 500 every 10 second limit", counted in
 *   weight (depth 1, exchangeInfo 10, ticker/24hr 1 or 40); past it HTTP 429 with Retry-After
 *   ("A Retry-After header is sent with a 418 or 429") and the body `{"code":429,"msg":"Too Many
 *   Requests"}` (MEXC's JSON error shape `{code, msg}`; ccxt maps code 429 "Too Many Requests").
 * Each refusal is counted in `limited`. Faults: lost updates, crossed books, REST snapshot faults,
 * held or canned snapshots, and everything SimServer offers.
 *
 * Also `GET /api/v3/capital/config/getall` (signed; see `serveCapitalConfig`), served from `transfers`.
 */
import type { Credentials } from '../../transfers/types.ts'
import { createHmac } from 'node:crypto'
import type { Client } from '../sim/server.ts'
import type { SimTransfers } from '../sim/transfers.ts'
import { askToCross, SimBook, type Row } from '../sim/book.ts'
import { SimRestVenueBase, SimWindow, type SimSeqMarket } from '../sim/base.ts'
import { simVolume24h, type SimMarket } from '../sim/venue.ts'
import type { Pair } from '../../types.ts'
import { encodePushData } from './proto.ts'
import { MEXC_REFUSAL, mexcCost, symbolOfChannel } from './protocol.ts'

export interface SimMexcOptions {
  /** The version every book starts at (what `/api/v3/depth` answers as `lastUpdateId`). */
  readonly firstVersion?: number
  /** The key `GET /api/v3/capital/config/getall` accepts (test defaults). */
  readonly apiKey?: string
  readonly apiSecret?: string
  /** REST weight allowed per endpoint per window (MEXC: 500 per 10 s). */
  readonly weightPerWindow?: number
  readonly requestWindowMs?: number
  /** Channels one connection may hold (MEXC: 30). */
  readonly subscriptionsPerConnection?: number
  /** Client frames per second per connection before it is cut (MEXC: 100). */
  readonly messagesPerSecond?: number
  /** A socket without a valid subscription is closed after this long (MEXC: 30 s). */
  readonly noSubscriptionCloseMs?: number
  /** A subscribed socket with neither data nor a PING for this long is closed (MEXC: 60 s). */
  readonly noDataCloseMs?: number
}

/** What the sim's limits refused, by kind (zero for a client that keeps them). */
export type MexcLimited = {
  /** REST answers 429: over an endpoint's 500 weight per 10 s. */
  requests: number
  /** Channels refused: over 30 subscriptions on one connection. */
  subscriptions: number
  /** Sockets cut: over 100 frames in a second. */
  messages: number
  /** Sockets closed: no valid subscription within 30 s. */
  unsubscribed: number
  /** Sockets closed: subscribed, but neither data nor a PING for 60 s. */
  silent: number
  /** Requests that are not a method MEXC knows, and channels it does not serve. */
  requestErrors: number
}

/** `seq` is the book's last toVersion. */
interface Market extends SimSeqMarket {
  readonly symbol: string
  readonly pair: Pair
  readonly base: string
  readonly quote: string
  readonly status: string
}

/** What the sim keeps per socket. */
interface Session {
  readonly channels: Set<string>
  readonly frames: SimWindow
  /** Last data pushed, PING received or subscription made (the no-data clock). */
  aliveMs: number
  /** Since when the socket holds no valid subscription. */
  bareSinceMs: number
}

const CHANNEL = /^spot@public\.aggre\.depth\.v3\.api\.pb@(100ms|10ms)@([A-Z0-9]+)$/

/** MEXC's error body for an HTTP status. */
function errorBody(status: number): { code: number; msg: string } {
  if (status === 429) return { code: 429, msg: 'Too Many Requests' }
  if (status >= 500) return { code: status, msg: 'Internal error' }
  return { code: -1121, msg: 'Invalid symbol.' }
}

/** `{"id":0,"code":...,"msg":...}`, every text answer's shape. */
const answer = (msg: string, code = 0): string => JSON.stringify({ id: 0, code, msg })

/**
 * MEXC spot on 127.0.0.1, keyed by unified pair (`BTC/USDT` is `BTCUSDT`).
 * @example
 * ```ts
 * const sim = new SimMexc([{ base: 'BTC', quote: 'USDT', book: makeBook(60000) }])
 * sim.update('BTC/USDT', [['59999.90', '2.0']], [])
 * ```
 */
/** The key and secret the simulated MEXC accepts unless told otherwise (not real ones). */
export const SIM_MEXC_KEY = 'mx0-sim-key'
export const SIM_MEXC_SECRET = 'sim-mexc-secret'

/** MEXC's `[network, netWork]` for the shared network ids, in MEXC's style (else the id twice). */
const MEXC_NAMES: Readonly<Record<string, readonly [string, string]>> = {
  ETH: ['Ethereum(ERC20)', 'ETH'],
  TRX: ['Tron(TRC20)', 'TRX'],
  BSC: ['BNB Smart Chain(BEP20)', 'BSC'],
  SOL: ['Solana(SOL)', 'SOL'],
  BTC: ['Bitcoin(BTC)', 'BTC'],
  AVAXC: ['Avalanche C Chain(AVAX CCHAIN)', 'AVAX_CCHAIN'],
  APT: ['Aptos(APT)', 'APTOS'],
}

/**
 * `GET /api/v3/capital/config/getall` from a sim's transfer state, checked as MEXC checks it: the
 * key in `X-MEXC-APIKEY` (absent or unknown: 400 code 10072), `signature` the hex HMAC-SHA256 of
 * the query before it (absent or wrong: 400 code 700002). Takes the next transfer fault first.
 */
function serveCapitalConfig(
  transfers: SimTransfers,
  url: URL,
  req: Request,
  apiKey: string,
  apiSecret: string,
): Response {
  const faulted = transfers.answerFault('[{"coin":"BTC","networkList":[', errorBody)
  if (faulted !== undefined) return faulted
  if (req.headers.get('x-mexc-apikey') !== apiKey) {
    return Response.json({ code: 10072, msg: 'Api key info invalid' }, { status: 400 })
  }
  const raw = url.search.slice(1)
  const at = raw.lastIndexOf('signature=')
  const signed = at <= 0 ? '' : raw.slice(0, at - 1)
  const signature = at < 0 ? '' : raw.slice(at + 'signature='.length)
  const expected = createHmac('sha256', apiSecret).update(signed).digest('hex')
  if (signature.toLowerCase() !== expected || !url.searchParams.has('timestamp')) {
    const msg = 'Signature for this request is not valid.'
    return Response.json({ code: 700002, msg }, { status: 400 })
  }
  return Response.json(
    transfers.entries().map(([coin, networks]) => ({
      coin,
      Name: coin,
      networkList: networks.map((n) => {
        const [network, netWork] = MEXC_NAMES[n.network] ?? [n.network, n.network]
        return {
          coin,
          depositDesc: null,
          depositEnable: n.deposit,
          minConfirm: 1,
          Name: coin,
          network,
          withdrawEnable: n.withdraw,
          withdrawFee: n.fee.toFixed(18),
          withdrawIntegerMultiple: null,
          withdrawMax: '10000000.000000000000000000',
          withdrawMin: n.min.toFixed(18),
          sameAddress: false,
          contract: n.contract ?? '',
          withdrawTips: null,
          depositTips: null,
          netWork,
        }
      }),
    })),
  )
}

export class SimMexc extends SimRestVenueBase<Market> {
  readonly limited: MexcLimited = {
    requests: 0,
    subscriptions: 0,
    messages: 0,
    unsubscribed: 0,
    silent: 0,
    requestErrors: 0,
  }
  readonly #apiKey: string
  readonly #apiSecret: string
  /** The read-only key this venue accepts (the demo configures the bot with it). */
  get credentials(): Credentials {
    return { key: this.#apiKey, secret: this.#apiSecret }
  }
  readonly #bySymbol = new Map<string, Market>()
  readonly #volumes = new Map<string, number>()
  readonly #weightPerWindow: number
  readonly #requestWindowMs: number
  readonly #subscriptionsPerConnection: number
  readonly #messagesPerSecond: number
  readonly #noSubscriptionCloseMs: number
  readonly #noDataCloseMs: number
  /** One window per REST endpoint (MEXC counts per endpoint). */
  readonly #windows = new Map<string, SimWindow>()
  /** Subscribers of each channel, and each socket's state. */
  readonly #subscribers = new Map<string, Set<Client>>()
  readonly #sessions = new Map<number, Session>()
  #sweep: ReturnType<typeof setInterval> | undefined

  constructor(
    markets: readonly SimMarket[],
    {
      firstVersion = 1000,
      apiKey = SIM_MEXC_KEY,
      apiSecret = SIM_MEXC_SECRET,
      weightPerWindow = 500,
      requestWindowMs = 10_000,
      subscriptionsPerConnection = 30,
      messagesPerSecond = 100,
      noSubscriptionCloseMs = 30_000,
      noDataCloseMs = 60_000,
    }: SimMexcOptions = {},
  ) {
    super('MEXC')
    this.#apiKey = apiKey
    this.#apiSecret = apiSecret
    for (const m of markets) {
      const market: Market = {
        symbol: `${m.base}${m.quote}`.toUpperCase(),
        pair: `${m.base}/${m.quote}`.toUpperCase(),
        base: m.base.toUpperCase(),
        quote: m.quote.toUpperCase(),
        // "1 - online, 2 - Pause, 3 - offline"
        status: m.trading === false ? '2' : '1',
        book: m.book ?? new SimBook(),
        seq: firstVersion,
        history: [],
      }
      this.list(market.pair, market)
      this.#bySymbol.set(market.symbol, market)
      this.#volumes.set(market.symbol, simVolume24h(m))
    }
    this.#weightPerWindow = weightPerWindow
    this.#requestWindowMs = requestWindowMs
    this.#subscriptionsPerConnection = subscriptionsPerConnection
    this.#messagesPerSecond = messagesPerSecond
    this.#noSubscriptionCloseMs = noSubscriptionCloseMs
    this.#noDataCloseMs = noDataCloseMs
  }

  /** The native symbol of a pair (`BTCUSDT`). */
  symbol(pair: Pair): string {
    return this.market(pair).symbol
  }

  /** Channels a client is subscribed to. */
  subscriptionsOf(client: Client): string[] {
    return [...(this.#sessions.get(client.data.id)?.channels ?? [])]
  }

  /** Applies and pushes one update spanning `versions` versions. Returns the encoded frame. */
  update(
    pair: Pair,
    bids: Row[],
    asks: Row[],
    { versions = 1 }: { versions?: number } = {},
  ): Uint8Array {
    const m = this.market(pair)
    this.remember(m)
    const from = m.seq + 1
    m.seq = from + versions - 1
    m.book.apply(bids, asks)
    return this.#push(m, from, m.seq, bids, asks)
  }

  /** Applies one update and consumes its version, but never sends it: the next push shows the gap. */
  lose(pair: Pair, bids: Row[], asks: Row[]): void {
    const m = this.market(pair)
    this.remember(m)
    m.seq++
    m.book.apply(bids, asks)
  }

  /** Pushes a chained update with a bid at the best ask; the venue's book does not take it. */
  pushCrossed(pair: Pair): void {
    const m = this.market(pair)
    const ask = askToCross(m.book, pair)
    m.seq++
    this.#push(m, m.seq, m.seq, [[ask[0], '1']], [])
  }

  /** Sends raw bytes to a symbol's subscribers (every interval), or to every client. */
  pushBytes(symbol: string | undefined, bytes: Uint8Array): void {
    if (symbol === undefined) {
      this.server.sendBytes(bytes)
      return
    }
    for (const c of this.#clientsOf(symbol)) this.server.sendBytes(bytes, c)
  }

  override stop(): void {
    if (this.#sweep !== undefined) clearInterval(this.#sweep)
    this.#sweep = undefined
    super.stop()
  }

  *#clientsOf(symbol: string): Iterable<Client> {
    for (const interval of ['100ms', '10ms']) {
      yield* this.#subscribers.get(`spot@public.aggre.depth.v3.api.pb@${interval}@${symbol}`) ?? []
    }
  }

  /** Encodes one body-313 push per subscribed interval and sends it; returns the 100ms one. */
  #push(m: Market, from: number, to: number, bids: Row[], asks: Row[]): Uint8Array {
    const now = Date.now()
    const item = ([price, quantity]: Row) => ({ price, quantity })
    const encode = (interval: string) =>
      encodePushData({
        channel: `spot@public.aggre.depth.v3.api.pb@${interval}@${m.symbol}`,
        symbol: m.symbol,
        sendTime: now,
        publicAggreDepths: {
          asks: asks.map(item),
          bids: bids.map(item),
          eventType: `spot@public.aggre.depth.v3.api.pb@${interval}`,
          fromVersion: String(from),
          toVersion: String(to),
        },
      })
    const frame = encode('100ms')
    for (const interval of ['100ms', '10ms']) {
      const to = this.#subscribers.get(`spot@public.aggre.depth.v3.api.pb@${interval}@${m.symbol}`)
      if (to === undefined || to.size === 0) continue
      const bytes = interval === '100ms' ? frame : encode(interval)
      for (const c of to) {
        const s = this.#sessions.get(c.data.id)
        if (s !== undefined && !this.server.stalled) s.aliveMs = now
        this.server.sendBytes(bytes, c)
      }
    }
    return frame
  }

  /** Counts one request's weight on its endpoint; MEXC's 429 when the window is full. */
  #spend(url: URL): Response | undefined {
    const path = url.pathname
    let w = this.#windows.get(path)
    if (w === undefined) {
      w = new SimWindow(this.#weightPerWindow, this.#requestWindowMs)
      this.#windows.set(path, w)
    }
    const now = Date.now()
    const weight = mexcCost(url)
    if (w.count(now) + weight <= w.limit) {
      for (let i = 0; i < weight; i++) w.hit(now)
      return undefined
    }
    this.limited.requests++
    const retryAfter = String(Math.ceil(this.#requestWindowMs / 1000))
    return Response.json(errorBody(429), { status: 429, headers: { 'retry-after': retryAfter } })
  }

  #capitalConfig(url: URL, req: Request): Response {
    return serveCapitalConfig(this.transfers, url, req, this.#apiKey, this.#apiSecret)
  }

  protected override async rest(url: URL, req: Request): Promise<Response | undefined> {
    const path = url.pathname
    if (path === '/api/v3/capital/config/getall') {
      const refused = this.#spend(url)
      if (refused) return refused
      return this.#capitalConfig(url, req)
    }
    if (path === '/api/v3/exchangeInfo') {
      const refused = this.#spend(url)
      if (refused) return refused
      const one = url.searchParams.get('symbol')
      const some = url.searchParams.get('symbols')?.split(',')
      const wanted = one !== null ? [one] : some
      const list = wanted === undefined ? this.markets() : wanted.map((s) => this.#bySymbol.get(s))
      if (list.some((m) => m === undefined)) return invalidSymbol()
      return Response.json({
        timezone: 'CST',
        serverTime: Date.now(),
        rateLimits: [],
        exchangeFilters: [],
        symbols: list.map((m) => this.#symbolInfo(m!)),
      })
    }
    if (path === '/api/v3/ticker/24hr') {
      const refused = this.#spend(url)
      if (refused) return refused
      const one = url.searchParams.get('symbol')
      if (one === null) return Response.json(this.markets().map((m) => this.#ticker(m)))
      const m = this.#bySymbol.get(one)
      return m === undefined ? invalidSymbol() : Response.json(this.#ticker(m))
    }
    if (path === '/api/v3/depth') {
      const refused = this.#spend(url)
      if (refused) return refused
      const symbol = url.searchParams.get('symbol') ?? ''
      const m = this.#bySymbol.get(symbol)
      if (m === undefined) return invalidSymbol()
      // "default 100; max 5000"
      const limit = Math.min(5000, Number(url.searchParams.get('limit') ?? '100'))
      if (!Number.isInteger(limit) || limit < 1) {
        return Response.json({ code: 400, msg: 'Invalid limit' }, { status: 400 })
      }
      // A held request shows the book of the moment it is released.
      await this.held()
      const body = (lastUpdateId: number, book: SimBook) => ({
        lastUpdateId,
        bids: book.topBids(limit),
        asks: book.topAsks(limit),
      })
      return this.serveBook(m, symbol, body, errorBody)
    }
    return undefined
  }

  /** One `symbols[]` row of exchangeInfo, shaped like the docs' 2025 example. */
  #symbolInfo(m: Market): Record<string, unknown> {
    return {
      symbol: m.symbol,
      status: m.status,
      baseAsset: m.base,
      baseAssetPrecision: 8,
      quoteAsset: m.quote,
      quotePrecision: 2,
      quoteAssetPrecision: 2,
      baseCommissionPrecision: 8,
      quoteCommissionPrecision: 2,
      orderTypes: ['LIMIT', 'MARKET', 'LIMIT_MAKER'],
      isSpotTradingAllowed: true,
      isMarginTradingAllowed: false,
      quoteAmountPrecision: '1',
      baseSizePrecision: '0.000001',
      permissions: ['SPOT'],
      filters: [],
      maxQuoteAmount: '2000000',
      makerCommission: '0',
      takerCommission: '0.0005',
      quoteAmountPrecisionMarket: '1',
      maxQuoteAmountMarket: '100000',
      fullName: m.base,
      tradeSideType: 1,
      st: false,
    }
  }

  /** A market's 24 h ticker; volumes from its `volume24h`. */
  #ticker(m: Market): Record<string, unknown> {
    const quoteVolume = this.#volumes.get(m.symbol) ?? 0
    const bid = m.book.topBids(1)[0]
    const ask = m.book.topAsks(1)[0]
    const mid = (Number(bid?.[0] ?? 0) + Number(ask?.[0] ?? 0)) / 2
    const last = mid > 0 ? mid.toFixed(8) : '0'
    const now = Date.now()
    return {
      symbol: m.symbol,
      priceChange: '0',
      priceChangePercent: '0',
      prevClosePrice: last,
      lastPrice: last,
      bidPrice: bid?.[0] ?? '',
      bidQty: bid?.[1] ?? '',
      askPrice: ask?.[0] ?? '',
      askQty: ask?.[1] ?? '',
      openPrice: last,
      highPrice: last,
      lowPrice: last,
      volume: (mid > 0 ? quoteVolume / mid : 0).toFixed(8),
      quoteVolume: quoteVolume.toFixed(8),
      openTime: now - 86_400_000,
      closeTime: now,
      count: null,
    }
  }

  protected override onOpen(client: Client): void {
    const now = Date.now()
    this.#sessions.set(client.data.id, {
      channels: new Set(),
      frames: new SimWindow(this.#messagesPerSecond, 1000),
      aliveMs: now,
      bareSinceMs: now,
    })
    if (this.#sweep === undefined) {
      const every = Math.min(this.#noSubscriptionCloseMs, this.#noDataCloseMs) / 4
      this.#sweep = setInterval(() => this.#closeIdle(), Math.max(10, Math.min(1000, every)))
    }
  }

  protected override onClose(client: Client): void {
    const s = this.#sessions.get(client.data.id)
    for (const channel of s?.channels ?? []) this.#subscribers.get(channel)?.delete(client)
    this.#sessions.delete(client.data.id)
    if (this.#sessions.size === 0 && this.#sweep !== undefined) {
      clearInterval(this.#sweep)
      this.#sweep = undefined
    }
  }

  /** Closes the sockets MEXC would: no valid subscription for 30 s, or no data for 60 s. */
  #closeIdle(): void {
    if (this.server.stalled) return
    const now = Date.now()
    for (const c of this.server.clients) {
      const s = this.#sessions.get(c.data.id)
      if (s === undefined) continue
      if (s.channels.size === 0 && now - s.bareSinceMs > this.#noSubscriptionCloseMs) {
        this.limited.unsubscribed++
        this.#forget(c)
        c.close(1000, 'no valid subscription')
      } else if (s.channels.size > 0 && now - s.aliveMs > this.#noDataCloseMs) {
        this.limited.silent++
        this.#forget(c)
        c.close(1000, 'no data')
      }
    }
  }

  /** Stops counting a socket the sim is closing (its close event follows). */
  #forget(client: Client): void {
    this.onClose(client)
  }

  protected override onMessage(client: Client, text: string): void {
    const s = this.#sessions.get(client.data.id)
    if (s === undefined) return
    const now = Date.now()
    if (!s.frames.hit(now)) {
      this.limited.messages++
      this.#forget(client)
      client.close(1008, 'too many messages')
      return
    }
    let msg: { method?: unknown; params?: unknown } | undefined
    try {
      msg = JSON.parse(text) as typeof msg
    } catch {
      msg = undefined
    }
    const reply = (frame: string) => this.server.send(frame, client)
    if (msg?.method === 'PING') {
      s.aliveMs = now
      reply(answer('PONG'))
      return
    }
    const method = msg?.method
    const params = msg?.params
    if (
      (method !== 'SUBSCRIPTION' && method !== 'UNSUBSCRIPTION') ||
      !Array.isArray(params) ||
      !params.every((p) => typeof p === 'string')
    ) {
      this.limited.requestErrors++
      // MEXC's answer to a frame it cannot read is not documented; this one is the sim's.
      reply(answer('Invalid request', 1))
      return
    }
    const channels = params as string[]
    if (method === 'UNSUBSCRIPTION') {
      for (const channel of channels) {
        s.channels.delete(channel)
        this.#subscribers.get(channel)?.delete(client)
      }
      if (s.channels.size === 0) s.bareSinceMs = now
      reply(answer(channels.join(',')))
      return
    }
    const accepted: string[] = []
    const blocked: string[] = []
    const overLimit: string[] = []
    for (const channel of channels) {
      const match = CHANNEL.exec(channel)
      if (match === null || !this.#bySymbol.has(symbolOfChannel(channel))) {
        this.limited.requestErrors++
        blocked.push(channel)
      } else if (s.channels.has(channel)) {
        accepted.push(channel)
      } else if (s.channels.size >= this.#subscriptionsPerConnection) {
        this.limited.subscriptions++
        overLimit.push(channel)
      } else {
        s.channels.add(channel)
        let subs = this.#subscribers.get(channel)
        if (subs === undefined) this.#subscribers.set(channel, (subs = new Set()))
        subs.add(client)
        accepted.push(channel)
      }
    }
    if (accepted.length > 0) {
      s.aliveMs = now
      reply(answer(accepted.join(',')))
    }
    if (blocked.length > 0)
      reply(answer(`${MEXC_REFUSAL} [${blocked.join(',')}].  Reason： Blocked! `))
    if (overLimit.length > 0) {
      const why = `Reason： Exceeded the maximum of ${this.#subscriptionsPerConnection} subscriptions! `
      reply(answer(`${MEXC_REFUSAL} [${overLimit.join(',')}].  ${why}`))
    }
  }
}

/** MEXC's answer for a symbol it does not list. */
function invalidSymbol(): Response {
  return Response.json({ code: -1121, msg: 'Invalid symbol.' }, { status: 400 })
}
