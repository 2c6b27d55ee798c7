/**
 * @module
 * A fake Bitstamp (WebSocket API v2): `GET /api/v2/trading-pairs-info/`,
 * `GET /api/v2/order_book/<pair>/` and a socket that takes `bts:subscribe`, `bts:unsubscribe` and
 * `bts:heartbeat` and pushes `diff_order_book_<pair>` data frames stamped with a rising
 * `microtimestamp`. Faults: raw frames (garbage, bad levels, crossed books, unknown kinds),
 * refused channels, held snapshots, `bts:request_reconnect`, recorded-frame replay, and everything
 * ExchangeServer offers.
 */
import { ExchangeServer, type Client } from './exchange-server.ts'
import { SimBook, type Row } from './sim-book.ts'

export interface BitstampMarket {
  /** url_symbol, e.g. `btcusd`. */
  symbol: string
  /** name, e.g. `BTC/USD`. */
  name: string
  book?: SimBook
  /** `Enabled` unless set. */
  trading?: string
}

interface State {
  market: BitstampMarket
  book: SimBook
  /** microtimestamp of the last change pushed. */
  micros: number
}

export class FakeBitstamp {
  readonly server: ExchangeServer
  readonly state = new Map<string, State>()
  /** Channels each client is subscribed to, by client id. */
  readonly subscriptions = new Map<number, Set<string>>()
  /** Captured REST bodies to serve instead of the simulated book, by url_symbol. */
  readonly cannedSnapshots = new Map<string, string>()
  /** Channels the socket refuses with `bts:error` (listed over REST all the same). */
  readonly refusedChannels = new Set<string>()
  /** While set, order_book requests are answered (with the book as it was asked for) on release. */
  holdSnapshots = false
  #held: (() => void)[] = []
  /** The venue clock, µs; every pushed change moves it on. */
  #micros = Date.now() * 1000

  constructor(markets: BitstampMarket[]) {
    for (const m of markets)
      this.state.set(m.symbol, { market: m, book: m.book ?? new SimBook(), micros: this.#micros })
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

  /** Channels a client is subscribed to. */
  channelsOf(client: Client): string[] {
    return [...(this.subscriptions.get(client.data.id) ?? [])]
  }

  /** The next venue microtimestamp (strictly rising). */
  nextMicros(): number {
    this.#micros += 1 + Math.floor(Math.random() * 500)
    return this.#micros
  }

  /** Applies one change to the simulated book and pushes it as a diff. Returns the frame. */
  update(symbol: string, bids: Row[], asks: Row[]): string {
    const s = this.state.get(symbol)!
    s.book.apply(bids, asks)
    s.micros = this.nextMicros()
    const frame = diffFrame(symbol, s.micros, bids, asks)
    this.pushToChannel(`diff_order_book_${symbol}`, frame)
    return frame
  }

  /**
   * Pushes a diff the simulated book does NOT take (bad levels, crossed prices). `micros` defaults
   * to a fresh stamp; pass an old one to send a stale diff.
   */
  sendRawDiff(
    symbol: string,
    bids: unknown[],
    asks: unknown[],
    micros = this.nextMicros(),
  ): string {
    const frame = diffFrame(symbol, micros, bids, asks)
    this.pushToChannel(`diff_order_book_${symbol}`, frame)
    return frame
  }

  /** Sends a frame to every client subscribed to `channel`, or to all with no channel. */
  pushToChannel(channel: string | undefined, frame: string): void {
    const everyone = channel === undefined || channel === ''
    for (const c of this.server.clients) {
      if (everyone || this.subscriptions.get(c.data.id)?.has(channel)) this.server.send(frame, c)
    }
  }

  /** Replays recorded frames, each to the clients subscribed to its channel (in order). */
  replay(frames: readonly string[]): void {
    for (const f of frames) this.pushToChannel((JSON.parse(f) as { channel?: string }).channel, f)
  }

  /** The venue's maintenance notice: clients should reconnect. */
  requestReconnect(): void {
    this.server.send(JSON.stringify({ event: 'bts:request_reconnect', channel: '', data: '' }))
  }

  releaseSnapshots(): void {
    this.holdSnapshots = false
    for (const r of this.#held.splice(0)) r()
  }

  async #rest(url: URL): Promise<Response | undefined> {
    if (url.pathname === '/api/v2/trading-pairs-info/') {
      return Response.json(
        [...this.state.values()].map(({ market: m }) => ({
          name: m.name,
          url_symbol: m.symbol,
          base_decimals: 8,
          counter_decimals: 2,
          instant_order_counter_decimals: 2,
          minimum_order: `10.0 ${m.name.split('/')[1]}`,
          trading: m.trading ?? 'Enabled',
          instant_and_market_orders: 'Enabled',
          description: m.name,
        })),
      )
    }
    const book = /^\/api\/v2\/order_book\/([a-z0-9]+)\/?$/.exec(url.pathname)
    if (book) {
      const s = this.state.get(book[1]!)
      if (!s) return new Response('Not Found', { status: 404 })
      const canned = this.cannedSnapshots.get(s.market.symbol)
      // The snapshot is taken when asked; a held answer still shows the book of that moment.
      const body =
        canned ??
        JSON.stringify({
          timestamp: String(Math.floor(s.micros / 1e6)),
          microtimestamp: String(s.micros),
          bids: s.book.topBids(),
          asks: s.book.topAsks(),
        })
      if (this.holdSnapshots) await new Promise<void>((r) => this.#held.push(r))
      return new Response(body, { headers: { 'content-type': 'application/json' } })
    }
    return undefined
  }

  #onMessage(client: Client, text: string): void {
    let msg: { event?: unknown; data?: { channel?: unknown } }
    try {
      msg = JSON.parse(text) as typeof msg
    } catch {
      this.#error(client, 'Incorrect JSON format.')
      return
    }
    const channel = typeof msg?.data?.channel === 'string' ? msg.data.channel : ''
    switch (msg?.event) {
      case 'bts:subscribe': {
        const symbol = channel.startsWith('diff_order_book_') ? channel.slice(16) : ''
        if (!this.state.has(symbol) || this.refusedChannels.has(channel)) {
          this.#error(client, 'Bad subscription string.', channel)
          return
        }
        let subs = this.subscriptions.get(client.data.id)
        if (!subs) this.subscriptions.set(client.data.id, (subs = new Set()))
        subs.add(channel)
        this.server.send(
          JSON.stringify({ event: 'bts:subscription_succeeded', channel, data: {} }),
          client,
        )
        return
      }
      case 'bts:unsubscribe':
        this.subscriptions.get(client.data.id)?.delete(channel)
        this.server.send(
          JSON.stringify({ event: 'bts:unsubscription_succeeded', channel, data: {} }),
          client,
        )
        return
      case 'bts:heartbeat':
        this.server.send(
          JSON.stringify({ event: 'bts:heartbeat', channel: '', data: { status: 'success' } }),
          client,
        )
        return
      default:
        this.#error(client, 'Unsupported event.')
    }
  }

  #error(client: Client, message: string, channel = ''): void {
    this.server.send(
      JSON.stringify({ event: 'bts:error', channel, data: { code: null, message } }),
      client,
    )
  }

  stop(): void {
    this.releaseSnapshots()
    this.server.stop()
  }
}

function diffFrame(symbol: string, micros: number, bids: unknown[], asks: unknown[]): string {
  return JSON.stringify({
    data: {
      timestamp: String(Math.floor(micros / 1e6)),
      microtimestamp: String(micros),
      bids,
      asks,
    },
    channel: `diff_order_book_${symbol}`,
    event: 'data',
  })
}
