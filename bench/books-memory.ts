/**
 * @module
 * Memory of 6 venues x 50 symbols of live books at each venue's realistic depth, after a stream
 * of updates: prints one JSON line with RSS and heap after a full GC, and the peak RSS.
 *   bun bench/books-memory.ts
 */
import { Books } from '../src/book/books.ts'
import { applySnapshot, applyUpdate } from '../src/book/sync.ts'
import type { Level, VenueId } from '../src/types.ts'
import { VENUES } from '../src/venues/index.ts'
import { prng } from './stream.ts'

/** Levels per side a venue's book typically holds here (REST snapshot size or subscribed depth). */
const DEPTH: Record<VenueId, number> = {
  binance: 1000,
  kraken: 25,
  coinbase: 1500,
  bitstamp: 1000,
  okx: 400,
  bybit: 50,
}
const SYMBOLS = 50
const UPDATES = 200_000

const rand = prng(7)
const level = (cents: number, qty: number): Level => {
  const pxText = (cents / 100).toFixed(2)
  const qtyText = qty.toFixed(8)
  return { px: +pxText, qty: +qtyText, pxText, qtyText }
}

let peak = 0
const sample = () => (peak = Math.max(peak, process.memoryUsage.rss()))
const books = new Books()
const pairs = Array.from({ length: SYMBOLS }, (_, i) => `C${i}/USDT`)
for (const venue of VENUES) {
  books.addVenue(venue.id, pairs)
  const depth = DEPTH[venue.id] ?? 1000
  for (const pair of pairs) {
    const mid = 100_000 + Math.floor(rand() * 1_000_000)
    const bids: Level[] = []
    const asks: Level[] = []
    for (let i = 1; i <= depth; i++) {
      bids.push(level(mid - i, rand() * 5 + 0.001))
      asks.push(level(mid + i, rand() * 5 + 0.001))
    }
    // A socket-ordered snapshot replaces the book under the venue's own rules (depth included).
    const e = books.get(venue.id, pair)!
    applySnapshot(e, venue.sync, { type: 'snapshot', pair, bids, asks }, false)
    e.state = 'live'
  }
  sample()
}
for (let n = 0; n < UPDATES; n++) {
  const venue = VENUES[n % VENUES.length]!
  const pair = pairs[Math.floor(rand() * SYMBOLS)]!
  const e = books.get(venue.id, pair)!
  const bestBid = Math.round(e.book.bids[0]!.px * 100)
  const bestAsk = Math.round(e.book.asks[0]!.px * 100)
  const bids: Level[] = []
  const asks: Level[] = []
  for (let i = 0; i < 10; i++) {
    bids.push(level(bestBid - Math.floor(rand() * 50), rand() < 0.3 ? 0 : rand() * 5 + 0.001))
    asks.push(level(bestAsk + Math.floor(rand() * 50), rand() < 0.3 ? 0 : rand() * 5 + 0.001))
  }
  applyUpdate(e, venue.sync, { type: 'delta', pair, bids, asks }, 0)
  if (n % 10_000 === 0) sample()
}
sample()
Bun.gc(true)
const live = VENUES.every((v) => [...books.ofVenue(v.id)].every((e) => e.state === 'live'))
const levels = VENUES.reduce(
  (sum, v) =>
    sum + [...books.ofVenue(v.id)].reduce((s, e) => s + e.book.bids.length + e.book.asks.length, 0),
  0,
)
console.log(
  JSON.stringify({
    books: VENUES.length * SYMBOLS,
    levels,
    allLive: live,
    rssMb: process.memoryUsage.rss() / 2 ** 20,
    heapMb: process.memoryUsage().heapUsed / 2 ** 20,
    peakRssMb: Math.max(peak, process.memoryUsage.rss()) / 2 ** 20,
  }),
)
