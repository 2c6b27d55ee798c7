/**
 * @module
 * A fake OKX v5 public API as it works since August 2026: `GET /api/v5/public/instruments`,
 * `GET /api/v5/market/books` (with `seqId`), and a socket where `{"op":"subscribe"}` to `books`
 * is acked and then followed by updates only (no initial snapshot), chained by seqId/prevSeqId,
 * with `checksum` 0 unless `checksums = 'real'`. Bare text `ping` is answered `pong`. Faults: lost
 * updates (gaps), keep-alive updates, maintenance sequence resets, wrong checksums, stale or held
 * REST snapshots, raw frames, the 64008 upgrade notice, and everything ExchangeServer offers.
 */
import { ExchangeServer, type Client } from './exchange-server.ts'
import { SimBook, type Row } from './sim-book.ts'

export interface OkxMarket {
  instId: string
  base: string
  quote: string
  book?: SimBook
  /** `live` unless set (OKX also has `suspend`, `preopen`, `test`). */
  state?: string
  /** `SPOT` unless set; a market is listed only for its own instType. */
  instType?: string
}

interface State {
  market: OkxMarket
  book: SimBook
  seqId: number
  /** Books before each update, oldest first (for stale snapshots). */
  history: { seqId: number; book: SimBook }[]
}

export interface UpdateOptions {
  /** Apply and advance the sequence but never send it: the client loses this message. */
  lost?: boolean
  /** Send this checksum instead of the fake's own; 'wrong' sends a non-zero mismatching one. */
  checksum?: number | 'wrong'
  /** How far seqId moves (OKX ids are not consecutive per instrument). */
  step?: number
}

/** CRC-32 (IEEE, zlib) written out here, so the fake does not share the adapter's code. */
const CRC_TABLE = (() => {
  const t = new Int32Array(256)
  for (let n = 0; n < 256; n++) {
    let c = n
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1
    t[n] = c
  }
  return t
})()

function crc32(text: string): number {
  let c = -1
  for (let i = 0; i < text.length; i++) c = CRC_TABLE[(c ^ text.charCodeAt(i)) & 0xff]! ^ (c >>> 8)
  return (c ^ -1) >>> 0
}

/** OKX's checksum of a book given best-first sides: top 25 interleaved, signed 32-bit. */
export function okxChecksumOf(bids: Row[], asks: Row[]): number {
  const parts: string[] = []
  for (let i = 0; i < 25 && (i < bids.length || i < asks.length); i++) {
    if (i < bids.length) parts.push(bids[i]![0], bids[i]![1])
    if (i < asks.length) parts.push(asks[i]![0], asks[i]![1])
  }
  return crc32(parts.join(':')) | 0
}

/** Levels on the wire: price, size, the deprecated "0", number of orders. */
const wire = (rows: Row[]): string[][] =>
  rows.map(([p, q]) => [p, q, '0', Number(q) === 0 ? '0' : '1'])

/** A `books` push as OKX sends it. */
const booksFrame = (instId: string, action: 'snapshot' | 'update', data: Record<string, unknown>) =>
  JSON.stringify({ arg: { channel: 'books', instId }, action, data: [data] })

const errorFrame = (code: string, msg: string) =>
  JSON.stringify({ event: 'error', code, msg, connId: 'fake' })

export class FakeOkx {
  readonly server: ExchangeServer
  readonly state = new Map<string, State>()
  /** `books` instIds each client subscribed to, by client id. */
  readonly subscriptions = new Map<number, Set<string>>()
  /** 'zero' is production since 2026-06-23; 'real' computes OKX's CRC over the fake's book. */
  checksums: 'zero' | 'real' = 'zero'
  /** Older servers: a WebSocket snapshot (prevSeqId -1) right after the subscribe ack. */
  wsSnapshots = false
  /** Serve this many REST snapshots from before the oldest update a client could hold. */
  staleSnapshots = 0
  /** While set, REST book requests wait for `releaseSnapshots()`. */
  holdSnapshots = false
  /** Answer this many instrument requests with an OKX error code first. */
  failInstruments = 0
  /** Captured or hand-made REST bodies to serve instead of the simulated book, by instId. */
  readonly cannedSnapshots = new Map<string, string>()
  #held: (() => void)[] = []

  constructor(markets: OkxMarket[]) {
    for (const m of markets) {
      const book = m.book ?? new SimBook()
      this.state.set(m.instId, { market: m, book, seqId: 10_000_000_000, history: [] })
    }
    this.server = new ExchangeServer({
      rest: (url) => this.#rest(url),
      onOpen: (client) => this.subscriptions.set(client.data.id, new Set()),
      onMessage: (client, text) => this.#onMessage(client, text),
    })
  }

  get wsUrl(): string {
    return this.server.wsUrl
  }
  get restUrl(): string {
    return this.server.restUrl
  }

  /** The checksum the fake would send for an instrument's current book ('real' mode). */
  checksumOf(instId: string): number {
    const b = this.state.get(instId)!.book
    return okxChecksumOf(b.topBids(25), b.topAsks(25))
  }

  /** Applies one update to the fake's book and pushes it (unless `lost`). Returns the frame. */
  update(instId: string, bids: Row[], asks: Row[], options: UpdateOptions = {}): string {
    const { lost = false, checksum, step = 7 } = options
    const s = this.state.get(instId)!
    s.history.push({ seqId: s.seqId, book: s.book.clone() })
    if (s.history.length > 50) s.history.shift()
    const prevSeqId = s.seqId
    s.seqId += step
    s.book.apply(bids, asks)
    const frame = this.#update(instId, bids, asks, prevSeqId, s.seqId, checksum)
    if (!lost) this.push(instId, frame)
    return frame
  }

  /** The update OKX sends when the book has not changed for a while: empty, seqId === prevSeqId. */
  keepAlive(instId: string): string {
    const s = this.state.get(instId)!
    const frame = this.#update(instId, [], [], s.seqId, s.seqId)
    this.push(instId, frame)
    return frame
  }

  /**
   * A maintenance reset: the update's seqId is lower than its prevSeqId; later ones chain from it.
   * `lost` applies it without sending it.
   */
  maintenanceReset(instId: string, seqId: number, bids: Row[], asks: Row[], lost = false): string {
    const s = this.state.get(instId)!
    s.history.push({ seqId: s.seqId, book: s.book.clone() })
    const prevSeqId = s.seqId
    s.seqId = seqId
    s.book.apply(bids, asks)
    const frame = this.#update(instId, bids, asks, prevSeqId, seqId)
    if (!lost) this.push(instId, frame)
    return frame
  }

  /**
   * Pushes a correctly chained update whose levels the fake's own book does NOT take (bad prices,
   * a crossing level): the venue's true book stays what a later snapshot will show.
   */
  inject(instId: string, bids: string[][], asks: string[][]): string {
    const s = this.state.get(instId)!
    const prevSeqId = s.seqId
    s.seqId += 1
    const ts = String(Date.now())
    const data = { asks, bids, ts, checksum: 0, prevSeqId, seqId: s.seqId }
    const frame = booksFrame(instId, 'update', data)
    this.push(instId, frame)
    return frame
  }

  /** The notice OKX sends before a service upgrade closes the connection. */
  noticeUpgrade(): void {
    const msg = 'The connection will soon be closed for a service upgrade. Please reconnect.'
    this.server.send(JSON.stringify({ event: 'notice', code: '64008', msg, connId: 'a4d3ae55' }))
  }

  /** Sends a raw frame to every client subscribed to `books` of `instId` (all without one). */
  push(instId: string | undefined, frame: string): void {
    for (const c of this.server.clients) {
      if (instId === undefined || this.#subscribed(c, instId)) this.server.send(frame, c)
    }
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
      if (![...this.server.clients].some((c) => this.#subscribed(c, instId))) continue
      this.push(instId, f)
      sent++
    }
    return sent
  }

  releaseSnapshots(): void {
    this.holdSnapshots = false
    for (const r of this.#held.splice(0)) r()
  }

  #subscribed(client: Client, instId: string): boolean {
    return this.subscriptions.get(client.data.id)?.has(instId) === true
  }

  #update(
    instId: string,
    bids: Row[],
    asks: Row[],
    prevSeqId: number,
    seqId: number,
    checksum?: number | 'wrong',
  ): string {
    const sum =
      checksum === 'wrong'
        ? this.checksumOf(instId) ^ 0x5a5a || 1
        : (checksum ?? (this.checksums === 'real' ? this.checksumOf(instId) : 0))
    const ts = String(Date.now())
    const data = { asks: wire(asks), bids: wire(bids), ts, checksum: sum, prevSeqId, seqId }
    return booksFrame(instId, 'update', data)
  }

  async #rest(url: URL): Promise<Response | undefined> {
    if (url.pathname === '/api/v5/public/instruments') {
      if (this.failInstruments > 0) {
        this.failInstruments--
        return Response.json({ code: '50001', msg: 'Service temporarily unavailable', data: [] })
      }
      const instType = url.searchParams.get('instType')
      if (!instType) return Response.json({ code: '50014', msg: 'instType is empty', data: [] })
      const data = [...this.state.values()]
        .filter(({ market: m }) => (m.instType ?? 'SPOT') === instType)
        .map(({ market: m }) => {
          const spot = (m.instType ?? 'SPOT') === 'SPOT'
          return {
            instType: m.instType ?? 'SPOT',
            instId: m.instId,
            baseCcy: spot ? m.base : '',
            quoteCcy: spot ? m.quote : '',
            state: m.state ?? 'live',
            tickSz: '0.1',
            lotSz: '0.00000001',
            minSz: '0.00001',
          }
        })
      return Response.json({ code: '0', msg: '', data })
    }
    if (url.pathname === '/api/v5/market/books') {
      const instId = url.searchParams.get('instId') ?? ''
      const s = this.state.get(instId)
      if (!s) return Response.json({ code: '51001', msg: "Instrument ID doesn't exist.", data: [] })
      if (this.holdSnapshots) await new Promise<void>((r) => this.#held.push(r))
      const canned = this.cannedSnapshots.get(instId)
      if (canned !== undefined) {
        return new Response(canned, { headers: { 'content-type': 'application/json' } })
      }
      const depth = Math.min(400, Number(url.searchParams.get('sz') ?? '1') || 1)
      let seqId = s.seqId
      let book = s.book
      if (this.staleSnapshots > 0 && s.history.length > 0) {
        this.staleSnapshots--
        ;({ seqId, book } = s.history[0]!)
      }
      const asks = wire(book.topAsks(depth))
      const bids = wire(book.topBids(depth))
      const ts = String(Date.now())
      return Response.json({ code: '0', msg: '', data: [{ asks, bids, ts, seqId }] })
    }
    return undefined
  }

  #onMessage(client: Client, text: string): void {
    if (text === 'ping') {
      this.server.send('pong', client)
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
    const subs = this.subscriptions.get(client.data.id)!
    for (const arg of msg.args as { channel?: string; instId?: string }[]) {
      const s = arg.instId === undefined ? undefined : this.state.get(arg.instId)
      if (arg.channel !== 'books' || s === undefined) {
        const what = `Wrong URL or channel:${arg.channel},instId:${arg.instId} doesn't exist`
        this.server.send(errorFrame('60018', what), client)
        continue
      }
      const id = msg.id === undefined ? {} : { id: msg.id }
      this.server.send(JSON.stringify({ ...id, event: msg.op, arg, connId: 'fake' }), client)
      const instId = s.market.instId
      if (msg.op === 'unsubscribe') {
        subs.delete(instId)
        continue
      }
      subs.add(instId)
      if (this.wsSnapshots) {
        const checksum = this.checksums === 'real' ? this.checksumOf(instId) : 0
        const asks = wire(s.book.topAsks(400))
        const bids = wire(s.book.topBids(400))
        const ts = String(Date.now())
        const data = { asks, bids, ts, checksum, prevSeqId: -1, seqId: s.seqId }
        this.server.send(booksFrame(instId, 'snapshot', data), client)
      }
    }
  }

  stop(): void {
    this.releaseSnapshots()
    this.server.stop()
  }
}
