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
  readonly venues: readonly VenueId[]
  readonly symbols: readonly Pair[]
  /** Cycles of three assets, the first being the one profit is counted in. */
  readonly triangles?: readonly (readonly [string, string, string])[]
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
  /** Both books live and younger than MAX_QUOTE_AGE_MS. */
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
  readonly legs?: readonly { market: Pair; side: 'buy' | 'sell'; price: number | null }[]
  readonly openId: string | null
}

interface Slot {
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
  resumeUntilMs?: number
}

interface CrossSlot extends Slot {
  readonly kind: 'cross'
  readonly buy: BookEntry
  readonly sell: BookEntry
  readonly buyFeeBps: number
  readonly sellFeeBps: number
}

interface TriangleSlot extends Slot {
  readonly kind: 'triangle'
  readonly legs: readonly (TriangleLegBook & { readonly market: Pair; readonly entry: BookEntry })[]
}

type AnySlot = CrossSlot | TriangleSlot

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

/** The taker fee of a venue; every watched venue must have one (config derives them all). */
function feeOf(feeBps: Readonly<Record<VenueId, number>>, venue: VenueId): number {
  const fee = feeBps[venue]
  if (fee === undefined) throw new RangeError(`no taker fee configured for ${venue}`)
  return fee
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

export class Detector {
  readonly #o: DetectorOptions
  readonly #now: () => number
  /** Opened, updated and closed opportunities, in order. */
  readonly events = new Emitter<OpportunityEvent>(() => {
    // A listener's failure must not stop detection; listeners report their own errors.
  })
  #offBooks: (() => void) | undefined
  readonly #byBook = new Map<BookEntry, AnySlot[]>()
  readonly #slots: AnySlot[] = []
  #timer: ReturnType<typeof setInterval> | undefined
  /** Counters for the status API and metrics. */
  readonly stats = { evaluations: 0, opened: 0, closed: 0, anomalies: 0 }

  constructor(options: DetectorOptions) {
    this.#o = options
    this.#now = options.now ?? Date.now
    const { books, venues, symbols, feeBps } = options
    for (const symbol of symbols) {
      const entries = venues.map((v) => books.get(v, symbol)).filter((e) => e !== undefined)
      for (const buy of entries) {
        for (const sell of entries) {
          if (buy === sell) continue
          this.#add({
            kind: 'cross',
            symbol,
            buyVenue: buy.venue,
            sellVenue: sell.venue,
            entries: [buy, sell],
            buy,
            sell,
            buyFeeBps: feeOf(feeBps, buy.venue),
            sellFeeBps: feeOf(feeBps, sell.venue),
            open: undefined,
            lastEmitMs: 0,
          })
        }
      }
    }
    for (const cycle of options.triangles ?? []) {
      for (const direction of [cycle, [cycle[0], cycle[2], cycle[1]] as const]) {
        const markets = triangleMarkets(direction)
        for (const venue of venues) {
          const entries = markets.map((m) => books.get(venue, m.market))
          if (entries.some((e) => e === undefined)) continue
          const legs = markets.map((m, k) => {
            const entry = entries[k]!
            return {
              market: m.market,
              side: m.side,
              entry,
              feeBps: feeOf(feeBps, venue),
              levels: m.side === 'buy' ? entry.book.asks : entry.book.bids,
            }
          })
          this.#add({
            kind: 'triangle',
            symbol: [...direction, direction[0]].join('>'),
            buyVenue: venue,
            sellVenue: venue,
            entries: entries as BookEntry[],
            legs,
            open: undefined,
            lastEmitMs: 0,
          })
        }
      }
    }
  }

  #add(slot: AnySlot): void {
    this.#slots.push(slot)
    for (const e of slot.entries) {
      const list = this.#byBook.get(e)
      if (list) list.push(slot)
      else this.#byBook.set(e, [slot])
    }
  }

  /** Registers a listener for opened/updated/closed events; returns the unsubscribe function. */
  subscribe(listener: OpportunityListener): () => void {
    return this.events.on(listener)
  }

  /** A book changed: re-evaluate the pairs and triangles that read it. */
  onBookUpdate(entry: BookEntry, nowMs: number): void {
    const slots = this.#byBook.get(entry)
    if (slots === undefined) return
    for (let i = 0; i < slots.length; i++) this.#evaluate(slots[i]!, nowMs)
  }

  /** A book stopped being trustworthy (resync, connection down): close what depends on it. */
  onBookInvalid(entry: BookEntry, reason: string): void {
    const slots = this.#byBook.get(entry)
    if (slots === undefined) return
    const now = this.#now()
    for (const slot of slots) {
      if (slot.open) this.#close(slot, `leg stale: ${entry.venue} ${entry.pair} ${reason}`, now)
    }
  }

  /** Closes open opportunities whose legs have aged past MAX_QUOTE_AGE_MS without an update. */
  sweep(nowMs = this.#now()): void {
    for (const slot of this.#slots) {
      if (slot.open === undefined) continue
      if (slot.resumeUntilMs !== undefined) {
        if (nowMs >= slot.resumeUntilMs) this.#close(slot, 'restart', nowMs)
        continue
      }
      const stale = this.#staleLeg(slot, nowMs)
      if (stale !== undefined) this.#close(slot, stale, nowMs)
    }
  }

  /** Follows the books' events and starts the staleness sweep. */
  start(): void {
    if (this.#timer !== undefined) return
    const observe = this.#o.onEvaluated
    this.#offBooks = this.#o.books.events.on((e) => {
      if (e.type === 'update') {
        const t0 = observe === undefined ? 0 : performance.now()
        this.onBookUpdate(e.entry, e.receivedAtMs)
        observe?.((performance.now() - t0) / 1000)
      } else if (e.type === 'invalid') this.onBookInvalid(e.entry, e.reason)
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
    const slot = this.#slots.find((s) => s.open === opportunity)
    return slot === undefined ? undefined : this.#quote(slot, sizeQuote, nowMs)
  }

  /**
   * Takes back the opportunities that were open when the process last stopped (read from the
   * store). Each stays the same opportunity (same id, no second `opened`) if the live books still
   * show it at their first full evaluation; otherwise, or when the books are not live within
   * `resumeGraceMs`, it closes with reason `restart`. One this detector no longer watches closes
   * at once.
   */
  resume(records: readonly OpportunityRecord[], nowMs = this.#now()): void {
    const grace = this.#o.resumeGraceMs ?? 30_000
    for (const r of records) {
      const slot = this.#slots.find(
        (s) =>
          s.kind === r.kind &&
          s.symbol === r.symbol &&
          s.buyVenue === r.buyVenue &&
          s.sellVenue === r.sellVenue &&
          s.open === undefined,
      )
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
      const opp: Opportunity = {
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
      if (slot === undefined) {
        opp.closedAtMs = opp.updatedAtMs = nowMs
        opp.closeReason = 'restart'
        this.stats.closed++
        this.#emit({ type: 'closed', opportunity: opp, atMs: nowMs })
        continue
      }
      slot.open = opp
      slot.lastEmitMs = nowMs
      slot.resumeUntilMs = nowMs + grace
    }
  }

  openOpportunities(): Opportunity[] {
    return this.#slots.flatMap((s) => (s.open ? [s.open] : []))
  }

  /** Every pair's and triangle's spread now, recomputed at `sizeQuote` (for the API). */
  spreads(sizeQuote = this.#o.sizeQuote, nowMs = this.#now()): SpreadView[] {
    return this.#slots.map((slot) => this.#view(slot, sizeQuote, nowMs))
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
    slot.resumeUntilMs = undefined
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

  /** Both spread computations, mapped to one shape (NaN where the books cannot fill the size). */
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
    const r = triangleSpread(slot.legs, sizeQuote, thresholdBps)
    const oldest = Math.max(...slot.legs.map((l) => now - l.entry.lastUpdateMs))
    return {
      ...spreadFigures(r, sizeQuote),
      buyPrice: r.legPrices[0]!,
      sellPrice: r.legPrices[2]!,
      buyAgeMs: oldest,
      sellAgeMs: oldest,
      legs: slot.legs.map((l, k) => ({ market: l.market, side: l.side, price: r.legPrices[k]! })),
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
    this.stats.opened++
    if (anomaly) this.stats.anomalies++
    this.#emit({ type: 'opened', opportunity: opp, atMs: now })
  }

  #close(slot: AnySlot, reason: string, now: number): void {
    const opp = slot.open
    if (opp === undefined) return
    slot.open = undefined
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
    const buyLegs = slot.kind === 'cross' ? [slot.buy] : slot.entries
    const sellLegs = slot.kind === 'cross' ? [slot.sell] : slot.entries
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
