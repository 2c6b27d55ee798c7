/**
 * @module
 * A simulated Bitfinex (WebSocket API v2 and the public REST it needs) on 127.0.0.1:
 * `GET /v2/conf/pub:list:pair:exchange`, `GET /v2/tickers?symbols=ALL`, and a socket that greets
 * with `{"event":"info","version":2,…}`, takes `conf` flags (65536 SEQ_ALL: a per-connection
 * counter appended to every channel frame; 131072 CHECKSUM: `[chanId,"cs",n]` after each book
 * change), and answers `subscribe` to `book` with `subscribed`, then the snapshot
 * `[chanId,[[price,count,amount],…]]`, then one `[chanId,[price,count,amount]]` per changed level
 * (count 0 deletes, amount ±1). Numbers go out as JSON number tokens with the book's own digits.
 *
 * Bitfinex's limits, answered as Bitfinex answers (docs.bitfinex.com ws-general, ws-public,
 * rest-general; error codes from ws-general "Error Codes": 10000 unknown event, 10001 unknown
 * pair, 10305 reached limit of open channels):
 * - 20 new connections a minute per IP on api-pub: upgrades past it answered HTTP 429;
 * - 25 channels per connection: a subscribe past it answered `{"event":"error","code":10305,
 *   "msg":"subscribe: limit"}` and not applied;
 * - REST 10 requests a minute per endpoint (the docs' lower bound): HTTP 429
 *   `["error",11010,"ratelimit: error"]`.
 * Faults: lost updates (the sequence still advances), wrong checksums, crossed books, info
 * 20051/20060/20061, and everything SimServer offers.
 */
import type { Client } from '../sim/server.ts'
import { askToCross, SimBook, type Row } from '../sim/book.ts'
import { SimVenueBase, SimWindow } from '../sim/base.ts'
import { simVolume24h, type SimMarket } from '../sim/venue.ts'
import type { SimTransfers } from '../sim/transfers.ts'
import type { Pair } from '../../types.ts'

export interface SimBitfinexOptions {
  /** New connections a minute per IP (Bitfinex: 20). */
  readonly connectsPerMinute?: number
  /** Channels one connection may hold (Bitfinex: 25). */
  readonly channelsPerConnection?: number
  /** REST requests a minute per endpoint (Bitfinex: "between 10 and 90"; 10 here). */
  readonly restPerMinute?: number
  /** Heartbeat interval per subscribed channel (Bitfinex: ~15 s); 0 sends none. */
  readonly hbIntervalMs?: number
}

/** What the sim's limits refused, by kind. */
export type BitfinexLimited = {
  /** REST answers 429 (error 11010). */
  throttled: number
  /** Upgrades answered 429: over 20 connections a minute. */
  connects: number
  /** Subscribes answered error 10305: over 25 channels on the connection. */
  channels: number
}

interface Market {
  readonly pair: Pair
  readonly book: SimBook
  /** `BTCUST`, as pub:list:pair:exchange lists it. */
  readonly name: string
  /** `tBTCUST`, as the socket and tickers name it. */
  readonly symbol: string
  readonly trading: boolean
  readonly volume: number
}

/** One connection's state. */
interface Session {
  readonly client: Client
  flags: number
  seq: number
  nextChanId: number
  /** chanId → symbol, and symbol → chanId, of its book subscriptions. */
  readonly channels: Map<number, string>
  readonly bySymbol: Map<string, number>
}

const SEQ_ALL = 65536
const CHECKSUM = 131072
const LEN = 25

/** Bitfinex's code for a market code: USDT is UST, USDC is UDC. */
const CODES: Readonly<Record<string, string>> = { USDT: 'UST', USDC: 'UDC' }
const code = (asset: string): string => CODES[asset] ?? asset

/** CRC-32 (zlib) from Bun itself, so the sim shares no code with the adapter's checksum. */
const crc32 = (text: string): number => Bun.hash.crc32(text)

/** The checksum text of one price or amount as the official client renders it. */
function render(text: string, price: boolean): string {
  const neg = text.startsWith('-')
  const abs = neg ? text.slice(1) : text
  const n = Number(abs)
  if (n === 0 || n >= 1e-6) return text
  if (!price) return String(Number(text))
  const exp = Math.abs(Number(String(n).split('e')[1]))
  return (neg ? '-' : '') + n.toFixed(exp + 1)
}

/** Bitfinex's checksum of best-first sides: top 25 interleaved, ask amounts negative, signed. */
export function bitfinexChecksumOf(bids: Row[], asks: Row[]): number {
  const parts: string[] = []
  for (let i = 0; i < LEN && (i < bids.length || i < asks.length); i++) {
    const b = bids[i]
    const a = asks[i]
    if (b) parts.push(render(b[0], true), render(b[1], false))
    if (a) parts.push(render(a[0], true), render(`-${a[1]}`, false))
  }
  return crc32(parts.join(':')) | 0
}

/** A level as the `book` channel sends it: price, count, amount (count 0: amount ±1). */
const entry = (px: string, qty: string, ask: boolean): string =>
  Number(qty) === 0 ? `[${px},0,${ask ? -1 : 1}]` : `[${px},1,${ask ? '-' : ''}${qty}]`

/**
 * Bitfinex spot on 127.0.0.1, keyed by unified pair (`BTC/USDT` is `tBTCUST`).
 * @example
 * ```ts
 * const sim = new SimBitfinex([{ base: 'BTC', quote: 'USDT', book: makeBook(60000) }])
 * sim.update('BTC/USDT', [['59999.9', '2']], [])
 * ```
 */
export class SimBitfinex extends SimVenueBase<Market> {
  readonly limited: BitfinexLimited = { throttled: 0, connects: 0, channels: 0 }
  readonly #bySymbol = new Map<string, Market>()
  readonly #sessions = new Map<Client, Session>()
  readonly #connects: SimWindow
  readonly #channelsPerConnection: number
  readonly #restPerMinute: number
  readonly #rest = new Map<string, SimWindow>()
  #hb: ReturnType<typeof setInterval> | undefined

  constructor(
    markets: readonly SimMarket[],
    {
      connectsPerMinute = 20,
      channelsPerConnection = 25,
      restPerMinute = 10,
      hbIntervalMs = 15_000,
    }: SimBitfinexOptions = {},
  ) {
    super('Bitfinex')
    for (const m of markets) {
      const [base, quote] = [code(m.base.toUpperCase()), code(m.quote.toUpperCase())]
      const name = base.length === 3 && quote.length === 3 ? base + quote : `${base}:${quote}`
      const pair = `${m.base.toUpperCase()}/${m.quote.toUpperCase()}`
      const market: Market = {
        pair,
        book: m.book ?? new SimBook(),
        name,
        symbol: `t${name}`,
        trading: m.trading !== false,
        volume: simVolume24h(m),
      }
      market.book.truncate(LEN)
      this.#bySymbol.set(market.symbol, market)
      this.list(pair, market)
    }
    this.#connects = new SimWindow(connectsPerMinute, 60_000)
    this.#channelsPerConnection = channelsPerConnection
    this.#restPerMinute = restPerMinute
    if (hbIntervalMs > 0) this.#hb = setInterval(() => this.heartbeat(), hbIntervalMs)
  }

  /** The native symbol of a pair (`tBTCUST`). */
  symbol(pair: Pair): string {
    return this.market(pair).symbol
  }

  /** The checksum the sim sends for a pair's current book. */
  checksumOf(pair: Pair): number {
    const b = this.market(pair).book
    return bitfinexChecksumOf(b.topBids(LEN), b.topAsks(LEN))
  }

  /** Applies a change and pushes one frame per level, then the checksum. */
  update(pair: Pair, bids: Row[], asks: Row[]): void {
    const m = this.market(pair)
    const frames = this.#apply(m, bids, asks)
    this.#push(m, (s, chanId) => {
      for (const f of frames) this.#send(s, `[${chanId},${f}`)
      if (s.flags & CHECKSUM) this.#send(s, `[${chanId},"cs",${this.checksumOf(pair)}`)
    })
  }

  /** Applies a change whose frames never arrive; the connection sequence still advances. */
  lose(pair: Pair, bids: Row[], asks: Row[]): void {
    const m = this.market(pair)
    const frames = this.#apply(m, bids, asks)
    this.#push(m, (s) => {
      s.seq += frames.length + (s.flags & CHECKSUM ? 1 : 0)
    })
  }

  /** A bid at the best ask, not applied venue-side (no checksum follows it). */
  pushCrossed(pair: Pair): void {
    const m = this.market(pair)
    const ask = askToCross(m.book, pair)
    this.#push(m, (s, chanId) => this.#send(s, `[${chanId},${entry(ask[0], '1', false)}`))
  }

  /** Applies a change (none by default) and sends a checksum that does not match. */
  corruptChecksum(pair: Pair, bids: Row[] = [], asks: Row[] = []): void {
    const m = this.market(pair)
    const frames = this.#apply(m, bids, asks)
    const wrong = (this.checksumOf(pair) ^ 0x5a5a) | 0
    this.#push(m, (s, chanId) => {
      for (const f of frames) this.#send(s, `[${chanId},${f}`)
      this.#send(s, `[${chanId},"cs",${wrong}`)
    })
  }

  /** `[chanId,"hb"]` on every subscribed channel. */
  heartbeat(): void {
    for (const s of this.#sessions.values()) {
      for (const chanId of s.channels.keys()) this.#send(s, `[${chanId},"hb"`)
    }
  }

  /** An info event with a code (20051 restart, 20060/20061 maintenance start/end). */
  info(code: 20051 | 20060 | 20061): void {
    const msg = {
      20051: 'Stopping. Please try to reconnect',
      20060:
        'Entering in Maintenance mode. Please pause any activity and resume after receiving the info message 20061',
      20061:
        'Maintenance ended. You can resume normal activity. Please unsubscribe and subscribe again all channels',
    }[code]
    this.server.send(JSON.stringify({ event: 'info', code, msg }))
  }

  override stop(): void {
    if (this.#hb !== undefined) clearInterval(this.#hb)
    this.#hb = undefined
    super.stop()
  }

  /** Applies the rows venue-side, keeps the len-25 window, and returns the level frames' tails. */
  #apply(m: Market, bids: Row[], asks: Row[]): string[] {
    const before = { bids: new Set(m.book.bids.keys()), asks: new Set(m.book.asks.keys()) }
    m.book.apply(bids, asks)
    m.book.truncate(LEN)
    // One level per frame, removals first: the book the client holds between two frames is never
    // crossed (a new bid above an old ask would be, were the ask's removal sent after it).
    const removals: string[] = []
    const rest: string[] = []
    for (const [p, q] of bids) (Number(q) === 0 ? removals : rest).push(entry(p, q, false))
    for (const [p, q] of asks) (Number(q) === 0 ? removals : rest).push(entry(p, q, true))
    // Levels pushed out of the window are deleted, as Bitfinex keeps the `len` window itself.
    for (const p of before.bids)
      if (!m.book.bids.has(p) && !bids.some((r) => r[0] === p)) removals.push(entry(p, '0', false))
    for (const p of before.asks)
      if (!m.book.asks.has(p) && !asks.some((r) => r[0] === p)) removals.push(entry(p, '0', true))
    return [...removals, ...rest]
  }

  /** Runs `each` for every session subscribed to the market's book. */
  #push(m: Market, each: (s: Session, chanId: number) => void): void {
    for (const s of this.#sessions.values()) {
      const chanId = s.bySymbol.get(m.symbol)
      if (chanId !== undefined) each(s, chanId)
    }
  }

  /** Sends `head` (a channel frame without its closing bracket) with the sequence if asked. */
  #send(s: Session, head: string): void {
    const seq = s.flags & SEQ_ALL ? `,${++s.seq}` : ''
    this.server.send(`${head}${seq}]`, s.client)
  }

  protected override rest(url: URL): Response | undefined {
    const path = url.pathname
    if (path.startsWith('/v2/conf/') && path.includes('pub:info:tx:status')) {
      return serveTxConfigs(this.transfers, path.slice('/v2/conf/'.length).split(','))
    }
    if (path !== '/v2/conf/pub:list:pair:exchange' && path !== '/v2/tickers') return undefined
    let window = this.#rest.get(path)
    if (window === undefined)
      this.#rest.set(path, (window = new SimWindow(this.#restPerMinute, 60_000)))
    if (!window.hit()) {
      this.limited.throttled++
      return Response.json(['error', 11010, 'ratelimit: error'], { status: 429 })
    }
    const markets = [...this.#bySymbol.values()]
    if (path === '/v2/conf/pub:list:pair:exchange') {
      return Response.json([markets.filter((m) => m.trading).map((m) => m.name)])
    }
    const rows = markets.map((m) => {
      const bid = Number(m.book.topBids(1)[0]?.[0] ?? 0)
      const ask = Number(m.book.topAsks(1)[0]?.[0] ?? 0)
      const last = bid > 0 && ask > 0 ? (bid + ask) / 2 : bid || ask || 1
      return [m.symbol, bid, 1, ask, 1, 0, 0, last, m.volume / last, last, last]
    })
    // A funding ticker, which a trading client leaves out.
    rows.push(['fUSD', 0.0001, 0.0001, 2, 1, 0.0001, 2, 1, 0, 0, 1000, 0.0001, 0.0001, 0, 0, 1])
    return Response.json(rows)
  }

  protected override refuseUpgrade(): Response | undefined {
    if (this.#connects.hit()) return undefined
    this.limited.connects++
    return new Response('Too Many Requests', { status: 429 })
  }

  protected override onOpen(client: Client): void {
    const s: Session = {
      client,
      flags: 0,
      seq: 0,
      nextChanId: 17000,
      channels: new Map(),
      bySymbol: new Map(),
    }
    this.#sessions.set(client, s)
    const info = { event: 'info', version: 2, serverId: 'sim', platform: { status: 1 } }
    this.server.send(JSON.stringify(info), client)
  }

  protected override onClose(client: Client): void {
    this.#sessions.delete(client)
  }

  protected override onMessage(client: Client, text: string): void {
    const s = this.#sessions.get(client)
    if (s === undefined) return
    let msg: Record<string, unknown> | undefined
    try {
      msg = JSON.parse(text) as Record<string, unknown>
    } catch {
      msg = undefined
    }
    const reply = (o: object) => this.server.send(JSON.stringify(o), client)
    switch (msg?.event) {
      case 'conf':
        s.flags = Number(msg.flags) || 0
        return reply({ event: 'conf', status: 'OK', flags: s.flags })
      case 'ping':
        return reply({ event: 'pong', ts: Date.now(), cid: msg.cid })
      case 'unsubscribe': {
        const chanId = Number(msg.chanId)
        const symbol = s.channels.get(chanId)
        if (symbol === undefined) {
          return reply({ event: 'error', msg: 'unsubscribe: invalid', code: 10400, chanId })
        }
        s.channels.delete(chanId)
        s.bySymbol.delete(symbol)
        return reply({ event: 'unsubscribed', status: 'OK', chanId })
      }
      case 'subscribe': {
        const { channel, symbol, prec, freq, len } = msg as Record<string, string>
        const m = symbol === undefined ? undefined : this.#bySymbol.get(symbol)
        const base = { event: 'error', channel, symbol, prec, freq, len, pair: symbol?.slice(1) }
        if (channel !== 'book')
          return reply({ ...base, msg: 'subscribe: unknown channel', code: 10302 })
        if (m === undefined) return reply({ ...base, msg: 'Unknown pair', code: 10001 })
        if (s.bySymbol.has(m.symbol)) return reply({ ...base, msg: 'subscribe: dup', code: 10301 })
        if (s.channels.size >= this.#channelsPerConnection) {
          this.limited.channels++
          return reply({ ...base, msg: 'subscribe: limit', code: 10305 })
        }
        const chanId = s.nextChanId++
        s.channels.set(chanId, m.symbol)
        s.bySymbol.set(m.symbol, chanId)
        const { event: _, msg: __, ...ack } = { ...base, msg: '' }
        reply({ ...ack, event: 'subscribed', chanId })
        const rows = [
          ...m.book.topBids(LEN).map(([p, q]) => entry(p, q, false)),
          ...m.book.topAsks(LEN).map(([p, q]) => entry(p, q, true)),
        ]
        this.#send(s, `[${chanId},[${rows.join(',')}]`)
        if (s.flags & CHECKSUM) this.#send(s, `[${chanId},"cs",${this.checksumOf(m.pair)}`)
        return
      }
      default:
        return reply({ event: 'error', msg: 'unknown event', code: 10000 })
    }
  }
}

/** Chain-named methods for native coins (Bitfinex names a coin's method after its chain). */
const CHAIN_METHODS: Readonly<Record<string, string>> = {
  BTC: 'BITCOIN',
  ETH: 'ETHEREUM',
  SOL: 'SOLANA',
  XRP: 'RIPPLE',
  DOGE: 'DOGECOIN',
  LTC: 'LITECOIN',
  TRX: 'TRON',
  ADA: 'CARDANO',
  DOT: 'POLKADOT',
  ATOM: 'COSMOS',
  XLM: 'STELLAR',
  AVAXC: 'AVAX',
  APT: 'APTOS',
}

/** Tether's methods, one per chain (as Bitfinex names them). */
const TETHER_METHODS: Readonly<Record<string, string>> = {
  ETH: 'TETHERUSE',
  TRX: 'TETHERUSX',
  SOL: 'TETHERUSDTSOL',
  AVAXC: 'TETHERUSDTAVAX',
}

/**
 * The four transfer configs Bitfinex answers to a multi-request (`pub:info:tx:status`,
 * `pub:map:tx:method`, `pub:map:currency:tx:fee`, `pub:map:currency:pool`), one array per
 * requested key in order, from the sim's transfer state in Bitfinex's codes (UST, UDC). A coin's
 * method is named after its chain; Tether's per chain; a token on one network is its own code
 * (its `pool` naming the network); a token on several, its code and the chain's method. Takes
 * the next transfer fault first; errors are `["error", code, msg]`.
 */
function serveTxConfigs(transfers: SimTransfers, keys: readonly string[]): Response {
  const faulted = transfers.answerFault('[[["BITCOIN",1,', (status) =>
    status === 429 ? ['error', 11010, 'ratelimit: error'] : ['error', 10020, 'request: error'],
  )
  if (faulted !== undefined) return faulted
  const status: unknown[] = []
  const methods: unknown[] = []
  const fees: unknown[] = []
  const pools: unknown[] = []
  for (const [asset, networks] of transfers.entries()) {
    if (networks.length === 0) continue
    const c = code(asset)
    for (const n of networks) {
      const chain = CHAIN_METHODS[n.network] ?? n.network
      const method =
        asset === 'USDT' && TETHER_METHODS[n.network] !== undefined
          ? TETHER_METHODS[n.network]!
          : n.contract === undefined
            ? chain
            : networks.length === 1
              ? c
              : `${c}${chain}`
      methods.push([method, [c]])
      status.push([
        method,
        n.deposit ? 1 : 0,
        n.withdraw ? 1 : 0,
        null,
        null,
        null,
        null,
        0,
        0,
        null,
        null,
        12,
      ])
    }
    fees.push([c, [0, networks[0]!.fee]])
    if (networks.length === 1 && networks[0]!.contract !== undefined)
      pools.push([c, networks[0]!.network])
  }
  const byKey: Record<string, unknown[]> = {
    'pub:info:tx:status': status,
    'pub:map:tx:method': methods,
    'pub:map:currency:tx:fee': fees,
    'pub:map:currency:pool': pools,
  }
  return Response.json(keys.map((k) => byKey[k] ?? []))
}
