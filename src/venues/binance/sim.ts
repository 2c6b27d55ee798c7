/**
 * @module
 * A simulated Binance spot: `GET /api/v3/exchangeInfo`, `GET /api/v3/depth` and combined streams
 * at `/stream?streams=<sym>@depth@100ms/<sym>@bookTicker/...` pushing `depthUpdate` events chained
 * by U/u and, for every change of the best levels, a `bookTicker` `{u, s, b, B, a, A}` whose `u`
 * is the update id of that change (sent before the diff, as the real-time ticker overtakes the
 * 100 ms diff batch). Binance's limits (5 incoming messages/s per connection, 6,000 REST weight a
 * minute) and error bodies (`{code, msg}`). Faults: lost updates, crossed books, a top changed
 * without its diff (`corruptTop`), REST snapshot faults, held or canned snapshots,
 * serverShutdown, and everything SimServer offers.
 */
import type { Client } from '../sim/server.ts'
import { bumpTop, SimBook, type Row } from '../sim/book.ts'
import { SimRestVenueBase, type SimSeqMarket } from '../sim/base.ts'
import type { SimMarket } from '../sim/venue.ts'
import type { Pair } from '../../types.ts'

export interface SimBinanceOptions {
  /** The `lastUpdateId` every book starts at. */
  readonly firstUpdateId?: number
  /** REST request weight allowed per minute per IP (Binance: 6,000). */
  readonly weightPerMinute?: number
  /** Incoming messages allowed per second per connection (Binance: 5; more disconnects). */
  readonly messagesPerSecond?: number
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

/** Request weight of `GET /api/v3/depth` by `limit` (Binance rest-api.md). */
function depthWeight(limit: number): number {
  if (limit <= 100) return 5
  if (limit <= 500) return 25
  if (limit <= 1000) return 50
  return 250
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

/**
 * Binance spot on 127.0.0.1, keyed by unified pair (`BTC/USDT` is `BTCUSDT`).
 * @example
 * ```ts
 * const sim = new SimBinance([{ base: 'BTC', quote: 'USDT', book: makeBook(60000) }])
 * sim.update('BTC/USDT', [['59999.90', '2.0']], [])
 * ```
 */
export class SimBinance extends SimRestVenueBase<Market> {
  readonly #bySymbol = new Map<string, Market>()
  readonly #weightPerMinute: number
  readonly #messagesPerSecond: number
  /** REST weight spent, by request time (ms). */
  readonly #weights: { atMs: number; weight: number }[] = []
  /** Recent incoming message times per client id. */
  readonly #inbound = new Map<number, number[]>()

  constructor(
    markets: readonly SimMarket[],
    { firstUpdateId = 1000, weightPerMinute = 6000, messagesPerSecond = 5 }: SimBinanceOptions = {},
  ) {
    super('Binance')
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
    }
    this.#weightPerMinute = weightPerMinute
    this.#messagesPerSecond = messagesPerSecond
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

  /** Streams a client subscribed to through its URL. */
  streamsOf(client: Client): string[] {
    const q = new URL(`http://x${client.data.path}`).searchParams.get('streams') ?? ''
    return q.split('/').filter(Boolean)
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
    const ask = this.market(pair).book.topAsks(1)[0]
    if (ask === undefined) throw new Error(`${pair} has no ask to cross`)
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
    for (const c of this.server.clients) {
      if (stream === undefined || this.streamsOf(c).includes(stream)) this.server.send(frame, c)
    }
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

  /** Spends REST weight; false when the minute's budget is gone (then nothing is spent). */
  #spend(weight: number): boolean {
    const now = Date.now()
    while (this.#weights.length > 0 && this.#weights[0]!.atMs <= now - 60_000) this.#weights.shift()
    const used = this.#weights.reduce((sum, w) => sum + w.weight, 0)
    if (used + weight > this.#weightPerMinute) return false
    this.#weights.push({ atMs: now, weight })
    return true
  }

  protected override async rest(url: URL): Promise<Response | undefined> {
    if (url.pathname === '/api/v3/exchangeInfo') {
      if (!this.#spend(20)) return tooMuchWeight()
      return Response.json({
        timezone: 'UTC',
        serverTime: Date.now(),
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
      if (!this.#spend(depthWeight(limit))) return tooMuchWeight()
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
    return undefined
  }

  protected override onMessage(client: Client, text: string): void {
    // More than the allowed incoming messages in a second: Binance drops the connection.
    const now = Date.now()
    const times = (this.#inbound.get(client.data.id) ?? []).filter((t) => t > now - 1000)
    times.push(now)
    this.#inbound.set(client.data.id, times)
    if (times.length > this.#messagesPerSecond) {
      client.close(1008, 'Too many requests')
      return
    }
    let msg: { method?: unknown; id?: unknown }
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
      case 'UNSUBSCRIBE':
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

function tooMuchWeight(): Response {
  return Response.json(errorBody(429), { status: 429, headers: { 'retry-after': '60' } })
}

/** The best levels as one comparable string. */
function topOf(book: SimBook): string {
  return JSON.stringify([book.topBids(1)[0], book.topAsks(1)[0]])
}
