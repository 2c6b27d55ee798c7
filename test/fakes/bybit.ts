/**
 * @module
 * A fake Bybit v5 spot: `GET /v5/market/instruments-info?category=spot` (with optional paging and
 * a retCode to fail with), and `/v5/public/spot` speaking the subscribe/unsubscribe/ping ops with
 * their acks, a `snapshot` on every new `orderbook.50.<SYM>` subscription and `delta`s computed as
 * the change of each book's top 50. Faults: rejected or held subscriptions, a mid-stream snapshot
 * (u = 1 restart), garbage, unknown topics, bad levels, crossed books, raw frame replay, and
 * everything ExchangeServer offers.
 */
import { ExchangeServer, type Client } from './exchange-server.ts'
import { SimBook, type Row } from './sim-book.ts'

export const BYBIT_SPOT_PATH = '/v5/public/spot'
const DEPTH = 50
const MAX_ARGS = 10
const PREFIX = `orderbook.${DEPTH}.`

export interface BybitMarket {
  symbol: string
  base: string
  quote: string
  book?: SimBook
  status?: string
}

interface State {
  market: BybitMarket
  book: SimBook
  /** The top 50 as last pushed to subscribers: deltas are the change from this view. */
  shown: SimBook
  u: number
  seq: number
}

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

export class FakeBybit {
  readonly server: ExchangeServer
  readonly state = new Map<string, State>()
  /** Topics each client holds, by client id. */
  readonly topics = new Map<number, Set<string>>()
  /** Symbols whose subscription is refused (`success:false`, topic named in ret_msg). */
  readonly rejectSymbols = new Set<string>()
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
  readonly #held: { client: Client; topic: string }[] = []

  constructor(markets: BybitMarket[]) {
    for (const m of markets) {
      const book = m.book ?? new SimBook()
      const shown = book.clone()
      shown.truncate(DEPTH)
      this.state.set(m.symbol, { market: m, book, shown, u: 1000, seq: 50_000 })
    }
    this.server = new ExchangeServer({
      rest: (url) => this.#rest(url),
      onOpen: (client) => this.#onOpen(client),
      onMessage: (client, text) => this.#onMessage(client, text),
    })
  }

  /** The public spot endpoint, as the adapter's `wsUrl` base. */
  get wsUrl(): string {
    return `${this.server.wsUrl}${BYBIT_SPOT_PATH}`
  }
  get restUrl(): string {
    return this.server.restUrl
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
    return [...this.server.clients].filter((c) => this.topics.get(c.data.id)?.has(topic))
  }

  /**
   * Applies absolute updates to the venue's full book and pushes one delta: the change in its top
   * 50 (a level pushed out of the top is deleted, one pulled in is inserted). Returns the frame.
   */
  update(symbol: string, bids: Row[], asks: Row[]): string {
    const s = this.state.get(symbol)!
    s.book.apply(bids, asks)
    const view = s.book.clone()
    view.truncate(DEPTH)
    const b = diffSide(s.shown.bids, view.bids)
    const a = diffSide(s.shown.asks, view.asks)
    s.shown = view
    s.u++
    s.seq += 3
    const frame = this.bookFrame(symbol, 'delta', b, a)
    this.pushToTopic(topicOf(symbol), frame)
    return frame
  }

  /**
   * Pushes a snapshot of the book to every subscriber mid-stream (optionally replacing the book
   * first). `restart` sends it with u = 1, as after a service restart.
   */
  pushSnapshot(symbol: string, { book, restart = false }: SnapshotOptions = {}): string {
    const s = this.state.get(symbol)!
    if (book) s.book = book
    if (restart) s.u = 1
    const frame = this.snapshotFrame(symbol)
    this.pushToTopic(topicOf(symbol), frame)
    return frame
  }

  /** A v5 book frame with the symbol's current u/seq. */
  bookFrame(symbol: string, type: 'snapshot' | 'delta', b: Row[], a: Row[]): string {
    const s = this.state.get(symbol)
    const ts = Date.now()
    const data = { s: symbol, b, a, u: s?.u ?? 1, seq: s?.seq ?? 1 }
    return JSON.stringify({ topic: topicOf(symbol), ts, type, data, cts: ts - 2 })
  }

  /** Sends a raw frame to every holder of `topic` (or to every client with no topic). */
  pushToTopic(topic: string | undefined, frame: string): void {
    const to = topic === undefined ? [...this.server.clients] : this.subscribersOf(topic)
    for (const c of to) this.server.send(frame, c)
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

  /** The snapshot frame of the shown top 50 of `symbol`'s book (resets the shown view). */
  snapshotFrame(symbol: string): string {
    const s = this.state.get(symbol)!
    s.shown = s.book.clone()
    s.shown.truncate(DEPTH)
    s.seq += 3
    return this.bookFrame(symbol, 'snapshot', s.shown.topBids(), s.shown.topAsks())
  }

  #sendSnapshot(client: Client, topic: string): void {
    const symbol = topic.slice(PREFIX.length)
    this.server.send(this.snapshotFrame(symbol), client)
  }

  #rest(url: URL): Response | undefined {
    if (url.pathname !== '/v5/market/instruments-info') return undefined
    const fail = (retCode: number, retMsg: string) =>
      Response.json({ retCode, retMsg, result: {}, time: Date.now() })
    if (url.searchParams.get('category') !== 'spot') return fail(10001, 'params error: category')
    if (this.instrumentsRetCode !== 0) return fail(this.instrumentsRetCode, 'fake failure')
    const all = [...this.state.values()].map(({ market: m }) => ({
      symbol: m.symbol,
      baseCoin: m.base,
      quoteCoin: m.quote,
      status: m.status ?? 'Trading',
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

  #onOpen(client: Client): void {
    this.topics.set(client.data.id, new Set())
    if (client.data.path !== BYBIT_SPOT_PATH) client.close(1008, `no endpoint ${client.data.path}`)
  }

  #onMessage(client: Client, text: string): void {
    const connId = `fake-conn-${client.data.id}`
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
        if (args.length > MAX_ARGS) return answer(false, `error:args size >${MAX_ARGS}`)
        for (const topic of args) {
          const symbol = topic.startsWith(PREFIX) ? topic.slice(PREFIX.length) : ''
          if (!this.state.has(symbol) || this.rejectSymbols.has(symbol)) {
            return answer(false, `error:handler not found,topic:${topic}`)
          }
          if (held.has(topic)) return answer(false, `error:already subscribed,topic:${topic}`)
        }
        answer(true, 'subscribe')
        for (const topic of args) {
          held.add(topic)
          if (!this.autoSnapshot) continue
          if (this.holdSnapshots) this.#held.push({ client, topic })
          else this.#sendSnapshot(client, topic)
        }
        return
      }
      case 'unsubscribe':
        for (const topic of args) held.delete(topic)
        return answer(true, '')
      default:
        return answer(false, `error:unknown op ${String(msg.op)}`)
    }
  }

  stop(): void {
    this.server.stop()
  }
}

export const topicOf = (symbol: string): string => PREFIX + symbol

/** The rows that turn side `from` into side `to`: changed or new levels, and deletes as '0'. */
function diffSide(from: Map<string, string>, to: Map<string, string>): Row[] {
  const rows: Row[] = []
  for (const [p, q] of to) if (from.get(p) !== q) rows.push([p, q])
  for (const p of from.keys()) if (!to.has(p)) rows.push([p, '0'])
  return rows
}
