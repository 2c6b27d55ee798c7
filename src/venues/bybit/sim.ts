/**
 * @module
 * A simulated Bybit v5 spot: `GET /v5/market/instruments-info?category=spot` (with optional paging
 * and a retCode to fail with), and `/v5/public/spot` speaking the subscribe/unsubscribe/ping ops
 * with their acks, a `snapshot` on every new `orderbook.50.<SYM>` subscription and `delta`s
 * computed as the change of each book's top 50. Each topic's update id `u` rises by exactly one per
 * message (a restart snapshot has u = 1), as on the real feed. `orderbook.1.<SYM>` pushes the best
 * bid and ask (a snapshot on subscribing, then a delta whenever they change). Both topics share
 * one cross sequence `seq` per market that rises with every change of the venue's book, so pushes
 * of the two topics describing the same state carry the same `seq`, as Bybit documents `seq` for
 * comparing different depths. Faults: lost deltas, crossed pushes, a top changed without its
 * depth-50 change (`corruptTop`), and changes merged into one depth-50 delta (`updateBatch`, so
 * the level-1 tops in between are at `seq`s the book never reaches).
 *
 * Bybit's limits, answered as Bybit answers (bybit-exchange/docs commit 072c197d, 2026-07:
 * docs/v5/websocket/wss-authentication.mdx "IP Limits", "Public channel - Args limits";
 * docs/v5/rate-limit/rate-limit.mdx "IP Limit"):
 * - a spot subscribe request with more than 10 args is refused whole, `{"success":false,
 *   "ret_msg":"args size >10",...}` (the text Bybit sends: yufuquant/rust-bybit issue #24);
 * - more than 21,000 characters of args held on one connection: the request that would pass it is
 *   refused (`success:false`, "args length >21000", our wording: Bybit documents none); the
 *   length is that of the JSON array of every topic held;
 * - 600 REST requests per 5 s per IP: past it HTTP 403 "access too frequent" and the IP waits 10
 *   minutes (every request meanwhile gets the same 403);
 * - 500 connections per 5 minutes per IP: upgrades past it are answered HTTP 403 "access too
 *   frequent" (Bybit documents no answer for sockets; this is its HTTP one).
 * Pushes go only to a topic's holders (an index per topic).
 *
 * Also `GET /v5/asset/coin/query-info` (signed; see `serveCoinInfo`), served from `transfers`.
 */
import type { Credentials } from '../../transfers/types.ts'
import { createHmac } from 'node:crypto'
import type { Client } from '../sim/server.ts'
import type { SimTransfers } from '../sim/transfers.ts'
import { askToCross, bumpTop, SimBook, type Row } from '../sim/book.ts'
import { SimVenueBase, SimWindow } from '../sim/base.ts'
import { simVolume24h, type SimMarket } from '../sim/venue.ts'
import type { Pair } from '../../types.ts'

export const BYBIT_SPOT_PATH = '/v5/public/spot'
const DEPTH = 50
const MAX_ARGS = 10
/** Characters of args one public connection may hold. */
const MAX_ARGS_CHARS = 21_000
const PREFIX = `orderbook.${DEPTH}.`
const TOP_PREFIX = 'orderbook.1.'

export interface SimBybitOptions {
  /** The key `GET /v5/asset/coin/query-info` accepts (test defaults). */
  readonly apiKey?: string
  readonly apiSecret?: string
  /**
   * Native symbols that are not `BASE + QUOTE`, by pair: the adapter must take the pair from
   * `baseCoin`/`quoteCoin`, never by splitting the symbol.
   */
  readonly symbols?: Readonly<Record<Pair, string>>
  /** REST requests per 5 s per IP (Bybit: 600), and how long the IP then waits (10 minutes). */
  readonly requestsPer5s?: number
  readonly banMs?: number
  /** New connections per 5 minutes per IP (Bybit: 500). */
  readonly connectsPer5Min?: number
}

/** What the sim's limits refused, by kind (tests and the benchmark expect zeros of the product). */
export type BybitLimited = {
  /** REST answers 403 "access too frequent". */
  throttled: number
  /** Upgrades answered 403: over 500 connections in 5 minutes. */
  connects: number
  /** Subscribe requests refused for more than 10 args. */
  argsPerRequest: number
  /** Subscribe requests refused for more than 21,000 characters of args on the connection. */
  argsChars: number
}

interface State {
  readonly symbol: string
  readonly pair: Pair
  readonly base: string
  readonly quote: string
  readonly status: string
  /** The 24 h quote volume its ticker reports (`turnover24h`). */
  readonly volume24h: number
  book: SimBook
  /** The top 50 as last pushed to subscribers: deltas are the change from this view. */
  shown: SimBook
  /** The update id of the topic's last message. */
  u: number
  /** Bybit's cross sequence: rises with every change, across depths. */
  seq: number
  /** The update id of the level-1 topic's last message. */
  topU: number
  /** The best bid and ask as last pushed on the level-1 topic. */
  topShown: TopRows
}

/** The best bid and ask rows (undefined: that side is empty). */
type TopRows = readonly [Row | undefined, Row | undefined]

export interface SnapshotOptions {
  /** Replaces the venue's book first. */
  book?: SimBook
  /** Sends the snapshot with u = 1, as after a service restart. */
  restart?: boolean
}

interface OpRequest {
  req_id?: string
  op?: string
  args?: unknown
}

/**
 * The simulated Bybit venue. `trading: false` lists the instrument as `PreLaunch`.
 *
 * @example
 * ```ts
 * const sim = new SimBybit([{ base: 'BTC', quote: 'USDT', book: makeBook(60000) }])
 * sim.update('BTC/USDT', [['59999.95', '1.00000000']], [])
 * ```
 */
/** The key and secret the simulated Bybit accepts unless told otherwise (not real ones). */
export const SIM_BYBIT_KEY = 'sim-bybit-key'
export const SIM_BYBIT_SECRET = 'sim-bybit-secret'

/** Bybit's chain names for the shared network ids (else the id). */
const BYBIT_CHAINS: Readonly<Record<string, string>> = { AVAXC: 'CAVAX', APT: 'APTOS' }

/**
 * `GET /v5/asset/coin/query-info` from a sim's transfer state, checked as Bybit checks it: no
 * X-BAPI-API-KEY is HTTP 401 (error.mdx "HTTP Code"); an unknown key retCode 10003 and a wrong
 * `X-BAPI-SIGN` (hex HMAC-SHA256 of timestamp + key + recv_window + query) retCode 10004, both
 * with HTTP 200 as Bybit sends them. `?coin=` narrows the rows. Takes the next transfer fault first.
 */
function serveCoinInfo(
  transfers: SimTransfers,
  url: URL,
  req: Request,
  apiKey: string,
  apiSecret: string,
): Response {
  const fail = (retCode: number, retMsg: string) =>
    Response.json({ retCode, retMsg, result: {}, retExtInfo: {}, time: Date.now() })
  const faulted = transfers.answerFault('{"retCode":0,"result":{"rows":[', (status) =>
    status === 403 ? 'access too frequent' : 'simulated failure',
  )
  if (faulted !== undefined) return faulted
  const key = req.headers.get('x-bapi-api-key') ?? ''
  const timestamp = req.headers.get('x-bapi-timestamp') ?? ''
  const recvWindow = req.headers.get('x-bapi-recv-window') ?? '5000'
  const sign = req.headers.get('x-bapi-sign') ?? ''
  if (key === '') return new Response('Unauthorized', { status: 401 })
  if (key !== apiKey) return fail(10003, 'API key is invalid.')
  const query = url.search.slice(1)
  const expected = createHmac('sha256', apiSecret)
    .update(timestamp + key + recvWindow + query)
    .digest('hex')
  if (timestamp === '' || sign !== expected) {
    // Bybit echoes the string it signed; the sim leaves the key out of it.
    return fail(10004, 'error sign! origin_string[...]')
  }
  const coin = url.searchParams.get('coin')
  const rows = transfers
    .entries()
    .filter(([asset]) => coin === null || asset === coin)
    .map(([asset, networks]) => ({
      name: asset,
      coin: asset,
      remainAmount: '10000000',
      chains: networks.map((n) => ({
        chainType: n.network,
        confirmation: '6',
        withdrawFee: String(n.fee),
        depositMin: '0',
        withdrawMin: String(n.min),
        chain: BYBIT_CHAINS[n.network] ?? n.network,
        chainDeposit: n.deposit ? '1' : '0',
        chainWithdraw: n.withdraw ? '1' : '0',
        minAccuracy: '8',
        withdrawPercentageFee: '0',
        contractAddress: n.contract ?? '',
        safeConfirmNumber: '65',
        withdrawMax: '10000000',
      })),
    }))
  return Response.json({
    retCode: 0,
    retMsg: 'success',
    result: { rows },
    retExtInfo: {},
    time: Date.now(),
  })
}

export class SimBybit extends SimVenueBase<State> {
  /** Topics each client holds, by client id. */
  readonly topics = new Map<number, Set<string>>()
  readonly limited: BybitLimited = { throttled: 0, connects: 0, argsPerRequest: 0, argsChars: 0 }
  /** Pairs whose subscription is refused (`success:false`, topic named in ret_msg). */
  readonly rejectPairs = new Set<Pair>()
  /** Non-zero: instruments-info answers with this retCode. */
  instrumentsRetCode = 0
  /** Instruments per page (0: all in one page, no cursor). */
  pageSize = 0
  /** While set, new subscriptions are acked but their snapshots wait for `releaseSnapshots()`. */
  holdSnapshots = false
  /** While false, subscriptions are acked and nothing more (replays push their own frames). */
  autoSnapshot = true
  /** While false, pings get no pong. */
  answerPings = true
  /** By native symbol. */
  readonly #state = new Map<string, State>()
  readonly #held: { client: Client; topic: string }[] = []
  /** Each topic's holders. */
  readonly #holders = new Map<string, Set<Client>>()
  /** Per client: the JSON length of its held args, less the array's brackets. */
  readonly #argsChars = new Map<number, number>()
  readonly #requests: SimWindow
  readonly #apiKey: string
  readonly #apiSecret: string
  /** The read-only key this venue accepts (the demo configures the bot with it). */
  get credentials(): Credentials {
    return { key: this.#apiKey, secret: this.#apiSecret }
  }
  readonly #banMs: number
  #bannedUntilMs = 0
  readonly #connects: SimWindow

  constructor(
    markets: readonly SimMarket[],
    {
      symbols = {},
      apiKey = SIM_BYBIT_KEY,
      apiSecret = SIM_BYBIT_SECRET,
      requestsPer5s = 600,
      banMs = 600_000,
      connectsPer5Min = 500,
    }: SimBybitOptions = {},
  ) {
    super('Bybit')
    this.#apiKey = apiKey
    this.#apiSecret = apiSecret
    this.#requests = new SimWindow(requestsPer5s, 5000)
    this.#banMs = banMs
    this.#connects = new SimWindow(connectsPer5Min, 300_000)
    for (const m of markets) {
      const pair: Pair = `${m.base}/${m.quote}`
      const symbol = symbols[pair] ?? m.base + m.quote
      const book = m.book ?? new SimBook()
      const shown = book.clone()
      shown.truncate(DEPTH)
      const status = m.trading === false ? 'PreLaunch' : 'Trading'
      const s: State = {
        symbol,
        pair,
        base: m.base,
        quote: m.quote,
        status,
        volume24h: simVolume24h(m),
        book,
        shown,
        u: 1000,
        seq: 50_000,
        topU: 7000,
        topShown: topRows(book),
      }
      this.#state.set(symbol, s)
      this.list(pair, s)
    }
  }

  /** The public spot endpoint, as the adapter's `wsUrl` base. */
  override get wsUrl(): string {
    return `${this.server.wsUrl}${BYBIT_SPOT_PATH}`
  }

  /** The native symbol of a pair (`BTCUSDT`). */
  symbol(pair: Pair): string {
    return this.market(pair).symbol
  }

  /** The book topic of a pair (`orderbook.50.BTCUSDT`). */
  topic(pair: Pair): string {
    return topicOf(this.market(pair).symbol)
  }

  /** The level-1 topic of a pair (`orderbook.1.BTCUSDT`). */
  topTopic(pair: Pair): string {
    return topTopicOf(this.market(pair).symbol)
  }

  /** The pair's cross sequence: the `seq` of its latest state, on both topics. */
  crossSeq(pair: Pair): number {
    return this.market(pair).seq
  }

  /** The update id of the pair's last message. */
  lastU(pair: Pair): number {
    return this.market(pair).u
  }

  /** Every op request clients sent, parsed, in order (pings included). */
  requests(op?: string): (OpRequest & { client: number })[] {
    const out: (OpRequest & { client: number })[] = []
    for (const r of this.server.received) {
      try {
        const msg = JSON.parse(r.text) as OpRequest
        if (op === undefined || msg.op === op) out.push({ ...msg, client: r.client })
      } catch {
        // not JSON: not an op request
      }
    }
    return out
  }

  /** Clients holding `topic`. */
  subscribersOf(topic: string): Client[] {
    return [...(this.#holders.get(topic) ?? [])]
  }

  /**
   * Applies absolute updates to the venue's full book and pushes one delta: the change in its top
   * 50 (a level pushed out of the top is deleted, one pulled in is inserted). Returns the frame.
   */
  update(pair: Pair, bids: Row[], asks: Row[]): string {
    const s = this.market(pair)
    const frame = this.#change(s, bids, asks)
    this.#pushTop(s)
    this.pushToTopic(topicOf(s.symbol), frame)
    return frame
  }

  /**
   * Several changes, each with its own `seq` and level-1 push when the top moves, but one depth-50
   * delta for all of them (at the last `seq`), as the 20 ms depth-50 push merges what the 10 ms
   * level-1 push shows one by one. Returns the delta frame.
   */
  updateBatch(pair: Pair, changes: readonly { bids: Row[]; asks: Row[] }[]): string {
    const s = this.market(pair)
    for (const c of changes) {
      s.book.apply(c.bids, c.asks)
      s.seq++
      this.#pushTop(s)
    }
    // The delta describes the state at the last change's seq: no change of its own.
    const frame = this.#change(s, [], [], false)
    this.pushToTopic(topicOf(s.symbol), frame)
    return frame
  }

  /**
   * A lost delta: the book changes and `u` moves on, no depth-50 delta is sent (the next `u` skips
   * one); the level-1 topic, an independent channel, still shows the new top.
   */
  lose(pair: Pair, bids: Row[], asks: Row[]): void {
    const s = this.market(pair)
    this.#change(s, bids, asks)
    this.#pushTop(s)
  }

  /**
   * The venue's best `side` quantity changes by one: the level-1 topic shows it at the next `seq`,
   * but the depth-50 delta at that `seq` omits it (a silently corrupted book, which the depth-50
   * stream alone cannot reveal; only the cross-check can). Returns the (empty) delta sent.
   */
  corruptTop(pair: Pair, side: 'bid' | 'ask' = 'bid'): string {
    const s = this.market(pair)
    const { bids, asks } = bumpTop(s.book, pair, side)
    s.book.apply(bids, asks)
    s.shown.apply(bids, asks)
    s.u++
    s.seq++
    this.#pushTop(s)
    const frame = this.bookFrame(pair, 'delta', [], [])
    this.pushToTopic(topicOf(s.symbol), frame)
    return frame
  }

  /**
   * Pushes a delta putting a bid at the best ask, not applied venue-side; it takes the next `u`,
   * so the next update follows it.
   */
  pushCrossed(pair: Pair): void {
    const ask = askToCross(this.book(pair), pair)
    this.pushDelta(pair, [[ask[0], '1.00000000']], [])
  }

  /**
   * Pushes a delta with these rows as they are (bad levels, crossing prices) under the next `u`;
   * the venue's book is not touched. Returns the frame.
   */
  pushDelta(pair: Pair, b: Row[], a: Row[]): string {
    const s = this.market(pair)
    s.u++
    s.seq++
    const frame = this.bookFrame(pair, 'delta', b, a)
    this.pushToTopic(topicOf(s.symbol), frame)
    return frame
  }

  /**
   * Pushes a snapshot of the book to every subscriber mid-stream (optionally replacing the book
   * first) under the next `u`; `restart` sends it with u = 1, as after a service restart.
   */
  pushSnapshot(pair: Pair, { book, restart = false }: SnapshotOptions = {}): string {
    const s = this.market(pair)
    if (book) {
      s.book = book
      s.seq++
    }
    s.u = restart ? 1 : s.u + 1
    const frame = this.snapshotFrame(pair)
    this.#pushTop(s)
    this.pushToTopic(topicOf(s.symbol), frame)
    return frame
  }

  /** A v5 book frame with the pair's current u/seq (or the given `u`); nothing is sent. */
  bookFrame(pair: Pair, type: 'snapshot' | 'delta', b: Row[], a: Row[], u?: number): string {
    const s = this.market(pair)
    const ts = Date.now()
    const data = { s: s.symbol, b, a, u: u ?? s.u, seq: s.seq }
    return JSON.stringify({ topic: topicOf(s.symbol), ts, type, data, cts: ts - 2 })
  }

  /** Sends a raw frame to every holder of `topic` (or to every client with no topic). */
  pushToTopic(topic: string | undefined, frame: string): void {
    const to = topic === undefined ? this.server.clients : this.#holders.get(topic)
    for (const c of to ?? []) this.server.send(frame, c)
  }

  /** Sends raw frames in order, each to the holders of the topic it names (no topic: to all). */
  replay(frames: readonly string[]): void {
    for (const f of frames) {
      const topic = /"topic":"([^"]+)"/.exec(f)?.[1]
      this.pushToTopic(topic, f)
    }
  }

  releaseSnapshots(): void {
    this.holdSnapshots = false
    for (const { client, topic } of this.#held.splice(0)) {
      if (this.topics.get(client.data.id)?.has(topic)) this.#sendSnapshot(client, topic)
    }
  }

  /** The snapshot frame of the shown top 50 at the current `u` (resets the shown view). */
  snapshotFrame(pair: Pair): string {
    const s = this.market(pair)
    s.shown = s.book.clone()
    s.shown.truncate(DEPTH)
    return this.bookFrame(pair, 'snapshot', s.shown.topBids(), s.shown.topAsks())
  }

  /** The level-1 snapshot frame of the pair's best levels at its current `seq`. */
  topSnapshotFrame(pair: Pair): string {
    const s = this.market(pair)
    s.topShown = topRows(s.book)
    const [b, a] = s.topShown
    return this.#topFrame(s, 'snapshot', b ? [b] : [], a ? [a] : [])
  }

  /** Pushes a level-1 delta when the venue's best levels differ from the last ones shown. */
  #pushTop(s: State): void {
    const now = topRows(s.book)
    const [b, a] = [topDiff(s.topShown[0], now[0]), topDiff(s.topShown[1], now[1])]
    if (b.length === 0 && a.length === 0) return
    s.topShown = now
    s.topU++
    this.pushToTopic(topTopicOf(s.symbol), this.#topFrame(s, 'delta', b, a))
  }

  #topFrame(s: State, type: 'snapshot' | 'delta', b: Row[], a: Row[]): string {
    const ts = Date.now()
    const data = { s: s.symbol, b, a, u: s.topU, seq: s.seq }
    return JSON.stringify({ topic: topTopicOf(s.symbol), ts, type, data, cts: ts - 1 })
  }

  /**
   * Applies a change and moves `u` on by one (and `seq`, unless the change is already counted);
   * returns the delta frame it makes.
   */
  #change(s: State, bids: Row[], asks: Row[], newSeq = true): string {
    s.book.apply(bids, asks)
    const view = s.book.clone()
    view.truncate(DEPTH)
    const b = diffSide(s.shown.bids, view.bids)
    const a = diffSide(s.shown.asks, view.asks)
    s.shown = view
    s.u++
    if (newSeq) s.seq++
    return this.bookFrame(s.pair, 'delta', b, a)
  }

  #sendSnapshot(client: Client, topic: string): void {
    const top = topic.startsWith(TOP_PREFIX)
    const s = this.#state.get(topic.slice(top ? TOP_PREFIX.length : PREFIX.length))!
    this.server.send(top ? this.topSnapshotFrame(s.pair) : this.snapshotFrame(s.pair), client)
  }

  protected override rest(url: URL, req: Request): Response | undefined {
    const now = Date.now()
    if (now < this.#bannedUntilMs || !this.#requests.hit(now)) {
      // Past the IP limit the IP waits 10 minutes from the first refusal.
      if (now >= this.#bannedUntilMs) this.#bannedUntilMs = now + this.#banMs
      this.limited.throttled++
      return new Response('access too frequent', { status: 403 })
    }
    const fail = (retCode: number, retMsg: string) =>
      Response.json({ retCode, retMsg, result: {}, retExtInfo: {}, time: Date.now() })
    if (url.pathname === '/v5/market/tickers') return this.#tickers(url, fail)
    if (url.pathname === '/v5/asset/coin/query-info') {
      return serveCoinInfo(this.transfers, url, req, this.#apiKey, this.#apiSecret)
    }
    if (url.pathname !== '/v5/market/instruments-info') return undefined
    if (url.searchParams.get('category') !== 'spot') return fail(10001, 'params error: category')
    if (this.instrumentsRetCode !== 0) return fail(this.instrumentsRetCode, 'simulated failure')
    const all = this.markets().map((s) => ({
      symbol: s.symbol,
      baseCoin: s.base,
      quoteCoin: s.quote,
      status: s.status,
      innovation: '0',
      marginTrading: 'both',
      lotSizeFilter: { basePrecision: '0.000001', quotePrecision: '0.00000001' },
      priceFilter: { tickSize: '0.01' },
    }))
    const start = Number(url.searchParams.get('cursor') ?? '0')
    const size = this.pageSize > 0 ? this.pageSize : all.length
    const list = all.slice(start, start + size)
    const next = start + size < all.length ? String(start + size) : ''
    return Response.json({
      retCode: 0,
      retMsg: 'OK',
      result: { category: 'spot', list, nextPageCursor: next },
      retExtInfo: {},
      time: Date.now(),
    })
  }

  /** GET /v5/market/tickers?category=spot (docs/v5/market/tickers.mdx, the spot response). */
  #tickers(url: URL, fail: (retCode: number, retMsg: string) => Response): Response {
    if (url.searchParams.get('category') !== 'spot') return fail(10001, 'params error: category')
    const one = url.searchParams.get('symbol')
    const list = this.markets()
      .filter((s) => one === null || s.symbol === one)
      .map((s) => {
        const [bid1Price = '', bid1Size = ''] = s.book.topBids(1)[0] ?? []
        const [ask1Price = '', ask1Size = ''] = s.book.topAsks(1)[0] ?? []
        const mid = (Number(bid1Price) + Number(ask1Price)) / 2
        const last = mid > 0 ? String(mid) : '0'
        return {
          symbol: s.symbol,
          bid1Price,
          bid1Size,
          ask1Price,
          ask1Size,
          lastPrice: last,
          prevPrice24h: last,
          price24hPcnt: '0',
          highPrice24h: last,
          lowPrice24h: last,
          turnover24h: String(s.volume24h),
          volume24h: mid > 0 ? String(s.volume24h / mid) : '0',
          usdIndexPrice: '',
        }
      })
    return Response.json({
      retCode: 0,
      retMsg: 'OK',
      result: { category: 'spot', list },
      retExtInfo: {},
      time: Date.now(),
    })
  }

  protected override refuseUpgrade(): Response | undefined {
    if (this.#connects.hit()) return undefined
    this.limited.connects++
    return new Response('access too frequent', { status: 403 })
  }

  protected override onOpen(client: Client): void {
    this.topics.set(client.data.id, new Set())
    this.#argsChars.set(client.data.id, 0)
    if (client.data.path !== BYBIT_SPOT_PATH) client.close(1008, `no endpoint ${client.data.path}`)
  }

  protected override onClose(client: Client): void {
    for (const topic of this.topics.get(client.data.id) ?? [])
      this.#holders.get(topic)?.delete(client)
    this.topics.delete(client.data.id)
    this.#argsChars.delete(client.data.id)
  }

  #hold(client: Client, topic: string): void {
    const held = this.topics.get(client.data.id)!
    if (held.has(topic)) return
    held.add(topic)
    this.#argsChars.set(client.data.id, this.#argsChars.get(client.data.id)! + topic.length + 3)
    let holders = this.#holders.get(topic)
    if (holders === undefined) this.#holders.set(topic, (holders = new Set()))
    holders.add(client)
  }

  #release(client: Client, topic: string): void {
    if (!this.topics.get(client.data.id)!.delete(topic)) return
    this.#argsChars.set(client.data.id, this.#argsChars.get(client.data.id)! - topic.length - 3)
    this.#holders.get(topic)?.delete(client)
  }

  protected override onMessage(client: Client, text: string): void {
    const connId = `sim-conn-${client.data.id}`
    let msg: OpRequest
    try {
      msg = JSON.parse(text) as OpRequest
    } catch {
      const reply = { success: false, ret_msg: 'error:request not json', conn_id: connId }
      this.server.send(JSON.stringify(reply), client)
      return
    }
    const answer = (success: boolean, retMsg: string) => {
      const reply = { success, ret_msg: retMsg, conn_id: connId, req_id: msg.req_id, op: msg.op }
      this.server.send(JSON.stringify(reply), client)
    }
    const held = this.topics.get(client.data.id)!
    const args = Array.isArray(msg.args) ? (msg.args as string[]) : []
    switch (msg.op) {
      case 'ping':
        if (this.answerPings) answer(true, 'pong')
        return
      case 'subscribe': {
        if (args.length > MAX_ARGS) {
          this.limited.argsPerRequest++
          return answer(false, `args size >${MAX_ARGS}`)
        }
        for (const topic of args) {
          const prefix = [PREFIX, TOP_PREFIX].find((p) => topic.startsWith(p))
          const s = prefix === undefined ? undefined : this.#state.get(topic.slice(prefix.length))
          if (s === undefined || this.rejectPairs.has(s.pair)) {
            return answer(false, `error:handler not found,topic:${topic}`)
          }
          if (held.has(topic)) return answer(false, `error:already subscribed,topic:${topic}`)
        }
        // The JSON array of every topic held: each adds its quotes and a comma, less one comma,
        // plus the brackets.
        const chars = args.reduce((n, t) => n + t.length + 3, this.#argsChars.get(client.data.id)!)
        if (chars + 1 > MAX_ARGS_CHARS) {
          this.limited.argsChars++
          return answer(false, `args length >${MAX_ARGS_CHARS}`)
        }
        answer(true, 'subscribe')
        for (const topic of args) {
          this.#hold(client, topic)
          if (!this.autoSnapshot) continue
          if (this.holdSnapshots) this.#held.push({ client, topic })
          else this.#sendSnapshot(client, topic)
        }
        return
      }
      case 'unsubscribe':
        for (const topic of args) this.#release(client, topic)
        return answer(true, '')
      default:
        return answer(false, `error:unknown op ${String(msg.op)}`)
    }
  }
}

export const topicOf = (symbol: string): string => PREFIX + symbol
export const topTopicOf = (symbol: string): string => TOP_PREFIX + symbol

const topRows = (book: SimBook): TopRows => [book.topBids(1)[0], book.topAsks(1)[0]]

/** The level-1 rows turning best level `from` into `to` (the old price deleted if it moved). */
function topDiff(from: Row | undefined, to: Row | undefined): Row[] {
  if (from?.[0] === to?.[0] && from?.[1] === to?.[1]) return []
  const rows: Row[] = []
  if (from !== undefined && from[0] !== to?.[0]) rows.push([from[0], '0'])
  if (to !== undefined) rows.push(to)
  return rows
}

/** The rows that turn side `from` into side `to`: changed or new levels, and deletes as '0'. */
function diffSide(from: Map<string, string>, to: Map<string, string>): Row[] {
  const rows: Row[] = []
  for (const [p, q] of to) if (from.get(p) !== q) rows.push([p, q])
  for (const p of from.keys()) if (!to.has(p)) rows.push([p, '0'])
  return rows
}
