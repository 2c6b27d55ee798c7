/**
 * @module
 * The arbitrage detector: watches every ordered venue pair of each market, every configured
 * triangle and every cross-quote route (X/Q1 on one venue, X/Q2 on another, converted back through
 * a live Q1/Q2 book), as their books appear and disappear, and turns their spreads into
 * opportunities with a lifecycle (open at the threshold, update while it lasts, close below the
 * threshold minus a hysteresis margin, when a leg goes stale or when its market leaves the
 * universe). Work per book update is proportional to the routes reading that book, and most end
 * at a top-of-book bound read from a compact cache, without touching the books or walking depth.
 */
import type { BookEntry, Books } from '../book/books.ts'
import { Emitter } from '../events.ts'
import type { OpportunityRecord } from './record.ts'
import { marketBetween } from '../symbols.ts'
import type { Pair, VenueId } from '../types.ts'
import {
  BPS,
  chainMaxSize,
  crossSpread,
  maxSizeAtThreshold,
  topNetBps,
  triangleSpread,
  triangleTopNetBps,
  walkChain,
  type CrossResult,
  type Depth,
  type MaxSize,
  type TriangleLegBook,
  type TriangleResult,
} from './spread.ts'
import type {
  OpeningWalk,
  Opportunity,
  OpportunityEvent,
  OpportunityKind,
  OpportunityListener,
  Quote,
  RouteLeg,
  TransferQuery,
} from './types.ts'
import type { RouteTransfer } from '../transfers/types.ts'

export interface DetectorOptions {
  readonly books: Books
  /** The venues whose books are watched; each needs a taker fee in `feeBps`. */
  readonly venues: readonly VenueId[]
  /**
   * The markets cross routes are limited to (a cross-quote route needs both its traded markets
   * here). Absent: every market quoted on two watched venues or more, as its books appear.
   */
  readonly symbols?: readonly Pair[]
  /** Cycles of three assets, the first being the one profit is counted in. */
  readonly triangles?: readonly (readonly [string, string, string])[]
  /**
   * Quote assets cross-quote routes are built between, e.g. `['USDT', 'USD', 'USDC']`: X/Q1 on one
   * venue against X/Q2 on another, through a live Q1/Q2 (or Q2/Q1) book on the second venue.
   * Absent: no cross-quote routes (USD is never taken for USDT).
   */
  readonly quotes?: readonly string[]
  readonly feeBps: Readonly<Record<VenueId, number>>
  readonly sizeQuote: number
  readonly minSpreadBps: number
  readonly hysteresisBps: number
  readonly maxSpreadBps: number
  readonly maxQuoteAgeMs: number
  /** How long a resumed opportunity waits for live books before it closes as `restart`. */
  readonly resumeGraceMs?: number
  /** At most one `updated` event per opportunity per this many ms. */
  readonly updateIntervalMs?: number
  /** How often open opportunities are checked for legs that went quiet. */
  readonly sweepIntervalMs?: number
  readonly now?: () => number
  /** Told how long each re-evaluation after a book update took, seconds (metrics). */
  readonly onEvaluated?: (seconds: number) => void
  /**
   * Whether a cross-venue route's coins can move (transfers/status.ts over the transfer facts):
   * asked when an opportunity opens, each time it updates and at `recheckTransfers`. A route
   * whose two venues name different tokens (`collision`) opens as an anomaly: recorded, never
   * alerted.
   */
  readonly transferOf?: (route: TransferQuery) => RouteTransfer | undefined
}

/** One row of `/api/spreads`. */
export interface SpreadView {
  readonly kind: OpportunityKind
  readonly symbol: string
  readonly buyVenue: VenueId
  readonly sellVenue: VenueId
  /** Every book the route reads is live and younger than MAX_QUOTE_AGE_MS. */
  readonly fresh: boolean
  readonly grossBps: number | null
  readonly netBps: number | null
  readonly depth: Depth | 'too-thin'
  readonly sizeQuote: number
  readonly profitQuote: number | null
  readonly maxSizeQuote: number
  readonly maxProfitQuote: number
  readonly buyPrice: number | null
  readonly sellPrice: number | null
  readonly feeBps: number
  readonly buyAgeMs: number | null
  readonly sellAgeMs: number | null
  readonly legs?: readonly {
    venue: VenueId
    market: Pair
    side: 'buy' | 'sell'
    price: number | null
  }[]
  readonly openId: string | null
}

/** What a route is, without its numbers (for choosing which spreads to compute). */
export interface RouteView {
  readonly kind: OpportunityKind
  readonly symbol: string
  readonly buyVenue: VenueId
  readonly sellVenue: VenueId
  /** The markets it trades, in leg order (a cross route's market twice: bought, then sold). */
  readonly markets: readonly Pair[]
}

const routeView = (slot: Slot): RouteView => ({
  kind: slot.kind,
  symbol: slot.symbol,
  buyVenue: slot.buyVenue,
  sellVenue: slot.sellVenue,
  markets: slot.entries.map((e) => e.pair),
})

/** One watched route: a cross pair of venues, a triangle on one venue, or a cross-quote route. */
interface Slot {
  /** `kind|symbol|buy>sell`: unique among the slots. */
  readonly key: string
  readonly kind: OpportunityKind
  readonly symbol: string
  readonly buyVenue: VenueId
  readonly sellVenue: VenueId
  /** Every book the slot reads. */
  readonly entries: readonly BookEntry[]
  /** What every leg's fee leaves of the amount: the product of (1 - fee). */
  readonly keep: number
  /**
   * Where each leg's top price is in the detector's top cache, in leg order: a buy leg reads its
   * book's best ask (odd places), a sell leg its best bid (even places).
   */
  readonly at: readonly number[]
  open: Opportunity | undefined
  lastEmitMs: number
  /** The venues name different tokens for this asset (from the last transfer check). */
  collision: boolean
  /**
   * Set while `open` is an opportunity resumed after a restart that the live books have not yet
   * confirmed: until this time it survives stale legs; then, or at the first evaluation that does
   * not find it, it closes with reason `restart`.
   */
  resumeUntilMs: number | undefined
}

interface CrossSlot extends Slot {
  readonly kind: 'cross'
  readonly buy: BookEntry
  readonly sell: BookEntry
  readonly buyFeeBps: number
  readonly sellFeeBps: number
}

type SlotLeg = TriangleLegBook & {
  readonly venue: VenueId
  readonly market: Pair
  readonly entry: BookEntry
}

/** A triangle, or a cross-quote route: [buy X/Q1 on A, sell X/Q2 on B, convert Q2 to Q1 on B]. */
interface LegSlot extends Slot {
  readonly kind: 'triangle' | 'cross-quote'
  readonly legs: readonly SlotLeg[]
  /** Cross-quote routes: the routes sharing this one's conversion book. */
  readonly group: ConversionGroup | undefined
  /** Cross-quote routes: this route's place in its group's `slots` and `xRates`. */
  groupIx: number
}

/**
 * The cross-quote routes converting through one book. An update of that book evaluates the open
 * ones, and the others only when `maxXRate` times the book's top rate could reach the threshold:
 * a conversion book is read by hundreds of routes, most far from it.
 */
interface ConversionGroup {
  readonly entry: BookEntry
  /** Where the conversion leg's top price is in the top cache (odd: a buy on the asks). */
  readonly at: number
  readonly slots: LegSlot[]
  /**
   * Per route (same place as in `slots`): the top-of-book return of its legs but the conversion's
   * rate, fees of all three included (0 while a side is empty), as of its last evaluation.
   */
  xRates: Float64Array
  readonly open: Set<LegSlot>
  /** At least the largest of `xRates`: raised as routes are evaluated, exact after a scan. */
  maxXRate: number
}

type AnySlot = CrossSlot | LegSlot

/** A book the detector follows. */
interface Tracked {
  readonly entry: BookEntry
  /** Its place in the top cache: best bid at `2 * ix`, best ask at `2 * ix + 1`. */
  readonly ix: number
  /** The routes its updates evaluate (not the cross-quote routes converting through it). */
  readonly slots: AnySlot[]
  /** The cross-quote routes converting through it. */
  group: ConversionGroup | undefined
}

/** A triangle direction, prepared once. */
interface Cycle {
  readonly symbol: string
  readonly markets: readonly { market: Pair; side: 'buy' | 'sell' }[]
}

/** A resumed opportunity whose route has no slot yet (its books are not registered yet). */
interface Awaiting {
  readonly opportunity: Opportunity
  readonly untilMs: number
}

/** The markets a triangle needs, in leg order, with the side each leg trades. */
export function triangleMarkets(
  cycle: readonly [string, string, string],
): { market: Pair; side: 'buy' | 'sell' }[] {
  const [a, b, c] = cycle
  return [
    [a, b],
    [b, c],
    [c, a],
  ].map(([from, to]) => {
    const market = marketBetween(from!, to!)
    return { market, side: market.startsWith(`${to}/`) ? 'buy' : 'sell' }
  })
}

/** A spread computation's figures as a quote carries them (one object: this runs per route). */
function figures(
  r: CrossResult | TriangleResult,
  sizeQuote: number,
  buyPrice: number,
  sellPrice: number,
  buyAgeMs: number,
  sellAgeMs: number,
  legs: RouteLeg[] | undefined,
): Quote & { depth: SpreadView['depth'] } {
  const q = {
    depth: r.depth,
    grossBps: r.grossBps,
    netBps: r.netBps,
    sizeQuote,
    profitQuote: r.profitQuote,
    maxSizeQuote: r.maxSizeQuote,
    maxProfitQuote: r.maxProfitQuote,
    buyPrice,
    sellPrice,
    feeBps: r.feeBps,
    buyAgeMs,
    sellAgeMs,
  }
  return legs === undefined ? q : { ...q, legs }
}

/** The markets to subscribe: the configured symbols plus every market a triangle needs. */
export function marketsToWatch(
  symbols: readonly Pair[],
  triangles: readonly (readonly [string, string, string])[],
): Pair[] {
  const out = new Set<Pair>(symbols)
  for (const cycle of triangles) {
    for (const direction of [cycle, [cycle[0], cycle[2], cycle[1]] as const]) {
      for (const { market } of triangleMarkets(direction)) out.add(market)
    }
  }
  return [...out]
}

/** The symbol of a cross-quote route: the market bought, then the market sold. */
export function crossQuoteSymbol(bought: Pair, sold: Pair): string {
  return `${bought}>${sold}`
}

const slotKey = (kind: OpportunityKind, symbol: string, buyVenue: VenueId, sellVenue: VenueId) =>
  `${kind}|${symbol}|${buyVenue}>${sellVenue}`

/** `BTC/USDT` → ['BTC', 'USDT'] (unified pairs always have one slash). */
function assetsOf(pair: Pair): [string, string] {
  const i = pair.indexOf('/')
  return [pair.slice(0, i), pair.slice(i + 1)]
}

/**
 * Finds arbitrage in the books and announces it as opportunities.
 *
 * Routes follow the books: a slot is made for each route as soon as every book it reads is
 * registered (at construction for books already there, then on Books' `added` events once
 * started), and dropped with its books (`removed`), closing what it had open.
 *
 * @example
 * ```ts
 * const detector = new Detector({ books, venues, quotes: ['USDT', 'USD'], feeBps, ...limits })
 * detector.subscribe((e) => store.record(e))
 * detector.start()
 * ```
 */
export class Detector {
  readonly #o: DetectorOptions
  readonly #now: () => number
  /** Opened, updated and closed opportunities, in order. */
  readonly events = new Emitter<OpportunityEvent>(() => {
    // A listener's failure must not stop detection; listeners report their own errors.
  })
  #offBooks: (() => void) | undefined
  readonly #watched: ReadonlySet<VenueId>
  readonly #symbols: ReadonlySet<Pair> | undefined
  readonly #quotes: ReadonlySet<string>
  readonly #cycles: readonly Cycle[]
  /** Triangle directions by the markets they read. */
  readonly #cyclesByMarket = new Map<Pair, Cycle[]>()
  /** The books this detector follows, by venue and pair. */
  readonly #books = new Map<VenueId, Map<Pair, BookEntry>>()
  /** The same books by pair, every venue's. */
  readonly #byPair = new Map<Pair, BookEntry[]>()
  /** Every followed book with the routes reading it: the work a book update causes. */
  readonly #tracked = new Map<BookEntry, Tracked>()
  /**
   * Each followed book's best bid and ask (NaN when a side is empty), refreshed on its updates:
   * the routes' top-of-book bounds read this one compact array instead of every book.
   */
  #tops = new Float64Array(512)
  readonly #freeIx: number[] = []
  #nextIx = 0
  /** A route that is not open is evaluated further only when its bound reaches this. */
  readonly #openReturn: number
  readonly #slots = new Map<string, AnySlot>()
  /** Slots with an open opportunity (what the sweep looks at). */
  readonly #openSlots = new Set<AnySlot>()
  /** Resumed opportunities waiting for their route's books, by slot key. */
  readonly #awaiting = new Map<string, Awaiting[]>()
  #timer: ReturnType<typeof setInterval> | undefined
  /** Counters for the status API and metrics. */
  readonly stats = { evaluations: 0, opened: 0, closed: 0, anomalies: 0 }
  /** The current pass: one per book update (openings of one pass share it). */
  #pass = 0

  constructor(options: DetectorOptions) {
    this.#o = options
    this.#now = options.now ?? Date.now
    for (const venue of options.venues) {
      if (options.feeBps[venue] === undefined) {
        throw new RangeError(`no taker fee configured for ${venue}`)
      }
    }
    this.#watched = new Set(options.venues)
    this.#symbols = options.symbols === undefined ? undefined : new Set(options.symbols)
    this.#quotes = new Set(options.quotes ?? [])
    const cycles: Cycle[] = []
    for (const cycle of options.triangles ?? []) {
      for (const direction of [cycle, [cycle[0], cycle[2], cycle[1]] as const]) {
        const c = {
          symbol: [...direction, direction[0]].join('>'),
          markets: triangleMarkets(direction),
        }
        cycles.push(c)
        for (const { market } of c.markets) {
          const list = this.#cyclesByMarket.get(market)
          if (list) list.push(c)
          else this.#cyclesByMarket.set(market, [c])
        }
      }
    }
    this.#cycles = cycles
    // A hair of margin so rounding never skips a route the exact bound would let through.
    this.#openReturn = (1 + options.minSpreadBps / BPS) / (1 + 1e-9)
    this.#reconcile()
  }

  /** Registers a listener for opened/updated/closed events; returns the unsubscribe function. */
  subscribe(listener: OpportunityListener): () => void {
    return this.events.on(listener)
  }

  /** A book changed: re-evaluate the routes that read it. */
  onBookUpdate(entry: BookEntry, nowMs: number): void {
    const t = this.#tracked.get(entry)
    if (t === undefined) return
    this.#pass++
    this.#refreshTop(t)
    const slots = t.slots
    for (let i = 0; i < slots.length; i++) this.#evaluate(slots[i]!, nowMs)
    if (t.group !== undefined) this.#evaluateGroup(t.group, nowMs)
  }

  /**
   * A book stopped being trustworthy (resync, connection down, or its market leaving the
   * universe): close what depends on it.
   */
  onBookInvalid(entry: BookEntry, reason: string): void {
    const t = this.#tracked.get(entry)
    if (t === undefined) return
    this.#refreshTop(t)
    const slots = this.#readers(t)
    if (slots.length === 0) return
    const now = this.#now()
    // Books.remove unregisters a book before announcing it invalid.
    const why =
      this.#o.books.get(entry.venue, entry.pair) === entry
        ? `leg stale: ${entry.venue} ${entry.pair} ${reason}`
        : `market left the universe: ${reason}`
    for (const slot of slots) if (slot.open) this.#close(slot, why, now)
  }

  /** Books were registered: make every route they complete. */
  onBooksAdded(entries: readonly BookEntry[]): void {
    for (const e of entries) this.#track(e)
  }

  /** Books were dropped: close what their routes had open and forget the routes. */
  onBooksRemoved(entries: readonly BookEntry[], reason: string): void {
    const now = this.#now()
    const fallbacks: BookEntry[] = []
    for (const e of entries) {
      if (this.#books.get(e.venue)?.get(e.pair) !== e) continue
      this.#untrack(e, `market left the universe: ${reason}`, now)
      // A cross-quote route may go on through the venue's other conversion book, if it has one.
      const [base, quote] = assetsOf(e.pair)
      const other = this.#books.get(e.venue)?.get(`${quote}/${base}`)
      if (other !== undefined && this.#quotes.has(base) && this.#quotes.has(quote)) {
        fallbacks.push(other)
      }
    }
    for (const e of fallbacks) this.#addCrossQuotes(e)
  }

  /** Closes open opportunities whose legs have aged past MAX_QUOTE_AGE_MS without an update. */
  sweep(nowMs = this.#now()): void {
    for (const slot of this.#openSlots) {
      if (slot.open === undefined) continue
      if (slot.resumeUntilMs !== undefined) {
        if (nowMs >= slot.resumeUntilMs) this.#close(slot, 'restart', nowMs)
        continue
      }
      const stale = this.#staleLeg(slot, nowMs)
      if (stale !== undefined) this.#close(slot, stale, nowMs)
    }
    for (const [key, list] of this.#awaiting) {
      const keep = list.filter((a) => {
        if (nowMs < a.untilMs) return true
        this.#closeResumed(a.opportunity, nowMs)
        return false
      })
      if (keep.length === 0) this.#awaiting.delete(key)
      else this.#awaiting.set(key, keep)
    }
  }

  /**
   * Follows the books' events (updates, invalid books, books added and removed) and starts the
   * staleness sweep. Books registered or dropped while stopped are caught up first.
   */
  start(): void {
    if (this.#timer !== undefined) return
    this.#reconcile()
    const observe = this.#o.onEvaluated
    this.#offBooks = this.#o.books.events.on((e) => {
      switch (e.type) {
        case 'update': {
          const t0 = observe === undefined ? 0 : performance.now()
          this.onBookUpdate(e.entry, e.receivedAtMs)
          observe?.((performance.now() - t0) / 1000)
          break
        }
        case 'invalid':
          this.onBookInvalid(e.entry, e.reason)
          break
        case 'added':
          this.onBooksAdded(e.entries)
          break
        case 'removed':
          this.onBooksRemoved(e.entries, e.reason)
          break
        case 'live':
        case 'snapshot-rejected':
        case 'resync':
          break
        default:
          e satisfies never
      }
    })
    this.#timer = setInterval(() => this.sweep(), this.#o.sweepIntervalMs ?? 250)
  }

  /**
   * Stops following the books and the sweep. What is open stays open in the store: the next start
   * resumes it (`resume`), so a restart neither alerts the same dislocation twice nor leaves it
   * open forever.
   */
  stop(): void {
    this.#offBooks?.()
    this.#offBooks = undefined
    if (this.#timer !== undefined) clearInterval(this.#timer)
    this.#timer = undefined
  }

  /**
   * An open opportunity's numbers recomputed at another size from the live books (for chats with
   * their own trade size); undefined when it is no longer open or the books cannot fill the size.
   */
  quoteAt(opportunity: Opportunity, sizeQuote: number, nowMs = this.#now()): Quote | undefined {
    const slot = this.#openSlot(opportunity)
    return slot === undefined ? undefined : this.#quote(slot, sizeQuote, nowMs)
  }

  /**
   * An open opportunity's largest profitable size at another threshold (bps), with the profit
   * there, from the live books (for chats with their own `/threshold`): the walk behind its
   * quote's `maxSizeQuote`, which is at MIN_SPREAD_PCT, for every kind of route (0 when even the
   * top of book is below the threshold); undefined when it is no longer open.
   *
   * @example
   * ```ts
   * detector.maxSizeAt(opportunity, 50) // { maxSizeQuote: 12345, maxProfitQuote: 61.7 }
   * ```
   */
  maxSizeAt(opportunity: Opportunity, thresholdBps: number): MaxSize | undefined {
    const slot = this.#openSlot(opportunity)
    if (slot === undefined) return undefined
    if (slot.kind !== 'cross') return chainMaxSize(slot.legs, thresholdBps)
    return maxSizeAtThreshold({
      asks: slot.buy.book.asks,
      bids: slot.sell.book.bids,
      buyFeeBps: slot.buyFeeBps,
      sellFeeBps: slot.sellFeeBps,
      thresholdBps,
    })
  }

  /** The slot an opportunity is open in, or undefined when it is no longer open. */
  #openSlot(o: Opportunity): AnySlot | undefined {
    const slot = this.#slots.get(slotKey(o.kind, o.symbol, o.buyVenue, o.sellVenue))
    return slot === undefined || slot.open !== o ? undefined : slot
  }

  /**
   * Takes back the opportunities that were open when the process last stopped (read from the
   * store). Each stays the same opportunity (same id, no second `opened`) if the live books still
   * show it at their first full evaluation; otherwise, or when the books are not live within
   * `resumeGraceMs`, it closes with reason `restart`. One whose route has no books yet waits for
   * them within the same grace; one this detector can never watch (venue, symbol, cycle or quote
   * not configured) closes at once.
   */
  resume(records: readonly OpportunityRecord[], nowMs = this.#now()): void {
    const grace = this.#o.resumeGraceMs ?? 30_000
    for (const r of records) {
      const opp = fromRecord(r)
      const key = slotKey(r.kind, r.symbol, r.buyVenue, r.sellVenue)
      const slot = this.#slots.get(key)
      if (slot !== undefined && slot.open === undefined) {
        this.#attach(slot, opp, nowMs + grace, nowMs)
      } else if (slot === undefined && this.#mayWatch(r)) {
        const list = this.#awaiting.get(key)
        const waiting = { opportunity: opp, untilMs: nowMs + grace }
        if (list) list.push(waiting)
        else this.#awaiting.set(key, [waiting])
      } else {
        this.#closeResumed(opp, nowMs)
      }
    }
  }

  /** What is open, resumed ones still waiting for their books included. */
  openOpportunities(): Opportunity[] {
    const out: Opportunity[] = []
    for (const s of this.#openSlots) if (s.open) out.push(s.open)
    for (const list of this.#awaiting.values()) for (const a of list) out.push(a.opportunity)
    return out
  }

  /**
   * Every route's spread now, recomputed at `sizeQuote` (for the API). Each row walks its books
   * (a few µs; ~10,000 routes at universe scale take tens of ms): `where` picks routes by what
   * they are before any is computed.
   *
   * @example
   * ```ts
   * detector.spreads(1000, Date.now(), (r) => r.markets.includes('BTC/USD'))
   * ```
   */
  spreads(
    sizeQuote = this.#o.sizeQuote,
    nowMs = this.#now(),
    where?: (route: RouteView) => boolean,
  ): SpreadView[] {
    const out: SpreadView[] = []
    for (const slot of this.#slots.values()) {
      if (where !== undefined && !where(routeView(slot))) continue
      out.push(this.#view(slot, sizeQuote, nowMs))
    }
    return out
  }

  /** How many routes are watched (for status and tests). */
  get routeCount(): number {
    return this.#slots.size
  }

  /** Follows the books registered in Books now and forgets the ones no longer there. */
  #reconcile(): void {
    const books = this.#o.books
    const now = this.#now()
    for (const [venue, byPair] of this.#books) {
      for (const e of [...byPair.values()]) {
        if (books.get(venue, e.pair) !== e) this.#untrack(e, 'market left the universe', now)
      }
    }
    for (const venue of this.#watched) for (const e of books.ofVenue(venue)) this.#track(e)
  }

  /** Starts following a book of a watched venue and makes the routes it completes. */
  #track(e: BookEntry): void {
    if (!this.#watched.has(e.venue)) return
    let venueBooks = this.#books.get(e.venue)
    if (venueBooks === undefined) {
      venueBooks = new Map()
      this.#books.set(e.venue, venueBooks)
    }
    const known = venueBooks.get(e.pair)
    if (known === e) return
    if (known !== undefined) this.#untrack(known, 'book replaced', this.#now())
    venueBooks.set(e.pair, e)
    const ix = this.#freeIx.pop() ?? this.#nextIx++
    if (2 * ix + 1 >= this.#tops.length) {
      const tops = new Float64Array(this.#tops.length * 2)
      tops.set(this.#tops)
      this.#tops = tops
    }
    const t: Tracked = { entry: e, ix, slots: [], group: undefined }
    this.#tracked.set(e, t)
    this.#refreshTop(t)
    const same = this.#byPair.get(e.pair)
    if (same) same.push(e)
    else this.#byPair.set(e.pair, [e])
    this.#addCrosses(e)
    for (const cycle of this.#cyclesByMarket.get(e.pair) ?? []) this.#addTriangle(cycle, e.venue)
    if (this.#quotes.size > 0) this.#addCrossQuotes(e)
  }

  /** Every route reading a book. */
  #readers(t: Tracked): AnySlot[] {
    return t.group === undefined ? t.slots : [...t.slots, ...t.group.slots]
  }

  /** The book's best bid and ask into the top cache. */
  #refreshTop(t: Tracked): void {
    const { bids, asks } = t.entry.book
    this.#tops[2 * t.ix] = bids.length > 0 ? bids[0]!.px : NaN
    this.#tops[2 * t.ix + 1] = asks.length > 0 ? asks[0]!.px : NaN
  }

  /** Where a leg on this followed book reads its top price in the cache. */
  #at(e: BookEntry, side: 'buy' | 'sell'): number {
    return 2 * this.#tracked.get(e)!.ix + (side === 'buy' ? 1 : 0)
  }

  /**
   * The top-of-book return of a route's legs from the cache, every fee included (NaN when a side
   * is empty): an upper bound of its return at any size.
   */
  #bound(slot: AnySlot, legs: number): number {
    const tops = this.#tops
    const at = slot.at
    let x = slot.keep
    for (let k = 0; k < legs; k++) {
      const i = at[k]!
      x = (i & 1) === 1 ? x / tops[i]! : x * tops[i]!
    }
    return x
  }

  /** Stops following a book: drops every route reading it (closing what was open with `why`). */
  #untrack(e: BookEntry, why: string, now: number): void {
    const t = this.#tracked.get(e)
    if (t !== undefined) {
      for (const slot of [...this.#readers(t)]) this.#drop(slot, why, now)
      this.#tracked.delete(e)
      this.#tops[2 * t.ix] = this.#tops[2 * t.ix + 1] = NaN
      this.#freeIx.push(t.ix)
    }
    const venueBooks = this.#books.get(e.venue)
    if (venueBooks?.get(e.pair) === e) venueBooks.delete(e.pair)
    const same = this.#byPair.get(e.pair)
    if (same !== undefined) {
      const i = same.indexOf(e)
      if (i !== -1) same.splice(i, 1)
      if (same.length === 0) this.#byPair.delete(e.pair)
    }
  }

  #fee(venue: VenueId): number {
    return this.#o.feeBps[venue]!
  }

  /** Both directions between `e` and every other venue's book of its pair. */
  #addCrosses(e: BookEntry): void {
    if (this.#symbols !== undefined && !this.#symbols.has(e.pair)) return
    for (const other of this.#byPair.get(e.pair) ?? []) {
      if (other.venue === e.venue) continue
      this.#addCross(e, other)
      this.#addCross(other, e)
    }
  }

  #addCross(buy: BookEntry, sell: BookEntry): void {
    const key = slotKey('cross', buy.pair, buy.venue, sell.venue)
    if (this.#slots.has(key)) return
    this.#register({
      key,
      kind: 'cross',
      symbol: buy.pair,
      buyVenue: buy.venue,
      sellVenue: sell.venue,
      entries: [buy, sell],
      keep: (1 - this.#fee(buy.venue) / BPS) * (1 - this.#fee(sell.venue) / BPS),
      at: [this.#at(buy, 'buy'), this.#at(sell, 'sell')],
      buy,
      sell,
      buyFeeBps: this.#fee(buy.venue),
      sellFeeBps: this.#fee(sell.venue),
      open: undefined,
      lastEmitMs: 0,
      collision: false,
      resumeUntilMs: undefined,
    })
  }

  /** A triangle direction on `venue`, once the venue has its three books. */
  #addTriangle(cycle: Cycle, venue: VenueId): void {
    const key = slotKey('triangle', cycle.symbol, venue, venue)
    if (this.#slots.has(key)) return
    const venueBooks = this.#books.get(venue)
    const entries = cycle.markets.map((m) => venueBooks?.get(m.market))
    if (entries.some((e) => e === undefined)) return
    const legs = cycle.markets.map((m, k) => leg(entries[k]!, m.side, this.#fee(venue)))
    this.#register({
      key,
      kind: 'triangle',
      symbol: cycle.symbol,
      buyVenue: venue,
      sellVenue: venue,
      entries: legs.map((l) => l.entry),
      keep: keepOf(legs),
      at: legs.map((l) => this.#at(l.entry, l.side)),
      legs,
      group: undefined,
      groupIx: -1,
      open: undefined,
      lastEmitMs: 0,
      collision: false,
      resumeUntilMs: undefined,
    })
  }

  /**
   * The cross-quote routes `e` completes: as the bought market X/Q1, as the sold market X/Q2, or
   * as a conversion book between two quotes on the selling venue.
   */
  #addCrossQuotes(e: BookEntry): void {
    const quotes = this.#quotes
    const [base, quote] = assetsOf(e.pair)
    if (quotes.has(quote)) {
      for (const other of quotes) {
        if (other === quote) continue
        for (const peer of this.#byPair.get(`${base}/${other}`) ?? []) {
          if (peer.venue === e.venue) continue
          this.#addCrossQuote(e, peer, quote, other)
          this.#addCrossQuote(peer, e, other, quote)
        }
      }
    }
    if (quotes.has(base) && quotes.has(quote)) {
      // A conversion book on venue B: every route selling on B in one of its assets and starting
      // from the other.
      for (const sell of [...(this.#books.get(e.venue)?.values() ?? [])]) {
        const [x, q2] = assetsOf(sell.pair)
        const q1 = q2 === quote ? base : q2 === base ? quote : undefined
        if (q1 === undefined) continue
        for (const buy of this.#byPair.get(`${x}/${q1}`) ?? []) {
          if (buy.venue !== e.venue) this.#addCrossQuote(buy, sell, q1, q2)
        }
      }
    }
  }

  /** Buy `buy` (X/Q1) on A, sell `sell` (X/Q2) on B, convert Q2 to Q1 on B's conversion book. */
  #addCrossQuote(buy: BookEntry, sell: BookEntry, q1: string, q2: string): void {
    const symbols = this.#symbols
    if (symbols !== undefined && !(symbols.has(buy.pair) && symbols.has(sell.pair))) return
    const symbol = crossQuoteSymbol(buy.pair, sell.pair)
    const key = slotKey('cross-quote', symbol, buy.venue, sell.venue)
    if (this.#slots.has(key)) return
    // Q1/Q2 (buy Q1 with Q2 on its asks) or Q2/Q1 (sell Q2 for Q1 on its bids), whichever B has.
    const venueBooks = this.#books.get(sell.venue)
    const direct = venueBooks?.get(`${q1}/${q2}`)
    const conversion = direct ?? venueBooks?.get(`${q2}/${q1}`)
    if (conversion === undefined) return
    const side = direct === undefined ? 'sell' : 'buy'
    const tracked = this.#tracked.get(conversion)!
    let group = tracked.group
    if (group === undefined) {
      const at = this.#at(conversion, side)
      group = {
        entry: conversion,
        at,
        slots: [],
        xRates: new Float64Array(64),
        open: new Set(),
        maxXRate: 0,
      }
      tracked.group = group
    }
    const legs = [
      leg(buy, 'buy', this.#fee(buy.venue)),
      leg(sell, 'sell', this.#fee(sell.venue)),
      leg(conversion, side, this.#fee(sell.venue)),
    ]
    const slot: LegSlot = {
      key,
      kind: 'cross-quote',
      symbol,
      buyVenue: buy.venue,
      sellVenue: sell.venue,
      entries: legs.map((l) => l.entry),
      keep: keepOf(legs),
      at: legs.map((l) => this.#at(l.entry, l.side)),
      legs,
      group,
      groupIx: group.slots.length,
      open: undefined,
      lastEmitMs: 0,
      collision: false,
      resumeUntilMs: undefined,
    }
    if (slot.groupIx >= group.xRates.length) {
      const xRates = new Float64Array(group.xRates.length * 2)
      xRates.set(group.xRates)
      group.xRates = xRates
    }
    group.slots.push(slot)
    // Unknown until evaluated: the next conversion update evaluates the route.
    group.xRates[slot.groupIx] = Infinity
    group.maxXRate = Infinity
    this.#register(slot)
  }

  #register(slot: AnySlot): void {
    this.#slots.set(slot.key, slot)
    const group = slot.kind === 'cross' ? undefined : slot.group
    for (const e of slot.entries) {
      if (e !== group?.entry) this.#tracked.get(e)!.slots.push(slot)
    }
    const waiting = this.#awaiting.get(slot.key)
    if (waiting === undefined) return
    const first = waiting.shift()!
    if (waiting.length === 0) this.#awaiting.delete(slot.key)
    this.#attach(slot, first.opportunity, first.untilMs, this.#now())
  }

  /** Drops a route: closes what it had open with `why` and removes it from every index. */
  #drop(slot: AnySlot, why: string, now: number): void {
    if (slot.open) this.#close(slot, why, now)
    this.#slots.delete(slot.key)
    const group = slot.kind === 'cross' ? undefined : slot.group
    if (group !== undefined) {
      // The last route takes the dropped one's place.
      const i = (slot as LegSlot).groupIx
      const last = group.slots.pop()!
      if (last !== slot) {
        group.slots[i] = last
        group.xRates[i] = group.xRates[last.groupIx]!
        last.groupIx = i
      }
      const t = this.#tracked.get(group.entry)
      if (group.slots.length === 0 && t?.group === group) t.group = undefined
    }
    for (const e of slot.entries) {
      const list = this.#tracked.get(e)?.slots
      const i = list === undefined ? -1 : list.indexOf(slot)
      if (i !== -1) list!.splice(i, 1)
    }
  }

  /** A resumed opportunity takes its slot, to be confirmed by the live books before `untilMs`. */
  #attach(slot: AnySlot, opp: Opportunity, untilMs: number, now: number): void {
    slot.open = opp
    slot.lastEmitMs = now
    slot.resumeUntilMs = untilMs
    this.#markOpen(slot, true)
  }

  /** Keeps the sets of open slots (the sweep's, the conversion group's) in step with `open`. */
  #markOpen(slot: AnySlot, open: boolean): void {
    const group = slot.kind === 'cross' ? undefined : slot.group
    if (open) {
      this.#openSlots.add(slot)
      group?.open.add(slot as LegSlot)
    } else {
      this.#openSlots.delete(slot)
      group?.open.delete(slot as LegSlot)
    }
  }

  /**
   * The conversion book of these routes changed. A route's top bound is its `xRates` entry times the
   * book's top rate: the open routes are evaluated (to update or close them), the others only
   * when that bound reaches the threshold, and none of them when even `maxXRate` cannot.
   */
  #evaluateGroup(group: ConversionGroup, now: number): void {
    const top = this.#tops[group.at]!
    const rate = (group.at & 1) === 1 ? 1 / top : top
    const target = this.#openReturn
    if (!(group.maxXRate * rate >= target)) {
      if (group.open.size === 0) return
      for (const slot of [...group.open]) this.#evaluate(slot, now)
      return
    }
    for (const slot of [...group.open]) this.#evaluate(slot, now)
    const { slots, xRates } = group
    let max = 0
    for (let i = 0; i < slots.length; i++) {
      if (xRates[i]! * rate >= target && slots[i]!.open === undefined)
        this.#evaluate(slots[i]!, now)
      if (xRates[i]! > max) max = xRates[i]!
    }
    group.maxXRate = max
  }

  /** A cross-quote route's entry in `xRates`, refreshed at each evaluation (and the group's max). */
  #noteXRate(slot: LegSlot, group: ConversionGroup): void {
    const bound = this.#bound(slot, 2)
    const x = bound >= 0 ? bound : 0
    group.xRates[slot.groupIx] = x
    if (x > group.maxXRate) group.maxXRate = x
  }

  /** Whether a stored route could ever be watched by this detector (its books may come later). */
  #mayWatch(r: OpportunityRecord): boolean {
    if (!this.#watched.has(r.buyVenue) || !this.#watched.has(r.sellVenue)) return false
    const symbols = this.#symbols
    switch (r.kind) {
      case 'cross':
        return r.buyVenue !== r.sellVenue && (symbols === undefined || symbols.has(r.symbol))
      case 'triangle':
        return r.buyVenue === r.sellVenue && this.#cycles.some((c) => c.symbol === r.symbol)
      case 'cross-quote': {
        const [bought, sold] = r.symbol.split('>')
        if (bought === undefined || sold === undefined || r.buyVenue === r.sellVenue) return false
        if (!this.#quotes.has(assetsOf(bought)[1]) || !this.#quotes.has(assetsOf(sold)[1])) {
          return false
        }
        return symbols === undefined || (symbols.has(bought) && symbols.has(sold))
      }
      default:
        return false
    }
  }

  #closeResumed(opp: Opportunity, now: number): void {
    opp.closedAtMs = opp.updatedAtMs = now
    opp.closeReason = 'restart'
    this.stats.closed++
    this.#emit({ type: 'closed', opportunity: opp, atMs: now })
  }

  #staleLeg(slot: AnySlot, now: number): string | undefined {
    for (const e of slot.entries) {
      if (e.state !== 'live') return `leg stale: ${e.venue} ${e.pair} is ${e.state}`
      if (now - e.lastUpdateMs > this.#o.maxQuoteAgeMs) {
        return `leg stale: ${e.venue} ${e.pair} quote older than ${this.#o.maxQuoteAgeMs} ms`
      }
    }
    return undefined
  }

  #evaluate(slot: AnySlot, now: number): void {
    this.stats.evaluations++
    // Before anything can return: a conversion update may skip this route on its xRates entry.
    if (slot.kind !== 'cross' && slot.group !== undefined) this.#noteXRate(slot, slot.group)
    // A route that is not open stops here unless its top of book could open it.
    if (slot.open === undefined && !(this.#bound(slot, slot.at.length) >= this.#openReturn)) return
    const o = this.#o
    const entries = slot.entries
    for (let i = 0; i < entries.length; i++) {
      const e = entries[i]!
      if (e.state !== 'live' || now - e.lastUpdateMs > o.maxQuoteAgeMs) {
        if (slot.open && slot.resumeUntilMs === undefined) {
          this.#close(slot, this.#staleLeg(slot, now) ?? 'leg stale', now)
        }
        return
      }
    }
    // Every leg is live: a resumed opportunity is confirmed here, or it is gone.
    const resumed = slot.resumeUntilMs !== undefined
    if (resumed) slot.resumeUntilMs = undefined
    const threshold = slot.open ? o.minSpreadBps - o.hysteresisBps : o.minSpreadBps
    // Cheap bound first: no size can beat the top of book after fees.
    const top =
      slot.kind === 'cross'
        ? topNetBps(slot.buy.book.asks, slot.sell.book.bids, slot.buyFeeBps, slot.sellFeeBps)
        : triangleTopNetBps(slot.legs)
    if (!(top >= threshold)) {
      if (slot.open) {
        // The numbers that closed it, at the trade size (undefined when the books cannot fill it).
        const closing = this.#quote(slot, o.sizeQuote, now)
        this.#close(slot, resumed ? 'restart' : 'spread fell below the threshold', now, closing)
      }
      return
    }
    const quote = this.#quote(slot, o.sizeQuote, now)
    if (quote === undefined || !(quote.netBps >= threshold)) {
      if (slot.open) {
        const why =
          quote === undefined
            ? 'not enough depth for the trade size'
            : 'spread fell below the threshold'
        this.#close(slot, resumed ? 'restart' : why, now, quote)
      }
      return
    }
    const anomaly = quote.grossBps > o.maxSpreadBps || slot.collision
    const open = slot.open
    if (open !== undefined && open.anomaly !== anomaly) {
      this.#close(
        slot,
        anomaly ? 'spread rose above MAX_SPREAD_PCT' : 'spread fell back under MAX_SPREAD_PCT',
        now,
      )
    }
    if (slot.open === undefined) {
      if (quote.netBps >= o.minSpreadBps) this.#open(slot, quote, anomaly, now)
      return
    }
    const opp = slot.open
    opp.last = quote
    opp.updatedAtMs = now
    if (quote.netBps > opp.peakNetBps) opp.peakNetBps = quote.netBps
    // A resumed opportunity confirmed by the live books says so at once (its messages update).
    if (resumed || now - slot.lastEmitMs >= (o.updateIntervalMs ?? 1000)) {
      slot.lastEmitMs = now
      opp.transfer = this.#transfer(slot, quote)
      this.#emit({ type: 'updated', opportunity: opp, atMs: now })
    }
  }

  /** The transfer check of a cross-venue slot at this quote (undefined for triangles). */
  #transfer(slot: AnySlot, quote: Quote): RouteTransfer | undefined {
    const transferOf = this.#o.transferOf
    if (transferOf === undefined || slot.kind === 'triangle') return undefined
    const asset = slot.symbol.slice(0, slot.symbol.indexOf('/'))
    const t = transferOf({ asset, buyVenue: slot.buyVenue, sellVenue: slot.sellVenue, quote })
    slot.collision = t?.collision === true
    return t
  }

  /**
   * Checks the open opportunities of `asset` (every asset when absent) against the transfer facts
   * again, after they changed: one whose status or line changed is announced as `updated` (its
   * alert is edited); one whose venues turn out to name different tokens closes, and reopens as
   * an anomaly at its next evaluation.
   */
  recheckTransfers(asset?: string): void {
    const now = this.#now()
    for (const slot of this.#slots.values()) {
      const opp = slot.open
      if (opp === undefined || slot.kind === 'triangle') continue
      if (asset !== undefined && !slot.symbol.startsWith(`${asset}/`)) continue
      const before = opp.transfer
      const after = this.#transfer(slot, opp.last)
      if (slot.collision && !opp.anomaly) {
        this.#close(slot, 'the two venues name different tokens', now)
        continue
      }
      if (before?.status === after?.status && before?.line === after?.line) continue
      opp.transfer = after
      opp.updatedAtMs = now
      slot.lastEmitMs = now
      this.#emit({ type: 'updated', opportunity: opp, atMs: now })
    }
  }

  /** The numbers at a size, or undefined when the books cannot fill it. */
  #quote(slot: AnySlot, sizeQuote: number, now: number): Quote | undefined {
    const { depth, ...quote } = this.#compute(slot, sizeQuote, now)
    return depth === 'ok' ? quote : undefined
  }

  /** The spread computations, mapped to one shape (NaN where the books cannot fill the size). */
  #compute(slot: AnySlot, sizeQuote: number, now: number): Quote & { depth: SpreadView['depth'] } {
    const thresholdBps = this.#o.minSpreadBps
    if (slot.kind === 'cross') {
      const r = crossSpread({
        asks: slot.buy.book.asks,
        bids: slot.sell.book.bids,
        buyFeeBps: slot.buyFeeBps,
        sellFeeBps: slot.sellFeeBps,
        sizeQuote,
        thresholdBps,
      })
      const buyAgeMs = now - slot.buy.lastUpdateMs
      const sellAgeMs = now - slot.sell.lastUpdateMs
      return figures(r, sizeQuote, r.buyPrice, r.sellPrice, buyAgeMs, sellAgeMs, undefined)
    }
    // A cross-quote route is the triangle walk across two venues: same legs, sides and fees.
    const r = triangleSpread(slot.legs, sizeQuote, thresholdBps)
    const [a, b, c] = slot.legs.map((l) => now - l.entry.lastUpdateMs) as [number, number, number]
    const legs = slot.legs.map((l, k) => ({
      venue: l.venue,
      market: l.market,
      side: l.side,
      price: r.legPrices[k]!,
    }))
    const prices = r.legPrices
    if (slot.kind === 'triangle') {
      const oldest = Math.max(a, b, c)
      return figures(r, sizeQuote, prices[0]!, prices[2]!, oldest, oldest, legs)
    }
    return figures(r, sizeQuote, prices[0]!, prices[1]!, a, Math.max(b, c), legs)
  }

  /**
   * The level-by-level walk behind the quote just computed for `slot` at `sizeQuote` (the books
   * have not changed since: this runs in the same evaluation). Only at an opening: the per-update
   * evaluation never builds it.
   */
  #walk(slot: AnySlot, sizeQuote: number): OpeningWalk | undefined {
    if (slot.kind !== 'cross') return walkChain(slot.legs, sizeQuote)
    const { buy, sell } = slot
    return walkChain(
      [
        {
          venue: buy.venue,
          market: buy.pair,
          side: 'buy',
          feeBps: slot.buyFeeBps,
          levels: buy.book.asks,
        },
        {
          venue: sell.venue,
          market: sell.pair,
          side: 'sell',
          feeBps: slot.sellFeeBps,
          levels: sell.book.bids,
        },
      ],
      sizeQuote,
    )
  }

  #open(slot: AnySlot, quote: Quote, anomaly: boolean, now: number): void {
    const transfer = this.#transfer(slot, quote)
    const walk = this.#walk(slot, quote.sizeQuote)
    if (slot.collision) anomaly = true
    const opp: Opportunity = {
      id: `${slot.kind}:${slot.symbol}:${slot.buyVenue}>${slot.sellVenue}:${now}`,
      kind: slot.kind,
      symbol: slot.symbol,
      buyVenue: slot.buyVenue,
      sellVenue: slot.sellVenue,
      anomaly,
      openedAtMs: now,
      open: quote,
      last: quote,
      peakNetBps: quote.netBps,
      updatedAtMs: now,
      closedAtMs: undefined,
      closeReason: undefined,
      transfer,
      walk,
    }
    slot.open = opp
    slot.lastEmitMs = now
    this.#markOpen(slot, true)
    this.stats.opened++
    if (anomaly) this.stats.anomalies++
    this.#emit({ type: 'opened', opportunity: opp, atMs: now, pass: this.#pass })
  }

  /**
   * Closes a slot's opportunity; `closing` is the quote that closed it, kept as its last numbers
   * (so a closed opportunity shows the net it closed at, beside its opening and peak nets).
   */
  #close(slot: AnySlot, reason: string, now: number, closing?: Quote): void {
    const opp = slot.open
    if (opp === undefined) return
    if (closing !== undefined) opp.last = closing
    slot.open = undefined
    slot.resumeUntilMs = undefined
    this.#markOpen(slot, false)
    opp.closedAtMs = now
    opp.closeReason = reason
    opp.updatedAtMs = now
    this.stats.closed++
    this.#emit({ type: 'closed', opportunity: opp, atMs: now })
  }

  #emit(event: OpportunityEvent): void {
    this.events.emit(event)
  }

  #view(slot: AnySlot, sizeQuote: number, now: number): SpreadView {
    const q = this.#compute(slot, sizeQuote, now)
    const num = (n: number) => (Number.isFinite(n) ? n : null)
    // A leg that never had data has no age (a triangle's age is its oldest leg's).
    const age = (legs: readonly BookEntry[], ageMs: number) =>
      legs.every((e) => e.lastUpdateMs > 0) ? ageMs : null
    const [buyLegs, sellLegs] =
      slot.kind === 'cross'
        ? [[slot.buy], [slot.sell]]
        : slot.kind === 'triangle'
          ? [slot.entries, slot.entries]
          : [slot.entries.slice(0, 1), slot.entries.slice(1)]
    return {
      kind: slot.kind,
      symbol: slot.symbol,
      buyVenue: slot.buyVenue,
      sellVenue: slot.sellVenue,
      fresh: this.#staleLeg(slot, now) === undefined,
      sizeQuote,
      openId: slot.open?.id ?? null,
      grossBps: num(q.grossBps),
      netBps: num(q.netBps),
      depth: q.depth,
      profitQuote: num(q.profitQuote),
      maxSizeQuote: q.maxSizeQuote,
      maxProfitQuote: q.maxProfitQuote,
      buyPrice: num(q.buyPrice),
      sellPrice: num(q.sellPrice),
      feeBps: q.feeBps,
      buyAgeMs: age(buyLegs, q.buyAgeMs),
      sellAgeMs: age(sellLegs, q.sellAgeMs),
      ...(q.legs ? { legs: q.legs.map((l) => ({ ...l, price: num(l.price) })) } : {}),
    }
  }
}

/** What the legs' fees leave of an amount. */
function keepOf(legs: readonly SlotLeg[]): number {
  return legs.reduce((k, l) => k * (1 - l.feeBps / BPS), 1)
}

/** One leg of a route on `entry`'s book: a buy walks its asks, a sell its bids. */
function leg(entry: BookEntry, side: 'buy' | 'sell', feeBps: number): SlotLeg {
  return {
    venue: entry.venue,
    market: entry.pair,
    side,
    entry,
    feeBps,
    levels: side === 'buy' ? entry.book.asks : entry.book.bids,
  }
}

/** A stored record as the live opportunity it was. */
function fromRecord(r: OpportunityRecord): Opportunity {
  const last: Quote = {
    grossBps: r.grossBps,
    netBps: r.netBps,
    sizeQuote: r.sizeQuote,
    profitQuote: r.profitQuote,
    maxSizeQuote: r.maxSizeQuote,
    maxProfitQuote: r.maxProfitQuote,
    buyPrice: r.buyPrice,
    sellPrice: r.sellPrice,
    feeBps: r.feeBps,
    buyAgeMs: r.buyAgeMs,
    sellAgeMs: r.sellAgeMs,
    ...(r.legs ? { legs: r.legs } : {}),
  }
  return {
    id: r.id,
    kind: r.kind,
    symbol: r.symbol,
    buyVenue: r.buyVenue,
    sellVenue: r.sellVenue,
    anomaly: r.anomaly,
    openedAtMs: r.openedAtMs,
    open: { ...last, grossBps: r.grossBpsOpen, netBps: r.netBpsOpen },
    last,
    peakNetBps: r.peakNetBps,
    updatedAtMs: r.updatedAtMs,
    closedAtMs: undefined,
    closeReason: undefined,
    ...(r.walk ? { walk: r.walk } : {}),
  }
}
