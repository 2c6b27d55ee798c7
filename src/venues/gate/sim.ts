/**
 * @module
 * A simulated Gate API v4 spot: `GET /api/v4/spot/currency_pairs`, `GET /api/v4/spot/tickers`,
 * `GET /api/v4/spot/order_book?currency_pair=&limit=&with_id=true` and the socket's
 * `GET /api/v4/spot/currencies` (deposit/withdrawal flags per chain from `transfers`), the socket's
 * `spot.order_book_update` channel pushing `depthUpdate` results chained by U/u, `spot.ping` →
 * `spot.pong`, acks echoing the request `id`. Error bodies are Gate's `{label, message}`.
 *
 * Gate's limits, answered as Gate answers (Gate API v4 docs "Frequency limit rule", "Server
 * response" and "Error", as scraped in rosssaunders/coincise docs/gateio/, 2025-11):
 * - public REST: 200 requests per 10 s per endpoint per IP; past it HTTP 429
 *   `{"label":"TOO_MANY_REQUESTS"}`; every answer carries `X-Gate-RateLimit-Requests-Remain`,
 *   `X-Gate-RateLimit-Limit` and `X-Gate-RateLimit-Reset-Timestamp` (the docs name the headers;
 *   the 429 body's label is the one Gate's SDKs and ccxt map, not quoted in the docs);
 * - "Number of connections per IP: <= 300": an upgrade past 300 open sockets is answered HTTP 429
 *   (Gate documents the limit, not the answer);
 * - a request whose `time` is more than 60 s from the server's is refused with error code 2
 *   ("Invalid argument provided"; the docs say only that the gap "must not exceed 60 seconds"),
 *   a body that is not a request with code 1 ("Invalid request body format").
 * Faults: lost updates, crossed books, REST snapshot faults, held or canned snapshots, `full`
 * snapshot pushes, and everything SimServer offers.
 */
import type { Client } from '../sim/server.ts'
import { askToCross, SimBook, type Row } from '../sim/book.ts'
import { SimRestVenueBase, SimWindow, type SimSeqMarket } from '../sim/base.ts'
import { simVolume24h, type SimMarket } from '../sim/venue.ts'
import type { SimTransfers } from '../sim/transfers.ts'
import type { Pair } from '../../types.ts'

export interface SimGateOptions {
  /** The update id every book starts at (what `with_id=true` answers as `id`). */
  readonly firstUpdateId?: number
  /** Public REST requests allowed per endpoint per window (Gate: 200 per 10 s). */
  readonly requestsPerWindow?: number
  readonly requestWindowMs?: number
  /** Sockets one IP may hold open (Gate: 300). */
  readonly connectionsPerIp?: number
  /** Largest gap between a request's `time` and the server's, seconds (Gate: 60). */
  readonly maxClockSkewS?: number
}

/** What the sim's limits refused, by kind (zero for a client that keeps them). */
export type GateLimited = {
  /** REST answers 429: over an endpoint's 200 requests per 10 s. */
  requests: number
  /** Upgrades answered 429: more sockets open from the IP than allowed. */
  connections: number
  /** Requests refused for a `time` too far from the server's. */
  clock: number
  /** Requests refused as malformed (code 1) or with a bad argument (code 2, not the clock). */
  requestErrors: number
}

/** `seq` is the book's last update id. */
interface Market extends SimSeqMarket {
  readonly symbol: string
  readonly pair: Pair
  readonly base: string
  readonly quote: string
  readonly status: string
}

const BOOK_CHANNEL = 'spot.order_book_update'
const INTERVALS = new Set(['20ms', '100ms'])

/** Gate's error body for an HTTP status. */
function errorBody(status: number): { label: string; message: string } {
  if (status === 429) return { label: 'TOO_MANY_REQUESTS', message: 'Request Rate limit Exceeded' }
  if (status >= 500) return { label: 'SERVER_ERROR', message: 'Internal server error' }
  return { label: 'INVALID_PARAM_VALUE', message: 'Invalid request parameter' }
}

/**
 * Gate spot on 127.0.0.1, keyed by unified pair (`BTC/USDT` is `BTC_USDT`).
 * @example
 * ```ts
 * const sim = new SimGate([{ base: 'BTC', quote: 'USDT', book: makeBook(60000) }])
 * sim.update('BTC/USDT', [['59999.90', '2.0']], [])
 * ```
 */
export class SimGate extends SimRestVenueBase<Market> {
  readonly limited: GateLimited = { requests: 0, connections: 0, clock: 0, requestErrors: 0 }
  readonly #bySymbol = new Map<string, Market>()
  readonly #volumes = new Map<string, number>()
  readonly #requestsPerWindow: number
  readonly #requestWindowMs: number
  readonly #connectionsPerIp: number
  readonly #maxClockSkewS: number
  /** One window per REST endpoint (Gate counts per endpoint). */
  readonly #windows = new Map<string, SimWindow>()
  /** Subscribers of each native symbol's book channel, and each client's symbols. */
  readonly #subscribers = new Map<string, Set<Client>>()
  readonly #subscriptions = new Map<number, Set<string>>()

  constructor(
    markets: readonly SimMarket[],
    {
      firstUpdateId = 1000,
      requestsPerWindow = 200,
      requestWindowMs = 10_000,
      connectionsPerIp = 300,
      maxClockSkewS = 60,
    }: SimGateOptions = {},
  ) {
    super('Gate')
    for (const m of markets) {
      const market: Market = {
        symbol: `${m.base}_${m.quote}`.toUpperCase(),
        pair: `${m.base}/${m.quote}`.toUpperCase(),
        base: m.base.toUpperCase(),
        quote: m.quote.toUpperCase(),
        status: m.trading === false ? 'untradable' : 'tradable',
        book: m.book ?? new SimBook(),
        seq: firstUpdateId,
        history: [],
      }
      this.list(market.pair, market)
      this.#bySymbol.set(market.symbol, market)
      this.#volumes.set(market.symbol, simVolume24h(m))
    }
    this.#requestsPerWindow = requestsPerWindow
    this.#requestWindowMs = requestWindowMs
    this.#connectionsPerIp = connectionsPerIp
    this.#maxClockSkewS = maxClockSkewS
  }

  /** The native symbol of a pair (`BTC_USDT`). */
  symbol(pair: Pair): string {
    return this.market(pair).symbol
  }

  /** Symbols a client is subscribed to on the book channel. */
  subscriptionsOf(client: Client): string[] {
    return [...(this.#subscriptions.get(client.data.id) ?? [])]
  }

  /** Applies and pushes one update spanning `ids` update ids (U..u). Returns the frame. */
  update(pair: Pair, bids: Row[], asks: Row[], { ids = 1 }: { ids?: number } = {}): string {
    const m = this.market(pair)
    const frame = this.#advance(m, bids, asks, ids)
    this.#push(m.symbol, frame)
    return frame
  }

  /** Applies one update and consumes its id, but never sends it: the next U shows the gap. */
  lose(pair: Pair, bids: Row[], asks: Row[]): string {
    return this.#advance(this.market(pair), bids, asks, 1)
  }

  /** Pushes a chained update with a bid at the best ask; the venue's book does not take it. */
  pushCrossed(pair: Pair): string {
    const m = this.market(pair)
    const ask = askToCross(m.book, pair)
    m.seq++
    const frame = bookFrame({ s: m.symbol, U: m.seq, u: m.seq, b: [[ask[0], '1']], a: [] })
    this.#push(m.symbol, frame)
    return frame
  }

  /**
   * Pushes the whole book as a `full: true` update (the 2025 docs: the client replaces its book),
   * spanning one new update id. Returns the frame.
   */
  pushFull(pair: Pair, levels = 100): string {
    const m = this.market(pair)
    this.remember(m)
    m.seq++
    const frame = bookFrame({
      full: true,
      l: String(levels),
      s: m.symbol,
      U: m.seq,
      u: m.seq,
      b: m.book.topBids(levels),
      a: m.book.topAsks(levels),
    })
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

  #advance(m: Market, bids: Row[], asks: Row[], ids: number): string {
    this.remember(m)
    const U = m.seq + 1
    m.seq = U + ids - 1
    m.book.apply(bids, asks)
    return bookFrame({ s: m.symbol, U, u: m.seq, b: bids, a: asks })
  }

  /** Counts one request on its endpoint; Gate's 429 when the endpoint's window is full. */
  #spend(path: string): Response | undefined {
    let w = this.#windows.get(path)
    if (w === undefined) {
      w = new SimWindow(this.#requestsPerWindow, this.#requestWindowMs)
      this.#windows.set(path, w)
    }
    const now = Date.now()
    if (w.hit(now)) return undefined
    this.limited.requests++
    return Response.json(errorBody(429), { status: 429 })
  }

  /** The rate-limit headers Gate puts on every answer. */
  #headers(res: Response, path: string): void {
    const w = this.#windows.get(path)
    if (w === undefined) return
    const used = w.count()
    res.headers.set('x-gate-ratelimit-limit', String(this.#requestsPerWindow))
    res.headers.set('x-gate-ratelimit-requests-remain', String(Math.max(0, w.limit - used)))
    res.headers.set('x-gate-ratelimit-reset-timestamp', String(Date.now()))
  }

  protected override async rest(url: URL): Promise<Response | undefined> {
    const res = await this.#route(url)
    if (res !== undefined) this.#headers(res, url.pathname)
    return res
  }

  async #route(url: URL): Promise<Response | undefined> {
    const path = url.pathname
    if (path === '/api/v4/spot/currencies') {
      const refused = this.#spend(path)
      if (refused) return refused
      return serveCurrencies(this.transfers)
    }
    if (path === '/api/v4/spot/currency_pairs') {
      const refused = this.#spend(path)
      if (refused) return refused
      return Response.json(
        this.markets().map((m) => ({
          id: m.symbol,
          base: m.base,
          base_name: m.base,
          quote: m.quote,
          quote_name: m.quote,
          fee: '0.2',
          min_base_amount: '0.0001',
          min_quote_amount: '1',
          amount_precision: 4,
          precision: 2,
          trade_status: m.status,
          sell_start: 0,
          buy_start: 0,
          type: 'normal',
        })),
      )
    }
    if (path === '/api/v4/spot/tickers') {
      const refused = this.#spend(path)
      if (refused) return refused
      const one = url.searchParams.get('currency_pair')
      const list = one === null ? this.markets() : [this.#bySymbol.get(one)]
      if (list[0] === undefined) return invalidPair(one ?? '')
      return Response.json(list.map((m) => this.#ticker(m!)))
    }
    if (path === '/api/v4/spot/order_book') {
      const refused = this.#spend(path)
      if (refused) return refused
      const symbol = url.searchParams.get('currency_pair') ?? ''
      const m = this.#bySymbol.get(symbol)
      if (m === undefined) return invalidPair(symbol)
      const limit = Number(url.searchParams.get('limit') ?? '10')
      if (!Number.isInteger(limit) || limit < 1) {
        const message = `Invalid limit ${url.searchParams.get('limit')}`
        return Response.json({ label: 'INVALID_PARAM_VALUE', message }, { status: 400 })
      }
      const withId = url.searchParams.get('with_id') === 'true'
      // A held request shows the book of the moment it is released.
      await this.held()
      const body = (id: number, book: SimBook) => {
        const now = Date.now()
        return {
          ...(withId ? { id } : {}),
          current: now,
          update: now,
          asks: book.topAsks(limit),
          bids: book.topBids(limit),
        }
      }
      return this.serveBook(m, symbol, body, errorBody)
    }
    return undefined
  }

  /** A market's 24 h ticker (`GET /api/v4/spot/tickers`); volumes from its `volume24h`. */
  #ticker(m: Market): Record<string, unknown> {
    const quoteVolume = this.#volumes.get(m.symbol) ?? 0
    const bid = m.book.topBids(1)[0]?.[0] ?? ''
    const ask = m.book.topAsks(1)[0]?.[0] ?? ''
    const mid = (Number(bid) + Number(ask)) / 2
    const last = mid > 0 ? mid.toFixed(8) : '0'
    return {
      currency_pair: m.symbol,
      last,
      lowest_ask: ask,
      highest_bid: bid,
      change_percentage: '0',
      base_volume: (mid > 0 ? quoteVolume / mid : 0).toFixed(8),
      quote_volume: quoteVolume.toFixed(8),
      high_24h: last,
      low_24h: last,
    }
  }

  protected override refuseUpgrade(): Response | undefined {
    if (this.server.clients.size >= this.#connectionsPerIp) {
      this.limited.connections++
      return new Response('Too Many Requests', { status: 429 })
    }
    return undefined
  }

  protected override onOpen(client: Client): void {
    this.#subscriptions.set(client.data.id, new Set())
  }

  protected override onClose(client: Client): void {
    for (const s of this.#subscriptions.get(client.data.id) ?? [])
      this.#subscribers.get(s)?.delete(client)
    this.#subscriptions.delete(client.data.id)
  }

  protected override onMessage(client: Client, text: string): void {
    let msg: { time?: unknown; id?: unknown; channel?: unknown; event?: unknown; payload?: unknown }
    try {
      msg = JSON.parse(text) as typeof msg
    } catch {
      msg = undefined as unknown as typeof msg
    }
    const nowMs = Date.now()
    const id = typeof msg?.id === 'number' ? msg.id : undefined
    const reply = (channel: unknown, event: unknown, error: unknown, result: unknown) =>
      this.server.send(
        JSON.stringify({
          time: Math.floor(nowMs / 1000),
          time_ms: nowMs,
          ...(id === undefined ? {} : { id }),
          channel,
          event,
          error,
          result,
        }),
        client,
      )
    if (msg === null || typeof msg !== 'object' || typeof msg.channel !== 'string') {
      this.limited.requestErrors++
      reply('', '', { code: 1, message: 'Invalid request body format' }, null)
      return
    }
    if (typeof msg.time !== 'number' || Math.abs(msg.time - nowMs / 1000) > this.#maxClockSkewS) {
      this.limited.clock++
      reply(msg.channel, msg.event, { code: 2, message: 'Invalid argument provided' }, null)
      return
    }
    if (msg.channel === 'spot.ping') {
      reply('spot.pong', '', null, null)
      return
    }
    if (
      msg.channel !== BOOK_CHANNEL ||
      (msg.event !== 'subscribe' && msg.event !== 'unsubscribe')
    ) {
      this.limited.requestErrors++
      reply(msg.channel, msg.event, { code: 2, message: 'Invalid argument provided' }, null)
      return
    }
    const payload = Array.isArray(msg.payload) ? msg.payload : []
    const [symbol, interval] = payload as unknown[]
    const m = typeof symbol === 'string' ? this.#bySymbol.get(symbol) : undefined
    if (m === undefined || typeof interval !== 'string' || !INTERVALS.has(interval)) {
      this.limited.requestErrors++
      const message = `Invalid argument provided: ${JSON.stringify(payload)}`
      reply(msg.channel, msg.event, { code: 2, message }, null)
      return
    }
    const held = this.#subscriptions.get(client.data.id)!
    let subs = this.#subscribers.get(m.symbol)
    if (subs === undefined) this.#subscribers.set(m.symbol, (subs = new Set()))
    if (msg.event === 'subscribe') {
      held.add(m.symbol)
      subs.add(client)
    } else {
      held.delete(m.symbol)
      subs.delete(client)
    }
    reply(msg.channel, msg.event, null, { status: 'success' })
  }
}

/** A `spot.order_book_update` push as Gate sends it today. */
function bookFrame(result: {
  full?: boolean
  l?: string
  s: string
  U: number
  u: number
  b: unknown[]
  a: unknown[]
}): string {
  const now = Date.now()
  const { full, l, ...rest } = result
  return JSON.stringify({
    time: Math.floor(now / 1000),
    time_ms: now,
    channel: BOOK_CHANNEL,
    event: 'update',
    result: {
      t: now,
      ...(full ? { full, l } : {}),
      e: 'depthUpdate',
      E: Math.floor(now / 1000),
      ...rest,
    },
  })
}

/** Gate's answer for a currency pair it does not list. */
function invalidPair(symbol: string): Response {
  const message = `Invalid currency pair ${symbol}`
  return Response.json({ label: 'INVALID_CURRENCY_PAIR', message }, { status: 400 })
}

/** Gate's chain names for the shared network ids (the rest are spelt as the id). */
const GATE_CHAINS: Readonly<Record<string, string>> = {
  ARBITRUM: 'ARBEVM',
  OPTIMISM: 'OPETH',
  POLYGON: 'MATIC',
  AVAXC: 'AVAX_C',
  BASE: 'BASEEVM',
}

/**
 * `GET /api/v4/spot/currencies` from the sim's transfer state, in Gate's shape ("Query all
 * currency information": `chains[]` of `{name, addr, withdraw_disabled, withdraw_delayed,
 * deposit_disabled}` beside the deprecated currency-wide flags). Fees are not in this endpoint.
 * Takes the next transfer fault first.
 */
function serveCurrencies(transfers: SimTransfers): Response {
  const faulted = transfers.answerFault('[{"currency":"BTC",', errorBody)
  if (faulted !== undefined) return faulted
  return Response.json(
    transfers.entries().map(([asset, networks]) => ({
      currency: asset,
      name: asset,
      delisted: false,
      withdraw_disabled: networks.length > 0 && networks.every((n) => !n.withdraw),
      withdraw_delayed: false,
      deposit_disabled: networks.length > 0 && networks.every((n) => !n.deposit),
      trade_disabled: false,
      chain:
        networks[0] === undefined ? '' : (GATE_CHAINS[networks[0].network] ?? networks[0].network),
      chains: networks.map((n) => ({
        name: GATE_CHAINS[n.network] ?? n.network,
        addr: n.contract ?? '',
        withdraw_disabled: !n.withdraw,
        withdraw_delayed: false,
        deposit_disabled: !n.deposit,
      })),
    })),
  )
}
