/**
 * @module
 * A simulated OKX v5 public API as it works since August 2026: `GET /api/v5/public/instruments`,
 * `GET /api/v5/market/books` (with `seqId`, as the 2026-07 docs list it), `GET
 * /api/v5/market/tickers`, and a socket where `{"op":"subscribe"}` to `books` is acked and then
 * followed by updates only (no initial snapshot), chained by seqId/prevSeqId, with `checksum` 0.
 * Options bring back the older forms: a REST body without `seqId`, the WebSocket `action:
 * snapshot` push, real checksums. Bare text `ping` is answered `pong`.
 *
 * OKX's limits, answered as OKX answers (OKX docs-v5 "Rate limits", "Connect", "Subscribe", the
 * endpoints' own rate limits, "Error codes" as mirrored in arakinyemi/exchange-api-docs):
 * - REST per IP: market/books 40 requests per 2 s, market/tickers 20 per 2 s, public/instruments
 *   20 per 2 s per instType; over them HTTP 429 `{"msg":"Too Many Requests","code":"50011"}`;
 * - 3 new connections per second per IP: upgrades past it are answered HTTP 429 (the answer is
 *   not documented);
 * - 480 subscribe/unsubscribe requests per connection per hour: past it the request is answered
 *   with error 60014 "Requests too frequent" (the answer ccxt/ccxt issue #25373 shows) and not
 *   applied;
 * - a request over 64 KB closes the socket with 1009 "Request message exceeds the maximum frame
 *   length" (the close code OKX lists).
 * Pushes go only to an instrument's subscribers (an index per instId). Faults: lost updates,
 * keep-alive updates, maintenance sequence resets, wrong checksums, crossed books, REST snapshot
 * faults, held or canned snapshots, raw frames, the 64008 upgrade notice, and everything
 * SimServer offers.
 *
 * Also `GET /api/v5/asset/currencies` (signed; see `serveCurrencies`), served from `transfers`.
 */
import type { Credentials } from '../../transfers/types.ts'
import { createHmac } from 'node:crypto'
import type { Client } from '../sim/server.ts'
import type { SimTransfers } from '../sim/transfers.ts'
import { askToCross, SimBook, type Row } from '../sim/book.ts'
import { SimRestVenueBase, SimWindow, type SimSeqMarket } from '../sim/base.ts'
import { simVolume24h, type SimMarket } from '../sim/venue.ts'
import type { Pair } from '../../types.ts'

/** A market OKX lists; `instType` other than SPOT makes it a derivative (`BTC-USD-SWAP`). */
export type SimOkxMarket = SimMarket & { readonly instType?: string }

export interface SimOkxOptions {
  /** The key `GET /api/v5/asset/currencies` accepts (test defaults). */
  readonly apiKey?: string
  readonly apiSecret?: string
  readonly apiPassphrase?: string
  /** The REST book answer carries `seqId` (the 2026-07 docs); false: the older body without it. */
  readonly restSeqId?: boolean
  /** Older servers: an `action: snapshot` push (prevSeqId -1, seqId) after each subscribe ack. */
  readonly wsSnapshot?: boolean
  /** Send OKX's CRC over the book instead of 0 (production before 2026-06-23). */
  readonly checksums?: boolean
  /** The seqId every book starts at. */
  readonly firstSeqId?: number
  /** market/books requests allowed per 2 s per IP (OKX: 40). */
  readonly booksPer2s?: number
  /** market/tickers and public/instruments (per instType) requests per 2 s per IP (OKX: 20). */
  readonly listsPer2s?: number
  /** New connections per second per IP (OKX: 3). */
  readonly connectsPerSecond?: number
  /** Subscribe/unsubscribe requests per connection per hour (OKX: 480). */
  readonly opsPerHour?: number
}

/** What the sim's limits refused, by kind (tests and the benchmark expect zeros of the product). */
export type OkxLimited = {
  /** REST answers 429 (code 50011). */
  throttled: number
  /** Upgrades answered 429: over 3 connections a second. */
  connects: number
  /** Subscribe/unsubscribe requests answered 60014: over 480 an hour on the connection. */
  ops: number
  /** Sockets closed (1009) for a request over 64 KB. */
  frames: number
}

export interface OkxUpdateOptions {
  /** Send this checksum instead of the sim's own. */
  readonly checksum?: number
  /** How far seqId moves (OKX ids are not consecutive per instrument). */
  readonly step?: number
}

/** `seq` is the book's seqId. */
interface Market extends SimSeqMarket {
  readonly instId: string
  readonly instType: string
  readonly base: string
  readonly quote: string
  /** `live`, or `suspend` for a market that is not trading. */
  readonly state: string
}

/** Levels in a socket snapshot and the REST maximum. */
const MAX_DEPTH = 400
/** The most a request may carry (OKX "Subscribe": the channels' total length, 64 KB). */
const MAX_REQUEST_BYTES = 64 * 1024

/** CRC-32 (zlib) from Bun itself, so the sim shares no code with the adapter's checksum. */
const crc32 = (text: string): number => Bun.hash.crc32(text)

/** OKX's checksum of a book given best-first sides: top 25 interleaved, signed 32-bit. */
export function okxChecksumOf(bids: Row[], asks: Row[]): number {
  const parts: string[] = []
  for (let i = 0; i < 25 && (i < bids.length || i < asks.length); i++) {
    if (i < bids.length) parts.push(bids[i]![0], bids[i]![1])
    if (i < asks.length) parts.push(asks[i]![0], asks[i]![1])
  }
  return crc32(parts.join(':')) | 0
}

const checksumOfBook = (b: SimBook) => okxChecksumOf(b.topBids(25), b.topAsks(25))

/** Levels on the wire: price, size, the deprecated "0", number of orders. */
const wire = (rows: Row[]): string[][] =>
  rows.map(([p, q]) => [p, q, '0', Number(q) === 0 ? '0' : '1'])

/** A `books` push as OKX sends it. */
const booksFrame = (instId: string, action: 'snapshot' | 'update', data: Record<string, unknown>) =>
  JSON.stringify({ arg: { channel: 'books', instId }, action, data: [data] })

const errorFrame = (code: string, msg: string) =>
  JSON.stringify({ event: 'error', code, msg, connId: 'sim' })

/** OKX's REST error body for an HTTP status. */
function errorBody(status: number): { code: string; msg: string; data: [] } {
  if (status === 429) return { code: '50011', msg: 'Too Many Requests', data: [] }
  if (status === 400)
    return { code: '50014', msg: 'Parameter instType can not be empty.', data: [] }
  if (status === 503) return { code: '50001', msg: 'Service temporarily unavailable', data: [] }
  if (status >= 500) return { code: '50026', msg: 'System error. Try again later', data: [] }
  return { code: '50014', msg: 'Parameter instId cannot be empty', data: [] }
}

/**
 * OKX spot on 127.0.0.1, keyed by unified pair (`BTC/USDT` is `BTC-USDT`).
 * @example
 * ```ts
 * const sim = new SimOkx([{ base: 'BTC', quote: 'USDT', book: makeBook(60000) }], {
 *   wsSnapshot: true,
 * })
 * sim.update('BTC/USDT', [['59999.9', '2']], [])
 * ```
 */
/** The key, secret and passphrase the simulated OKX accepts unless told otherwise (not real ones). */
export const SIM_OKX_KEY = 'sim-okx-key'
export const SIM_OKX_SECRET = 'sim-okx-secret'
export const SIM_OKX_PASSPHRASE = 'sim-okx-passphrase'

/** OKX's chain names after `<ccy>-` for the shared network ids (else the id). */
const OKX_CHAINS: Readonly<Record<string, string>> = {
  ETH: 'ERC20',
  TRX: 'TRC20',
  BSC: 'BSC',
  BTC: 'Bitcoin',
  SOL: 'Solana',
  AVAXC: 'Avalanche C-Chain',
  XRP: 'Ripple',
  DOGE: 'Dogecoin',
  LTC: 'Litecoin',
  ADA: 'Cardano',
  DOT: 'Polkadot',
  ATOM: 'Cosmos',
  XLM: 'Stellar Lumens',
  APT: 'Aptos',
}

/** OKX's refusal of a signed request: HTTP 401 and its `{msg, code}`. */
const unauthorized = (code: string, msg: string): Response =>
  Response.json({ msg, code }, { status: 401 })

/**
 * `GET /api/v5/asset/currencies` from a sim's transfer state, checked as OKX checks it: each
 * OK-ACCESS header present (50103/50104/50106/50107), the key known (50111), the passphrase right
 * (50105), `OK-ACCESS-SIGN` the base64 HMAC-SHA256 of timestamp + GET + path and query (50113),
 * all HTTP 401. Takes the next transfer fault first.
 */
function serveCurrencies(
  transfers: SimTransfers,
  url: URL,
  req: Request,
  credentials: { key: string; secret: string; passphrase: string },
): Response {
  const faulted = transfers.answerFault('{"code":"0","data":[{"ccy":"BTC",', errorBody)
  if (faulted !== undefined) return faulted
  const h = (name: string) => req.headers.get(name) ?? ''
  const key = h('ok-access-key')
  const sign = h('ok-access-sign')
  const timestamp = h('ok-access-timestamp')
  const passphrase = h('ok-access-passphrase')
  if (key === '') return unauthorized('50103', 'Request header OK-ACCESS-KEY cannot be empty.')
  if (passphrase === '')
    return unauthorized('50104', 'Request header OK-ACCESS-PASSPHRASE cannot be empty.')
  if (sign === '') return unauthorized('50106', 'Request header OK-ACCESS-SIGN cannot be empty.')
  if (timestamp === '')
    return unauthorized('50107', 'Request header OK-ACCESS-TIMESTAMP cannot be empty.')
  if (key !== credentials.key) return unauthorized('50111', 'Invalid OK-ACCESS-KEY')
  if (passphrase !== credentials.passphrase)
    return unauthorized('50105', 'Request header OK-ACCESS-PASSPHRASE incorrect.')
  const prehash = `${timestamp}GET${url.pathname}${url.search}`
  const expected = createHmac('sha256', credentials.secret).update(prehash).digest('base64')
  if (sign !== expected) return unauthorized('50113', 'Invalid Sign')
  const data = transfers.entries().flatMap(([ccy, networks]) =>
    networks.map((n, i) => ({
      ccy,
      name: ccy,
      chain: `${ccy}-${OKX_CHAINS[n.network] ?? n.network}`,
      ctAddr: n.contract ?? '',
      canDep: n.deposit,
      canWd: n.withdraw,
      canInternal: true,
      minDep: '0.00000001',
      minWd: String(n.min),
      maxWd: '1000000',
      wdTickSz: '8',
      fee: String(n.fee),
      minFee: String(n.fee),
      maxFee: String(n.fee),
      mainNet: i === 0,
      needTag: false,
    })),
  )
  return Response.json({ code: '0', msg: '', data })
}

export class SimOkx extends SimRestVenueBase<Market> {
  /** `books` instIds each client subscribed to, by client id. */
  readonly subscriptions = new Map<number, Set<string>>()
  readonly limited: OkxLimited = { throttled: 0, connects: 0, ops: 0, frames: 0 }
  /** Answer this many instrument requests with an OKX error code first. */
  failInstruments = 0
  /** Every market, spot or not, by instId (the spot ones are listed by pair too). */
  readonly #markets = new Map<string, Market>()
  /** The 24 h quote volume each market's ticker reports, by instId. */
  readonly #volumes = new Map<string, number>()
  /** Each instId's subscribed clients. */
  readonly #subscribers = new Map<string, Set<Client>>()
  readonly #restSeqId: boolean
  readonly #credentials: { key: string; secret: string; passphrase: string }
  /** The read-only key this venue accepts (the demo configures the bot with it). */
  get credentials(): Credentials {
    return this.#credentials
  }
  readonly #wsSnapshot: boolean
  readonly #checksums: boolean
  readonly #books: SimWindow
  readonly #tickers: SimWindow
  readonly #instruments = new Map<string, SimWindow>()
  readonly #listsPer2s: number
  readonly #connects: SimWindow
  readonly #opsPerHour: number
  /** Each connection's subscribe/unsubscribe requests in the last hour, by client id. */
  readonly #ops = new Map<number, SimWindow>()

  constructor(
    markets: readonly SimOkxMarket[],
    {
      apiKey = SIM_OKX_KEY,
      apiSecret = SIM_OKX_SECRET,
      apiPassphrase = SIM_OKX_PASSPHRASE,
      restSeqId = true,
      wsSnapshot = false,
      checksums = false,
      firstSeqId = 10_000_000_000,
      booksPer2s = 40,
      listsPer2s = 20,
      connectsPerSecond = 3,
      opsPerHour = 480,
    }: SimOkxOptions = {},
  ) {
    super('OKX')
    this.#credentials = { key: apiKey, secret: apiSecret, passphrase: apiPassphrase }
    for (const m of markets) {
      const instType = m.instType ?? 'SPOT'
      const base = m.base.toUpperCase()
      const quote = m.quote.toUpperCase()
      const market: Market = {
        instId: instType === 'SPOT' ? `${base}-${quote}` : `${base}-${quote}-${instType}`,
        instType,
        base,
        quote,
        state: m.trading === false ? 'suspend' : 'live',
        book: m.book ?? new SimBook(),
        seq: firstSeqId,
        history: [],
      }
      this.#markets.set(market.instId, market)
      this.#volumes.set(market.instId, simVolume24h(m))
      if (instType === 'SPOT') this.list(`${base}/${quote}`, market)
    }
    this.#restSeqId = restSeqId
    this.#wsSnapshot = wsSnapshot
    this.#checksums = checksums
    this.#books = new SimWindow(booksPer2s, 2000)
    this.#tickers = new SimWindow(listsPer2s, 2000)
    this.#listsPer2s = listsPer2s
    this.#connects = new SimWindow(connectsPerSecond, 1000)
    this.#opsPerHour = opsPerHour
  }

  /** The instId of a spot pair (`BTC-USDT`). */
  instId(pair: Pair): string {
    return this.market(pair).instId
  }

  /** The checksum the sim would send for a pair's current book (with `checksums`). */
  checksumOf(pair: Pair): number {
    return checksumOfBook(this.market(pair).book)
  }

  /** Applies one update to the venue's book and pushes it. Returns the frame. */
  update(pair: Pair, bids: Row[], asks: Row[], options: OkxUpdateOptions = {}): string {
    const m = this.market(pair)
    const frame = this.#advance(m, bids, asks, m.seq + (options.step ?? 7), options.checksum)
    this.push(m.instId, frame)
    return frame
  }

  /** Applies one update and consumes its seqId, but never sends it: the next prevSeqId shows it. */
  lose(pair: Pair, bids: Row[], asks: Row[]): string {
    const m = this.market(pair)
    return this.#advance(m, bids, asks, m.seq + 7)
  }

  /** The update OKX sends when the book has not changed for a while: empty, seqId === prevSeqId. */
  keepAlive(pair: Pair): string {
    const m = this.market(pair)
    const frame = this.#frame(m, [], [], m.seq, m.seq)
    this.push(m.instId, frame)
    return frame
  }

  /**
   * A maintenance reset: the update's seqId is lower than its prevSeqId; later ones chain from it.
   * `lost` applies it without sending it.
   */
  maintenanceReset(pair: Pair, seqId: number, bids: Row[], asks: Row[], lost = false): string {
    const m = this.market(pair)
    const frame = this.#advance(m, bids, asks, seqId)
    if (!lost) this.push(m.instId, frame)
    return frame
  }

  /**
   * Pushes a correctly chained update whose levels the venue's own book does NOT take (bad
   * prices, a crossing level), checksum 0: the true book stays what a later snapshot will show.
   */
  inject(pair: Pair, bids: string[][], asks: string[][]): string {
    const m = this.market(pair)
    const prevSeqId = m.seq
    m.seq += 1
    const data = { asks, bids, ts: String(Date.now()), checksum: 0, prevSeqId, seqId: m.seq }
    const frame = booksFrame(m.instId, 'update', data)
    this.push(m.instId, frame)
    return frame
  }

  /**
   * Applies a change and pushes it with a wrong non-zero checksum. OKX sends 0 since 2026-06-23
   * and clients verify any non-zero one, so this is an older server's corrupt frame either way.
   */
  corruptChecksum(pair: Pair, bids: Row[] = [], asks: Row[] = []): string {
    const m = this.market(pair)
    const frame = this.#advance(m, bids, asks, m.seq + 7, 'wrong')
    this.push(m.instId, frame)
    return frame
  }

  /** Pushes a chained update with a bid at the best ask; the venue's book does not take it. */
  pushCrossed(pair: Pair): string {
    const m = this.market(pair)
    const ask = askToCross(m.book, pair)
    const bids: Row[] = [[ask[0], '1.00000000']]
    // With checksums on, the sum is right for the crossed book: only the crossing is wrong.
    const crossed = m.book.clone()
    crossed.apply(bids, [])
    const checksum = this.#checksums ? checksumOfBook(crossed) : 0
    const prevSeqId = m.seq
    m.seq += 1
    const frame = this.#frame(m, bids, [], prevSeqId, m.seq, checksum)
    this.push(m.instId, frame)
    return frame
  }

  /** The notice OKX sends before a service upgrade closes the connection. */
  noticeUpgrade(): void {
    const msg = 'The connection will soon be closed for a service upgrade. Please reconnect.'
    this.server.send(JSON.stringify({ event: 'notice', code: '64008', msg, connId: 'a4d3ae55' }))
  }

  /** Sends a raw frame to every client subscribed to `books` of `instId` (all without one). */
  push(instId: string | undefined, frame: string): void {
    const to = instId === undefined ? this.server.clients : this.#subscribers.get(instId)
    for (const c of to ?? []) this.server.send(frame, c)
  }

  /**
   * Replays recorded frames: `books` pushes go to the clients subscribed to them, other frames
   * (acks, channels nobody subscribed to here) are skipped. Returns how many frames went out.
   */
  replay(frames: readonly string[]): number {
    let sent = 0
    for (const f of frames) {
      const msg = JSON.parse(f) as { arg?: { channel?: string; instId?: string }; event?: string }
      const instId = msg.arg?.instId
      if (msg.event !== undefined || msg.arg?.channel !== 'books' || instId === undefined) continue
      if ((this.#subscribers.get(instId)?.size ?? 0) === 0) continue
      this.push(instId, f)
      sent++
    }
    return sent
  }

  /** Applies a change, moves seqId to `seqId` and returns its (unsent) update frame. */
  #advance(
    m: Market,
    bids: Row[],
    asks: Row[],
    seqId: number,
    checksum?: number | 'wrong',
  ): string {
    this.remember(m)
    const prevSeqId = m.seq
    m.seq = seqId
    m.book.apply(bids, asks)
    return this.#frame(m, bids, asks, prevSeqId, seqId, checksum)
  }

  #frame(
    m: Market,
    bids: Row[],
    asks: Row[],
    prevSeqId: number,
    seqId: number,
    checksum?: number | 'wrong',
  ): string {
    // Computed over the book after the change; 'wrong' is a non-zero mismatching sum.
    const sum =
      checksum === 'wrong'
        ? checksumOfBook(m.book) ^ 0x5a5a || 1
        : (checksum ?? (this.#checksums ? checksumOfBook(m.book) : 0))
    const data = { asks: wire(asks), bids: wire(bids), ts: String(Date.now()), checksum: sum }
    return booksFrame(m.instId, 'update', { ...data, prevSeqId, seqId })
  }

  /** OKX's answer past an endpoint's rate limit (counted). */
  #tooMany(): Response {
    this.limited.throttled++
    return Response.json(errorBody(429), { status: 429 })
  }

  protected override async rest(url: URL, req: Request): Promise<Response | undefined> {
    if (url.pathname === '/api/v5/asset/currencies') {
      return serveCurrencies(this.transfers, url, req, this.#credentials)
    }
    if (url.pathname === '/api/v5/public/instruments') {
      const instType = url.searchParams.get('instType')
      let window = this.#instruments.get(instType ?? '')
      if (window === undefined) {
        window = new SimWindow(this.#listsPer2s, 2000)
        this.#instruments.set(instType ?? '', window)
      }
      if (!window.hit()) return this.#tooMany()
      if (this.failInstruments > 0) {
        this.failInstruments--
        return Response.json({ code: '50001', msg: 'Service temporarily unavailable', data: [] })
      }
      if (!instType) return Response.json({ code: '50014', msg: 'instType is empty', data: [] })
      const data = [...this.#markets.values()]
        .filter((m) => m.instType === instType)
        .map((m) => ({
          instType: m.instType,
          instId: m.instId,
          baseCcy: m.instType === 'SPOT' ? m.base : '',
          quoteCcy: m.instType === 'SPOT' ? m.quote : '',
          state: m.state,
          tickSz: '0.1',
          lotSz: '0.00000001',
          minSz: '0.00001',
        }))
      return Response.json({ code: '0', msg: '', data })
    }
    if (url.pathname === '/api/v5/market/tickers') {
      if (!this.#tickers.hit()) return this.#tooMany()
      const instType = url.searchParams.get('instType')
      if (!instType) return Response.json(errorBody(400), { status: 400 })
      const data = [...this.#markets.values()]
        .filter((m) => m.instType === instType)
        .map((m) => this.#ticker(m))
      return Response.json({ code: '0', msg: '', data })
    }
    if (url.pathname === '/api/v5/market/books') {
      if (!this.#books.hit()) return this.#tooMany()
      const instId = url.searchParams.get('instId') ?? ''
      const m = this.#markets.get(instId)
      if (!m) return Response.json({ code: '51001', msg: "Instrument ID doesn't exist.", data: [] })
      await this.held()
      const depth = Math.min(MAX_DEPTH, Number(url.searchParams.get('sz') ?? '1') || 1)
      const body = (seqId: number, book: SimBook) => {
        const sides = { asks: wire(book.topAsks(depth)), bids: wire(book.topBids(depth)) }
        const ts = String(Date.now())
        const data = this.#restSeqId ? { ...sides, ts, seqId } : { ...sides, ts }
        return { code: '0', msg: '', data: [data] }
      }
      return this.serveBook(m, instId, body, errorBody)
    }
    return undefined
  }

  /** A market's ticker as GET market/tickers lists it; `volCcy24h` is its `volume24h`. */
  #ticker(m: Market): Record<string, unknown> {
    const [bidPx = '', bidSz = ''] = m.book.topBids(1)[0] ?? []
    const [askPx = '', askSz = ''] = m.book.topAsks(1)[0] ?? []
    const volCcy24h = this.#volumes.get(m.instId) ?? 0
    const mid = (Number(bidPx) + Number(askPx)) / 2
    const last = mid > 0 ? String(mid) : '0'
    return {
      instType: m.instType,
      instId: m.instId,
      last,
      lastSz: '0.1',
      askPx,
      askSz,
      bidPx,
      bidSz,
      open24h: last,
      high24h: last,
      low24h: last,
      volCcy24h: String(volCcy24h),
      vol24h: mid > 0 ? String(volCcy24h / mid) : '0',
      ts: String(Date.now()),
      sodUtc0: last,
      sodUtc8: last,
    }
  }

  protected override refuseUpgrade(): Response | undefined {
    if (this.#connects.hit()) return undefined
    this.limited.connects++
    return Response.json(errorBody(429), { status: 429 })
  }

  protected override onOpen(client: Client): void {
    this.subscriptions.set(client.data.id, new Set())
    this.#ops.set(client.data.id, new SimWindow(this.#opsPerHour, 3_600_000))
  }

  protected override onClose(client: Client): void {
    for (const instId of this.subscriptions.get(client.data.id) ?? []) {
      this.#subscribers.get(instId)?.delete(client)
    }
    this.subscriptions.delete(client.data.id)
    this.#ops.delete(client.data.id)
  }

  protected override onMessage(client: Client, text: string): void {
    if (text === 'ping') {
      this.server.send('pong', client)
      return
    }
    if (Buffer.byteLength(text) > MAX_REQUEST_BYTES) {
      this.limited.frames++
      client.close(1009, 'Request message exceeds the maximum frame length')
      return
    }
    let msg: { op?: unknown; args?: unknown; id?: unknown } | undefined
    try {
      msg = JSON.parse(text) as typeof msg
    } catch {
      msg = undefined
    }
    if (!msg || (msg.op !== 'subscribe' && msg.op !== 'unsubscribe') || !Array.isArray(msg.args)) {
      this.server.send(errorFrame('60012', `Invalid request: ${text}`), client)
      return
    }
    if (this.#ops.get(client.data.id)?.hit() === false) {
      this.limited.ops++
      const id = msg.id === undefined ? {} : { id: msg.id }
      const error = { ...id, event: 'error', code: '60014', msg: 'Requests too frequent' }
      this.server.send(JSON.stringify({ ...error, connId: 'sim' }), client)
      return
    }
    const subs = this.subscriptions.get(client.data.id)!
    for (const arg of msg.args as { channel?: string; instId?: string }[]) {
      const m = arg.instId === undefined ? undefined : this.#markets.get(arg.instId)
      if (arg.channel !== 'books' || m === undefined) {
        const what = `Wrong URL or channel:${arg.channel},instId:${arg.instId} doesn't exist`
        this.server.send(errorFrame('60018', what), client)
        continue
      }
      const id = msg.id === undefined ? {} : { id: msg.id }
      this.server.send(JSON.stringify({ ...id, event: msg.op, arg, connId: 'sim' }), client)
      if (msg.op === 'unsubscribe') {
        subs.delete(m.instId)
        this.#subscribers.get(m.instId)?.delete(client)
        continue
      }
      subs.add(m.instId)
      let clients = this.#subscribers.get(m.instId)
      if (clients === undefined) this.#subscribers.set(m.instId, (clients = new Set()))
      clients.add(client)
      if (this.#wsSnapshot) {
        const data = {
          asks: wire(m.book.topAsks(MAX_DEPTH)),
          bids: wire(m.book.topBids(MAX_DEPTH)),
          ts: String(Date.now()),
          checksum: this.#checksums ? checksumOfBook(m.book) : 0,
          prevSeqId: -1,
          seqId: m.seq,
        }
        this.server.send(booksFrame(m.instId, 'snapshot', data), client)
      }
    }
  }
}
