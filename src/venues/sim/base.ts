/**
 * @module
 * What every simulated venue shares, whatever protocol it speaks: its SimServer and URLs, its
 * markets by unified pair, and `stop()`. `SimRestVenueBase` adds what the venues seeded from a
 * REST snapshot share: held and canned snapshots, snapshot faults, and the bounded history of past
 * books that `stale` answers show. A venue's sim adds only its own protocol on top.
 */
import { SimServer, type Client } from './server.ts'
import type { Row, SimBook } from './book.ts'
import { serveSnapshot, type SimVenue, type SnapshotFault } from './venue.ts'
import { SimTransfers } from './transfers.ts'
import type { Pair } from '../../types.ts'

/**
 * Events in a sliding window, counted as a venue's limiter counts them (connections per IP,
 * requests per endpoint); a refused event is not counted.
 * @example
 * ```ts
 * const connects = new SimWindow(3, 1000)
 * if (!connects.hit()) return new Response('Too Many Requests', { status: 429 })
 * ```
 */
export class SimWindow {
  readonly #times: number[] = []
  #head = 0

  constructor(
    readonly limit: number,
    readonly windowMs: number,
  ) {}

  /** Events counted in the window ending at `nowMs`. */
  count(nowMs = Date.now()): number {
    const from = nowMs - this.windowMs
    while (this.#head < this.#times.length && this.#times[this.#head]! <= from) this.#head++
    if (this.#head > 1024 && this.#head * 2 > this.#times.length) {
      this.#times.splice(0, this.#head)
      this.#head = 0
    }
    return this.#times.length - this.#head
  }

  /** Counts one event and returns true, or returns false when the window is full. */
  hit(nowMs = Date.now()): boolean {
    if (this.count(nowMs) >= this.limit) return false
    this.#times.push(nowMs)
    return true
  }
}

/** Past books kept per market for `stale` answers. */
const HISTORY = 50

/** The least a simulated venue keeps of a market. */
export interface SimVenueMarket {
  /** The venue-side book. */
  readonly book: SimBook
}

/** A market whose book is also served as a REST snapshot stamped with a sequence. */
export interface SimSeqMarket extends SimVenueMarket {
  /** What a snapshot taken now carries (update id, seqId, microtimestamp). */
  seq: number
  /** The book before each recent change, oldest first (what a stale snapshot shows). */
  readonly history: { seq: number; book: SimBook }[]
}

/**
 * The shared half of a simulated venue: subclasses list their markets with `list()` and speak
 * their protocol by overriding `rest`, `onOpen` and `onMessage`.
 * @example
 * ```ts
 * class SimFoo extends SimVenueBase<{ book: SimBook }> {
 *   constructor(markets: readonly SimMarket[]) {
 *     super('Foo')
 *     for (const m of markets) this.list(`${m.base}/${m.quote}`, { book: m.book ?? new SimBook() })
 *   }
 * }
 * ```
 */
export abstract class SimVenueBase<M extends SimVenueMarket> implements SimVenue {
  readonly server: SimServer
  /** REST snapshot answers to serve first (none apply where the book comes on the socket). */
  readonly snapshotFaults: SnapshotFault[] = []
  /** When each snapshot request arrived (REST, or asked on the socket), local ms. */
  readonly snapshotRequestsMs: number[] = []
  /** Every listed market's base and quote, with their default networks. */
  readonly transfers = new SimTransfers()
  readonly #name: string
  readonly #markets = new Map<Pair, M>()

  /** `name` is the venue's display name, as errors give it. */
  protected constructor(name: string) {
    this.#name = name
    this.server = new SimServer({
      rest: (url, req) => this.rest(url, req),
      onOpen: (client) => this.onOpen(client),
      onMessage: (client, text) => this.onMessage(client, text),
      onClose: (client) => this.onClose(client),
      refuseUpgrade: (url, req) => this.refuseUpgrade(url, req),
    })
  }

  get wsUrl(): string {
    return this.server.wsUrl
  }
  get restUrl(): string {
    return this.server.restUrl
  }

  book(pair: Pair): SimBook {
    return this.market(pair).book
  }

  abstract update(pair: Pair, bids: Row[], asks: Row[]): void
  abstract lose(pair: Pair, bids: Row[], asks: Row[]): void
  abstract pushCrossed(pair: Pair): void

  stop(): void {
    this.server.stop()
  }

  /** Lists a market under its unified pair. */
  protected list(pair: Pair, market: M): void {
    this.#markets.set(pair, market)
    for (const asset of pair.split('/')) this.transfers.add(asset)
  }

  /** The market of a listed pair, or undefined. */
  protected find(pair: Pair): M | undefined {
    return this.#markets.get(pair)
  }

  /** The market of a pair; throws when the venue does not list it. */
  protected market(pair: Pair): M {
    const m = this.#markets.get(pair)
    if (m === undefined) throw new Error(`the simulated ${this.#name} does not list ${pair}`)
    return m
  }

  /** Every listed market, in listing order. */
  protected markets(): M[] {
    return [...this.#markets.values()]
  }

  /** Answers a REST request; undefined is a 404. */
  protected rest(_url: URL, _req: Request): Response | undefined | Promise<Response | undefined> {
    return undefined
  }

  protected onOpen(_client: Client): void {}

  protected onMessage(_client: Client, _text: string): void {}

  protected onClose(_client: Client): void {}

  /** Answers an upgrade instead of accepting it (a venue's limit); undefined accepts it. */
  protected refuseUpgrade(_url: URL, _req: Request): Response | undefined {
    return undefined
  }
}

/** A simulated venue whose clients seed their books from a REST snapshot. */
export abstract class SimRestVenueBase<M extends SimSeqMarket> extends SimVenueBase<M> {
  /** While set, snapshot requests wait for `releaseSnapshots()`. */
  holdSnapshots = false
  /** Captured or hand-made REST bodies to serve instead of the simulated book, by native symbol. */
  readonly cannedSnapshots = new Map<string, string>()
  #held: (() => void)[] = []

  /** The pair's current sequence (what a snapshot taken now carries). */
  seq(pair: Pair): number {
    return this.market(pair).seq
  }

  releaseSnapshots(): void {
    this.holdSnapshots = false
    for (const r of this.#held.splice(0)) r()
  }

  override stop(): void {
    this.releaseSnapshots()
    super.stop()
  }

  /** Keeps the book as it is before a change, for `stale` answers. */
  protected remember(m: M): void {
    m.history.push({ seq: m.seq, book: m.book.clone() })
    if (m.history.length > HISTORY) m.history.shift()
  }

  /** Resolves at once, or on `releaseSnapshots()` while snapshots are held. */
  protected async held(): Promise<void> {
    if (this.holdSnapshots) await new Promise<void>((r) => this.#held.push(r))
  }

  /**
   * Answers one snapshot request for `m`: the canned body under `symbol` when one is set and no
   * fault is queued, else the next fault or `body(seq, book)` (the oldest kept book when stale).
   * `errorBody` gives a failing status the venue's own body.
   */
  protected async serveBook(
    m: M,
    symbol: string,
    body: (seq: number, book: SimBook) => unknown,
    errorBody: (status: number) => unknown,
  ): Promise<Response> {
    this.snapshotRequestsMs.push(Date.now())
    const canned = this.cannedSnapshots.get(symbol)
    if (canned !== undefined && this.snapshotFaults.length === 0) {
      return new Response(canned, { headers: { 'content-type': 'application/json' } })
    }
    const make = (stale: boolean) => {
      if (canned !== undefined && !stale) return JSON.parse(canned) as unknown
      const { seq, book } = stale
        ? (m.history[0] ?? { seq: m.seq - 1, book: m.book })
        : { seq: m.seq, book: m.book }
      return body(seq, book)
    }
    return serveSnapshot(this.snapshotFaults, make, errorBody)
  }
}
