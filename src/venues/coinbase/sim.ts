/**
 * @module
 * A simulated Coinbase Advanced Trade: `GET /api/v3/brokerage/market/products` (paged with
 * limit/offset, with each product's 24 h volume) and the public socket with one channel per
 * subscribe message. `level2` answers with a `snapshot` event from the product's SimBook, then
 * pushes `update` events; `heartbeats` ticks on a timer. Every frame to a client carries that
 * connection's own contiguous `sequence_num`, shared by all channels. The venue's limits are
 * enforced as it answers them (see `SimCoinbaseLimits`).
 */
import type { Client } from '../sim/server.ts'
import { askToCross, SimBook, type Row } from '../sim/book.ts'
import { SimVenueBase, SimWindow } from '../sim/base.ts'
import type { SimMarket } from '../sim/venue.ts'
import type { SimNetwork, SimTransfers } from '../sim/transfers.ts'
import type { Pair } from '../../types.ts'

/** What the simulated Coinbase refuses, and how. */
export interface SimCoinbaseLimits {
  /**
   * Client messages per rolling second over all connections (one IP): Coinbase allows
   * unauthenticated clients 8 (docs.cdp.coinbase.com/coinbase-app/advanced-trade-apis/websocket/
   * websocket-rate-limits). The rest get an error frame and are ignored: that answer is this
   * sim's choice, as Coinbase does not document its own.
   */
  readonly messagesPerSecond: number
  /**
   * New connections per rolling second (same page: 8; the coinbase-business copy says 750). More
   * are refused with HTTP 429 on the upgrade, as the feed refused clients "connecting too fast"
   * (coinbase/coinbase-pro-node#27).
   */
  readonly connectsPerSecond: number
  /**
   * level2 products one connection may hold at once: a subscribe that would go past it is
   * refused whole with "too many L2 streams requested in a single session", the socket stays
   * open (measured; see COINBASE_L2_PER_CONNECTION in the venue module).
   */
  readonly l2PerConnection: number
  /**
   * Public REST requests per rolling second: 10 a second, bursts up to 15, 429 over
   * (docs.cdp.coinbase.com/exchange/rest-api/rate-limits; Advanced Trade: 10 a second).
   */
  readonly restPerSecond: number
}

const LIMITS: SimCoinbaseLimits = {
  messagesPerSecond: 8,
  connectsPerSecond: 8,
  l2PerConnection: 30,
  restPerSecond: 15,
}

export interface SimCoinbaseOptions {
  /** Heartbeat period for clients subscribed to `heartbeats`; 0 turns the timer off. */
  readonly heartbeatIntervalMs?: number
  /** Products per page of the product list (the real default is large). */
  readonly pageSize?: number
  /** When false, subscribing to `level2` sends no snapshot (the test pushes its own frames). */
  readonly snapshotsOnSubscribe?: boolean
  /** Overrides some of the limits the sim enforces. */
  readonly limits?: Partial<SimCoinbaseLimits>
  /** A product `status` other than `online` (`delisted`, `offline`), by pair. */
  readonly statuses?: Readonly<Record<Pair, string>>
}

/** A level as Advanced Trade sends it. */
export interface L2Update {
  side: string
  event_time: string
  price_level: string
  new_quantity: string
}

interface Product {
  readonly productId: string
  readonly pair: Pair
  readonly base: string
  readonly quote: string
  readonly book: SimBook
  readonly status: string
  readonly tradingDisabled: boolean
  /** The product whose book this one shows (USDC products alias the USD ones). */
  readonly alias?: string
  /** Products that alias this one (`alias_to`). */
  readonly aliasTo: string[]
  /** 24 h traded volume in the quote asset. */
  readonly volume24h: number
  /** Clients subscribed to this book's level2 (kept on the product whose book it is). */
  readonly level2: Set<Client>
}

interface Session {
  nextSeq: number
  level2: Set<string>
  heartbeats: boolean
  heartbeatCounter: number
  /** Frames sent to this client (what its parser should have seen). */
  sent: number
}

const EPOCH_TIME = '1970-01-01T00:00:00Z'

/**
 * The simulated Coinbase venue. A `BASE-USDC` market listed beside `BASE-USD` is an alias of it,
 * as on Coinbase (one book, subscriptions get the USD product's data); `trading: false` lists the
 * product with `trading_disabled`.
 *
 * @example
 * ```ts
 * const sim = new SimCoinbase([{ base: 'BTC', quote: 'USD', book: makeBook(60000) }])
 * sim.update('BTC/USD', [['59999.95', '1.00000000']], [])
 * ```
 */
export class SimCoinbase extends SimVenueBase<Product> {
  readonly sessions = new Map<number, Session>()
  readonly limits: SimCoinbaseLimits
  /** Every limit refusal, by kind (all zero for a client within the limits). */
  readonly limited = {
    /** Client messages refused for going over the rate limit. */
    rateLimited: 0,
    /** level2 subscribe requests refused for going over the per-connection product limit. */
    refusedL2: 0,
    /** WebSocket upgrades refused with 429 for going over the connection rate. */
    refusedConnects: 0,
    /** REST requests answered 429. */
    throttled: 0,
  }
  /** Heartbeat frames sent, over all clients. */
  heartbeatsSent = 0

  /** By product id. */
  readonly #products = new Map<string, Product>()
  readonly #options: Required<Omit<SimCoinbaseOptions, 'statuses' | 'limits'>>
  readonly #timer: ReturnType<typeof setInterval> | undefined
  readonly #messages: SimWindow
  readonly #connects: SimWindow
  readonly #rest: SimWindow

  constructor(markets: readonly SimMarket[], options: SimCoinbaseOptions = {}) {
    super('Coinbase')
    const { statuses = {}, limits = {}, ...rest } = options
    this.#options = {
      heartbeatIntervalMs: 1000,
      pageSize: 1000,
      snapshotsOnSubscribe: true,
      ...rest,
    }
    this.limits = { ...LIMITS, ...limits }
    this.#messages = new SimWindow(this.limits.messagesPerSecond, 1000)
    this.#connects = new SimWindow(this.limits.connectsPerSecond, 1000)
    this.#rest = new SimWindow(this.limits.restPerSecond, 1000)
    const ids = new Set(markets.map((m) => `${m.base}-${m.quote}`))
    for (const [i, m] of markets.entries()) {
      const pair: Pair = `${m.base}/${m.quote}`
      const productId = `${m.base}-${m.quote}`
      const usd = `${m.base}-USD`
      const alias = m.quote === 'USDC' && ids.has(usd) ? usd : undefined
      const product: Product = {
        productId,
        pair,
        base: m.base,
        quote: m.quote,
        book: m.book ?? new SimBook(),
        status: statuses[pair] ?? 'online',
        tradingDisabled: m.trading === false,
        alias,
        aliasTo: [],
        volume24h: m.volume24h ?? defaultVolume(i),
        level2: new Set(),
      }
      this.#products.set(productId, product)
      this.list(pair, product)
    }
    for (const p of this.#products.values()) {
      if (p.alias !== undefined) this.#products.get(p.alias)!.aliasTo.push(p.productId)
    }
    const every = this.#options.heartbeatIntervalMs
    if (every > 0) this.#timer = setInterval(() => this.heartbeat(), every)
  }

  /** The one connected client (most tests have exactly one). */
  get client(): Client {
    const [c] = this.server.clients
    if (!c) throw new Error('no client connected')
    return c
  }

  /** The venue-side book of a pair (an alias shows the book it aliases). */
  override book(pair: Pair): SimBook {
    return this.#shown(this.market(pair)).book
  }

  /** The product id Coinbase gives a pair (`BTC-USD`). */
  productId(pair: Pair): string {
    return this.market(pair).productId
  }

  session(client: Client): Session {
    return this.sessions.get(client.data.id)!
  }

  /** Frames a client sent, parsed. */
  receivedFrom(client: Client): { type?: string; channel?: string; product_ids?: string[] }[] {
    return this.server.received
      .filter((r) => r.client === client.data.id)
      .map((r) => JSON.parse(r.text))
  }

  /** Takes a connection's next `sequence_num`; `skip` moves it first (gap > 0, step back < 0). */
  takeSeq(client: Client, skip = 0): number {
    const s = this.session(client)
    const seq = s.nextSeq + skip
    s.nextSeq = seq + 1
    return seq
  }

  /** Sends an envelope on `channel` to one client, stamped with its next sequence number. */
  sendEnvelope(
    client: Client,
    channel: string,
    events: unknown[],
    { skip = 0, timestamp = stamp() } = {},
  ): string {
    const frame = JSON.stringify({
      channel,
      client_id: '',
      timestamp,
      sequence_num: this.takeSeq(client, skip),
      events,
    })
    this.sendRaw(frame, client)
    return frame
  }

  /** Sends a frame as it is (replays, garbage); counted as seen by the client. */
  sendRaw(frame: string, client: Client): void {
    if (this.server.stalled) return
    this.session(client).sent++
    this.server.send(frame, client)
  }

  /** Clients subscribed to a pair's level2. */
  subscribersOf(pair: Pair): Client[] {
    return [...this.#shown(this.market(pair)).level2]
  }

  /**
   * Applies levels to the pair's book and pushes one `update` event to its subscribers.
   * `skip` leaves sequence numbers out first (a gap) or steps back (negative).
   */
  update(pair: Pair, bids: Row[], asks: Row[], { skip = 0 } = {}): void {
    this.book(pair).apply(bids, asks)
    this.pushUpdates(pair, toUpdates(bids, asks, stamp()), { skip })
  }

  /**
   * A lost envelope: the book changes and each subscriber's `sequence_num` advances, but nothing
   * is sent, so the connection's next message shows the gap.
   */
  lose(pair: Pair, bids: Row[], asks: Row[]): void {
    this.book(pair).apply(bids, asks)
    for (const c of this.subscribersOf(pair)) this.takeSeq(c)
  }

  /** Pushes raw `update` levels without touching the venue's book (bad or crossed input). */
  pushUpdates(pair: Pair, updates: unknown[], { skip = 0 } = {}): void {
    const productId = this.#shown(this.market(pair)).productId
    for (const c of this.subscribersOf(pair)) {
      const events = [{ type: 'update', product_id: productId, updates }]
      this.sendEnvelope(c, 'l2_data', events, { skip })
    }
  }

  /** Pushes a bid at the best ask without touching the venue's book: the client's book crosses. */
  pushCrossed(pair: Pair): void {
    this.crossBook(pair)
  }

  /** As `pushCrossed`, returning the price crossed. */
  crossBook(pair: Pair): string {
    const best = askToCross(this.book(pair), pair)
    this.pushUpdates(pair, toUpdates([[best[0], '1.00000000']], []))
    return best[0]
  }

  /** One heartbeat to every client subscribed to heartbeats. */
  heartbeat({ skip = 0 } = {}): void {
    for (const c of this.server.clients) {
      const s = this.sessions.get(c.data.id)
      if (!s?.heartbeats || this.server.stalled) continue
      const current_time = new Date().toISOString()
      const events = [{ current_time, heartbeat_counter: ++s.heartbeatCounter }]
      this.sendEnvelope(c, 'heartbeats', events, { skip })
      this.heartbeatsSent++
    }
  }

  /** The snapshot event of a pair as the venue sends it: bids best-first, then offers. */
  snapshotEvent(pair: Pair): unknown {
    return this.#snapshotOf(this.#shown(this.market(pair)))
  }

  /** Sends envelope bodies (a re-encoded capture), stamping contiguous sequence numbers. */
  replay(client: Client, bodies: readonly EnvelopeBody[]): void {
    for (const b of bodies) {
      this.sendEnvelope(client, b.channel, b.events, { timestamp: b.timestamp })
    }
  }

  errorFrame(message: string, client = this.client): void {
    this.sendRaw(JSON.stringify({ type: 'error', message }), client)
  }

  override stop(): void {
    if (this.#timer !== undefined) clearInterval(this.#timer)
    super.stop()
  }

  /** The product whose book `p` shows: itself, or the one it aliases. */
  #shown(p: Product): Product {
    return p.alias === undefined ? p : this.#products.get(p.alias)!
  }

  #snapshotOf(p: Product): unknown {
    const updates = toUpdates(p.book.topBids(), p.book.topAsks())
    return { type: 'snapshot', product_id: p.productId, updates }
  }

  protected override rest(url: URL): Response | undefined {
    if (!this.#rest.hit()) {
      this.limited.throttled++
      const error = { error: 'RATE_LIMIT_EXCEEDED', error_details: 'Too many requests' }
      return Response.json({ ...error, message: 'Too many requests' }, { status: 429 })
    }
    // The Exchange API's currency list (api.exchange.coinbase.com in production).
    if (url.pathname === '/currencies') {
      const body = () => this.transfers.entries().map(([asset, nets]) => currencyOf(asset, nets))
      return serveTransfers(this.transfers, body, (status) => ({
        message: exchangeMessage(status),
      }))
    }
    if (url.pathname !== '/api/v3/brokerage/market/products') {
      const error = { error: 'NOT_FOUND', error_details: 'Not Found', message: 'Not Found' }
      return Response.json(error, { status: 404 })
    }
    // Every simulated product is spot; a request for another product type gets none.
    const spot = (url.searchParams.get('product_type') ?? 'SPOT') === 'SPOT'
    const products = this.markets()
    const all = products
      .filter(() => spot)
      .map((p) => ({
        product_id: p.productId,
        ...volumeFields(this.#shown(p)),
        base_increment: '0.00000001',
        quote_increment: '0.01',
        base_name: p.base,
        quote_name: p.quote,
        status: p.status,
        trading_disabled: p.tradingDisabled,
        is_disabled: false,
        cancel_only: false,
        limit_only: false,
        post_only: false,
        auction_mode: false,
        product_type: 'SPOT',
        quote_currency_id: p.quote,
        base_currency_id: p.base,
        base_display_symbol: p.base,
        quote_display_symbol: p.quote,
        view_only: false,
        alias: p.alias ?? '',
        alias_to: p.aliasTo,
        new: false,
      }))
    const offset = Number(url.searchParams.get('offset') ?? 0)
    const asked = Number(url.searchParams.get('limit') ?? Infinity)
    const limit = Math.min(asked, this.#options.pageSize)
    return Response.json({ products: all.slice(offset, offset + limit), num_products: all.length })
  }

  protected override refuseUpgrade(): Response | undefined {
    if (this.#connects.hit()) return undefined
    this.limited.refusedConnects++
    return new Response('Too Many Requests', { status: 429 })
  }

  protected override onOpen(client: Client): void {
    this.sessions.set(client.data.id, newSession())
  }

  protected override onClose(client: Client): void {
    const s = this.sessions.get(client.data.id)
    for (const id of s?.level2 ?? []) this.#products.get(id)?.level2.delete(client)
    // The session stays: tests read what a closed connection was sent.
    s?.level2.clear()
  }

  protected override onMessage(client: Client, text: string): void {
    if (!this.#messages.hit()) {
      this.limited.rateLimited++
      this.errorFrame('rate limit exceeded', client)
      return
    }
    let msg: { type?: unknown; channel?: unknown; product_ids?: unknown }
    try {
      msg = JSON.parse(text)
    } catch {
      this.errorFrame('malformed request', client)
      return
    }
    const s = this.session(client)
    const known = msg.type === 'subscribe' || msg.type === 'unsubscribe'
    if (!known || typeof msg.channel !== 'string') {
      this.errorFrame('request must have type subscribe/unsubscribe and one channel', client)
      return
    }
    const ids = Array.isArray(msg.product_ids) ? (msg.product_ids as string[]) : []
    const subscribing = msg.type === 'subscribe'
    if (msg.channel === 'heartbeats') {
      s.heartbeats = subscribing
    } else if (msg.channel === 'level2') {
      const unknown = ids.filter((id) => !this.#products.has(id))
      if (unknown.length > 0) {
        this.errorFrame(`failure to subscribe: unknown products ${unknown.join(',')}`, client)
        return
      }
      // An alias shares its target's book: the socket sends the target's data.
      const shown = ids.map((id) => this.#shown(this.#products.get(id)!))
      const adding = new Set(shown.filter((p) => !s.level2.has(p.productId)))
      if (subscribing && s.level2.size + adding.size > this.limits.l2PerConnection) {
        this.limited.refusedL2++
        this.errorFrame('too many L2 streams requested in a single session', client)
        return
      }
      for (const p of shown) {
        if (!subscribing) {
          s.level2.delete(p.productId)
          p.level2.delete(client)
          continue
        }
        s.level2.add(p.productId)
        p.level2.add(client)
        if (this.#options.snapshotsOnSubscribe) {
          this.sendEnvelope(client, 'l2_data', [this.#snapshotOf(p)])
        }
      }
    } else {
      this.errorFrame(`unsupported channel ${msg.channel}`, client)
      return
    }
    const subscriptions = {
      level2: [...s.level2],
      ...(s.heartbeats ? { heartbeats: ['heartbeats'] } : {}),
    }
    this.sendEnvelope(client, 'subscriptions', [{ subscriptions }])
  }
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

/** Coinbase's network ids, by the shared vocabulary's (ccxt coinbaseexchange `networks`). */
const CB_NETWORKS: Readonly<Record<string, string>> = {
  BTC: 'bitcoin',
  ETH: 'ethereum',
  SOL: 'solana',
  AVAXC: 'avacchain',
  POLYGON: 'polygon',
  BASE: 'base',
  ARBITRUM: 'arbitrum',
  OPTIMISM: 'optimism',
  XRP: 'ripple',
  DOGE: 'dogecoin',
  LTC: 'litecoin',
  ADA: 'cardano',
  DOT: 'polkadot',
  ATOM: 'cosmos',
  XLM: 'stellar',
  NEAR: 'near',
  APT: 'aptos',
  SUI: 'sui',
  TRX: 'tron',
}

/** The Exchange API's error message for a status (`{"message": ...}`). */
function exchangeMessage(status: number): string {
  if (status === 429) return 'Public rate limit exceeded'
  if (status >= 500) return 'Internal server error'
  return 'Bad request'
}

/**
 * One row of `GET /currencies` (the Exchange API's `apiCurrency`): one `status` per network, which
 * is `online` only while both deposits and withdrawals are open (Coinbase gives no separate
 * flags); no fee (Coinbase publishes none).
 */
function currencyOf(asset: string, networks: readonly SimNetwork[]): unknown {
  const supported = networks.map((n) => ({
    id: CB_NETWORKS[n.network] ?? n.network.toLowerCase(),
    name: n.network,
    status: n.deposit && n.withdraw ? 'online' : 'offline',
    ...(n.contract === undefined ? {} : { contract_address: n.contract }),
    min_withdrawal_amount: n.min,
    max_withdrawal_amount: 1_000_000,
    network_confirmations: 12,
    processing_time_seconds: null,
  }))
  return {
    id: asset,
    name: asset,
    min_size: '0.00000001',
    status: 'online',
    message: '',
    max_precision: '0.00000001',
    convertible_to: [],
    details: {
      type: networks.length === 0 ? 'fiat' : 'crypto',
      symbol: null,
      sort_order: 0,
      push_payment_methods: networks.length === 0 ? ['bank_wire'] : ['crypto'],
      group_types: [],
      display_name: null,
      processing_time_seconds: null,
      ...(networks[0] === undefined ? {} : { min_withdrawal_amount: networks[0].min }),
    },
    ...(supported[0] === undefined ? {} : { default_network: supported[0].id }),
    supported_networks: supported,
    display_name: asset,
  }
}

/** A deterministic 24 h volume for the `i`th listed market (earlier ones trade more). */
function defaultVolume(i: number): number {
  return Math.round(10_000_000 / (i + 1))
}

/**
 * A product's price and 24 h volumes as the product list gives them: `volume_24h` in the base
 * asset, `approximate_quote_24h_volume` in the quote asset, `price` near the book's mid.
 */
function volumeFields(p: Product): Record<string, string> {
  const [bid] = p.book.topBids(1)
  const [ask] = p.book.topAsks(1)
  const mid = bid && ask ? (Number(bid[0]) + Number(ask[0])) / 2 : Number((bid ?? ask)?.[0] ?? 1)
  const price = mid.toFixed(10)
  return {
    price,
    volume_24h: (p.volume24h / Number(price)).toFixed(8),
    approximate_quote_24h_volume: p.volume24h.toFixed(2),
  }
}

/** Coinbase's event time: the wall clock with nanosecond digits. */
function stamp(): string {
  return `${new Date().toISOString().slice(0, -1)}123456Z`
}

function newSession(): Session {
  return { nextSeq: 0, level2: new Set(), heartbeats: false, heartbeatCounter: 0, sent: 0 }
}

/** Rows as Advanced Trade update levels (side `bid` / `offer`). */
export function toUpdates(bids: Row[], asks: Row[], eventTime = EPOCH_TIME): L2Update[] {
  const level = (side: string, [price_level, new_quantity]: Row): L2Update => ({
    side,
    event_time: eventTime,
    price_level,
    new_quantity,
  })
  return [...bids.map((r) => level('bid', r)), ...asks.map((r) => level('offer', r))]
}

/** An envelope without its connection-scoped fields (`sequence_num`, `client_id`). */
export interface EnvelopeBody {
  channel: string
  timestamp: string
  events: unknown[]
}

/** A frame of the old Exchange feed (`ws-feed`) level2 channel, as captured. */
interface ExchangeFeedFrame {
  type?: string
  product_id?: string
  bids?: Row[]
  asks?: Row[]
  changes?: [side: string, price: string, size: string][]
  time?: string
}

/**
 * Re-encodes a capture of the old Exchange feed (`snapshot` with bids/asks, `l2update` with
 * `changes` of buy/sell) as Advanced Trade envelopes: each snapshot becomes an `l2_data` snapshot
 * event; the l2updates of each `batchMs` window of capture time become one `l2_data` frame with one
 * `update` event per product (their levels in capture order); a `heartbeats` frame goes out
 * whenever capture time enters a new `heartbeatEveryMs` period. Other frame types are dropped.
 */
export function encodeExchangeCapture(
  lines: readonly string[],
  { batchMs = 50, heartbeatEveryMs = 1000 } = {},
): EnvelopeBody[] {
  const out: EnvelopeBody[] = []
  let batch: { startMs: number; time: string; events: Map<string, L2Update[]> } | undefined
  let lastTime = ''
  let period = -1
  let counter = 0
  const flush = () => {
    if (!batch) return
    const events = [...batch.events].map(([product_id, updates]) => ({
      type: 'update',
      product_id,
      updates,
    }))
    out.push({ channel: 'l2_data', timestamp: batch.time, events })
    batch = undefined
  }
  for (const line of lines) {
    const f = JSON.parse(line) as ExchangeFeedFrame
    if (f.type === 'snapshot') {
      flush()
      const updates = toUpdates(f.bids!, f.asks!)
      const events = [{ type: 'snapshot', product_id: f.product_id, updates }]
      out.push({ channel: 'l2_data', timestamp: lastTime || EPOCH_TIME, events })
    } else if (f.type === 'l2update') {
      const t = Date.parse(f.time!)
      lastTime = f.time!
      if (Math.floor(t / heartbeatEveryMs) !== period) {
        flush()
        period = Math.floor(t / heartbeatEveryMs)
        const events = [{ current_time: f.time, heartbeat_counter: ++counter }]
        out.push({ channel: 'heartbeats', timestamp: f.time!, events })
      }
      if (batch && t - batch.startMs >= batchMs) flush()
      batch ??= { startMs: t, time: f.time!, events: new Map() }
      let updates = batch.events.get(f.product_id!)
      if (!updates) batch.events.set(f.product_id!, (updates = []))
      for (const [side, price_level, new_quantity] of f.changes!) {
        if (side !== 'buy' && side !== 'sell') throw new Error(`capture has side ${side}`)
        const bookSide = side === 'buy' ? 'bid' : 'offer'
        updates.push({ side: bookSide, event_time: f.time!, price_level, new_quantity })
      }
    }
  }
  flush()
  return out
}
