/**
 * @module
 * A simulated Binance spot: `GET /api/v3/exchangeInfo`, `GET /api/v3/depth`, `GET
 * /api/v3/ticker/24hr` and combined streams at `/stream?streams=<sym>@depth@100ms/<sym>@bookTicker/...`
 * pushing `depthUpdate` events chained by U/u and, for every change of the best levels, a
 * `bookTicker` `{u, s, b, B, a, A}` whose `u` is the update id of that change (sent before the diff,
 * as the real-time ticker overtakes the 100 ms diff batch). Error bodies are Binance's `{code, msg}`.
 *
 * Binance's limits, answered as Binance answers (binance/binance-spot-api-docs rest-api.md "IP
 * Limits", web-socket-streams.md "WebSocket Limits", commit a5e0bc3d, 2026-07):
 * - REST weight per IP per minute (6,000; `exchangeInfo` 20, `depth` 5/25/50/250 by limit,
 *   `ticker/24hr` 2/40/80), counted per fixed minute and reported in `X-MBX-USED-WEIGHT-1M` on
 *   every answer; over it a 429 with `Retry-After` (seconds to the minute's end) and code -1003;
 *   any request before that time is a 418 (an IP ban, 2 minutes at first, doubling for repeat
 *   offenders up to 3 days) with `Retry-After` until the ban ends;
 * - 5 incoming messages a second per connection (more closes it, 1008);
 * - 1,024 streams per connection: a socket opened with more is closed (1008) and a SUBSCRIBE
 *   past it answered `{"error":{"code":4,"msg":"Too many subscriptions"}}`; Binance documents no
 *   answer, this one is what it sent in 2020 (oliver-zehentleitner/unicorn-binance-websocket-api
 *   issue #17);
 * - 300 connections per 5 minutes per IP: upgrades past it are answered HTTP 429 (the answer is
 *   not documented);
 * - a request target longer than Binance accepts is refused (414): measured at 8,004 characters in
 *   2019 and about 16,000 in 2020 (unicorn-binance-websocket-api issues #17 and #120); the sim
 *   takes the stricter 8,004, the bound the adapter's shards keep to.
 * Pushes go only to a stream's subscribers (an index kept per stream), so thousands of markets
 * and many clients cost nothing per message beyond the sends. Faults: lost updates, crossed books,
 * a top changed without its diff (`corruptTop`), REST snapshot faults, held or canned snapshots,
 * serverShutdown, and everything SimServer offers.
 *
 * Also `GET /sapi/v1/capital/config/getall` (signed; see `#capitalConfig`), served from `transfers`.
 */
import type { Credentials } from '../../transfers/types.ts'
import { createHmac } from 'node:crypto'
import type { Client } from '../sim/server.ts'
import { askToCross, bumpTop, SimBook, type Row } from '../sim/book.ts'
import { SimRestVenueBase, SimWindow, type SimSeqMarket } from '../sim/base.ts'
import { simVolume24h, type SimMarket } from '../sim/venue.ts'
import type { Pair } from '../../types.ts'

export interface SimBinanceOptions {
  /** The `lastUpdateId` every book starts at. */
  readonly firstUpdateId?: number
  /** The read-only key `GET /sapi/v1/capital/config/getall` accepts (test defaults). */
  readonly apiKey?: string
  readonly apiSecret?: string
  /** REST request weight allowed per window per IP (Binance: 6,000 a minute). */
  readonly weightPerMinute?: number
  /** The weight window, ms, counted per fixed window (Binance: one minute; tests shorten it). */
  readonly weightWindowMs?: number
  /** The first IP ban's length, ms (Binance: 2 minutes, longer for repeat offenders). */
  readonly banMs?: number
  /** Incoming messages allowed per second per connection (Binance: 5; more disconnects). */
  readonly messagesPerSecond?: number
  /** Streams one connection may carry (Binance: 1,024). */
  readonly streamsPerConnection?: number
  /** New connections allowed per IP per `connectWindowMs` (Binance: 300 per 5 minutes). */
  readonly connectsPerWindow?: number
  readonly connectWindowMs?: number
  /** The longest WebSocket request target accepted (see the module notes). */
  readonly maxUrlChars?: number
}

/** What the sim's limits refused, by kind (tests and the benchmark expect zeros of the product). */
export type BinanceLimited = {
  /** REST answers 429: over the weight budget. */
  throttled: number
  /** REST answers 418: a request during a 429's Retry-After, or during a ban. */
  banned: number
  /** Upgrades answered 429: over the connection rate. */
  connects: number
  /** Upgrades answered 414: a request target too long. */
  urls: number
  /** Sockets closed, or SUBSCRIBEs refused, for more streams than a connection may carry. */
  streams: number
  /** Sockets closed for more incoming messages a second than allowed. */
  messages: number
}

export interface BinanceUpdateOptions {
  /** How many update ids this event spans (U..u). */
  readonly ids?: number
}

/** `seq` is the book's `lastUpdateId`. */
interface Market extends SimSeqMarket {
  readonly symbol: string
  readonly pair: Pair
  readonly base: string
  readonly quote: string
  readonly status: string
}

/** Request weight of `GET /api/v3/depth` by `limit` (Binance rest-api.md "Order book"). */
function depthWeight(limit: number): number {
  if (limit <= 100) return 5
  if (limit <= 500) return 25
  if (limit <= 1000) return 50
  return 250
}

/** Request weight of `GET /api/v3/ticker/24hr` (rest-api.md "24hr ticker price change statistics"). */
function tickerWeight(url: URL): number {
  if (url.searchParams.has('symbol')) return 2
  const symbols = url.searchParams.get('symbols')
  if (symbols === null) return 80
  const n = symbols.split(',').length
  return n <= 20 ? 2 : n <= 100 ? 40 : 80
}

/** Binance's error body for an HTTP status. */
function errorBody(status: number): { code: number; msg: string } {
  if (status === 429 || status === 418) {
    return { code: -1003, msg: 'Too much request weight used; please use WebSocket Streams.' }
  }
  if (status >= 500) {
    return { code: -1001, msg: 'Internal error; unable to process your request. Please try again.' }
  }
  return { code: -1000, msg: 'An unknown error occurred while processing the request.' }
}

/** The longest ban Binance gives (rest-api.md: "from 2 minutes to 3 days"). */
const MAX_BAN_MS = 3 * 24 * 60 * 60 * 1000

/**
 * Binance spot on 127.0.0.1, keyed by unified pair (`BTC/USDT` is `BTCUSDT`).
 * @example
 * ```ts
 * const sim = new SimBinance([{ base: 'BTC', quote: 'USDT', book: makeBook(60000) }])
 * sim.update('BTC/USDT', [['59999.90', '2.0']], [])
 * ```
 */
/** The key and secret the simulated Binance accepts unless told otherwise (not real ones). */
export const SIM_BINANCE_KEY = 'sim-binance-key'
export const SIM_BINANCE_SECRET = 'sim-binance-secret'

export class SimBinance extends SimRestVenueBase<Market> {
  readonly limited: BinanceLimited = {
    throttled: 0,
    banned: 0,
    connects: 0,
    urls: 0,
    streams: 0,
    messages: 0,
  }
  readonly #apiKey: string
  readonly #apiSecret: string
  /** The read-only key this venue accepts (the demo configures the bot with it). */
  get credentials(): Credentials {
    return { key: this.#apiKey, secret: this.#apiSecret }
  }
  readonly #bySymbol = new Map<string, Market>()
  /** The 24 h quote volume each market's ticker reports, by symbol. */
  readonly #volumes = new Map<string, number>()
  readonly #weightLimit: number
  readonly #weightWindowMs: number
  readonly #banMs: number
  readonly #messagesPerSecond: number
  readonly #streamsPerConnection: number
  readonly #maxUrlChars: number
  readonly #connects: SimWindow
  /** Weight used in the current fixed window, and when that window started. */
  #used = 0
  #windowStartMs = 0
  /** Until when a 429's Retry-After runs, and until when the IP is banned. */
  #retryUntilMs = 0
  #bannedUntilMs = 0
  #bans = 0
  /** Recent incoming message times per client id. */
  readonly #inbound = new Map<number, number[]>()
  /** Each client's streams, by client id, and each stream's clients. */
  readonly #streams = new Map<number, Set<string>>()
  readonly #subscribers = new Map<string, Set<Client>>()

  constructor(
    markets: readonly SimMarket[],
    {
      firstUpdateId = 1000,
      apiKey = SIM_BINANCE_KEY,
      apiSecret = SIM_BINANCE_SECRET,
      weightPerMinute = 6000,
      weightWindowMs = 60_000,
      banMs = 120_000,
      messagesPerSecond = 5,
      streamsPerConnection = 1024,
      connectsPerWindow = 300,
      connectWindowMs = 300_000,
      maxUrlChars = 8004,
    }: SimBinanceOptions = {},
  ) {
    super('Binance')
    this.#apiKey = apiKey
    this.#apiSecret = apiSecret
    for (const m of markets) {
      const market: Market = {
        symbol: `${m.base}${m.quote}`.toUpperCase(),
        pair: `${m.base}/${m.quote}`.toUpperCase(),
        base: m.base.toUpperCase(),
        quote: m.quote.toUpperCase(),
        status: m.trading === false ? 'BREAK' : 'TRADING',
        book: m.book ?? new SimBook(),
        seq: firstUpdateId,
        history: [],
      }
      this.list(market.pair, market)
      this.#bySymbol.set(market.symbol, market)
      this.#volumes.set(market.symbol, simVolume24h(m))
    }
    this.#weightLimit = weightPerMinute
    this.#weightWindowMs = weightWindowMs
    this.#banMs = banMs
    this.#messagesPerSecond = messagesPerSecond
    this.#streamsPerConnection = streamsPerConnection
    this.#maxUrlChars = maxUrlChars
    this.#connects = new SimWindow(connectsPerWindow, connectWindowMs)
  }

  /** The REST weight counted in the current window (what `X-MBX-USED-WEIGHT-1M` says). */
  get usedWeight(): number {
    this.#roll(Date.now())
    return this.#used
  }

  /** The native symbol of a pair (`BTCUSDT`). */
  symbol(pair: Pair): string {
    return this.market(pair).symbol
  }

  /** The stream name a pair's updates go out on (`btcusdt@depth@100ms`). */
  stream(pair: Pair): string {
    return `${this.symbol(pair).toLowerCase()}@depth@100ms`
  }

  /** The stream a pair's best levels go out on (`btcusdt@bookTicker`). */
  tickerStream(pair: Pair): string {
    return `${this.symbol(pair).toLowerCase()}@bookTicker`
  }

  /** Streams a client holds (from its URL, then SUBSCRIBE/UNSUBSCRIBE). */
  streamsOf(client: Client): string[] {
    return [...(this.#streams.get(client.data.id) ?? [])]
  }

  /** Applies and pushes one depthUpdate spanning `ids` update ids. Returns the frame. */
  update(pair: Pair, bids: Row[], asks: Row[], { ids = 1 }: BinanceUpdateOptions = {}): string {
    const m = this.market(pair)
    const before = topOf(m.book)
    const frame = this.#advance(m, bids, asks, ids)
    // The levels of a multi-id event are taken to change at its last id.
    if (topOf(m.book) !== before) this.#pushTicker(m)
    this.pushToStream(this.stream(pair), frame)
    return frame
  }

  /**
   * A diff applied wrongly: the venue changes its best bid's quantity (or best ask's) at a new
   * update id, sends the bookTicker for it, but the chained diff for that id omits the level. The
   * diff stream alone cannot show it; only the cross-check can. Returns the (empty) diff sent.
   */
  corruptTop(pair: Pair, side: 'bid' | 'ask' = 'bid'): string {
    const m = this.market(pair)
    const { bids: changedBids, asks: changedAsks } = bumpTop(m.book, pair, side)
    this.#advance(m, changedBids, changedAsks, 1)
    this.#pushTicker(m)
    const frame = depthFrame(m.symbol, m.seq, m.seq, [], [])
    this.pushToStream(this.stream(pair), frame)
    return frame
  }

  /** Sends the market's best levels at its current update id on its bookTicker stream. */
  #pushTicker(m: Market): void {
    const [b = '0.00000000', B = '0.00000000'] = m.book.topBids(1)[0] ?? []
    const [a = '0.00000000', A = '0.00000000'] = m.book.topAsks(1)[0] ?? []
    const data = { u: m.seq, s: m.symbol, b, B, a, A }
    this.pushToStream(
      this.tickerStream(m.pair),
      JSON.stringify({ stream: this.tickerStream(m.pair), data }),
    )
  }

  /** Applies one update and consumes its id, but never sends it: the next U shows the gap. */
  lose(pair: Pair, bids: Row[], asks: Row[]): string {
    return this.#advance(this.market(pair), bids, asks, 1)
  }

  /** Pushes a chained update with a bid at the best ask; the venue's book does not take it. */
  pushCrossed(pair: Pair): string {
    const ask = askToCross(this.market(pair).book, pair)
    return this.inject(pair, [[ask[0], '1.00000000']], [])
  }

  /**
   * Pushes a correctly chained depthUpdate whose levels the venue's own book does NOT take (bad
   * prices, a crossing level): it consumes an update id, so the next update follows it.
   */
  inject(pair: Pair, bids: unknown[], asks: unknown[]): string {
    const m = this.market(pair)
    m.seq++
    const frame = depthFrame(m.symbol, m.seq, m.seq, bids, asks)
    this.pushToStream(this.stream(pair), frame)
    return frame
  }

  /** Sends a raw frame to every client subscribed to `stream` (or to all with no stream). */
  pushToStream(stream: string | undefined, frame: string): void {
    const to = stream === undefined ? this.server.clients : this.#subscribers.get(stream)
    for (const c of to ?? []) this.server.send(frame, c)
  }

  /** The event Binance sends before a server goes down: clients reconnect. */
  serverShutdown(): void {
    this.server.send(
      JSON.stringify({ stream: '!serverShutdown', data: { e: 'serverShutdown', E: Date.now() } }),
    )
  }

  #advance(m: Market, bids: Row[], asks: Row[], ids: number): string {
    this.remember(m)
    const U = m.seq + 1
    m.seq = U + ids - 1
    m.book.apply(bids, asks)
    return depthFrame(m.symbol, U, m.seq, bids, asks)
  }

  /** Starts a new fixed weight window when the current one has ended. */
  #roll(now: number): void {
    const start = Math.floor(now / this.#weightWindowMs) * this.#weightWindowMs
    if (start !== this.#windowStartMs) {
      this.#windowStartMs = start
      this.#used = 0
    }
  }

  /**
   * Spends REST weight; returns Binance's refusal instead when the IP is banned, asked to wait
   * (sending now earns a ban) or over the window's budget (then nothing is spent).
   */
  #spend(weight: number): Response | undefined {
    const now = Date.now()
    this.#roll(now)
    if (now < this.#bannedUntilMs || now < this.#retryUntilMs) {
      if (now >= this.#bannedUntilMs) {
        this.#bannedUntilMs = now + Math.min(MAX_BAN_MS, this.#banMs * 2 ** this.#bans++)
      }
      this.limited.banned++
      const msg =
        `Way too much request weight used; IP banned until ${this.#bannedUntilMs}. ` +
        'Please use WebSocket Streams for live updates to avoid bans.'
      return refusal(418, msg, this.#bannedUntilMs - now)
    }
    if (this.#used + weight > this.#weightLimit) {
      this.#retryUntilMs = this.#windowStartMs + this.#weightWindowMs
      this.limited.throttled++
      const msg =
        `Too much request weight used; current limit is ${this.#weightLimit} request weight ` +
        'per 1 MINUTE. Please use WebSocket Streams for live updates to avoid polling the API.'
      return refusal(429, msg, this.#retryUntilMs - now)
    }
    this.#used += weight
    return undefined
  }

  protected override async rest(url: URL, req: Request): Promise<Response | undefined> {
    const res = await this.#route(url, req)
    // Every answer says how much weight the IP has used in the current window.
    res?.headers.set('x-mbx-used-weight-1m', String(this.#used))
    return res
  }

  async #route(url: URL, req: Request): Promise<Response | undefined> {
    if (url.pathname === '/sapi/v1/capital/config/getall') {
      const refused = this.#spend(10)
      if (refused) return refused
      return this.#capitalConfig(url, req)
    }
    if (url.pathname === '/api/v3/exchangeInfo') {
      const refused = this.#spend(20)
      if (refused) return refused
      return Response.json({
        timezone: 'UTC',
        serverTime: Date.now(),
        rateLimits: [
          {
            rateLimitType: 'REQUEST_WEIGHT',
            interval: 'MINUTE',
            intervalNum: 1,
            limit: this.#weightLimit,
          },
        ],
        symbols: this.markets().map((m) => ({
          symbol: m.symbol,
          status: m.status,
          baseAsset: m.base,
          quoteAsset: m.quote,
        })),
      })
    }
    if (url.pathname === '/api/v3/depth') {
      const limit = Number(url.searchParams.get('limit') ?? '100')
      if (!Number.isInteger(limit) || limit < 1 || limit > 5000) {
        const msg = "Illegal characters found in parameter 'limit'; legal range is '1-5000'."
        return Response.json({ code: -1100, msg }, { status: 400 })
      }
      const refused = this.#spend(depthWeight(limit))
      if (refused) return refused
      const m = this.#bySymbol.get(url.searchParams.get('symbol') ?? '')
      if (!m) return Response.json({ code: -1121, msg: 'Invalid symbol.' }, { status: 400 })
      // A held request shows the book of the moment it is released.
      await this.held()
      const body = (id: number, book: SimBook) => ({
        lastUpdateId: id,
        bids: book.topBids(limit),
        asks: book.topAsks(limit),
      })
      return this.serveBook(m, m.symbol, body, errorBody)
    }
    if (url.pathname === '/api/v3/ticker/24hr') {
      const refused = this.#spend(tickerWeight(url))
      if (refused) return refused
      const one = url.searchParams.get('symbol')
      if (one !== null) {
        const m = this.#bySymbol.get(one)
        if (!m) return Response.json({ code: -1121, msg: 'Invalid symbol.' }, { status: 400 })
        return Response.json(this.#ticker(m, url.searchParams.get('type') === 'MINI'))
      }
      const mini = url.searchParams.get('type') === 'MINI'
      return Response.json(this.markets().map((m) => this.#ticker(m, mini)))
    }
    return undefined
  }

  /**
   * `GET /sapi/v1/capital/config/getall` from `transfers`, signed as Binance checks it: the key in
   * `X-MBX-APIKEY` (absent: 401 -2014; unknown: 401 -2015), `signature` the hex HMAC-SHA256 of
   * the query before it (absent: 400 -1102; wrong: 400 -1022), `timestamp` required (-1102).
   * Takes the next transfer fault first.
   */
  #capitalConfig(url: URL, req: Request): Response {
    const transfers = this.transfers
    const faulted = transfers.answerFault('[{"coin":"BTC","networkList":[', errorBody)
    if (faulted !== undefined) return faulted
    const key = req.headers.get('x-mbx-apikey')
    if (key === null || key === '') {
      return Response.json({ code: -2014, msg: 'API-key format invalid.' }, { status: 401 })
    }
    if (key !== this.#apiKey) {
      const msg = 'Invalid API-key, IP, or permissions for action.'
      return Response.json({ code: -2015, msg }, { status: 401 })
    }
    const raw = url.search.slice(1)
    const at = raw.lastIndexOf('signature=')
    const signed = at <= 0 ? '' : raw.slice(0, at - 1)
    const signature = at < 0 ? '' : raw.slice(at + 'signature='.length)
    if (signature === '' || !url.searchParams.has('timestamp')) {
      const name = signature === '' ? 'signature' : 'timestamp'
      const msg = `Mandatory parameter '${name}' was not sent, was empty/null, or malformed.`
      return Response.json({ code: -1102, msg }, { status: 400 })
    }
    const expected = createHmac('sha256', this.#apiSecret).update(signed).digest('hex')
    // HMAC signatures are not case-sensitive (rest-api.md "Signature Case Sensitivity").
    if (signature.toLowerCase() !== expected) {
      const msg = 'Signature for this request is not valid.'
      return Response.json({ code: -1022, msg }, { status: 400 })
    }
    return Response.json(
      transfers.entries().map(([coin, networks]) => ({
        coin,
        depositAllEnable: networks.some((n) => n.deposit),
        withdrawAllEnable: networks.some((n) => n.withdraw),
        name: coin,
        free: '0',
        locked: '0',
        isLegalMoney: networks.length === 0,
        trading: true,
        networkList: networks.map((n, i) => ({
          network: n.network,
          coin,
          withdrawIntegerMultiple: '0.00000001',
          isDefault: i === 0,
          depositEnable: n.deposit,
          withdrawEnable: n.withdraw,
          depositDesc: n.deposit ? '' : 'Wallet Maintenance, Deposit Suspended',
          withdrawDesc: n.withdraw ? '' : 'Wallet Maintenance, Withdrawal Suspended',
          name: n.network,
          withdrawFee: String(n.fee),
          withdrawMin: String(n.min),
          withdrawMax: '9999999999',
          minConfirm: 1,
          unLockConfirm: 0,
          sameAddress: false,
          withdrawTag: false,
          busy: false,
          contractAddress: n.contract ?? '',
        })),
      })),
    )
  }

  /** A market's 24 h ticker, FULL or MINI (rest-api.md); volumes from its `volume24h`. */
  #ticker(m: Market, mini: boolean): Record<string, unknown> {
    const quoteVolume = this.#volumes.get(m.symbol) ?? 0
    const [bid = '0.00000000', bidQty = '0.00000000'] = m.book.topBids(1)[0] ?? []
    const [ask = '0.00000000', askQty = '0.00000000'] = m.book.topAsks(1)[0] ?? []
    const mid = (Number(bid) + Number(ask)) / 2
    const last = mid > 0 ? mid.toFixed(8) : '0.00000000'
    const now = Date.now()
    const common = {
      symbol: m.symbol,
      openPrice: last,
      highPrice: last,
      lowPrice: last,
      lastPrice: last,
      volume: (mid > 0 ? quoteVolume / mid : 0).toFixed(8),
      quoteVolume: quoteVolume.toFixed(8),
      openTime: now - 86_400_000,
      closeTime: now,
      firstId: 1,
      lastId: 100,
      count: 100,
    }
    if (mini) return common
    return {
      ...common,
      priceChange: '0.00000000',
      priceChangePercent: '0.000',
      weightedAvgPrice: last,
      prevClosePrice: last,
      lastQty: '1.00000000',
      bidPrice: bid,
      bidQty,
      askPrice: ask,
      askQty,
    }
  }

  protected override refuseUpgrade(url: URL): Response | undefined {
    if (url.pathname.length + url.search.length > this.#maxUrlChars) {
      this.limited.urls++
      return new Response('URI Too Long', { status: 414 })
    }
    if (!this.#connects.hit()) {
      this.limited.connects++
      return new Response('Too Many Requests', { status: 429 })
    }
    return undefined
  }

  protected override onOpen(client: Client): void {
    const path = client.data.path
    const q = path.indexOf('?')
    const names = path.startsWith('/ws/')
      ? path.slice(4, q < 0 ? undefined : q).split('/')
      : (new URLSearchParams(q < 0 ? '' : path.slice(q)).get('streams') ?? '').split('/')
    const streams = new Set(names.filter(Boolean))
    this.#streams.set(client.data.id, new Set())
    if (streams.size > this.#streamsPerConnection) {
      this.limited.streams++
      client.close(1008, 'Too many subscriptions')
      return
    }
    this.#add(client, streams)
  }

  protected override onClose(client: Client): void {
    for (const s of this.#streams.get(client.data.id) ?? [])
      this.#subscribers.get(s)?.delete(client)
    this.#streams.delete(client.data.id)
    this.#inbound.delete(client.data.id)
  }

  #add(client: Client, streams: Iterable<string>): void {
    const held = this.#streams.get(client.data.id)!
    for (const s of streams) {
      held.add(s)
      let subs = this.#subscribers.get(s)
      if (subs === undefined) this.#subscribers.set(s, (subs = new Set()))
      subs.add(client)
    }
  }

  protected override onMessage(client: Client, text: string): void {
    // More than the allowed incoming messages in a second: Binance drops the connection.
    const now = Date.now()
    const times = (this.#inbound.get(client.data.id) ?? []).filter((t) => t > now - 1000)
    times.push(now)
    this.#inbound.set(client.data.id, times)
    if (times.length > this.#messagesPerSecond) {
      this.limited.messages++
      client.close(1008, 'Too many requests')
      return
    }
    let msg: { method?: unknown; params?: unknown; id?: unknown }
    try {
      msg = JSON.parse(text) as typeof msg
    } catch {
      this.server.send(
        JSON.stringify({ error: { code: 3, msg: 'Invalid JSON' }, id: null }),
        client,
      )
      return
    }
    const id = msg?.id ?? null
    switch (msg?.method) {
      case 'LIST_SUBSCRIPTIONS':
        this.server.send(JSON.stringify({ result: this.streamsOf(client), id }), client)
        return
      case 'SUBSCRIBE':
      case 'UNSUBSCRIBE': {
        const params = Array.isArray(msg.params)
          ? msg.params.filter((p) => typeof p === 'string')
          : []
        const held = this.#streams.get(client.data.id)!
        if (msg.method === 'UNSUBSCRIBE') {
          for (const p of params) {
            held.delete(p)
            this.#subscribers.get(p)?.delete(client)
          }
        } else if (new Set([...held, ...params]).size > this.#streamsPerConnection) {
          this.limited.streams++
          const error = { code: 4, msg: 'Too many subscriptions' }
          this.server.send(JSON.stringify({ error, id }), client)
          return
        } else this.#add(client, params)
        this.server.send(JSON.stringify({ result: null, id }), client)
        return
      }
      case 'SET_PROPERTY':
        this.server.send(JSON.stringify({ result: null, id }), client)
        return
      default: {
        const error = { code: 2, msg: `Invalid request: unknown method ${String(msg?.method)}` }
        this.server.send(JSON.stringify({ error, id }), client)
      }
    }
  }
}

function depthFrame(symbol: string, U: number, u: number, b: unknown[], a: unknown[]): string {
  const data = { e: 'depthUpdate', E: Date.now(), s: symbol, U, u, b, a }
  return JSON.stringify({ stream: `${symbol.toLowerCase()}@depth@100ms`, data })
}

/** A 429 or 418 as Binance sends it: code -1003 and `Retry-After` in whole seconds. */
function refusal(status: 429 | 418, msg: string, waitMs: number): Response {
  const headers = { 'retry-after': String(Math.max(1, Math.ceil(waitMs / 1000))) }
  return Response.json({ code: -1003, msg }, { status, headers })
}

/** The best levels as one comparable string. */
function topOf(book: SimBook): string {
  return JSON.stringify([book.topBids(1)[0], book.topAsks(1)[0]])
}
