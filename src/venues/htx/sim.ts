/**
 * @module
 * A simulated HTX spot on 127.0.0.1: `GET /v2/settings/common/symbols`, `GET /market/tickers`, and
 * the `/feed` socket speaking gzip binary frames only: `{"ping":ts}` every few seconds (closing a
 * client that leaves two in a row unanswered, as HTX does), `sub` (one topic or an array, one
 * `subbed` ack per topic), `unsub`, `req` answered by `rep` with `data.seqNum`, and
 * `market.<sym>.mbp.150` pushes chained by seqNum/prevSeqNum — one per change, and an empty one
 * (both sides `[]`, a new seqNum) every tick (HTX: every 100 ms). Prices and sizes go out as JSON
 * number tokens with the book's own digits, below 10^-3 and from 10^7 up in Java's exponent form
 * (`3.45E-4`), as HTX writes them.
 *
 * HTX's limits, answered as HTX answers (HTX spot docs, coincise docs/htx/spot/, 2025-11):
 * - `req` more often than once per 100 ms on a connection ("The limitation of single connection is
 *   100 ms"): `{"status":"error","err-code":"bad-request","err-msg":"429 too many request"}`
 *   (the docs' WebSocket error table), counted in `limited.reqs`;
 * - a topic for a symbol HTX does not list: `bad-request` `invalid mbp.150.symbol <sym>` (the
 *   wording ccxt pro htx.js records), another topic `invalid topic`, a frame that is not JSON
 *   `not json string`: `limited.badRequests`;
 * - two pings without a pong: the connection is closed right before the next ping
 *   (`limited.missedPings`);
 * - public REST over `restPerWindow` requests per `restWindowMs` per IP (HTX: 120 per 3 s for
 *   non-market endpoints, per its announcement): HTTP 429 with ccxt's recorded body
 *   `{"status":"error","err-code":"rate-too-many-requests","err-msg":"exceeded rate limit"}`
 *   (HTX documents the limit and the error code, not the HTTP status): `limited.rest`.
 * Faults: lost pushes (the seqNum still advances), crossed pushes, `snapshotFaults` on `req`
 * (`stale` answers an old seqNum and book, `slow` answers late, `status` answers an error,
 * `invalid-json` a gzip frame of broken JSON), held `rep`s, and everything SimServer offers.
 */
import type { Client } from '../sim/server.ts'
import { askToCross, SimBook, type Row } from '../sim/book.ts'
import { SimRestVenueBase, SimWindow, type SimSeqMarket } from '../sim/base.ts'
import { simVolume24h, type SimMarket } from '../sim/venue.ts'
import type { SimNetwork, SimTransfers } from '../sim/transfers.ts'
import type { Pair } from '../../types.ts'
import { wireNumber } from './numbers.ts'

export interface SimHtxOptions {
  /** The seqNum every book starts at. */
  readonly firstSeqNum?: number
  /** How often the server pings (HTX: 5 s). */
  readonly pingIntervalMs?: number
  /** How often every book pushes an empty diff (HTX: 100 ms); 0 pushes none. */
  readonly tickMs?: number
  /** Least time between two `req`s on one connection (HTX: 100 ms). */
  readonly reqIntervalMs?: number
  /** Public REST requests per window per IP (HTX: 120 per 3 s for non-market endpoints). */
  readonly restPerWindow?: number
  readonly restWindowMs?: number
}

/** What the sim's limits refused, by kind (zero for a client that keeps them). */
export type HtxLimited = {
  /** `req`s answered `429 too many request`: within 100 ms of the previous one. */
  reqs: number
  /** `bad-request` answers: unknown symbols or topics, frames that are not JSON. */
  badRequests: number
  /** Connections closed after two unanswered pings. */
  missedPings: number
  /** REST answers 429. */
  rest: number
}

/** `seq` is the book's seqNum. */
interface Market extends SimSeqMarket {
  readonly symbol: string
  readonly pair: Pair
  readonly base: string
  readonly quote: string
  readonly trading: boolean
  readonly volume: number
}

/** One connection's state. */
interface Session {
  readonly client: Client
  readonly topics: Set<string>
  lastReqMs: number
  /** Pings sent since the last pong. */
  unanswered: number
  /** The numbers of the last two pings (a pong matching either answers). */
  readonly pings: number[]
}

const LEVELS = 150

/** A row list as HTX writes it: `[[price,size],…]` with number tokens. */
const rowsJson = (rows: readonly Row[]): string =>
  `[${rows.map(([p, q]) => `[${wireNumber(p)},${wireNumber(q)}]`).join(',')}]`

/**
 * HTX spot on 127.0.0.1, keyed by unified pair (`BTC/USDT` is `btcusdt`).
 * @example
 * ```ts
 * const sim = new SimHtx([{ base: 'BTC', quote: 'USDT', book: makeBook(60000) }])
 * sim.update('BTC/USDT', [['59999.90', '2.0']], [])
 * ```
 */
export class SimHtx extends SimRestVenueBase<Market> {
  readonly limited: HtxLimited = { reqs: 0, badRequests: 0, missedPings: 0, rest: 0 }
  readonly #bySymbol = new Map<string, Market>()
  readonly #sessions = new Map<Client, Session>()
  readonly #rest: SimWindow
  readonly #reqIntervalMs: number
  readonly #timers: ReturnType<typeof setInterval>[] = []

  constructor(
    markets: readonly SimMarket[],
    {
      firstSeqNum = 100020142010,
      pingIntervalMs = 5_000,
      tickMs = 100,
      reqIntervalMs = 100,
      restPerWindow = 120,
      restWindowMs = 3_000,
    }: SimHtxOptions = {},
  ) {
    super('HTX')
    for (const m of markets) {
      const market: Market = {
        symbol: `${m.base}${m.quote}`.toLowerCase(),
        pair: `${m.base}/${m.quote}`.toUpperCase(),
        base: m.base.toLowerCase(),
        quote: m.quote.toLowerCase(),
        trading: m.trading !== false,
        volume: simVolume24h(m),
        book: m.book ?? new SimBook(),
        seq: firstSeqNum,
        history: [],
      }
      this.list(market.pair, market)
      this.#bySymbol.set(market.symbol, market)
    }
    this.#rest = new SimWindow(restPerWindow, restWindowMs)
    this.#reqIntervalMs = reqIntervalMs
    if (pingIntervalMs > 0) this.#timers.push(setInterval(() => this.#pingAll(), pingIntervalMs))
    if (tickMs > 0) this.#timers.push(setInterval(() => this.#tick(), tickMs))
  }

  /** The native symbol of a pair (`btcusdt`). */
  symbol(pair: Pair): string {
    return this.market(pair).symbol
  }

  /** Topics a client is subscribed to. */
  topicsOf(client: Client): string[] {
    return [...(this.#sessions.get(client)?.topics ?? [])]
  }

  /** Applies and pushes one change (its seqNum advances by `step`). Returns the JSON text sent. */
  update(pair: Pair, bids: Row[], asks: Row[], { step = 1 }: { step?: number } = {}): string {
    const m = this.market(pair)
    const text = this.#advance(m, bids, asks, step)
    this.#push(m, text)
    return text
  }

  /** Applies one change and consumes its seqNum, but never sends it: the next prevSeqNum shows it. */
  lose(pair: Pair, bids: Row[], asks: Row[]): string {
    return this.#advance(this.market(pair), bids, asks, 1)
  }

  /** Pushes a chained diff with a bid at the best ask; the venue's book does not take it. */
  pushCrossed(pair: Pair): string {
    const m = this.market(pair)
    const ask = askToCross(m.book, pair)
    const prev = m.seq
    m.seq++
    const text = pushJson(m.symbol, prev, m.seq, [[ask[0], '1']], [])
    this.#push(m, text)
    return text
  }

  /** Sends a JSON text gzipped, as HTX sends every frame, to one client or all. */
  sendJson(text: string, to?: Client): void {
    this.server.sendBytes(Bun.gzipSync(text), to)
  }

  override stop(): void {
    for (const t of this.#timers.splice(0)) clearInterval(t)
    super.stop()
  }

  #advance(m: Market, bids: Row[], asks: Row[], step: number): string {
    this.remember(m)
    const prev = m.seq
    m.seq += step
    m.book.apply(bids, asks)
    return pushJson(m.symbol, prev, m.seq, bids, asks)
  }

  #push(m: Market, text: string): void {
    const topic = topicOf(m.symbol)
    const bytes = Bun.gzipSync(text)
    for (const s of this.#sessions.values())
      if (s.topics.has(topic)) this.server.sendBytes(bytes, s.client)
  }

  /** Every 100 ms HTX pushes each book's diff, empty when nothing changed, with a new seqNum. */
  #tick(): void {
    if (this.server.stalled) return
    for (const m of this.markets()) {
      const topic = topicOf(m.symbol)
      let watched = false
      for (const s of this.#sessions.values()) if (s.topics.has(topic)) watched = true
      if (!watched) continue
      this.remember(m)
      const prev = m.seq
      m.seq++
      this.#push(m, pushJson(m.symbol, prev, m.seq, [], []))
    }
  }

  /** HTX closes a connection right before the ping after two unanswered ones. */
  #pingAll(): void {
    if (this.server.stalled) return
    for (const s of this.#sessions.values()) {
      if (s.unanswered >= 2) {
        this.limited.missedPings++
        s.client.close(1000, 'ping timeout')
        continue
      }
      const ping = Date.now()
      s.pings.push(ping)
      if (s.pings.length > 2) s.pings.shift()
      s.unanswered++
      this.sendJson(`{"ping":${ping}}`, s.client)
    }
  }

  protected override onOpen(client: Client): void {
    this.#sessions.set(client, {
      client,
      topics: new Set(),
      lastReqMs: -Infinity,
      unanswered: 0,
      pings: [],
    })
  }

  protected override onClose(client: Client): void {
    this.#sessions.delete(client)
  }

  protected override onMessage(client: Client, text: string): void {
    const s = this.#sessions.get(client)
    if (s === undefined) return
    let msg: {
      ping?: unknown
      pong?: unknown
      sub?: unknown
      unsub?: unknown
      req?: unknown
      id?: unknown
    }
    try {
      msg = JSON.parse(text) as typeof msg
    } catch {
      msg = undefined as unknown as typeof msg
    }
    if (msg === null || typeof msg !== 'object') {
      this.#error(s, undefined, 'not json string')
      return
    }
    const id = msg.id
    if (msg.pong !== undefined) {
      // A pong with the number of a ping sent answers it (HTX: "a matching pong").
      if (typeof msg.pong === 'number' && s.pings.includes(msg.pong)) s.unanswered = 0
      return
    }
    if (msg.sub !== undefined) {
      const topics = Array.isArray(msg.sub) ? (msg.sub as unknown[]) : [msg.sub]
      for (const topic of topics) {
        if (this.#refused(s, id, topic)) continue
        s.topics.add(topic as string)
        this.sendJson(JSON.stringify({ id, status: 'ok', subbed: topic, ts: Date.now() }), s.client)
      }
      return
    }
    if (msg.unsub !== undefined) {
      const topic = msg.unsub
      if (typeof topic !== 'string' || !s.topics.delete(topic)) {
        this.#error(s, id, 'unsub with not subbed topic')
        return
      }
      this.sendJson(JSON.stringify({ id, status: 'ok', unsubbed: topic, ts: Date.now() }), s.client)
      return
    }
    if (msg.req !== undefined) {
      const now = Date.now()
      if (now - s.lastReqMs < this.#reqIntervalMs) {
        this.limited.reqs++
        this.#error(s, id, '429 too many request', false)
        return
      }
      s.lastReqMs = now
      if (this.#refused(s, id, msg.req)) return
      void this.#answerReq(s, id, msg.req as string)
      return
    }
    this.#error(s, id, 'invalid topic')
  }

  /** Answers a topic HTX would refuse (and says so); false for a valid book topic. */
  #refused(s: Session, id: unknown, topic: unknown): boolean {
    const m = typeof topic === 'string' ? /^market\.([^.]+)\.mbp\.(\d+)$/.exec(topic) : null
    if (m === null || m[2] !== String(LEVELS)) {
      this.#error(s, id, 'invalid topic')
      return true
    }
    const market = this.#bySymbol.get(m[1]!)
    if (market === undefined) {
      this.#error(s, id, `invalid mbp.${LEVELS}.symbol ${m[1]}`)
      return true
    }
    if (!market.trading) {
      this.#error(s, id, 'symbol trade not open now')
      return true
    }
    return false
  }

  async #answerReq(s: Session, id: unknown, topic: string): Promise<void> {
    const m = this.#bySymbol.get(topic.split('.')[1]!)!
    this.snapshotRequestsMs.push(Date.now())
    await this.held()
    const fault = this.snapshotFaults.shift()
    let seq = m.seq
    let book = m.book
    switch (fault?.kind) {
      case undefined:
        break
      case 'stale': {
        const old = m.history[0] ?? { seq: m.seq - 1, book: m.book }
        seq = old.seq
        book = old.book
        break
      }
      case 'slow':
        await Bun.sleep(fault.delayMs)
        seq = m.seq
        break
      case 'status':
        this.sendJson(
          JSON.stringify({
            id,
            status: 'error',
            ts: Date.now(),
            'err-code': 'bad-request',
            'err-msg': fault.status === 429 ? '429 too many request' : 'request timeout',
          }),
          s.client,
        )
        return
      case 'invalid-json':
        this.sendJson(
          `{"id":${JSON.stringify(id)},"rep":"${topic}","status":"ok","data":{"seqNum":`,
          s.client,
        )
        return
      default: {
        const never: never = fault
        throw new Error(`unknown snapshot fault ${JSON.stringify(never)}`)
      }
    }
    if (!this.#sessions.has(s.client)) return
    const text =
      `{"id":${JSON.stringify(id)},"rep":"${topic}","status":"ok","ts":${Date.now()},` +
      `"data":{"seqNum":${seq},"bids":${rowsJson(book.topBids(LEVELS))},` +
      `"asks":${rowsJson(book.topAsks(LEVELS))}}}`
    this.sendJson(text, s.client)
  }

  /** HTX's error answer; counted as a bad request unless `bad` is false. */
  #error(s: Session, id: unknown, errMsg: string, bad = true): void {
    if (bad) this.limited.badRequests++
    this.sendJson(
      JSON.stringify({
        ...(id === undefined ? {} : { id }),
        status: 'error',
        ts: Date.now(),
        'err-code': 'bad-request',
        'err-msg': errMsg,
      }),
      s.client,
    )
  }

  protected override rest(url: URL): Response | undefined {
    const path = url.pathname
    if (path === '/v2/reference/currencies') return serveCurrencies(this.transfers)
    if (path !== '/v2/settings/common/symbols' && path !== '/market/tickers') return undefined
    if (!this.#rest.hit()) {
      this.limited.rest++
      return Response.json(
        {
          status: 'error',
          'err-code': 'rate-too-many-requests',
          'err-msg': 'exceeded rate limit',
          data: null,
        },
        { status: 429 },
      )
    }
    const res =
      path === '/market/tickers'
        ? new Response(this.#tickers(), { headers: { 'content-type': 'application/json' } })
        : Response.json({
            status: 'ok',
            data: this.markets().map((m) => ({
              tags: '',
              state: m.trading ? 'online' : 'offline',
              sc: m.symbol,
              bc: m.base,
              qc: m.quote,
              bcdn: m.base.toUpperCase(),
              qcdn: m.quote.toUpperCase(),
              dn: `${m.base}/${m.quote}`.toUpperCase(),
              tpp: 2,
              tap: 4,
              ttp: 8,
              fp: 8,
              te: m.trading,
              sp: 'main',
              toa: 1514779200000,
              w: 999400000,
            })),
            ts: String(Date.now()),
            full: 1,
          })
    // The headers HTX's rate-limited endpoints carry (HTX-DOCS "New Version Rate limit Rule").
    res.headers.set('x-hb-ratelimit-requests-remain', String(this.#rest.limit - this.#rest.count()))
    res.headers.set('x-hb-ratelimit-requests-expire', String(Date.now() + this.#rest.windowMs))
    return res
  }

  /** `GET /market/tickers`, numbers as JSON numbers; `vol` the quote volume. */
  #tickers(): string {
    const rows = this.markets().map((m) => {
      const bid = m.book.topBids(1)[0] ?? ['0', '0']
      const ask = m.book.topAsks(1)[0] ?? ['0', '0']
      const mid = (Number(bid[0]) + Number(ask[0])) / 2
      const amount = mid > 0 ? m.volume / mid : 0
      return (
        `{"symbol":"${m.symbol}","open":${mid},"high":${mid},"low":${mid},"close":${mid},` +
        `"amount":${amount},"vol":${m.volume},"count":1000,"bid":${wireNumber(bid[0])},` +
        `"bidSize":${wireNumber(bid[1])},"ask":${wireNumber(ask[0])},"askSize":${wireNumber(ask[1])}}`
      )
    })
    return `{"status":"ok","ts":${Date.now()},"data":[${rows.join(',')}]}`
  }
}

const topicOf = (symbol: string): string => `market.${symbol}.mbp.${LEVELS}`

/** An mbp.150 push as HTX sends it (both sides present, `[]` when unchanged). */
function pushJson(symbol: string, prev: number, seq: number, bids: Row[], asks: Row[]): string {
  return (
    `{"ch":"${topicOf(symbol)}","ts":${Date.now()},"tick":{"seqNum":${seq},"prevSeqNum":${prev},` +
    `"bids":${rowsJson(bids)},"asks":${rowsJson(asks)}}}`
  )
}

/** The token protocol HTX names on a base chain (`baseChainProtocol`). */
const PROTOCOLS: Readonly<Record<string, string>> = {
  ETH: 'ERC20',
  TRX: 'TRC20',
  BSC: 'BEP20',
  SOL: 'SPL',
}

/** HTX's unique chain id of one asset's network (`usdterc20`, `trc20usdt`, `btc`, `splusdc`). */
function chainId(asset: string, n: SimNetwork, count: number): string {
  const a = asset.toLowerCase()
  if (a === 'usdt' && n.network === 'ETH') return 'usdterc20'
  if (a === 'usdt' && n.network === 'TRX') return 'trc20usdt'
  if (n.contract === undefined || count === 1) return a
  return `${(PROTOCOLS[n.network] ?? n.network).toLowerCase()}${a}`
}

/**
 * `GET /v2/reference/currencies` from the sim's transfer state, in HTX's shape (HTX-DOCS "APIv2
 * Currency & Chains": lower-case currencies, `allowed|prohibited`, fixed fees as strings, no
 * contract). Takes the next transfer fault first; errors are HTX's v2 `{code, message, data}`.
 */
function serveCurrencies(transfers: SimTransfers): Response {
  const faulted = transfers.answerFault('{"code":200,"data":[{', (status) => {
    const message = status === 429 ? 'too many requests' : 'error'
    return { code: status, message, data: null }
  })
  if (faulted !== undefined) return faulted
  const allowed = (open: boolean) => (open ? 'allowed' : 'prohibited')
  return Response.json({
    code: 200,
    data: transfers.entries().map(([asset, networks]) => ({
      currency: asset.toLowerCase(),
      assetType: 1,
      chains: networks.map((n) => ({
        chain: chainId(asset, n, networks.length),
        displayName: n.contract === undefined ? '' : (PROTOCOLS[n.network] ?? n.network),
        baseChain: n.network,
        baseChainProtocol: n.contract === undefined ? '' : (PROTOCOLS[n.network] ?? n.network),
        isDynamic: false,
        numOfConfirmations: 12,
        numOfFastConfirmations: 6,
        depositStatus: allowed(n.deposit),
        minDepositAmt: '0',
        withdrawStatus: allowed(n.withdraw),
        minWithdrawAmt: String(n.min),
        withdrawPrecision: 8,
        maxWithdrawAmt: '1000000.00000000',
        withdrawQuotaPerDay: '1000000.00000000',
        withdrawQuotaPerYear: null,
        withdrawQuotaTotal: null,
        withdrawFeeType: 'fixed',
        transactFeeWithdraw: String(n.fee),
        addrWithTag: false,
        addrDepositTag: false,
      })),
      instStatus: 'normal',
    })),
  })
}
