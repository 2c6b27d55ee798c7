/**
 * @module
 * A simulated market universe over every registered venue's simulated venue: a catalogue of base
 * assets, each venue listing its own share of them in its own quotes (some USDT/USDC, some
 * USD/USDT), the conversion books between those quotes, and a driver that moves the books at a
 * chosen aggregate rate (busy markets often, the long tail rarely) around one fair price per asset,
 * now and then dislocating one venue. `bun run demo` and the universe benchmark use it. It knows
 * no venue: each venue's protocol comes from its own `simulate()`.
 */
import type { Pair, VenueId } from '../../types.ts'
import type { Venue } from '../venue.ts'
import { SimBook, type Row } from './book.ts'
import type { SimMarket, SimVenue } from './venue.ts'

/** A few real names with realistic prices first; the long tail is synthetic. */
const NAMED: readonly [string, number][] = [
  ['BTC', 60_000],
  ['ETH', 3_000],
  ['SOL', 150],
  ['XRP', 0.6],
  ['DOGE', 0.12],
  ['ADA', 0.45],
  ['AVAX', 30],
  ['LINK', 14],
  ['DOT', 6],
  ['LTC', 80],
  ['BCH', 400],
  ['TRX', 0.12],
  ['UNI', 8],
  ['ATOM', 7],
  ['XLM', 0.1],
  ['ETC', 25],
  ['FIL', 5],
  ['APT', 8],
  ['ARB', 0.9],
  ['OP', 1.8],
  ['NEAR', 5],
  ['SUI', 1.2],
  ['AAVE', 100],
  ['INJ', 25],
]

/** USD value of one unit of each quote asset (slightly off one another, as on real venues). */
const QUOTE_USD: Readonly<Record<string, number>> = { USD: 1, USDT: 1.0002, USDC: 0.9999 }

export interface SimUniverseOptions {
  readonly venues: readonly Venue[]
  /** How many markets each venue lists (conversion books not counted). */
  readonly marketsOf: (venue: Venue) => number
  readonly seed?: number
  /** Levels per side of every book. */
  readonly levels?: number
}

/** One venue's view of one market, as the driver moves it. */
interface Feed {
  readonly sim: SimVenue
  readonly venue: VenueId
  readonly pair: Pair
  readonly base: string
  readonly quote: string
  readonly tick: number
  readonly decimals: number
  /** Best bid, in ticks (the best ask is one tick above). */
  center: number
}

export interface Dislocation {
  readonly venue: VenueId
  readonly base: string
  readonly factor: number
  readonly untilMs: number
}

export interface DriveOptions {
  /** Book updates per second across every venue. */
  readonly ratePerSecond: number
  /** Dislocations happen on these venues (default: none happen). */
  readonly dislocateOn?: readonly VenueId[]
  readonly firstDislocationMs?: number
  /** A dislocation's size, as a fraction of the price (default 0.4-0.8 %). */
  readonly dislocationSize?: readonly [number, number]
}

/** A seeded PRNG so a run is repeatable (mulberry32). */
export function prng(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = Math.imul(a ^ (a >>> 15), a | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

/** Tick and decimals for a price: about 1/10,000 of it, as venues' tick tables roughly give. */
function tickOf(price: number): { tick: number; decimals: number } {
  const decimals = Math.max(0, Math.min(10, Math.ceil(4 - Math.log10(price))))
  return { tick: 10 ** -decimals, decimals }
}

/**
 * Every venue's simulated venue with its listing, and a driver.
 * @example
 * ```ts
 * const u = new SimUniverse({ venues: VENUES, marketsOf: () => 40 })
 * const stop = u.drive({ ratePerSecond: 500 })
 * ```
 */
export class SimUniverse {
  readonly sims = new Map<VenueId, SimVenue>()
  /** Each venue's listed markets (conversion books included). */
  readonly listings = new Map<VenueId, Pair[]>()
  readonly #feeds: Feed[] = []
  /** Cumulative update weights of `#feeds` (busy markets first). */
  readonly #weights: number[] = []
  readonly #fairUsd = new Map<string, number>()
  readonly #rand: () => number
  readonly #levels: number
  #dislocation: Dislocation | undefined
  #timers: ReturnType<typeof setInterval>[] = []
  /** Updates pushed so far. */
  updates = 0

  constructor(o: SimUniverseOptions) {
    this.#rand = prng(o.seed ?? 7)
    this.#levels = o.levels ?? 20
    const rand = this.#rand
    const most = Math.max(...o.venues.map((v) => o.marketsOf(v)))
    // Enough bases that the largest listing fits in two quotes.
    const bases: [string, number][] = [...NAMED]
    for (let i = bases.length; i < most; i++) {
      bases.push([`T${String(i).padStart(4, '0')}`, 10 ** (rand() * 6 - 3)])
    }
    for (const [b, px] of bases) this.#fairUsd.set(b, px)
    for (const [k, venue] of o.venues.entries()) {
      // Venues alternate between USDT-quoted and USD-quoted listings: both kinds exist, so
      // cross-quote routes exist, without this module knowing any venue.
      const quotes = k % 2 === 0 ? ['USDT', 'USDC'] : ['USD', 'USDT']
      const want = o.marketsOf(venue)
      const markets: { base: string; quote: string }[] = []
      // The most traded bases are listed nearly everywhere, the tail by chance.
      for (const [rank, [base]] of bases.entries()) {
        if (markets.length >= want) break
        if (rank >= NAMED.length && rand() > 0.8) continue
        markets.push({ base, quote: quotes[0]! })
        if (markets.length < want && (rank < 8 || rand() < 0.25)) {
          markets.push({ base, quote: quotes[1]! })
        }
      }
      const conversion =
        k % 2 === 0
          ? [['USDC', 'USDT']]
          : [
              ['USDT', 'USD'],
              ['USDC', 'USD'],
            ]
      for (const [base, quote] of conversion) markets.push({ base: base!, quote: quote! })
      const specs: SimMarket[] = markets.map((m) => ({
        base: m.base,
        quote: m.quote,
        book: new SimBook(),
        volume24h: Math.round(1e9 / (bases.findIndex(([b]) => b === m.base) + 1 || 1)),
      }))
      const sim = venue.simulate(specs)
      this.sims.set(venue.id, sim)
      this.listings.set(
        venue.id,
        specs.map((m) => `${m.base}/${m.quote}`),
      )
      for (const m of markets) {
        const pair: Pair = `${m.base}/${m.quote}`
        const price = this.#price(m.base, m.quote)
        const { tick, decimals } = tickOf(price)
        const feed: Feed = {
          sim,
          venue: venue.id,
          pair,
          base: m.base,
          quote: m.quote,
          tick,
          decimals,
          center: Math.round(price / tick),
        }
        this.#feeds.push(feed)
        sim.book(pair).apply(...this.#ladder(feed))
      }
    }
    // Busy markets move often: weight by the base's rank (Zipf-like).
    const rankOf = new Map(bases.map(([b], i) => [b, i]))
    let sum = 0
    for (const f of this.#feeds) {
      sum += 1 / ((rankOf.get(f.base) ?? bases.length) + 1) ** 1.1
      this.#weights.push(sum)
    }
  }

  /** The endpoint overrides that point arbwatch at the simulated venues. */
  get env(): Record<string, string> {
    const env: Record<string, string> = {}
    for (const [venue, sim] of this.sims) {
      env[`${venue.toUpperCase()}_WS_URL`] = sim.wsUrl
      env[`${venue.toUpperCase()}_REST_URL`] = sim.restUrl
      // The key its signed transfer endpoint accepts: the demo knows which coins can move too.
      const keys = sim.credentials
      if (keys !== undefined) {
        env[`${venue.toUpperCase()}_API_KEY`] = keys.key
        env[`${venue.toUpperCase()}_API_SECRET`] = keys.secret
        if (keys.passphrase !== undefined)
          env[`${venue.toUpperCase()}_API_PASSPHRASE`] = keys.passphrase
      }
    }
    return env
  }

  /** Every book the venues list, counted once per venue. */
  get bookCount(): number {
    return this.#feeds.length
  }

  /** The dislocation in force, if any. */
  get dislocation(): Dislocation | undefined {
    return this.#dislocation
  }

  /** Moves the books until `stop()`; returns a function that stops this driver. */
  drive(o: DriveOptions): () => void {
    const rand = this.#rand
    const stepMs = 20
    let carry = 0
    let lastMs = Date.now()
    let nextDislocationMs = Date.now() + (o.firstDislocationMs ?? 8_000)
    const [lo, hi] = o.dislocationSize ?? [0.004, 0.008]
    const timer = setInterval(() => {
      const now = Date.now()
      const d = this.#dislocation
      if (d !== undefined && now > d.untilMs) {
        this.#dislocation = undefined
        nextDislocationMs = now + 15_000 + rand() * 25_000
        for (const f of this.#feeds) if (f.venue === d.venue && f.base === d.base) this.#recenter(f)
      } else if (d === undefined && o.dislocateOn?.length && now > nextDislocationMs) {
        const f = this.#pick()
        const venue = o.dislocateOn[Math.floor(rand() * o.dislocateOn.length)]!
        if (this.#feeds.some((x) => x.venue === venue && x.base === f.base && !isStable(f.base))) {
          this.#dislocation = {
            venue,
            base: f.base,
            factor: 1 + (lo + rand() * (hi - lo)) * (rand() < 0.5 ? 1 : -1),
            untilMs: now + 8_000 + rand() * 10_000,
          }
          for (const x of this.#feeds) if (x.venue === venue && x.base === f.base) this.#recenter(x)
        }
      }
      // By the time that passed, not the ticks: a timer firing late (a busy process) must not
      // lower the rate. After a stall, at most 200 ms worth is caught up (no huge burst).
      carry = Math.min(carry + (o.ratePerSecond * (now - lastMs)) / 1000, o.ratePerSecond / 5)
      lastMs = now
      for (; carry >= 1; carry--) this.#step(this.#pick())
    }, stepMs)
    this.#timers.push(timer)
    return () => clearInterval(timer)
  }

  stop(): void {
    for (const t of this.#timers) clearInterval(t)
    this.#timers = []
    for (const sim of this.sims.values()) sim.stop()
  }

  #price(base: string, quote: string): number {
    const usd = this.#fairUsd.get(base) ?? QUOTE_USD[base] ?? 1
    return usd / (QUOTE_USD[quote] ?? 1)
  }

  #pick(): Feed {
    const w = this.#weights
    const x = this.#rand() * w[w.length - 1]!
    let lo = 0
    let hi = w.length - 1
    while (lo < hi) {
      const mid = (lo + hi) >> 1
      if (w[mid]! < x) lo = mid + 1
      else hi = mid
    }
    return this.#feeds[lo]!
  }

  /** One update: mostly a quantity change near the top, sometimes the price follows fair value. */
  #step(f: Feed): void {
    const rand = this.#rand
    this.updates++
    if (!isStable(f.base)) {
      const fair = this.#fairUsd.get(f.base)!
      this.#fairUsd.set(f.base, fair * (1 + (rand() - 0.5) * 0.0004))
    }
    if (rand() < 0.15) return this.#recenter(f)
    const side = rand() < 0.5 ? 'bid' : 'ask'
    const i = Math.floor(rand() * 5)
    const px = side === 'bid' ? f.center - i : f.center + 1 + i
    const row: Row = [(px * f.tick).toFixed(f.decimals), this.#qty(f)]
    if (side === 'bid') f.sim.update(f.pair, [row], [])
    else f.sim.update(f.pair, [], [row])
  }

  /** Moves a book to its fair price (and its dislocation): the levels that change, in one update. */
  #recenter(f: Feed): void {
    const d = this.#dislocation
    const factor = d !== undefined && d.venue === f.venue && d.base === f.base ? d.factor : 1
    const center = Math.round((this.#price(f.base, f.quote) * factor) / f.tick)
    if (center === f.center) return
    // Bids sit at center - i and asks at center + 1 + i ticks (i < levels): the prices the move
    // leaves go to 0 and the ones it reaches get a quantity; the rest stay (a small move touches
    // a few levels, so only those are formatted).
    const was = f.center
    f.center = center
    const n = this.#levels
    const px = (ticks: number) => (ticks * f.tick).toFixed(f.decimals)
    const bids: Row[] = []
    const asks: Row[] = []
    for (let i = 0; i < n; i++) {
      const p = was - i
      if (p > center || p <= center - n) bids.push([px(p), '0'])
    }
    for (let i = 0; i < n; i++) {
      const p = center - i
      if (p > was || p <= was - n) bids.push([px(p), this.#qty(f)])
    }
    for (let i = 0; i < n; i++) {
      const p = was + 1 + i
      if (p <= center || p > center + n) asks.push([px(p), '0'])
    }
    for (let i = 0; i < n; i++) {
      const p = center + 1 + i
      if (p <= was || p > was + n) asks.push([px(p), this.#qty(f)])
    }
    if (bids.length + asks.length > 0) f.sim.update(f.pair, bids, asks)
  }

  #ladder(f: Feed): [Row[], Row[]] {
    const bids: Row[] = []
    const asks: Row[] = []
    for (let i = 0; i < this.#levels; i++) {
      bids.push([((f.center - i) * f.tick).toFixed(f.decimals), this.#qty(f)])
      asks.push([((f.center + 1 + i) * f.tick).toFixed(f.decimals), this.#qty(f)])
    }
    return [bids, asks]
  }

  /** A quantity worth roughly 200-5,000 USD at this price. */
  #qty(f: Feed): string {
    const qty = (200 + this.#rand() * 4800) / this.#price(f.base, f.quote)
    const text = qty.toFixed(Math.max(0, Math.min(8, 6 - Math.ceil(Math.log10(qty)))))
    if (text.indexOf('.') === -1) return text
    // Trailing zeros and then a bare point go (what /\.?0+$/ removes, without the regex).
    let end = text.length
    while (text.charCodeAt(end - 1) === 48) end--
    if (text.charCodeAt(end - 1) === 46) end--
    return text.slice(0, end)
  }
}

const isStable = (asset: string): boolean => asset in QUOTE_USD
