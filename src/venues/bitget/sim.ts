/**
 * @module
 * A simulated Bitget API v2 spot: `GET /api/v2/spot/public/symbols`, `GET
 * /api/v2/spot/market/tickers`, and `/v2/ws/public` where `{"op":"subscribe"}` to `books` is
 * acked per arg and followed by an `action: snapshot` push (checksum 0, as v2 sends it) and then
 * `action: update` pushes of the changed levels, each with `seq` (rising by varying steps) and the
 * CRC-32 checksum of the venue's top 25 levels a side. Bare text `ping` is answered `pong`.
 *
 * Bitget's limits, answered as Bitget answers (bitget.com "Websocket API" intro, newer version;
 * the spot REST pages' limits):
 * - more than 10 messages a second on a connection (string `ping` included): the connection is
 *   closed (the close code is not documented: 1008 here);
 * - 240 subscription requests per hour per connection: past it the request is answered
 *   `{"event":"error","code":30007,"msg":"request over limit"}` (the code hummingbot's Bitget
 *   connector knows) and not applied;
 * - 1000 channels per connection: a subscribe that would pass it is answered with error 30007 too
 *   (Bitget documents no answer; our choice) and not applied;
 * - 300 connection requests per 5 minutes per IP: upgrades past it are answered HTTP 429;
 * - REST 20 requests per second per IP per endpoint: HTTP 429 `{"code":"429","msg":"Too Many
 *   Requests"}`.
 * Pushes go only to an instrument's subscribers.
 */
import type { Client } from '../sim/server.ts'
import { askToCross, SimBook, type Row } from '../sim/book.ts'
import { SimVenueBase, SimWindow } from '../sim/base.ts'
import { simVolume24h, type SimMarket } from '../sim/venue.ts'
import type { SimTransfers } from '../sim/transfers.ts'
import type { Pair } from '../../types.ts'

export const BITGET_PUBLIC_PATH = '/v2/ws/public'

export interface SimBitgetOptions {
  /** Messages a connection may send per second (Bitget: 10). */
  readonly messagesPerSecond?: number
  /** Subscribe/unsubscribe requests per connection per hour (Bitget: 240). */
  readonly subscriptionsPerHour?: number
  /** Channels one connection may hold (Bitget: 1000). */
  readonly channelsPerConnection?: number
  /** New connections per 5 minutes per IP (Bitget: 300). */
  readonly connectsPer5Min?: number
  /** REST requests per second per IP per endpoint (Bitget: 20). */
  readonly restPerSecond?: number
}

/** What the sim's limits refused, by kind (all zero for a client that keeps them). */
export type BitgetLimited = {
  /** REST answers 429. */
  throttled: number
  /** Upgrades answered 429: over 300 connection requests in 5 minutes. */
  connects: number
  /** Connections closed for more than 10 messages in a second. */
  messages: number
  /** Requests answered 30007: over 240 subscription requests an hour on the connection. */
  subscriptions: number
  /** Subscribe requests answered 30007: over 1000 channels on the connection. */
  channels: number
}

interface Market {
  readonly symbol: string
  readonly base: string
  readonly quote: string
  readonly status: string
  readonly volume24h: number
  readonly book: SimBook
  /** The `seq` of the market's last update. */
  seq: number
}

/** CRC-32 (zlib) from Bun itself, so the sim shares no code with the adapter's checksum. */
const crc32 = (text: string): number => Bun.hash.crc32(text)

/** Bitget's checksum of best-first sides: top 25 interleaved, the other side going on, signed. */
export function bitgetChecksumOf(bids: Row[], asks: Row[]): number {
  const parts: string[] = []
  for (let i = 0; i < 25 && (i < bids.length || i < asks.length); i++) {
    if (i < bids.length) parts.push(bids[i]![0], bids[i]![1])
    if (i < asks.length) parts.push(asks[i]![0], asks[i]![1])
  }
  return crc32(parts.join(':')) | 0
}

const checksumOfBook = (b: SimBook) => bitgetChecksumOf(b.topBids(25), b.topAsks(25))

const argOf = (instId: string) => ({ instType: 'SPOT', channel: 'books', instId })

/** A `books` push as Bitget v2 sends it. */
function booksFrame(
  instId: string,
  action: 'snapshot' | 'update',
  bids: Row[],
  asks: Row[],
  checksum: number,
  seq: number,
): string {
  const ts = Date.now()
  const data = [{ asks, bids, checksum, seq, ts: String(ts) }]
  return JSON.stringify({ action, arg: argOf(instId), data, ts })
}

const errorFrame = (code: number, msg: string, arg?: unknown) =>
  JSON.stringify(
    arg === undefined ? { event: 'error', code, msg } : { event: 'error', arg, code, msg },
  )

/**
 * Bitget spot on 127.0.0.1 (`BTC/USDT` is `BTCUSDT`). `trading: false` lists it as `halt`.
 * @example
 * ```ts
 * const sim = new SimBitget([{ base: 'BTC', quote: 'USDT', book: makeBook(60000) }])
 * sim.update('BTC/USDT', [['59999.9', '2']], [])
 * ```
 */
export class SimBitget extends SimVenueBase<Market> {
  /** `books` instIds each client holds, by client id. */
  readonly subscriptions = new Map<number, Set<string>>()
  readonly limited: BitgetLimited = {
    throttled: 0,
    connects: 0,
    messages: 0,
    subscriptions: 0,
    channels: 0,
  }
  /** While false, subscriptions are acked and nothing more (replays push their own frames). */
  autoSnapshot = true
  readonly #bySymbol = new Map<string, Market>()
  readonly #subscribers = new Map<string, Set<Client>>()
  readonly #messages = new Map<number, SimWindow>()
  readonly #subscribeRequests = new Map<number, SimWindow>()
  readonly #opts: Required<SimBitgetOptions>
  readonly #connects: SimWindow
  readonly #rest = new Map<string, SimWindow>()

  constructor(markets: readonly SimMarket[], options: SimBitgetOptions = {}) {
    super('Bitget')
    this.#opts = {
      messagesPerSecond: 10,
      subscriptionsPerHour: 240,
      channelsPerConnection: 1000,
      connectsPer5Min: 300,
      restPerSecond: 20,
      ...options,
    }
    this.#connects = new SimWindow(this.#opts.connectsPer5Min, 300_000)
    for (const m of markets) {
      const base = m.base.toUpperCase()
      const quote = m.quote.toUpperCase()
      const market: Market = {
        symbol: base + quote,
        base,
        quote,
        status: m.trading === false ? 'halt' : 'online',
        volume24h: simVolume24h(m),
        book: m.book ?? new SimBook(),
        seq: 395_681_152,
      }
      this.#bySymbol.set(market.symbol, market)
      this.list(`${base}/${quote}`, market)
    }
  }

  /** The public endpoint, as the adapter's `wsUrl` base. */
  override get wsUrl(): string {
    return `${this.server.wsUrl}${BITGET_PUBLIC_PATH}`
  }

  /** The native symbol of a pair (`BTCUSDT`). */
  symbol(pair: Pair): string {
    return this.market(pair).symbol
  }

  /** The checksum of a pair's current venue book. */
  checksumOf(pair: Pair): number {
    return checksumOfBook(this.market(pair).book)
  }

  /** Applies absolute updates to the venue's book and pushes them. Returns the frame. */
  update(pair: Pair, bids: Row[], asks: Row[]): string {
    const m = this.market(pair)
    const frame = this.#advance(m, bids, asks)
    this.push(m.symbol, frame)
    return frame
  }

  /** Applies a change and moves `seq` on, but the update never reaches the client. */
  lose(pair: Pair, bids: Row[], asks: Row[]): void {
    this.#advance(this.market(pair), bids, asks)
  }

  /** Applies a change and pushes it with a wrong checksum. */
  corruptChecksum(pair: Pair, bids: Row[] = [], asks: Row[] = []): string {
    const m = this.market(pair)
    m.book.apply(bids, asks)
    m.seq += 3
    const wrong = checksumOfBook(m.book) ^ 0x5a5a || 1
    const frame = booksFrame(m.symbol, 'update', bids, asks, wrong, m.seq)
    this.push(m.symbol, frame)
    return frame
  }

  /**
   * Pushes an update with a bid at the best ask, not applied venue-side; its checksum is right
   * for the crossed book, so only the crossing is wrong.
   */
  pushCrossed(pair: Pair): void {
    const m = this.market(pair)
    const ask = askToCross(m.book, pair)
    const bids: Row[] = [[ask[0], '1.00000000']]
    const crossed = m.book.clone()
    crossed.apply(bids, [])
    m.seq += 1
    this.push(m.symbol, booksFrame(m.symbol, 'update', bids, [], checksumOfBook(crossed), m.seq))
  }

  /** Sends a raw frame to every client holding `books` of `symbol` (all clients without one). */
  push(symbol: string | undefined, frame: string): void {
    const to = symbol === undefined ? this.server.clients : this.#subscribers.get(symbol)
    for (const c of to ?? []) this.server.send(frame, c)
  }

  /** Sends recorded frames in order, each to the holders of the instId it names. */
  replay(frames: readonly string[]): number {
    let sent = 0
    for (const f of frames) {
      const instId = /"instId":"([^"]+)"/.exec(f)?.[1]
      if (instId === undefined || f.includes('"event"')) continue
      this.push(instId, f)
      sent++
    }
    return sent
  }

  #advance(m: Market, bids: Row[], asks: Row[]): string {
    m.book.apply(bids, asks)
    // Bitget's seq rises, not by one (395681152 → 395681167 between two real updates).
    m.seq += 1 + (m.seq % 5)
    return booksFrame(m.symbol, 'update', bids, asks, checksumOfBook(m.book), m.seq)
  }

  protected override rest(url: URL): Response | undefined {
    let window = this.#rest.get(url.pathname)
    if (window === undefined) {
      this.#rest.set(url.pathname, (window = new SimWindow(this.#opts.restPerSecond, 1000)))
    }
    if (!window.hit()) {
      this.limited.throttled++
      const body = { code: '429', msg: 'Too Many Requests', requestTime: Date.now(), data: null }
      return Response.json(body, { status: 429 })
    }
    const ok = (data: unknown) =>
      Response.json({ code: '00000', msg: 'success', requestTime: Date.now(), data })
    if (url.pathname === '/api/v2/spot/public/coins') return serveCoins(this.transfers, ok)
    if (url.pathname === '/api/v2/spot/public/symbols') {
      return ok(
        this.markets().map((m) => ({
          symbol: m.symbol,
          baseCoin: m.base,
          quoteCoin: m.quote,
          minTradeAmount: '0',
          maxTradeAmount: '900000000000000000000',
          takerFeeRate: '0.002',
          makerFeeRate: '0.002',
          pricePrecision: '2',
          quantityPrecision: '6',
          quotePrecision: '8',
          status: m.status,
          minTradeUSDT: '1',
          buyLimitPriceRatio: '0.05',
          sellLimitPriceRatio: '0.05',
          areaSymbol: 'no',
          orderQuantity: '200',
          openTime: '1532454360000',
          offTime: '',
        })),
      )
    }
    if (url.pathname === '/api/v2/spot/market/tickers') {
      return ok(
        this.markets().map((m) => {
          const [bidPr = '', bidSz = ''] = m.book.topBids(1)[0] ?? []
          const [askPr = '', askSz = ''] = m.book.topAsks(1)[0] ?? []
          const mid = (Number(bidPr) + Number(askPr)) / 2
          const last = mid > 0 ? String(mid) : '0'
          return {
            symbol: m.symbol,
            high24h: last,
            open: last,
            lastPr: last,
            low24h: last,
            quoteVolume: String(m.volume24h),
            baseVolume: mid > 0 ? String(m.volume24h / mid) : '0',
            usdtVolume: String(m.volume24h),
            bidPr,
            askPr,
            bidSz,
            askSz,
            openUtc: last,
            ts: String(Date.now()),
            changeUtc24h: '0',
            change24h: '0',
          }
        }),
      )
    }
    return undefined
  }

  protected override refuseUpgrade(): Response | undefined {
    if (this.#connects.hit()) return undefined
    this.limited.connects++
    return new Response('Too Many Requests', { status: 429 })
  }

  protected override onOpen(client: Client): void {
    this.subscriptions.set(client.data.id, new Set())
    this.#messages.set(client.data.id, new SimWindow(this.#opts.messagesPerSecond, 1000))
    this.#subscribeRequests.set(
      client.data.id,
      new SimWindow(this.#opts.subscriptionsPerHour, 3_600_000),
    )
    if (client.data.path !== BITGET_PUBLIC_PATH)
      client.close(1008, `no endpoint ${client.data.path}`)
  }

  protected override onClose(client: Client): void {
    for (const symbol of this.subscriptions.get(client.data.id) ?? []) {
      this.#subscribers.get(symbol)?.delete(client)
    }
    this.subscriptions.delete(client.data.id)
    this.#messages.delete(client.data.id)
    this.#subscribeRequests.delete(client.data.id)
  }

  protected override onMessage(client: Client, text: string): void {
    if (this.#messages.get(client.data.id)?.hit() === false) {
      this.limited.messages++
      client.close(1008, 'too many messages')
      return
    }
    if (text === 'ping') {
      this.server.send('pong', client)
      return
    }
    let msg: { op?: unknown; args?: unknown } | undefined
    try {
      msg = JSON.parse(text) as typeof msg
    } catch {
      msg = undefined
    }
    if (!msg || (msg.op !== 'subscribe' && msg.op !== 'unsubscribe') || !Array.isArray(msg.args)) {
      this.server.send(errorFrame(30004, 'param error'), client)
      return
    }
    if (this.#subscribeRequests.get(client.data.id)?.hit() === false) {
      this.limited.subscriptions++
      this.server.send(errorFrame(30007, 'request over limit'), client)
      return
    }
    const held = this.subscriptions.get(client.data.id)!
    const args = msg.args as { instType?: string; channel?: string; instId?: string }[]
    if (msg.op === 'subscribe') {
      const fresh = new Set(
        args.map((a) => a?.instId).filter((s) => s !== undefined && !held.has(s)),
      )
      if (held.size + fresh.size > this.#opts.channelsPerConnection) {
        this.limited.channels++
        this.server.send(errorFrame(30007, 'request over limit'), client)
        return
      }
    }
    for (const arg of args) {
      const m = arg?.instId === undefined ? undefined : this.#bySymbol.get(arg.instId)
      if (arg?.channel !== 'books' || arg.instType !== 'SPOT' || m === undefined) {
        const what = `instType:${arg?.instType},channel:${arg?.channel},instId:${arg?.instId} doesn't exist`
        this.server.send(errorFrame(30001, what, arg), client)
        continue
      }
      this.server.send(JSON.stringify({ event: msg.op, arg: argOf(m.symbol) }), client)
      if (msg.op === 'unsubscribe') {
        held.delete(m.symbol)
        this.#subscribers.get(m.symbol)?.delete(client)
        continue
      }
      held.add(m.symbol)
      let clients = this.#subscribers.get(m.symbol)
      if (clients === undefined) this.#subscribers.set(m.symbol, (clients = new Set()))
      clients.add(client)
      if (!this.autoSnapshot) continue
      // v2 snapshots carry checksum 0.
      const snapshot = booksFrame(
        m.symbol,
        'snapshot',
        m.book.topBids(),
        m.book.topAsks(),
        0,
        m.seq,
      )
      this.server.send(snapshot, client)
    }
  }
}

/** Bitget's chain names for the shared network ids (the rest are spelt as the id). */
const BITGET_CHAINS: Readonly<Record<string, string>> = {
  ETH: 'ERC20',
  TRX: 'TRC20',
  BSC: 'BEP20',
  ARBITRUM: 'ArbitrumOne',
  OPTIMISM: 'Optimism',
  POLYGON: 'Polygon',
  AVAXC: 'C-Chain',
}

/** Bitget's error body for an HTTP status. */
function coinsError(status: number): {
  code: string
  msg: string
  requestTime: number
  data: null
} {
  const msg =
    status === 429 ? 'Too Many Requests' : status >= 500 ? 'Internal Server Error' : 'Bad Request'
  return {
    code: status === 429 ? '429' : status >= 500 ? '40808' : '40034',
    msg,
    requestTime: Date.now(),
    data: null,
  }
}

/**
 * `GET /api/v2/spot/public/coins` from the sim's transfer state, in Bitget's shape (docs "Get
 * Currency Information": string booleans, string amounts). Takes the next transfer fault first.
 */
function serveCoins(transfers: SimTransfers, ok: (data: unknown) => Response): Response {
  const faulted = transfers.answerFault('{"code":"00000","data":[', coinsError)
  if (faulted !== undefined) return faulted
  return ok(
    transfers.entries().map(([asset, networks], i) => ({
      coinId: String(i + 1),
      coin: asset,
      transfer: 'true',
      chains: networks.map((n) => ({
        chain: BITGET_CHAINS[n.network] ?? n.network,
        needTag: 'false',
        withdrawable: String(n.withdraw),
        rechargeable: String(n.deposit),
        withdrawFee: String(n.fee),
        extraWithdrawFee: '0',
        depositConfirm: '12',
        withdrawConfirm: '64',
        minDepositAmount: '0',
        minWithdrawAmount: String(n.min),
        browserUrl: '',
        contractAddress: n.contract ?? null,
        withdrawStep: '0',
        withdrawMinScale: '8',
        congestion: 'normal',
      })),
      areaCoin: 'no',
    })),
  )
}
