/**
 * @module
 * The arbitrage detector: watches every ordered venue pair of each symbol and every configured
 * triangle, and turns their spreads into opportunities with a lifecycle (open at the threshold,
 * update while it lasts, close below the threshold minus a hysteresis margin or when a leg goes
 * stale). Work per book update is proportional to the venues quoting that symbol (plus the
 * triangles using that book), and most updates end at a top-of-book bound without a depth walk.
 */
import type { BookEntry, Books } from '../book/books.ts'
import { Emitter } from '../events.ts'
import type { OpportunityRecord } from './record.ts'
import { marketBetween } from '../symbols.ts'
import type { Pair, VenueId } from '../types.ts'
import {
  BPS,
  crossSpread,
  topNetBps,
  triangleSpread,
  triangleTopNetBps,
  type CrossResult,
  type Depth,
  type TriangleLegBook,
  type TriangleResult,
} from './spread.ts'
import type {
  Opportunity,
  OpportunityEvent,
  OpportunityKind,
  OpportunityListener,
  Quote,
} from './types.ts'

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
  open: Opportunity | undefined
  lastEmitMs: number
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
  /** What every leg's fee leaves of the amount: the product of (1 - fee). */
  readonly keep: number
  /**
   * Cross-quote routes: the top-of-book return of every leg but the conversion's rate, fees of
   * all three included (0 while a side is empty), as of the route's last evaluation.
   */
  xRate: number
}

/**
 * The cross-quote routes converting through one book. An update of that book evaluates the open
 * ones, and the others only when `maxXRate` times the book's top rate could reach the threshold:
 * a conversion book is read by hundreds of routes, most far from it.
 */
interface ConversionGroup {
  readonly entry: BookEntry
  /** The conversion leg's side on this book (`buy` walks its asks, `sell` its bids). */
  readonly side: 'buy' | 'sell'
  readonly slots: LegSlot[]
  readonly open: Set<LegSlot>
  /** At least the largest `xRate` of `slots`: raised as routes are evaluated, exact after a scan. */
  maxXRate: number
}

type AnySlot = CrossSlot | LegSlot

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

/** The figures a cross or triangle spread computation gives, as a quote carries them. */
function spreadFigures(r: CrossResult | TriangleResult, sizeQuote: number) {
  return {
    depth: r.depth,
    grossBps: r.grossBps,
    netBps: r.netBps,
    sizeQuote,
    profitQuote: r.profitQuote,
    maxSizeQuote: r.maxSizeQuote,
    maxProfitQuote: r.maxProfitQuote,
    feeBps: r.feeBps,
  }
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

/**
 * The conversion markets cross-quote routes between `quotes` may use, in both orientations
 * (`USDT/USD` and `USD/USDT`): a venue's universe should include those it lists, whatever
 * MIN_VENUES says, or its cross-quote routes have no conversion leg.
 *
 * @example
 * ```ts
 * conversionMarkets(['USDT', 'USD']) // ['USDT/USD', 'USD/USDT']
 * ```
 */
export function conversionMarkets(quotes: readonly string[]): Pair[] {
  const out: Pair[] = []
  for (const a of quotes) for (const b of quotes) if (a !== b) out.push(`${a}/${b}`)
  return out
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
  /**
   * The slots reading each book, but for cross-quote routes on their conversion book (those are
   * in `#groups`): the work a book update causes.
   */
  readonly #byBook = new Map<BookEntry, AnySlot[]>()
  /** Cross-quote routes by conversion book. */
  readonly #groups = new Map<BookEntry, ConversionGroup>()
  readonly #slots = new Map<string, AnySlot>()
  /** Slots with an open opportunity (what the sweep looks at). */
  readonly #openSlots = new Set<AnySlot>()
  /** Resumed opportunities waiting for their route's books, by slot key. */
  readonly #awaiting = new Map<string, Awaiting[]>()
  #timer: ReturnType<typeof setInterval> | undefined
  /** Counters for the status API and metrics. */
  readonly stats = { evaluations: 0, opened: 0, closed: 0, anomalies: 0 }

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
        const c = { symbol: [...direction, direction[0]].join('>'), markets: triangleMarkets(direction) }
        cycles.push(c)
        for (const { market } of c.markets) {
          const list = this.#cyclesByMarket.get(market)
          if (list) list.push(c)
          else this.#cyclesByMarket.set(market, [c])
        }
      }
    }
    this.#cycles = cycles
    this.#reconcile()
  }

  /** Registers a listener for opened/updated/closed events; returns the unsubscribe function. */
  subscribe(listener: OpportunityListener): () => void {
    return this.events.on(listener)
  }

  /** A book changed: re-evaluate the routes that read it. */
  onBookUpdate(entry: BookEntry, nowMs: number): void {
    const slots = this.#byBook.get(entry)
    if (slots !== undefined) for (let i = 0; i < slots.length; i++) this.#evaluate(slots[i]!, nowMs)
    const group = this.#groups.get(entry)
    if (group !== undefined) this.#evaluateGroup(group, nowMs)
  }

  /**
   * A book stopped being trustworthy (resync, connection down, or its market leaving the
   * universe): close what depends on it.
   */
  onBookInvalid(entry: BookEntry, reason: string): void {
    const slots = this.#readers(entry)
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
    const o = opportunity
    const slot = this.#slots.get(slotKey(o.kind, o.symbol, o.buyVenue, o.sellVenue))
    if (slot === undefined || slot.open !== opportunity) return undefined
    return this.#quote(slot, sizeQuote, nowMs)
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

  /** Every route's spread now, recomputed at `sizeQuote` (for the API). */
  spreads(sizeQuote = this.#o.sizeQuote, nowMs = this.#now()): SpreadView[] {
    const out: SpreadView[] = []
    for (const slot of this.#slots.values()) out.push(this.#view(slot, sizeQuote, nowMs))
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
    const same = this.#byPair.get(e.pair)
    if (same) same.push(e)
    else this.#byPair.set(e.pair, [e])
    this.#addCrosses(e)
    for (const cycle of this.#cyclesByMarket.get(e.pair) ?? []) this.#addTriangle(cycle, e.venue)
    if (this.#quotes.size > 0) this.#addCrossQuotes(e)
  }

  /** Every route reading a book. */
  #readers(e: BookEntry): AnySlot[] {
    const slots = this.#byBook.get(e) ?? []
    const group = this.#groups.get(e)
    return group === undefined ? slots : [...slots, ...group.slots]
  }

  /** Stops following a book: drops every route reading it (closing what was open with `why`). */
  #untrack(e: BookEntry, why: string, now: number): void {
    for (const slot of [...this.#readers(e)]) this.#drop(slot, why, now)
    this.#byBook.delete(e)
    this.#groups.delete(e)
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
      buy,
      sell,
      buyFeeBps: this.#fee(buy.venue),
      sellFeeBps: this.#fee(sell.venue),
      open: undefined,
      lastEmitMs: 0,
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
      legs,
      group: undefined,
      keep: keepOf(legs),
      xRate: 0,
      open: undefined,
      lastEmitMs: 0,
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
    let group = this.#groups.get(conversion)
    if (group === undefined) {
      group = { entry: conversion, side, slots: [], open: new Set(), maxXRate: 0 }
      this.#groups.set(conversion, group)
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
      legs,
      group,
      keep: keepOf(legs),
      // Unknown until evaluated: the next conversion update evaluates every route of the group.
      xRate: Infinity,
      open: undefined,
      lastEmitMs: 0,
      resumeUntilMs: undefined,
    }
    group.slots.push(slot)
    group.maxXRate = Infinity
    this.#register(slot)
  }

  #register(slot: AnySlot): void {
    this.#slots.set(slot.key, slot)
    const group = slot.kind === 'cross' ? undefined : slot.group
    for (const e of slot.entries) {
      if (e === group?.entry) continue
      const list = this.#byBook.get(e)
      if (list) list.push(slot)
      else this.#byBook.set(e, [slot])
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
      const i = group.slots.indexOf(slot as LegSlot)
      if (i !== -1) group.slots.splice(i, 1)
      if (group.slots.length === 0 && this.#groups.get(group.entry) === group) {
        this.#groups.delete(group.entry)
      }
    }
    for (const e of slot.entries) {
      const list = this.#byBook.get(e)
      if (list === undefined) continue
      const i = list.indexOf(slot)
      if (i !== -1) list.splice(i, 1)
      if (list.length === 0) this.#byBook.delete(e)
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
   * The conversion book of these routes changed. A route's top bound is its `xRate` times the
   * book's top rate: the open routes are evaluated (to update or close them), the others only
   * when that bound reaches the threshold, and none of them when even `maxXRate` cannot.
   */
  #evaluateGroup(group: ConversionGroup, now: number): void {
    const top = group.side === 'buy' ? group.entry.book.asks[0] : group.entry.book.bids[0]
    const rate = top === undefined ? NaN : group.side === 'buy' ? 1 / top.px : top.px
    // A hair of margin so rounding never skips a route the exact bound would let through.
    const target = (1 + this.#o.minSpreadBps / BPS) / (1 + 1e-9)
    if (!(group.maxXRate * rate >= target)) {
      if (group.open.size === 0) return
      for (const slot of [...group.open]) this.#evaluate(slot, now)
      return
    }
    const slots = group.slots
    let max = 0
    for (let i = 0; i < slots.length; i++) {
      const slot = slots[i]!
      if (slot.open !== undefined || slot.xRate * rate >= target) this.#evaluate(slot, now)
      if (slot.xRate > max) max = slot.xRate
    }
    group.maxXRate = max
  }

  /** A cross-quote route's `xRate`, refreshed at each evaluation (its group's bound follows). */
  #noteXRate(slot: LegSlot, group: ConversionGroup): void {
    const legs = slot.legs
    const ask = legs[0]!.levels[0]
    const bid = legs[1]!.levels[0]
    const x = ask === undefined || bid === undefined ? 0 : (bid.px / ask.px) * slot.keep
    slot.xRate = x
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
    // Before anything can return: a conversion update may skip this route on its xRate.
    if (slot.kind !== 'cross' && slot.group !== undefined) this.#noteXRate(slot, slot.group)
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
      if (slot.open) this.#close(slot, resumed ? 'restart' : 'spread fell below the threshold', now)
      return
    }
    const quote = this.#quote(slot, o.sizeQuote, now)
    if (quote === undefined || !(quote.netBps >= threshold)) {
      if (slot.open) {
        const why =
          quote === undefined
            ? 'not enough depth for the trade size'
            : 'spread fell below the threshold'
        this.#close(slot, resumed ? 'restart' : why, now)
      }
      return
    }
    const anomaly = quote.grossBps > o.maxSpreadBps
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
      return {
        ...spreadFigures(r, sizeQuote),
        buyPrice: r.buyPrice,
        sellPrice: r.sellPrice,
        buyAgeMs: now - slot.buy.lastUpdateMs,
        sellAgeMs: now - slot.sell.lastUpdateMs,
      }
    }
    // A cross-quote route is the triangle walk across two venues: same legs, sides and fees.
    const r = triangleSpread(slot.legs, sizeQuote, thresholdBps)
    const ages = slot.legs.map((l) => now - l.entry.lastUpdateMs)
    const legs = slot.legs.map((l, k) => ({
      venue: l.venue,
      market: l.market,
      side: l.side,
      price: r.legPrices[k]!,
    }))
    if (slot.kind === 'triangle') {
      const oldest = Math.max(...ages)
      return {
        ...spreadFigures(r, sizeQuote),
        buyPrice: r.legPrices[0]!,
        sellPrice: r.legPrices[2]!,
        buyAgeMs: oldest,
        sellAgeMs: oldest,
        legs,
      }
    }
    return {
      ...spreadFigures(r, sizeQuote),
      buyPrice: r.legPrices[0]!,
      sellPrice: r.legPrices[1]!,
      buyAgeMs: ages[0]!,
      sellAgeMs: Math.max(ages[1]!, ages[2]!),
      legs,
    }
  }

  #open(slot: AnySlot, quote: Quote, anomaly: boolean, now: number): void {
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
    }
    slot.open = opp
    slot.lastEmitMs = now
    this.#markOpen(slot, true)
    this.stats.opened++
    if (anomaly) this.stats.anomalies++
    this.#emit({ type: 'opened', opportunity: opp, atMs: now })
  }

  #close(slot: AnySlot, reason: string, now: number): void {
    const opp = slot.open
    if (opp === undefined) return
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
  }
}
