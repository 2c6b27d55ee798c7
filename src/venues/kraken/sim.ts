/**
 * @module
 * A simulated Kraken spot on WebSocket v2: `GET /0/public/AssetPairs` and `/0/public/Ticker`, and
 * a socket that answers `ping`, `subscribe`/`unsubscribe` for the `book` channel (acks, errors),
 * sends the `status` frame on connect, heartbeats, and book snapshots and updates with JSON-number
 * prices/qtys and a checksum it computes itself (its own CRC-32, independent of the adapter). Each
 * subscription sees the venue book through its depth window: a level pushed out of the window gets
 * no delete, as on Kraken. Limits are enforced as Kraken answers them (see `SimKrakenLimits`).
 * Also re-encodes the v1 capture into v2 frames.
 */
import type { Client } from '../sim/server.ts'
import { askToCross, SimBook, type Row } from '../sim/book.ts'
import { SimVenueBase, SimWindow } from '../sim/base.ts'
import type { SimMarket } from '../sim/venue.ts'
import type { Pair } from '../../types.ts'
import type { SimNetwork, SimTransfers } from '../sim/transfers.ts'

type BookType = 'snapshot' | 'update'

/** A frame a client sent, as the tests inspect it. */
export interface ClientRequest {
  client: number
  method?: string
  req_id?: number
  params?: { channel?: string; symbol?: string[]; depth?: number; snapshot?: boolean }
}

/**
 * What the simulated Kraken refuses. Kraken publishes a number for public REST only; the rest are
 * this sim's documented choices, each above what the client module allows itself.
 */
export interface SimKrakenLimits {
  /**
   * Public REST requests per IP per second. Kraken: "1 per second (or less) would remain within
   * the rate limits, but exceeding this frequency could cause the calls to be rate limited"
   * (support.kraken.com 206548367). The sim answers the third within a second with Kraken's body
   * `{"error":["EGeneral:Too many requests"]}` (ccxt/ccxt#20648), HTTP 200 as Kraken sends its
   * errors ("HTTP status codes are generally not used": docs.kraken.com/rest).
   */
  readonly restPerSecond: number
  /** New connections per IP per `connectWindowMs`; more are refused with HTTP 429 (choice). */
  readonly connects: number
  readonly connectWindowMs: number
  /**
   * Symbols one connection may hold: 200, the figure Kraken documents for `level3`
   * (docs.kraken.com/api/docs/websocket-v2/level3); each symbol over it gets an error ack.
   */
  readonly symbolsPerConnection: number
  /**
   * Client frames one connection may send per second (Kraken's limit is "dynamic"; choice). More
   * are dropped and answered "Exceeded msg rate" (nautilus_kraken KRAKEN_SPOT_WS_SUBSCRIPTION_QUOTA),
   * the connection stays open.
   */
  readonly framesPerSecond: number
}

const LIMITS: SimKrakenLimits = {
  restPerSecond: 2,
  connects: 20,
  connectWindowMs: 10_000,
  symbolsPerConnection: 200,
  framesPerSecond: 20,
}

export interface SimKrakenOptions {
  /** Heartbeat period to clients holding a subscription (Kraken: about 1 s); 0 turns it off. */
  readonly heartbeatMs?: number
  /** False: subscriptions are acknowledged without a snapshot (a replay supplies the frames). */
  readonly sendSnapshots?: boolean
  /** Overrides some of the limits the sim enforces. */
  readonly limits?: Partial<SimKrakenLimits>
}

export interface UpdateOptions {
  /** Send a checksum that does not match the book. */
  readonly badChecksum?: boolean
  /** Apply on the venue but send nothing (a lost message). */
  readonly drop?: boolean
  /** False: send the update but leave the venue's book as it was (a bogus update: crossing). */
  readonly keep?: boolean
}

/** One AssetPairs entry, as the venue names it. */
interface Listing {
  /** REST pair key: `XXBTZUSD` for the legacy assets, else the altname (`XBTUSDT`, `DOTUSD`). */
  readonly key: string
  /** The v1 name AssetPairs gives (`XBT/USD`); the v2 symbol is the unified pair. */
  readonly wsname: string
  /** Asset codes (`XXBT`, `ZUSD`, `DOT`). */
  readonly base: string
  readonly quote: string
  readonly status: string
}

interface View {
  depth: number
  book: SimBook
}

interface State {
  readonly listing: Listing
  /** The v2 symbol (`BTC/USD`). */
  readonly symbol: string
  readonly book: SimBook
  readonly views: Map<Client, View>
  /** 24 h traded volume in the quote asset (what Ticker's `v[1]` x `p[1]` gives). */
  readonly volume24h: number
}

/** One connection: the symbols it holds and its frames in the last second. */
interface Session {
  readonly symbols: Set<string>
  readonly frames: SimWindow
}

/** Assets Kraken still names the v1 way (XBT, XDG), by their common name. */
const V1_NAMES: Record<string, string> = { BTC: 'XBT', DOGE: 'XDG' }
/** Legacy crypto asset codes (X-prefixed) and fiat ones (Z-prefixed), by v1 name. */
const ASSET_CODES: Record<string, string> = {
  XBT: 'XXBT',
  XDG: 'XXDG',
  ETH: 'XETH',
  LTC: 'XLTC',
  XMR: 'XXMR',
  XRP: 'XXRP',
  XLM: 'XXLM',
  ETC: 'XETC',
  ZEC: 'XZEC',
  MLN: 'XMLN',
  REP: 'XREP',
  USD: 'ZUSD',
  EUR: 'ZEUR',
  GBP: 'ZGBP',
  CAD: 'ZCAD',
  JPY: 'ZJPY',
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
  const faulted = t.answerFault('{"error": [], "result": {"XXBT": {"alt', errorBody)
  if (faulted !== undefined) return faulted
  return Response.json(make())
}

/** Kraken's error body for a failing status (its errors come as a list of strings). */
function krakenError(status: number): { error: string[] } {
  if (status === 429) return { error: ['EGeneral:Too many requests'] }
  if (status >= 500) return { error: ['EService:Unavailable'] }
  return { error: ['EGeneral:Invalid arguments'] }
}

/**
 * `GET /0/public/Assets` result from the sim's transfer state: keyed by Kraken's code (`XXBT`,
 * altname `XBT`), one `status` per asset (Kraken names no network): `enabled` when every network
 * takes deposits and withdrawals, `deposit_only` / `withdrawal_only` when one direction is closed
 * on some network, `funding_temporarily_disabled` when both are (fiat, with no network, is enabled).
 */
function assetsResult(entries: readonly [string, SimNetwork[]][]): Record<string, object> {
  const result: Record<string, object> = {}
  for (const [asset, nets] of entries) {
    const altname = V1_NAMES[asset] ?? asset
    const deposit = nets.every((n) => n.deposit)
    const withdraw = nets.every((n) => n.withdraw)
    const status =
      deposit && withdraw
        ? 'enabled'
        : deposit
          ? 'deposit_only'
          : withdraw
            ? 'withdrawal_only'
            : 'funding_temporarily_disabled'
    result[ASSET_CODES[altname] ?? altname] = {
      aclass: 'currency',
      altname,
      decimals: 10,
      display_decimals: 5,
      status,
    }
  }
  return result
}

/** How AssetPairs lists a market of these unified assets. */
function listingOf(m: SimMarket): Listing {
  const base = V1_NAMES[m.base] ?? m.base
  const quote = V1_NAMES[m.quote] ?? m.quote
  const baseCode = ASSET_CODES[base] ?? base
  const quoteCode = ASSET_CODES[quote] ?? quote
  // Pairs of two legacy codes keep them in the key (XXBTZUSD; DOGE is the exception, XDGUSD);
  // the rest use the altname (XBTUSDT, DOTUSD).
  const legacy = baseCode !== base && quoteCode !== quote && base !== 'XDG'
  const key = legacy ? baseCode + quoteCode : base + quote
  // Halted pairs go cancel-only: still listed, but no book to stream.
  const status = m.trading === false ? 'cancel_only' : 'online'
  return { key, wsname: `${base}/${quote}`, base: baseCode, quote: quoteCode, status }
}

/** The v2 symbol of a v1 wsname (`XBT/USD` → `BTC/USD`). */
export function v2Symbol(wsname: string): string {
  const rename = (a: string) => (a === 'XBT' ? 'BTC' : a === 'XDG' ? 'DOGE' : a)
  const [base, quote] = wsname.split('/')
  return `${rename(base!)}/${rename(quote!)}`
}

/**
 * The simulated Kraken venue. Markets are keyed by their v2 symbol, which is the unified pair.
 *
 * @example
 * ```ts
 * const sim = new SimKraken([{ base: 'BTC', quote: 'USD', book: makeBook(60000) }])
 * sim.update('BTC/USD', [['59999.95', '1.00000000']], [])
 * ```
 */
export class SimKraken extends SimVenueBase<State> {
  /** False: acknowledge subscriptions without sending snapshots (a replay supplies the frames). */
  sendSnapshots: boolean
  readonly limits: SimKrakenLimits
  /** Every limit refusal, by kind (all zero for a client within the limits). */
  readonly limited = {
    /** REST requests answered "EGeneral:Too many requests". */
    throttled: 0,
    /** WebSocket upgrades refused with 429 for going over the connection rate. */
    refusedConnects: 0,
    /** Symbols refused for going over the per-connection symbol limit. */
    refusedSymbols: 0,
    /** Client frames dropped with "Exceeded msg rate". */
    rateLimitedFrames: 0,
  }

  readonly #heartbeat: ReturnType<typeof setInterval> | undefined
  readonly #sessions = new Map<Client, Session>()
  readonly #rest: SimWindow
  readonly #connects: SimWindow

  constructor(
    markets: readonly SimMarket[],
    { heartbeatMs = 1000, sendSnapshots = true, limits = {} }: SimKrakenOptions = {},
  ) {
    super('Kraken')
    for (const [i, m] of markets.entries()) {
      const listing = listingOf(m)
      const symbol = v2Symbol(listing.wsname)
      const book = m.book ?? new SimBook()
      const volume24h = m.volume24h ?? defaultVolume(i)
      this.list(symbol, { listing, symbol, book, views: new Map(), volume24h })
    }
    this.sendSnapshots = sendSnapshots
    this.limits = { ...LIMITS, ...limits }
    this.#rest = new SimWindow(this.limits.restPerSecond, 1000)
    this.#connects = new SimWindow(this.limits.connects, this.limits.connectWindowMs)
    if (heartbeatMs > 0) this.#heartbeat = setInterval(() => this.heartbeat(), heartbeatMs)
  }

  /** The frames clients sent, parsed. */
  get requests(): ClientRequest[] {
    const parse = (text: string) => JSON.parse(text) as object
    return this.server.received.map((r) => ({ ...parse(r.text), client: r.client }))
  }

  /** Symbols subscribed by `client` (or by the only client). */
  subscribed(client?: Client): string[] {
    const c = client ?? [...this.server.clients][0]
    return c === undefined ? [] : [...(this.#sessions.get(c)?.symbols ?? [])]
  }

  /**
   * Applies absolute level updates to the venue book and sends each subscriber what changed in its
   * depth window, with the window's checksum. Returns the frames sent.
   */
  update(pair: Pair, bids: Row[], asks: Row[], options: UpdateOptions = {}): string[] {
    const { badChecksum = false, drop = false, keep = true } = options
    const s = this.market(pair)
    const book = keep ? s.book : s.book.clone()
    book.apply(bids, asks)
    const frames: string[] = []
    for (const [client, view] of s.views) {
      if (!this.server.clients.has(client)) {
        s.views.delete(client)
        continue
      }
      const next = windowOf(book, view.depth)
      const changed = diff(view.book, next, book)
      if (keep) view.book = next
      if (drop || (changed.bids.length === 0 && changed.asks.length === 0)) continue
      let checksum = checksumOf(next)
      if (badChecksum) checksum = (checksum + 1) >>> 0
      const frame = bookFrame('update', s.symbol, changed.bids, changed.asks, checksum)
      this.server.send(frame, client)
      frames.push(frame)
    }
    return frames
  }

  /** A lost update: the venue's book changes, nothing is sent; the next checksum shows it. */
  lose(pair: Pair, bids: Row[], asks: Row[]): void {
    this.update(pair, bids, asks, { drop: true })
  }

  /**
   * A bid at the best ask, sent with the checksum of the crossed window (so only the cross gives
   * it away) and not kept by the venue.
   */
  pushCrossed(pair: Pair): void {
    const ask = askToCross(this.book(pair), pair)
    this.update(pair, [[ask[0], '1.00000000']], [], { keep: false })
  }

  /** A real change (the best bid's quantity) sent with a wrong checksum. */
  corruptChecksum(pair: Pair): void {
    const [bid] = this.book(pair).topBids(1)
    const row: Row = bid === undefined ? ['1.0', '1.00000000'] : [bid[0], bumped(bid[1])]
    this.update(pair, [row], [], { badChecksum: true })
  }

  /**
   * Sends a book frame with the level tokens exactly as given (`'-1.0'`, `'"abc"'`, `'null'`), to
   * every subscriber of `pair`; the venue's state is not touched.
   */
  sendRawLevels(pair: Pair, type: BookType, bids: Row[], asks: Row[], checksum = 0): void {
    const s = this.market(pair)
    const frame = bookFrame(type, s.symbol, bids, asks, checksum)
    for (const [client] of s.views) this.server.send(frame, client)
  }

  /** Sends raw frames, in order, to every client. */
  replay(frames: Iterable<string>): void {
    for (const f of frames) this.server.send(f)
  }

  /** A heartbeat to every client with a subscription (Kraken starts them once one exists). */
  heartbeat(): void {
    for (const [c, session] of this.#sessions) {
      if (session.symbols.size > 0) this.server.send('{"channel":"heartbeat"}', c)
    }
  }

  override stop(): void {
    if (this.#heartbeat !== undefined) clearInterval(this.#heartbeat)
    super.stop()
  }

  protected override rest(url: URL): Response | undefined {
    if (!this.#rest.hit()) {
      this.limited.throttled++
      return Response.json({ error: ['EGeneral:Too many requests'] })
    }
    if (url.pathname === '/0/public/Ticker') return Response.json(this.#tickers(url))
    if (url.pathname === '/0/public/Assets') {
      const result = () => assetsResult(this.transfers.entries())
      return serveTransfers(this.transfers, () => ({ error: [], result: result() }), krakenError)
    }
    if (url.pathname !== '/0/public/AssetPairs') {
      // Kraken answers an unknown method with its own error list.
      return Response.json({ error: ['EGeneral:Unknown method'] }, { status: 404 })
    }
    const result: Record<string, object> = {}
    for (const { listing: l } of this.markets()) {
      result[l.key] = {
        altname: l.wsname.replace('/', ''),
        wsname: l.wsname,
        aclass_base: 'currency',
        base: l.base,
        aclass_quote: 'currency',
        quote: l.quote,
        pair_decimals: 2,
        lot_decimals: 8,
        status: l.status,
      }
    }
    // A dark-pool twin, which has no wsname and must be ignored.
    result['XXBTZUSD.d'] = { altname: 'XBTUSD.d', base: 'XXBT', quote: 'ZUSD', status: 'online' }
    return Response.json({ error: [], result })
  }

  /**
   * `GET /0/public/Ticker`: every listed pair, or those named in `pair` (comma-separated REST
   * keys), keyed like AssetPairs. `v` x `p` (last 24 h) gives the market's `volume24h`.
   */
  #tickers(url: URL): object {
    const asked = url.searchParams.get('pair')?.split(',')
    const keys = asked === undefined ? undefined : new Set(asked)
    const result: Record<string, object> = {}
    for (const s of this.markets()) {
      if (keys !== undefined && !keys.has(s.listing.key)) continue
      result[s.listing.key] = tickerOf(s)
    }
    return { error: [], result }
  }

  protected override refuseUpgrade(): Response | undefined {
    if (this.#connects.hit()) return undefined
    this.limited.refusedConnects++
    return new Response('Too Many Requests', { status: 429 })
  }

  protected override onOpen(client: Client): void {
    const frames = new SimWindow(this.limits.framesPerSecond, 1000)
    this.#sessions.set(client, { symbols: new Set(), frames })
    this.server.send(statusFrame('online', '14949390454975033707'), client)
  }

  protected override onClose(client: Client): void {
    const session = this.#sessions.get(client)
    this.#sessions.delete(client)
    for (const symbol of session?.symbols ?? []) this.find(symbol)?.views.delete(client)
  }

  protected override onMessage(client: Client, text: string): void {
    const reply = (body: object) => {
      const now = new Date().toISOString()
      this.server.send(JSON.stringify({ ...body, time_in: now, time_out: now }), client)
    }
    const session = this.#sessions.get(client)
    // Every frame counts, readable or not.
    const limited = session !== undefined && !session.frames.hit()
    let msg: ClientRequest
    try {
      msg = JSON.parse(text)
    } catch {
      if (limited) this.limited.rateLimitedFrames++
      reply({ error: limited ? 'Exceeded msg rate' : 'Malformed request', success: false })
      return
    }
    const { method, req_id, params } = msg
    if (limited) {
      this.limited.rateLimitedFrames++
      return reply({ error: 'Exceeded msg rate', method, req_id, success: false })
    }
    if (method === 'ping') return reply({ method: 'pong', req_id })
    if (method !== 'subscribe' && method !== 'unsubscribe') {
      return reply({ error: 'Unsupported method', method, req_id, success: false })
    }
    const depth = params?.depth ?? 10
    for (const symbol of params?.symbol ?? []) {
      const s = this.find(symbol)
      const fail = (error: string) => reply({ error, method, req_id, success: false, symbol })
      if (params?.channel !== 'book') fail('Unsupported channel')
      else if (s === undefined || s.listing.status !== 'online') {
        fail(`Currency pair not supported ${symbol}`)
      } else if (method === 'unsubscribe') {
        if (!s.views.delete(client)) fail('Subscription Not Found')
        else {
          session?.symbols.delete(symbol)
          reply({ method, result: { channel: 'book', depth, symbol }, success: true, req_id })
        }
      } else if (s.views.has(client)) fail('Already subscribed')
      else if ((session?.symbols.size ?? 0) >= this.limits.symbolsPerConnection) {
        // The sim's wording: Kraken documents the limit, not its answer.
        this.limited.refusedSymbols++
        fail(`Exceeded ${this.limits.symbolsPerConnection} symbols per connection`)
      } else {
        const view = { depth, book: windowOf(s.book, depth) }
        s.views.set(client, view)
        session?.symbols.add(symbol)
        const snapshot = params.snapshot ?? true
        const result = { channel: 'book', depth, snapshot, symbol }
        reply({ method, result, success: true, req_id })
        if (this.sendSnapshots && snapshot) {
          const { book } = view
          const checksum = checksumOf(book)
          const frame = bookFrame('snapshot', symbol, book.topBids(), book.topAsks(), checksum)
          this.server.send(frame, client)
        }
      }
    }
  }
}

/** A deterministic 24 h volume for the `i`th listed market (earlier ones trade more). */
function defaultVolume(i: number): number {
  return Math.round(10_000_000 / (i + 1))
}

/**
 * A Ticker entry (krakenfx/api-specs spot-rest/schemas/objects/public/ticker.yaml): prices around
 * the book's mid, `p` its VWAP and `v` the base volume that makes `v[1] x p[1]` the quote volume.
 */
function tickerOf(s: State): object {
  const [bid] = s.book.topBids(1)
  const [ask] = s.book.topAsks(1)
  const mid = bid && ask ? (Number(bid[0]) + Number(ask[0])) / 2 : Number((bid ?? ask)?.[0] ?? 1)
  const px = mid.toFixed(10)
  const base = (s.volume24h / Number(px)).toFixed(8)
  return {
    a: [ask?.[0] ?? px, '1', '1.000'],
    b: [bid?.[0] ?? px, '1', '1.000'],
    c: [px, '0.10000000'],
    v: [base, base],
    p: [px, px],
    t: [100, 100],
    l: [px, px],
    h: [px, px],
    o: px,
  }
}

/** A quantity one unit larger, with the same number of decimals. */
function bumped(qty: string): string {
  const decimals = qty.includes('.') ? qty.length - qty.indexOf('.') - 1 : 0
  return (Number(qty) + 1).toFixed(decimals)
}

/** What a subscriber at `depth` sees of the venue book. */
function windowOf(book: SimBook, depth: number): SimBook {
  return new SimBook(book.topBids(depth), book.topAsks(depth))
}

/**
 * The update that turns window `before` into `after`: new or changed levels, and deletes for
 * levels that left the venue book (not for those merely pushed out of the window).
 */
function diff(before: SimBook, after: SimBook, venue: SimBook): { bids: Row[]; asks: Row[] } {
  const side = (b: Map<string, string>, a: Map<string, string>, v: Map<string, string>): Row[] => {
    const out: Row[] = []
    for (const [p, q] of a) if (b.get(p) !== q) out.push([p, q])
    for (const p of b.keys()) if (!a.has(p) && !v.has(p)) out.push([p, '0.00000000'])
    return out
  }
  return {
    bids: side(before.bids, after.bids, venue.bids),
    asks: side(before.asks, after.asks, venue.asks),
  }
}

/** A v2 book frame; prices and quantities go out as JSON number tokens, literal digits kept. */
function bookFrame(
  type: BookType,
  symbol: string,
  bids: Row[],
  asks: Row[],
  checksum: number,
  timestamp = new Date().toISOString(),
): string {
  const levels = (rows: Row[]) => rows.map(([p, q]) => `{"price":${p},"qty":${q}}`).join(',')
  const data =
    `{"symbol":"${symbol}","bids":[${levels(bids)}],"asks":[${levels(asks)}],` +
    `"checksum":${checksum},"timestamp":"${timestamp}"}`
  return `{"channel":"book","type":"${type}","data":[${data}]}`
}

/** The `status` frame Kraken sends on connect (connection_id is beyond 2^53: kept as text). */
function statusFrame(system: string, connectionId: string): string {
  const data =
    `{"api_version":"v2","connection_id":${connectionId},"system":"${system}",` +
    `"version":"2.0.8"}`
  return `{"channel":"status","data":[${data}],"type":"update"}`
}

const CRC_TABLE = (() => {
  const t = new Uint32Array(256)
  for (let n = 0; n < 256; n++) {
    let c = n
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1
    t[n] = c >>> 0
  }
  return t
})()

/** CRC-32 (zlib), unsigned: a plain table implementation, independent of the adapter's. */
export function crc32Of(text: string): number {
  let c = 0xffffffff
  for (let i = 0; i < text.length; i++) c = CRC_TABLE[(c ^ text.charCodeAt(i)) & 0xff]! ^ (c >>> 8)
  return (c ^ 0xffffffff) >>> 0
}

/** Kraken's checksum: top 10 asks then top 10 bids, '.' removed, leading zeros stripped. */
export function checksumOf(book: SimBook): number {
  const digits = (t: string) => t.replace('.', '').replace(/^0+(?=.)/, '')
  const part = (rows: Row[]) => rows.map(([p, q]) => digits(p) + digits(q)).join('')
  return crc32Of(part(book.topAsks(10)) + part(book.topBids(10)))
}

type V1Level = [price: string, qty: string, ts: string, flag?: string]
type V1Payload = { as?: V1Level[]; bs?: V1Level[]; a?: V1Level[]; b?: V1Level[]; c?: string }

/** RFC 3339 with microseconds from a v1 `seconds.micros` timestamp. */
function isoOf(v1ts: string): string {
  const [sec, frac = ''] = v1ts.split('.')
  const micros = frac.padEnd(6, '0').slice(0, 6)
  return `${new Date(Number(sec) * 1000).toISOString().slice(0, 19)}.${micros}Z`
}

/**
 * Re-encodes a Kraken v1 capture into the v2 frames the venue would send today: `systemStatus` →
 * `status`, heartbeats kept, subscription acks dropped (the sim acks itself), book snapshots and
 * updates as v2 objects with the same literal digits as JSON numbers and the v2 symbol. Snapshots
 * get a checksum computed here; updates keep the recorded `c`.
 */
export function reencodeV1(lines: readonly string[]): string[] {
  const out: string[] = []
  for (const line of lines) {
    const msg = JSON.parse(line) as unknown
    if (!Array.isArray(msg)) {
      const ev = (msg as { event?: string; status?: string; version?: string }).event
      if (ev === 'heartbeat') out.push('{"channel":"heartbeat"}')
      else if (ev === 'systemStatus') {
        out.push(statusFrame((msg as { status: string }).status, '17843232920108168701'))
      }
      continue
    }
    const channelName = msg[msg.length - 2] as string
    if (!channelName.startsWith('book')) continue
    const symbol = v2Symbol(msg[msg.length - 1] as string)
    const parts = msg.slice(1, -2) as V1Payload[]
    const rows = (levels: V1Level[]): Row[] => levels.map((l) => [l[0], l[1]])
    let latest = '0'
    const seen = (levels: V1Level[]) => {
      for (const l of levels) if (Number(l[2]) > Number(latest)) latest = l[2]
      return levels
    }
    if (parts[0]?.as !== undefined || parts[0]?.bs !== undefined) {
      const bids = rows(seen(parts[0].bs ?? []))
      const asks = rows(seen(parts[0].as ?? []))
      const checksum = checksumOf(new SimBook(bids, asks))
      out.push(bookFrame('snapshot', symbol, bids, asks, checksum, isoOf(latest)))
      continue
    }
    const bids: Row[] = []
    const asks: Row[] = []
    let c: string | undefined
    for (const d of parts) {
      if (d.b) bids.push(...rows(seen(d.b)))
      if (d.a) asks.push(...rows(seen(d.a)))
      if (d.c !== undefined) c = d.c
    }
    if (c === undefined) throw new Error(`v1 update without a checksum: ${line.slice(0, 80)}`)
    out.push(bookFrame('update', symbol, bids, asks, Number(c), isoOf(latest)))
  }
  return out
}
