/**
 * @module
 * What bench/bus.ts publishes, built once per run:
 *
 * - `universeWorkload`: the universe benchmark's own generator (SimUniverse, the default six venues
 *   at their listing sizes, seed 7), its books narrowed to the universe arbwatch would watch
 *   (selectUniverse, as bench/universe.ts computes it: ~3,335 books) and its updates recorded in
 *   order instead of being sent by the simulated venues: mostly one level near the top, sometimes
 *   a move of the price that changes a few levels a side; prices at about 1/10,000 of the price,
 *   quantities worth 200-5,000 USD.
 * - `deepBooks`: books at the depths real venues keep, their level texts taken from the captured
 *   real sessions in test/fixtures (Binance REST depth, Bitstamp REST order_book, Coinbase level2,
 *   OKX books, Kraken book, Bybit orderBookL2): Binance the 100 levels a side of its REST snapshot,
 *   OKX 400, Bybit 50, Kraken 25 (each its subscribed depth, padded with levels like its deepest
 *   where the capture has fewer), Coinbase and Bitstamp their whole books as captured.
 * - `liquidDeltas`: bench/venue-feed.ts's busy BTC book of each default venue in its own wire
 *   format, through the venue's real parser and book rules: the deltas of a liquid market (Binance
 *   5-25 levels a side per 100 ms diff, OKX 2-15, ...), an upper bound per message.
 */
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { Books } from '../src/book/books.ts'
import { applySnapshot, applyUpdate } from '../src/book/sync.ts'
import type { Pair, VenueId } from '../src/types.ts'
import { selectUniverse, type Listing } from '../src/universe/universe.ts'
import { DEFAULT_VENUE_IDS, VENUES } from '../src/venues/index.ts'
import type { Row } from '../src/venues/sim/book.ts'
import { SimUniverse } from '../src/venues/sim/universe.ts'
import type { SimVenue } from '../src/venues/sim/venue.ts'
import type { Venue } from '../src/venues/venue.ts'
import { LISTING_SIZES } from './universe.ts'
import { FEEDS } from './venue-feed.ts'

/** The default venues (EXCHANGES unset): Binance, OKX, Bybit, Kraken, Coinbase, Bitstamp. */
export const BUS_VENUES: readonly Venue[] = VENUES.filter((v) => DEFAULT_VENUE_IDS.includes(v.id))

export interface WorkBook {
  readonly venue: VenueId
  readonly pair: Pair
  readonly bids: Row[]
  readonly asks: Row[]
}

/**
 * The updates in order: each one's book (index into `books`) and its levels as a JSON frame
 * (`[bids, asks]`, rows of text), parsed when applied as a venue's frame is. The frames are packed
 * in one buffer: hundreds of thousands of strings kept for the whole run would be the ingest
 * side's collector's work (and pauses), which a shard's does not have.
 */
export class WorkUpdates {
  readonly #offsets: Int32Array
  readonly #bytes: Buffer

  constructor(
    readonly length: number,
    readonly book: Int32Array,
    offsets: Int32Array,
    bytes: Buffer,
  ) {
    this.#offsets = offsets
    this.#bytes = bytes
  }

  /** Update `i`'s frame. */
  frame(i: number): string {
    return this.#bytes.toString('latin1', this.#offsets[i]!, this.#offsets[i + 1]!)
  }
}

export interface UniverseWorkload {
  readonly books: WorkBook[]
  readonly updates: WorkUpdates
  /** Books every venue lists (conversion books included), before the universe narrows them. */
  readonly listed: number
}

/**
 * The universe benchmark's books and at least `n` of its updates of universe books, in the order
 * its driver makes them (the driver runs fast, its sequence is the seeded generator's either way).
 */
export async function universeWorkload(n: number, seed = 7): Promise<UniverseWorkload> {
  const universe = new SimUniverse({
    venues: BUS_VENUES,
    marketsOf: (v) => LISTING_SIZES[v.id] ?? 100,
    seed,
  })
  try {
    const listings = new Map<VenueId, Listing>()
    for (const v of BUS_VENUES) {
      const pairs = universe.listings.get(v.id) ?? []
      listings.set(v.id, {
        markets: new Map(pairs.map((p): [Pair, string] => [p, p])),
        distinctAssets: v.distinctAssets,
      })
    }
    const expected = selectUniverse(listings, {
      symbols: 'auto',
      minVenues: 2,
      quotes: ['USDT', 'USD', 'USDC'],
      exclude: [],
    })
    const books: WorkBook[] = []
    const index = new Map<string, number>()
    for (const v of BUS_VENUES) {
      const sim = universe.sims.get(v.id)!
      for (const pair of expected.perVenue.get(v.id)?.keys() ?? []) {
        const book = sim.book(pair)
        index.set(`${v.id} ${pair}`, books.length)
        books.push({ venue: v.id, pair, bids: book.topBids(), asks: book.topAsks() })
      }
    }
    let book = new Int32Array(n)
    const frames: string[] = []
    // The simulated venues' pushes are recorded, not sent (nobody is connected anyway).
    for (const v of BUS_VENUES) {
      const sim = universe.sims.get(v.id)! as { update: SimVenue['update'] }
      sim.update = (pair, bids, asks) => {
        const i = index.get(`${v.id} ${pair}`)
        if (i === undefined) return
        if (frames.length === book.length) {
          const grown = new Int32Array(book.length * 2)
          grown.set(book)
          book = grown
        }
        book[frames.length] = i
        frames.push(JSON.stringify([bids, asks]))
      }
    }
    const stop = universe.drive({ ratePerSecond: n })
    while (frames.length < n) await Bun.sleep(5)
    stop()
    const offsets = new Int32Array(frames.length + 1)
    for (let i = 0; i < frames.length; i++) offsets[i + 1] = offsets[i]! + frames[i]!.length
    const bytes = Buffer.from(frames.join(''), 'latin1')
    const updates = new WorkUpdates(frames.length, book, offsets, bytes)
    return { books, updates, listed: universe.bookCount }
  } finally {
    universe.stop()
  }
}

/** Levels a side each venue's book keeps, for the snapshot figures (see the module comment). */
export const DEEP_DEPTH: Readonly<Record<VenueId, number | 'whole'>> = {
  binance: 100,
  okx: 400,
  bybit: 50,
  kraken: 25,
  coinbase: 'whole',
  bitstamp: 'whole',
}

const FIXTURES = join(import.meta.dir, '..', 'test', 'fixtures')

type CapturedBook = { bids: Row[]; asks: Row[] }

const lines = (path: string) =>
  readFileSync(join(FIXTURES, path), 'utf8').split('\n').filter(Boolean)

/** Every captured book of a venue, as [price, quantity] texts best first. */
function capturedBooks(venue: VenueId): CapturedBook[] {
  const rows = (r: unknown[][]): Row[] => r.map((l) => [String(l[0]), String(l[1])])
  const out: CapturedBook[] = []
  switch (venue) {
    case 'binance':
    case 'bitstamp': {
      const file =
        venue === 'binance'
          ? 'binance/BINANCE_http_0_0.rest_snapshots.jsonl'
          : 'bitstamp/BITSTAMP_http_0_0.rest_snapshots.jsonl'
      for (const l of lines(file)) {
        const body = JSON.parse((JSON.parse(l) as { body: string }).body) as {
          bids?: unknown[][]
          asks?: unknown[][]
        }
        if (body.bids && body.asks) out.push({ bids: rows(body.bids), asks: rows(body.asks) })
      }
      break
    }
    case 'coinbase':
      for (const l of lines('coinbase/COINBASE_ws_28_0.frames.jsonl')) {
        if (!l.includes('"snapshot"')) continue
        const o = JSON.parse(l) as { type: string; bids: unknown[][]; asks: unknown[][] }
        if (o.type === 'snapshot') out.push({ bids: rows(o.bids), asks: rows(o.asks) })
      }
      break
    case 'okx':
      for (const l of lines('okx/OKX_ws_1_0.frames.jsonl')) {
        if (!l.includes('"snapshot"')) continue
        const o = JSON.parse(l) as {
          arg: { channel: string; instId: string }
          data: { bids: unknown[][]; asks: unknown[][] }[]
        }
        // Spot books only (`BTC-USDT`): a future's or swap's sizes are contract counts.
        if (o.arg.channel !== 'books' || o.arg.instId.split('-').length !== 2) continue
        out.push({ bids: rows(o.data[0]!.bids), asks: rows(o.data[0]!.asks) })
      }
      break
    case 'kraken':
      for (const l of lines('kraken/KRAKEN_ws_50_0.frames.jsonl')) {
        if (!l.includes('"as"')) continue
        const o = JSON.parse(l) as unknown[]
        const b = o[1] as { as?: unknown[][]; bs?: unknown[][] }
        if (b.as && b.bs) out.push({ bids: rows(b.bs), asks: rows(b.as) })
      }
      break
    case 'bybit':
      for (const l of lines('bybit/BYBIT_ws_25_0.frames.jsonl')) {
        if (!l.includes('"snapshot"')) continue
        const o = JSON.parse(l) as {
          data: { order_book?: { price: string; size: number; side: string }[] }
        }
        const levels = o.data.order_book ?? []
        const side = (s: string, desc: boolean): Row[] =>
          levels
            .filter((x) => x.side === s)
            .map((x): Row => [x.price, String(x.size)])
            .sort((a, b) => (desc ? Number(b[0]) - Number(a[0]) : Number(a[0]) - Number(b[0])))
        out.push({ bids: side('Buy', true), asks: side('Sell', false) })
      }
      break
  }
  return out.filter((b) => b.bids.length > 1 && b.asks.length > 1)
}

/**
 * `side` cut or padded to `depth` levels: padding goes on from its last level by the smallest price
 * step its texts show, in those decimals, with its quantities in turn.
 */
function toDepth(side: Row[], depth: number, descending: boolean): Row[] {
  if (side.length >= depth) return side.slice(0, depth)
  const out = side.slice()
  const decimals = Math.max(
    ...side.map(([p]) => (p.includes('.') ? p.length - p.indexOf('.') - 1 : 0)),
  )
  const tick = 10 ** -decimals
  let px = Number(side.at(-1)![0])
  for (let i = 0; out.length < depth; i++) {
    px += descending ? -tick : tick
    if (px <= 0) break
    out.push([px.toFixed(decimals), side[i % side.length]![1]])
  }
  return out
}

export interface DeepBooks {
  /** Live books of every universe book at its venue's depth. */
  readonly books: Books
  /** Per venue: books, captured books used, mean levels a side. */
  readonly perVenue: Record<VenueId, { books: number; captured: number; levelsPerSide: number }>
}

/** The universe's books at real venues' depths, level texts from the captures (round robin). */
export function deepBooks(universe: readonly WorkBook[], now = Date.now()): DeepBooks {
  const books = new Books()
  const perVenue: DeepBooks['perVenue'] = {}
  const captured = new Map<VenueId, CapturedBook[]>()
  for (const [i, w] of universe.entries()) {
    let pool = captured.get(w.venue)
    if (pool === undefined) {
      pool = capturedBooks(w.venue)
      if (pool.length === 0) pool = [{ bids: w.bids, asks: w.asks }]
      captured.set(w.venue, pool)
    }
    const c = pool[i % pool.length]!
    const depth = DEEP_DEPTH[w.venue] ?? 'whole'
    const bids = depth === 'whole' ? c.bids : toDepth(c.bids, depth, true)
    const asks = depth === 'whole' ? c.asks : toDepth(c.asks, depth, false)
    const e = books.addVenue(w.venue, [w.pair]).get(w.pair)!
    const venue = BUS_VENUES.find((v) => v.id === w.venue)!
    applySnapshot(
      e,
      venue.sync,
      {
        type: 'snapshot',
        pair: w.pair,
        bids: bids.map(([p, q]) => ({ px: +p, qty: +q, pxText: p, qtyText: q })),
        asks: asks.map(([p, q]) => ({ px: +p, qty: +q, pxText: p, qtyText: q })),
        seq: SEQ_BASE[w.venue]?.(i),
        exchangeTsMs: w.venue === 'bitstamp' ? undefined : now,
      },
      false,
    )
    e.state = 'live'
    e.lastUpdateMs = now
    const v = (perVenue[w.venue] ??= { books: 0, captured: pool.length, levelsPerSide: 0 })
    v.levelsPerSide += (e.book.bids.length + e.book.asks.length) / 2
    v.books++
  }
  for (const v of Object.values(perVenue)) v.levelsPerSide /= v.books
  return { books, perVenue }
}

/**
 * A realistic first sequence id per venue and book (where the venue has one): Binance `u` and OKX
 * `seqId` in the tens of billions, Bybit `u` in the millions, Bitstamp its microtimestamp.
 */
export const SEQ_BASE: Readonly<Record<VenueId, ((book: number) => number) | undefined>> = {
  binance: (i) => 48_000_000_000 + i * 1_000_003,
  okx: (i) => 12_000_000_000 + i * 1_000_003,
  bybit: (i) => 35_000_000 + i * 1_003,
  bitstamp: () => Date.now() * 1000,
  kraken: undefined,
  coinbase: undefined,
}

/**
 * The deltas of each default venue's busy BTC book (bench/venue-feed.ts), through the venue's real
 * parser and sync rules, announced on `books` as book/sync.ts announces them: `frames` frames per
 * venue. Returns how many deltas were announced.
 */
export function liquidDeltas(books: Books, frames: number): number {
  let n = 0
  for (const v of BUS_VENUES) {
    const make = FEEDS[v.id]
    if (make === undefined) continue
    const f = make(frames)
    const e = books.addVenue(v.id, [f.pair]).get(f.pair)!
    if (f.snapshot !== undefined) applySnapshot(e, v.sync, f.snapshot, true)
    const parse = v.createParser(f.markets)
    for (const frame of f.frames) {
      for (const ev of parse(frame, 0)) {
        const outcome =
          ev.type === 'snapshot'
            ? applySnapshot(e, v.sync, ev, false)
            : ev.type === 'delta'
              ? applyUpdate(e, v.sync, ev, 20_000)
              : undefined
        if (outcome?.kind !== 'applied') continue
        e.state = 'live'
        e.lastUpdateMs = Date.now()
        e.updates++
        const delta = ev.type === 'delta' ? ev : undefined
        books.events.emit({ type: 'update', entry: e, receivedAtMs: e.lastUpdateMs, delta })
        if (delta !== undefined) n++
      }
    }
  }
  return n
}
