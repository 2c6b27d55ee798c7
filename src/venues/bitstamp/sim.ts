/**
 * @module
 * A simulated Bitstamp (WebSocket API v2): `GET /api/v2/trading-pairs-info/`,
 * `GET /api/v2/order_book/<pair>/`, `GET /api/v2/ticker/` (all markets) and
 * `/api/v2/ticker/<pair>/`, and a socket that takes `bts:subscribe`, `bts:unsubscribe` and
 * `bts:heartbeat` and pushes `diff_order_book_<pair>` data frames stamped with a rising
 * `microtimestamp` that tracks the venue clock (the wall clock unless `now` is injected), so the
 * client's exchange-to-receive latency stays small however long the sim runs. Diffs carry no
 * sequence number, so a lost diff cannot show on that channel.
 * `order_book_<pair>` pushes the top 100 levels after every change, stamped with the same
 * microtimestamp as the diff of that change (an assumption: Bitstamp does not document how the two
 * channels' stamps relate). Faults: lost and raw diffs (garbage, bad levels, crossed books, stale
 * stamps), a top changed without its diff (`corruptTop`), raw book pushes (`sendRawBook`), REST
 * snapshot faults, refused channels, held or canned snapshots, `bts:request_reconnect`,
 * recorded-frame replay, and everything SimServer offers. Limits: see `SimBitstampLimits`.
 */
import type { Client } from '../sim/server.ts'
import { askToCross, bumpTop, SimBook, type Row } from '../sim/book.ts'
import { SimRestVenueBase, SimWindow, type SimSeqMarket } from '../sim/base.ts'
import type { SimMarket } from '../sim/venue.ts'
import type { Pair } from '../../types.ts'
import type { SimNetwork, SimTransfers } from '../sim/transfers.ts'

/**
 * What the simulated Bitstamp refuses. REST follows the published figures; Bitstamp publishes no
 * WebSocket limit, so those are this sim's documented choices (above what the client allows
 * itself), answered with `bts:error` (the answer Bitstamp gives invalid requests) or, for
 * connections, HTTP 429 on the upgrade.
 */
export interface SimBitstampLimits {
  /** REST requests per second per IP: 400 (api-evangelist/bitstamp rate-limits.yml). */
  readonly restPerSecond: number
  /**
   * REST requests per 10 minutes per IP: 8,000 ("Do not make more than 8000 requests per 10
   * minutes", bitstamp.net/api as quoted by ccxt; the newer 10,000 is the looser). Over either,
   * HTTP 429 with response code 400.002 "Request rejected due to exceeded rate limit".
   */
  readonly restPer10Min: number
  /** New connections per IP per 10 s (choice). */
  readonly connectsPer10s: number
  /** Channels one connection may hold (choice). */
  readonly channelsPerConnection: number
  /** Client frames one connection may send per second (choice). */
  readonly framesPerSecond: number
}

const LIMITS: SimBitstampLimits = {
  restPerSecond: 400,
  restPer10Min: 8000,
  connectsPer10s: 20,
  channelsPerConnection: 200,
  framesPerSecond: 50,
}

export interface SimBitstampOptions {
  /**
   * The venue clock at start, µs since the epoch (now unless set); the clock then runs with `now`
   * from there (a fixed offset from it).
   */
  readonly startMicros?: number
  /** The wall clock, ms since the epoch (`Date.now()` unless set: tests inject their own). */
  readonly now?: () => number
  /** Overrides some of the limits the sim enforces. */
  readonly limits?: Partial<SimBitstampLimits>
}

/** `seq` is the microtimestamp of the last change. */
interface Market extends SimSeqMarket {
  /** url_symbol, e.g. `btcusd`. */
  readonly symbol: string
  /** name, e.g. `BTC/USD` (also the unified pair). */
  readonly name: Pair
  /** `Enabled`, or `Disabled` for a market that is not trading. */
  readonly trading: string
  /** 24 h traded volume in the quote asset. */
  readonly volume24h: number
}

/** One connection's channels and its frames in the last second. */
interface Session {
  readonly channels: Set<string>
  readonly frames: SimWindow
}

/** Channel prefix of the full-depth diff stream. */
const DIFF = 'diff_order_book_'
/** Channel prefix of the top-100 book pushes. */
const BOOK = 'order_book_'
/** Levels per side in an `order_book_` push. */
const BOOK_DEPTH = 100

/**
 * Answers one request of the transfer endpoint from `t`: the next fault (a status with the venue's
 * own `errorBody`, or a 200 whose body is not JSON), else `make()`.
 */
function serveTransfers(
  t: SimTransfers,
  make: () => unknown,
  errorBody: (status: number) => unknown,
): Response {
  const faulted = t.answerFault('[{"name": "Bitcoin", "currency": "BTC", "dep', errorBody)
  if (faulted !== undefined) return faulted
  return Response.json(make())
}

/**
 * One row of `GET /api/v2/currencies/` (Bitstamp's CurrencySchema): `deposit` / `withdrawal`
 * `Enabled` only while every network of the asset allows it (the schema names no network).
 */
function currencyRow(asset: string, networks: readonly SimNetwork[]): unknown {
  const fiat = networks.length === 0
  const state = (open: boolean) => (open ? 'Enabled' : 'Disabled')
  return {
    name: asset,
    currency: asset,
    type: fiat ? 'fiat' : 'crypto',
    symbol: asset,
    decimals: fiat ? 2 : 8,
    logo: `https://www.bitstamp.net/s/icons/${asset.toLowerCase()}.svg`,
    available_supply: '',
    deposit: state(networks.every((n) => n.deposit)),
    withdrawal: state(networks.every((n) => n.withdraw)),
  }
}

/** Bitstamp's error body for an HTTP status (`{status, reason, code}`). */
function errorBody(status: number): { status: 'error'; reason: string; code: string } {
  if (status === 429) {
    return {
      status: 'error',
      reason: 'Request rejected due to exceeded rate limit.',
      code: '400.002',
    }
  }
  if (status >= 500) return { status: 'error', reason: 'Internal server error.', code: '500.000' }
  return { status: 'error', reason: 'Unknown validation error.', code: '400.001' }
}

/**
 * Bitstamp on 127.0.0.1, keyed by unified pair (`BTC/USD` is `btcusd`, named `BTC/USD`).
 * @example
 * ```ts
 * const sim = new SimBitstamp([{ base: 'BTC', quote: 'USD', book: makeBook(60000, 20, 1, 0) }])
 * sim.update('BTC/USD', [['59999', '2.5']], [])
 * ```
 */
export class SimBitstamp extends SimRestVenueBase<Market> {
  /** Channels each client is subscribed to, by client id. */
  readonly subscriptions = new Map<number, Set<string>>()
  /** Channels the socket refuses with `bts:error` (listed over REST all the same). */
  readonly refusedChannels = new Set<string>()
  readonly limits: SimBitstampLimits
  /** Every limit refusal, by kind (all zero for a client within the limits). */
  readonly limited = {
    /** REST requests answered 429 (400.002). */
    throttled: 0,
    /** WebSocket upgrades refused with 429 for going over the connection rate. */
    refusedConnects: 0,
    /** Subscriptions refused for going over the per-connection channel limit. */
    refusedSubscriptions: 0,
    /** Client frames refused for going over the per-connection frame rate. */
    rateLimitedFrames: 0,
  }

  readonly #bySymbol = new Map<string, Market>()
  /** Subscribers of each channel. */
  readonly #byChannel = new Map<string, Set<Client>>()
  readonly #sessions = new Map<Client, Session>()
  readonly #restSecond: SimWindow
  readonly #rest10Min: SimWindow
  readonly #connects: SimWindow
  /** The last microtimestamp handed out; every pushed change moves it on. */
  #micros: number
  readonly #now: () => number
  /** The venue clock minus the wall clock, µs (0 unless `startMicros` is set). */
  readonly #offsetMicros: number

  constructor(
    markets: readonly SimMarket[],
    { startMicros, now = () => Date.now(), limits = {} }: SimBitstampOptions = {},
  ) {
    super('Bitstamp')
    this.#now = now
    const wall = Math.floor(now() * 1000)
    this.#micros = startMicros ?? wall
    this.#offsetMicros = this.#micros - wall
    this.limits = { ...LIMITS, ...limits }
    this.#restSecond = new SimWindow(this.limits.restPerSecond, 1000)
    this.#rest10Min = new SimWindow(this.limits.restPer10Min, 600_000)
    this.#connects = new SimWindow(this.limits.connectsPer10s, 10_000)
    for (const [i, m] of markets.entries()) {
      const market: Market = {
        symbol: `${m.base}${m.quote}`.toLowerCase(),
        name: `${m.base}/${m.quote}`.toUpperCase(),
        trading: m.trading === false ? 'Disabled' : 'Enabled',
        book: m.book ?? new SimBook(),
        seq: this.#micros,
        history: [],
        volume24h: m.volume24h ?? defaultVolume(i),
      }
      this.list(market.name, market)
      this.#bySymbol.set(market.symbol, market)
    }
  }

  /** The url_symbol of a pair (`btcusd`). */
  symbol(pair: Pair): string {
    return this.market(pair).symbol
  }

  /** The diff channel of a pair (`diff_order_book_btcusd`). */
  channel(pair: Pair): string {
    return `${DIFF}${this.symbol(pair)}`
  }

  /** The top-100 book channel of a pair (`order_book_btcusd`). */
  bookChannel(pair: Pair): string {
    return `${BOOK}${this.symbol(pair)}`
  }

  /** The microtimestamp of the pair's last change. */
  micros(pair: Pair): number {
    return this.market(pair).seq
  }

  /** Channels a client is subscribed to. */
  channelsOf(client: Client): string[] {
    return [...(this.subscriptions.get(client.data.id) ?? [])]
  }

  /** The venue clock now, µs since the epoch (may be behind a stamp already handed out). */
  clockMicros(): number {
    return Math.floor(this.#now() * 1000) + this.#offsetMicros
  }

  /**
   * The next venue microtimestamp: the venue clock at some microsecond within its current
   * millisecond (the clock only has ms), and strictly above the last one handed out, so never
   * behind the clock and ahead of it only by under 1 ms plus 1 µs per change in the same instant.
   */
  nextMicros(): number {
    const clock = this.clockMicros() + Math.floor(Math.random() * 1000)
    this.#micros = Math.max(this.#micros + 1, clock)
    return this.#micros
  }

  /** Applies one change to the venue's book and pushes it as a diff. Returns the frame. */
  update(pair: Pair, bids: Row[], asks: Row[]): string {
    const m = this.market(pair)
    const frame = this.#change(m, bids, asks)
    this.pushToChannel(this.channel(pair), frame)
    this.#pushBook(m)
    return frame
  }

  /**
   * Applies one change but its diff never arrives (the diff channel has nothing that would show
   * the loss); the `order_book_` push of that state still does, at a stamp the book never reaches.
   */
  lose(pair: Pair, bids: Row[], asks: Row[]): string {
    const m = this.market(pair)
    const frame = this.#change(m, bids, asks)
    this.#pushBook(m)
    return frame
  }

  /**
   * The venue's best `side` quantity changes by one: the `order_book_` push shows it, but the diff
   * at the same microtimestamp omits it (a silently corrupted book only the cross-check can
   * reveal). Returns the (empty) diff sent.
   */
  corruptTop(pair: Pair, side: 'bid' | 'ask' = 'bid'): string {
    const m = this.market(pair)
    const { bids: changedBids, asks: changedAsks } = bumpTop(m.book, pair, side)
    this.#change(m, changedBids, changedAsks)
    const frame = diffFrame(m.symbol, m.seq, [], [])
    this.pushToChannel(this.channel(pair), frame)
    this.#pushBook(m)
    return frame
  }

  /** Pushes an `order_book_` frame with these rows as they are at `micros`; nothing else moves. */
  sendRawBook(pair: Pair, bids: unknown[], asks: unknown[], micros: number): string {
    const frame = bookFrame(this.symbol(pair), micros, bids, asks)
    this.pushToChannel(this.bookChannel(pair), frame)
    return frame
  }

  /** The venue's top 100 at its last change's stamp, to `order_book_` subscribers. */
  #pushBook(m: Market): void {
    const bids = m.book.topBids(BOOK_DEPTH)
    const asks = m.book.topAsks(BOOK_DEPTH)
    this.pushToChannel(`${BOOK}${m.symbol}`, bookFrame(m.symbol, m.seq, bids, asks))
  }

  /** Pushes a diff with a bid at the best ask; the venue's book does not take it. */
  pushCrossed(pair: Pair): string {
    const m = this.market(pair)
    const ask = askToCross(m.book, pair)
    // The stamp is consumed: a snapshot taken after this diff is stamped at or after it.
    m.seq = this.nextMicros()
    return this.sendRawDiff(pair, [[ask[0], '1.00000000']], [], m.seq)
  }

  /**
   * Pushes a diff the venue's book does NOT take (bad levels, crossed prices). `micros` defaults
   * to a fresh stamp; pass an old one to send a stale diff.
   */
  sendRawDiff(pair: Pair, bids: unknown[], asks: unknown[], micros = this.nextMicros()): string {
    const frame = diffFrame(this.symbol(pair), micros, bids, asks)
    this.pushToChannel(this.channel(pair), frame)
    return frame
  }

  /** Sends a frame to every client subscribed to `channel`, or to all with no channel. */
  pushToChannel(channel: string | undefined, frame: string): void {
    if (channel === undefined || channel === '') {
      this.server.send(frame)
      return
    }
    for (const c of this.#byChannel.get(channel) ?? []) this.server.send(frame, c)
  }

  /** Replays recorded frames, each to the clients subscribed to its channel (in order). */
  replay(frames: readonly string[]): void {
    for (const f of frames) this.pushToChannel((JSON.parse(f) as { channel?: string }).channel, f)
  }

  /** The venue's maintenance notice: clients should reconnect. */
  requestReconnect(): void {
    this.server.send(JSON.stringify({ event: 'bts:request_reconnect', channel: '', data: '' }))
  }

  #change(m: Market, bids: Row[], asks: Row[]): string {
    this.remember(m)
    m.book.apply(bids, asks)
    m.seq = this.nextMicros()
    return diffFrame(m.symbol, m.seq, bids, asks)
  }

  protected override async rest(url: URL): Promise<Response | undefined> {
    // A refused request counts in neither window.
    if (this.#rest10Min.count() >= this.limits.restPer10Min || !this.#restSecond.hit()) {
      this.limited.throttled++
      return Response.json(errorBody(429), { status: 429 })
    }
    this.#rest10Min.hit()
    if (url.pathname === '/api/v2/currencies/') {
      const body = () => this.transfers.entries().map(([asset, nets]) => currencyRow(asset, nets))
      return serveTransfers(this.transfers, body, errorBody)
    }
    if (url.pathname === '/api/v2/ticker/') {
      return Response.json(this.markets().map((m) => ({ ...tickerOf(m), pair: m.name })))
    }
    const ticker = /^\/api\/v2\/ticker\/([a-z0-9]+)\/?$/.exec(url.pathname)
    if (ticker) {
      const m = this.#bySymbol.get(ticker[1]!)
      if (!m) return new Response('Not Found', { status: 404 })
      return Response.json(tickerOf(m))
    }
    if (url.pathname === '/api/v2/trading-pairs-info/') {
      return Response.json(
        this.markets().map((m) => ({
          name: m.name,
          url_symbol: m.symbol,
          base_decimals: 8,
          counter_decimals: 2,
          instant_order_counter_decimals: 2,
          minimum_order: `10.0 ${m.name.split('/')[1]}`,
          trading: m.trading,
          instant_and_market_orders: m.trading,
          description: m.name,
        })),
      )
    }
    const path = /^\/api\/v2\/order_book\/([a-z0-9]+)\/?$/.exec(url.pathname)
    if (path) {
      const m = this.#bySymbol.get(path[1]!)
      if (!m) return new Response('Not Found', { status: 404 })
      // The snapshot is taken when asked; a held answer still shows the book of that moment.
      const body = (micros: number, book: SimBook) => ({
        timestamp: String(Math.floor(micros / 1e6)),
        microtimestamp: String(micros),
        bids: book.topBids(),
        asks: book.topAsks(),
      })
      const res = await this.serveBook(m, m.symbol, body, errorBody)
      await this.held()
      return res
    }
    return undefined
  }

  protected override refuseUpgrade(): Response | undefined {
    if (this.#connects.hit()) return undefined
    this.limited.refusedConnects++
    return new Response('Too Many Requests', { status: 429 })
  }

  protected override onOpen(client: Client): void {
    const frames = new SimWindow(this.limits.framesPerSecond, 1000)
    this.#sessions.set(client, { channels: new Set(), frames })
  }

  protected override onClose(client: Client): void {
    for (const channel of this.#sessions.get(client)?.channels ?? []) {
      this.#byChannel.get(channel)?.delete(client)
    }
    this.#sessions.delete(client)
  }

  protected override onMessage(client: Client, text: string): void {
    const session = this.#sessions.get(client)
    if (session !== undefined && !session.frames.hit()) {
      this.limited.rateLimitedFrames++
      this.#error(client, 'Rate limit exceeded.')
      return
    }
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
        const prefix = [DIFF, BOOK].find((p) => channel.startsWith(p))
        const symbol = prefix === undefined ? '' : channel.slice(prefix.length)
        if (!this.#bySymbol.has(symbol) || this.refusedChannels.has(channel)) {
          this.#error(client, 'Bad subscription string.', channel)
          return
        }
        let subs = this.subscriptions.get(client.data.id)
        if (!subs) this.subscriptions.set(client.data.id, (subs = new Set()))
        if (!subs.has(channel) && subs.size >= this.limits.channelsPerConnection) {
          this.limited.refusedSubscriptions++
          this.#error(client, 'Maximum number of subscriptions reached.', channel)
          return
        }
        subs.add(channel)
        session?.channels.add(channel)
        let subscribers = this.#byChannel.get(channel)
        if (!subscribers) this.#byChannel.set(channel, (subscribers = new Set()))
        subscribers.add(client)
        this.server.send(
          JSON.stringify({ event: 'bts:subscription_succeeded', channel, data: {} }),
          client,
        )
        return
      }
      case 'bts:unsubscribe':
        this.subscriptions.get(client.data.id)?.delete(channel)
        session?.channels.delete(channel)
        this.#byChannel.get(channel)?.delete(client)
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
}

/** A deterministic 24 h volume for the `i`th listed market (earlier ones trade more). */
function defaultVolume(i: number): number {
  return Math.round(10_000_000 / (i + 1))
}

/**
 * A market's ticker as `GET /api/v2/ticker/<pair>/` gives it (ccxt/ccxt ts/src/bitstamp.ts
 * parseTicker): `vwap` near the book's mid and `volume` the base amount that makes `volume` x
 * `vwap` the market's 24 h quote volume.
 */
function tickerOf(m: Market): Record<string, string> {
  const [bid] = m.book.topBids(1)
  const [ask] = m.book.topAsks(1)
  const mid = bid && ask ? (Number(bid[0]) + Number(ask[0])) / 2 : Number((bid ?? ask)?.[0] ?? 1)
  const vwap = mid.toFixed(10)
  return {
    timestamp: String(Math.floor(m.seq / 1e6)),
    open: vwap,
    high: vwap,
    low: vwap,
    last: vwap,
    volume: (m.volume24h / Number(vwap)).toFixed(8),
    vwap,
    bid: bid?.[0] ?? vwap,
    ask: ask?.[0] ?? vwap,
    side: '0',
    open_24: vwap,
    percent_change_24: '0.00',
  }
}

function diffFrame(symbol: string, micros: number, bids: unknown[], asks: unknown[]): string {
  return dataFrame(`${DIFF}${symbol}`, micros, bids, asks)
}

function bookFrame(symbol: string, micros: number, bids: unknown[], asks: unknown[]): string {
  return dataFrame(`${BOOK}${symbol}`, micros, bids, asks)
}

function dataFrame(channel: string, micros: number, bids: unknown[], asks: unknown[]): string {
  return JSON.stringify({
    data: {
      timestamp: String(Math.floor(micros / 1e6)),
      microtimestamp: String(micros),
      bids,
      asks,
    },
    channel,
    event: 'data',
  })
}
