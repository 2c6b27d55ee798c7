/**
 * @module
 * Detector benchmarks, printed as one JSON line:
 *   - detector cost per book update with 6 venues x 50 symbols (p50/p99), on a random walk of
 *     the books with occasional dislocations;
 *   - the same at universe scale: ~2,000 books on 6 venues (X/USDT, X/USDC and X/USD markets and
 *     their conversion books), every cross, and cross-quote routes between USDT, USD and USDC,
 *     all made from Books' `added` events; conversion-book updates are reported on their own;
 *   - frame-to-event latency: a local Binance server replays a stream that opens and closes an
 *     opportunity every two messages; time from the frame reaching JS to the `opened` event.
 *   bun bench/detector.ts <port-of-a-dislocation-server> <messages>
 */
import { Books, type BookEntry } from '../src/book/books.ts'
import { clearBook } from '../src/book/book.ts'
import { applySnapshot, BookSync } from '../src/book/sync.ts'
import { Detector } from '../src/detector/detector.ts'
import { createLogger } from '../src/log.ts'
import type { Level } from '../src/types.ts'
import { binance } from '../src/venues/binance/index.ts'
import { Connection } from '../src/venues/connection.ts'
import { VENUE_IDS, VENUES } from '../src/venues/index.ts'
import type { SyncRules, Venue } from '../src/venues/venue.ts'
import { prng } from './stream.ts'

const [portText, nText] = process.argv.slice(2)
const thresholds = {
  minSpreadBps: 10,
  hysteresisBps: 5,
  maxSpreadBps: 500,
  maxQuoteAgeMs: 60_000,
  sizeQuote: 1000,
}

const FEES = Object.fromEntries(VENUES.map((v) => [v.id, v.takerFeeBps]))

/** A socket snapshot's rule: the levels replace the book. */
const REPLACE: SyncRules = { snapshot: 'ws', sequence: 'none', detectsGaps: false }

/**
 * Replaces a book with these levels as book sync does for a socket snapshot: live at `nowMs`, or,
 * when the result is crossed, emptied and syncing (a resync). Returns whether it went live.
 */
function put(e: BookEntry, bids: Level[], asks: Level[], nowMs: number): boolean {
  const outcome = applySnapshot(e, REPLACE, { type: 'snapshot', pair: e.pair, bids, asks }, false)
  if (outcome.kind !== 'applied') {
    clearBook(e.book)
    e.state = 'syncing'
    e.hasSnapshot = false
    return false
  }
  e.state = 'live'
  e.lastUpdateMs = nowMs
  return true
}

const pct = (xs: Float64Array, p: number) => {
  const s = Float64Array.from(xs).sort()
  return s[Math.min(s.length - 1, Math.floor(s.length * p))]!
}

function detectorCost(updates = 200_000) {
  const rand = prng(11)
  const symbols = Array.from({ length: 50 }, (_, i) => `C${i}/USDT`)
  const samples = new Float64Array(updates)
  const books = new Books()
  for (const v of VENUE_IDS) books.addVenue(v, symbols)
  const detector = new Detector({
    books,
    venues: VENUE_IDS,
    symbols,
    feeBps: FEES,
    ...thresholds,
  })
  /** A book update as the detector sees it (the `update` event), timed. */
  const update = (e: BookEntry, bids: Level[], asks: Level[], nowMs: number, k: number) => {
    if (!put(e, bids, asks, nowMs)) return detector.onBookInvalid(e, 'resync: crossed book')
    const t0 = Bun.nanoseconds()
    detector.onBookUpdate(e, nowMs)
    if (k >= 0) samples[k] = (Bun.nanoseconds() - t0) / 1000
  }
  let opened = 0
  detector.subscribe((e) => e.type === 'opened' && opened++)
  const lvl = (cents: number, qty: number): Level => {
    const pxText = (cents / 100).toFixed(2)
    return { px: +pxText, qty, pxText, qtyText: qty.toFixed(8) }
  }
  const mids = symbols.map(() => 1_000_000 + Math.floor(rand() * 1_000_000))
  for (const v of VENUE_IDS) {
    for (const [k, pair] of symbols.entries()) {
      const bids: Level[] = []
      const asks: Level[] = []
      for (let i = 1; i <= 50; i++) {
        bids.push(lvl(mids[k]! - i, 1 + rand()))
        asks.push(lvl(mids[k]! + i, 1 + rand()))
      }
      update(books.get(v, pair)!, bids, asks, 0, -1)
    }
  }
  for (let current = 0; current < updates; current++) {
    const v = VENUE_IDS[Math.floor(rand() * VENUE_IDS.length)]!
    const k = Math.floor(rand() * symbols.length)
    const mid = mids[k]!
    // 1 % of updates dislocate a venue by 0.5 % (an opportunity), then it returns.
    const shift = rand() < 0.01 ? Math.round(mid * 0.005) * (rand() < 0.5 ? 1 : -1) : 0
    const e = books.get(v, symbols[k]!)!
    // The venue's new book: the new best level on each side, and the old levels that stay
    // behind it (so the book never crosses).
    const bestBid = lvl(mid - 1 + shift, 1 + rand())
    const bestAsk = lvl(mid + 1 + shift, 1 + rand())
    const bids = [bestBid, ...e.book.bids.filter((l) => l.px < bestBid.px)].slice(0, 50)
    const asks = [bestAsk, ...e.book.asks.filter((l) => l.px > bestAsk.px)].slice(0, 50)
    update(e, bids, asks, current, current)
  }
  return { updates, opened, p50Us: pct(samples, 0.5), p99Us: pct(samples, 0.99) }
}

/**
 * ~2,000 books across the 6 venues, listed the way the venues list them (docs/exchange-protocols.md
 * section 8): Binance, OKX and Bybit quote in USDT and USDC, Kraken, Coinbase and Bitstamp in USD
 * and USDT, and the USD venues have USDT/USD and USDC/USD books. The detector is started first and
 * makes every route from the `added` events.
 */
function universeCost(updates = 200_000) {
  const rand = prng(23)
  const BASES = 220
  const usdVenues = new Set(['kraken', 'coinbase', 'bitstamp'])
  const markets = (venue: string): string[] => {
    const out: string[] = []
    for (let b = 0; b < BASES; b++) {
      if (usdVenues.has(venue)) {
        out.push(`B${b}/USD`)
        if (b % 2 === 0) out.push(`B${b}/USDT`)
      } else {
        out.push(`B${b}/USDT`)
        if (b % 2 === 1) out.push(`B${b}/USDC`)
      }
    }
    if (usdVenues.has(venue)) out.push('USDT/USD', 'USDC/USD')
    else out.push('USDC/USDT')
    return out
  }
  const books = new Books()
  const detector = new Detector({
    books,
    venues: VENUE_IDS,
    quotes: ['USDT', 'USD', 'USDC'],
    feeBps: FEES,
    ...thresholds,
  })
  detector.start()
  const t0 = performance.now()
  for (const v of VENUE_IDS) books.addVenue(v, markets(v))
  const addMs = performance.now() - t0
  const entries = VENUE_IDS.flatMap((v) => [...books.ofVenue(v)])
  const isConversion = (pair: string) => /^(USDT|USDC|USD)\/(USDT|USDC|USD)$/.test(pair)
  /** Prices in ticks: X books at 0.01, conversion books at 0.0001 around 1. */
  const tickOf = (pair: string) => (isConversion(pair) ? 0.0001 : 0.01)
  const lvl = (ticks: number, tick: number, qty: number): Level => {
    const pxText = (ticks * tick).toFixed(tick < 0.01 ? 4 : 2)
    return { px: +pxText, qty, pxText, qtyText: qty.toFixed(8) }
  }
  const baseMid = Array.from({ length: BASES }, () => 1_000_000 + Math.floor(rand() * 1_000_000))
  const midOf = (pair: string) => {
    if (isConversion(pair)) return 10_000 + (pair.startsWith('USDC/USDT') ? -1 : 2)
    return baseMid[Number(pair.slice(1, pair.indexOf('/')))]!
  }
  const samples = new Float64Array(updates)
  const conversion: number[] = []
  let opened = 0
  detector.subscribe((e) => e.type === 'opened' && opened++)
  const update = (e: BookEntry, bids: Level[], asks: Level[], nowMs: number, k: number) => {
    if (!put(e, bids, asks, nowMs)) return detector.onBookInvalid(e, 'resync: crossed book')
    const t = Bun.nanoseconds()
    detector.onBookUpdate(e, nowMs)
    if (k < 0) return
    samples[k] = (Bun.nanoseconds() - t) / 1000
    if (isConversion(e.pair)) conversion.push(samples[k]!)
  }
  for (const e of entries) {
    const tick = tickOf(e.pair)
    const mid = midOf(e.pair)
    const bids: Level[] = []
    const asks: Level[] = []
    for (let i = 1; i <= 50; i++) {
      bids.push(lvl(mid - i, tick, 1 + rand() * 1000))
      asks.push(lvl(mid + i, tick, 1 + rand() * 1000))
    }
    update(e, bids, asks, 0, -1)
  }
  for (let current = 0; current < updates; current++) {
    const e = entries[Math.floor(rand() * entries.length)]!
    const tick = tickOf(e.pair)
    const mid = midOf(e.pair)
    const shift = rand() < 0.01 ? Math.round(mid * 0.005) * (rand() < 0.5 ? 1 : -1) : 0
    const bestBid = lvl(mid - 1 + shift, tick, 1 + rand() * 1000)
    const bestAsk = lvl(mid + 1 + shift, tick, 1 + rand() * 1000)
    const bids = [bestBid, ...e.book.bids.filter((l) => l.px < bestBid.px)].slice(0, 50)
    const asks = [bestAsk, ...e.book.asks.filter((l) => l.px > bestAsk.px)].slice(0, 50)
    update(e, bids, asks, current, current)
  }
  const s0 = performance.now()
  const rows = detector.spreads(1000, updates).length
  const spreadsMs = performance.now() - s0
  detector.stop()
  const conv = Float64Array.from(conversion)
  return {
    books: entries.length,
    routes: detector.routeCount,
    addMs: Math.round(addMs),
    updates,
    opened,
    p50Us: pct(samples, 0.5),
    p99Us: pct(samples, 0.99),
    conversionUpdates: conv.length,
    conversionP50Us: conv.length > 0 ? pct(conv, 0.5) : null,
    conversionP99Us: conv.length > 0 ? pct(conv, 0.99) : null,
    /** One `spreads()` call over every route (what /api/spreads starts from). */
    spreadsRows: rows,
    spreadsMs: Math.round(spreadsMs * 10) / 10,
  }
}

async function frameToEvent(port: number, n: number) {
  const base = `127.0.0.1:${port}`
  let t0 = 0
  const latencies: number[] = []
  const timed: Venue = {
    ...binance,
    createParser(markets) {
      const parse = binance.createParser(markets)
      return (raw, now) => {
        t0 = Bun.nanoseconds()
        return parse(raw, now)
      }
    },
  }
  const log = createLogger('silent')
  const books = new Books()
  const conn = new Connection({
    venue: timed,
    wsUrl: `ws://${base}`,
    restUrl: `http://${base}`,
    pairs: ['BTC/USDT'],
    log,
  })
  // The server streams only once the book is seeded: ask for the snapshot without waiting.
  const sync = new BookSync({ connection: conn, books, log, snapshotTimeoutMs: 50 })
  // The other leg: a venue bidding 60,300, kept fresh.
  books.addVenue('kraken', ['BTC/USDT'])
  const other = books.get('kraken', 'BTC/USDT')!
  const seedOther = () =>
    put(
      other,
      [{ px: 60300, qty: 5, pxText: '60300.0', qtyText: '5' }],
      [{ px: 60310, qty: 5, pxText: '60310.0', qtyText: '5' }],
      Date.now(),
    )
  seedOther()
  const keepFresh = setInterval(seedOther, 1000)
  const detector = new Detector({
    books,
    venues: ['binance', 'kraken'],
    symbols: ['BTC/USDT'],
    feeBps: { ...FEES, binance: 10, kraken: 10 },
    ...thresholds,
  })
  detector.subscribe((e) => {
    if (e.type === 'opened' && e.opportunity.buyVenue === 'binance')
      latencies.push((Bun.nanoseconds() - t0) / 1000)
  })
  const entry = books.get('binance', 'BTC/USDT')!
  const done = books.events.next('update', () => entry.lastSeq === n, 120_000)
  detector.start()
  sync.start()
  conn.start()
  await done
  detector.stop()
  sync.stop()
  await conn.stop()
  clearInterval(keepFresh)
  const xs = Float64Array.from(latencies)
  return { events: latencies.length, p50Us: pct(xs, 0.5), p99Us: pct(xs, 0.99) }
}

const cost = detectorCost(Number(process.env.UPDATES ?? 200_000))
const universe = universeCost(Number(process.env.UPDATES ?? 200_000))
if (portText === undefined) {
  console.log(JSON.stringify({ cost, universe }))
  process.exit(0)
}
const latency = await frameToEvent(Number(portText), Number(nText))
console.log(JSON.stringify({ cost, universe, latency }))
process.exit(0)
