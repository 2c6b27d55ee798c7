/**
 * @module
 * A fake Binance spot: `GET /api/v3/exchangeInfo`, `GET /api/v3/depth`, and combined streams at
 * `/stream?streams=<sym>@depth@100ms/...` pushing `depthUpdate` events with a contiguous U/u chain.
 * Faults: sequence gaps, stale snapshots, held snapshots, garbage, serverShutdown, and everything
 * ExchangeServer offers.
 */
import { ExchangeServer, type Client } from './exchange-server.ts'
import { SimBook, type Row } from './sim-book.ts'

export interface BinanceMarket {
  symbol: string
  base: string
  quote: string
  book?: SimBook
  status?: string
}

interface State {
  market: BinanceMarket
  book: SimBook
  lastUpdateId: number
  /** Snapshots taken earlier, served first when `staleSnapshots` > 0. */
  history: { id: number; book: SimBook }[]
}

export class FakeBinance {
  readonly server: ExchangeServer
  readonly state = new Map<string, State>()
  /** Serve this many snapshots from before the oldest update a client could hold. */
  staleSnapshots = 0
  /** While set, depth requests wait for `releaseSnapshots()`. */
  holdSnapshots = false
  /** Captured REST bodies to serve instead of the simulated book, by symbol. */
  readonly cannedSnapshots = new Map<string, string>()
  #held: (() => void)[] = []

  constructor(markets: BinanceMarket[]) {
    for (const m of markets) {
      this.state.set(m.symbol, {
        market: m,
        book: m.book ?? new SimBook(),
        lastUpdateId: 1000,
        history: [],
      })
    }
    this.server = new ExchangeServer({
      rest: (url) => this.#rest(url),
      onMessage: (client, text) => this.#onMessage(client, text),
    })
  }

  get wsUrl(): string {
    return this.server.wsUrl
  }
  get restUrl(): string {
    return this.server.restUrl
  }

  /** Streams a client subscribed to through its URL. */
  streamsOf(client: Client): string[] {
    const q = new URL(`http://x${client.data.path}`).searchParams.get('streams') ?? ''
    return q.split('/').filter(Boolean)
  }

  /**
   * Applies and pushes one depthUpdate. `skip` leaves that many update ids out first (a gap);
   * `ids` is how many ids this event spans.
   */
  update(symbol: string, bids: Row[], asks: Row[], { skip = 0, ids = 1 } = {}): string {
    const s = this.state.get(symbol)!
    s.history.push({ id: s.lastUpdateId, book: s.book.clone() })
    if (s.history.length > 50) s.history.shift()
    const U = s.lastUpdateId + 1 + skip
    const u = U + ids - 1
    s.lastUpdateId = u
    s.book.apply(bids, asks)
    const data = {
      e: 'depthUpdate',
      E: Date.now(),
      s: symbol,
      U,
      u,
      b: bids,
      a: asks,
    }
    const stream = `${symbol.toLowerCase()}@depth@100ms`
    const frame = JSON.stringify({ stream, data })
    this.pushToStream(stream, frame)
    return frame
  }

  /** Sends a raw frame to every client subscribed to `stream` (or to all with no stream). */
  pushToStream(stream: string | undefined, frame: string): void {
    for (const c of this.server.clients) {
      if (stream === undefined || this.streamsOf(c).includes(stream)) this.server.send(frame, c)
    }
  }

  serverShutdown(): void {
    this.server.send(
      JSON.stringify({ stream: '!serverShutdown', data: { e: 'serverShutdown', E: Date.now() } }),
    )
  }

  releaseSnapshots(): void {
    this.holdSnapshots = false
    for (const r of this.#held.splice(0)) r()
  }

  async #rest(url: URL): Promise<Response | undefined> {
    if (url.pathname === '/api/v3/exchangeInfo') {
      return Response.json({
        timezone: 'UTC',
        serverTime: Date.now(),
        symbols: [...this.state.values()].map(({ market: m }) => ({
          symbol: m.symbol,
          status: m.status ?? 'TRADING',
          baseAsset: m.base,
          quoteAsset: m.quote,
        })),
      })
    }
    if (url.pathname === '/api/v3/depth') {
      const symbol = url.searchParams.get('symbol') ?? ''
      const s = this.state.get(symbol)
      if (!s) return Response.json({ code: -1121, msg: 'Invalid symbol.' }, { status: 400 })
      if (this.holdSnapshots) await new Promise<void>((r) => this.#held.push(r))
      const canned = this.cannedSnapshots.get(symbol)
      if (canned !== undefined)
        return new Response(canned, { headers: { 'content-type': 'application/json' } })
      let id = s.lastUpdateId
      let book = s.book
      if (this.staleSnapshots > 0 && s.history.length > 0) {
        this.staleSnapshots--
        ;({ id, book } = s.history[0]!)
      }
      return Response.json({ lastUpdateId: id, bids: book.topBids(1000), asks: book.topAsks(1000) })
    }
    return undefined
  }

  #onMessage(client: Client, text: string): void {
    try {
      const msg = JSON.parse(text) as { method?: string; id?: unknown }
      if (msg.method === 'LIST_SUBSCRIPTIONS')
        this.server.send(JSON.stringify({ result: this.streamsOf(client), id: msg.id }), client)
      else if (msg.method) this.server.send(JSON.stringify({ result: null, id: msg.id }), client)
    } catch {
      this.server.send(JSON.stringify({ error: { code: 3, msg: 'Invalid JSON' } }), client)
    }
  }

  stop(): void {
    this.releaseSnapshots()
    this.server.stop()
  }
}
