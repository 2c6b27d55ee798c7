/**
 * @module
 * Detector benchmarks, printed as one JSON line:
 *   - detector cost per book update with 6 venues x 50 symbols (p50/p99), on a random walk of
 *     the books with occasional dislocations;
 *   - frame-to-event latency: a local Binance server replays a stream that opens and closes an
 *     opportunity every two messages; time from the frame reaching JS to the `opened` event.
 *   bun bench/detector.ts <port-of-a-dislocation-server> <messages>
 */
import { Books } from '../src/book/books.ts'
import { Detector } from '../src/detector/detector.ts'
import { DEFAULT_TAKER_FEE_BPS } from '../src/detector/fees.ts'
import { binance } from '../src/exchanges/binance.ts'
import { Connection } from '../src/exchanges/connection.ts'
import type { Exchange } from '../src/exchanges/exchange.ts'
import { createLogger } from '../src/log.ts'
import { VENUES, type Level, type VenueId } from '../src/types.ts'
import { prng } from './stream.ts'

const [portText, nText] = process.argv.slice(2)
const thresholds = {
  minSpreadBps: 10,
  hysteresisBps: 5,
  maxSpreadBps: 500,
  maxQuoteAgeMs: 60_000,
  sizeQuote: 1000,
}

const pct = (xs: Float64Array, p: number) => {
  const s = Float64Array.from(xs).sort()
  return s[Math.min(s.length - 1, Math.floor(s.length * p))]!
}

function detectorCost(updates = 200_000) {
  const rand = prng(11)
  const symbols = Array.from({ length: 50 }, (_, i) => `C${i}/USDT`)
  let detector!: Detector
  const samples = new Float64Array(updates)
  let current = 0
  const books = new Books({
    onUpdate: (e, now) => {
      const t0 = Bun.nanoseconds()
      detector.onBookUpdate(e, now)
      samples[current] = (Bun.nanoseconds() - t0) / 1000
    },
  })
  for (const v of VENUES) books.addVenue(v, { snapshotSource: 'ws' }, symbols)
  detector = new Detector({
    books,
    venues: VENUES,
    symbols,
    feeBps: DEFAULT_TAKER_FEE_BPS,
    ...thresholds,
  })
  let opened = 0
  detector.subscribe((e) => e.type === 'opened' && opened++)
  const lvl = (cents: number, qty: number): Level => {
    const pxText = (cents / 100).toFixed(2)
    return { px: +pxText, qty, pxText, qtyText: qty.toFixed(8) }
  }
  const mids = symbols.map(() => 1_000_000 + Math.floor(rand() * 1_000_000))
  for (const v of VENUES) {
    for (const [k, pair] of symbols.entries()) {
      const bids: Level[] = []
      const asks: Level[] = []
      for (let i = 1; i <= 50; i++) {
        bids.push(lvl(mids[k]! - i, 1 + rand()))
        asks.push(lvl(mids[k]! + i, 1 + rand()))
      }
      books.apply(v, { type: 'snapshot', pair, bids, asks }, 0)
    }
  }
  for (current = 0; current < updates; current++) {
    const v = VENUES[Math.floor(rand() * VENUES.length)] as VenueId
    const k = Math.floor(rand() * symbols.length)
    const mid = mids[k]!
    // 1 % of updates dislocate a venue by 0.5 % (an opportunity), then it returns.
    const shift = rand() < 0.01 ? Math.round(mid * 0.005) * (rand() < 0.5 ? 1 : -1) : 0
    const e = books.get(v, symbols[k]!)!
    const bids: Level[] = [
      lvl(mid - 1 + shift, 1 + rand()),
      ...e.book.bids
        .filter((l) => Math.abs(l.px * 100 - (mid - 1 + shift)) > 0.5 && l.px * 100 >= mid + shift)
        .map((l) => ({ ...l, qty: 0 })),
    ]
    const asks: Level[] = [
      lvl(mid + 1 + shift, 1 + rand()),
      ...e.book.asks
        .filter((l) => Math.abs(l.px * 100 - (mid + 1 + shift)) > 0.5 && l.px * 100 <= mid + shift)
        .map((l) => ({ ...l, qty: 0 })),
    ]
    books.apply(
      v,
      {
        type: 'snapshot',
        pair: symbols[k]!,
        bids: [...bids, ...e.book.bids.slice(0, 49)],
        asks: [...asks, ...e.book.asks.slice(0, 49)],
      },
      current,
    )
  }
  return { updates, opened, p50Us: pct(samples, 0.5), p99Us: pct(samples, 0.99) }
}

async function frameToEvent(port: number, n: number) {
  const base = `127.0.0.1:${port}`
  let t0 = 0
  const latencies: number[] = []
  const timed: Exchange = {
    ...binance,
    createParser(markets) {
      const parse = binance.createParser(markets)
      return (raw, now) => {
        t0 = Bun.nanoseconds()
        return parse(raw, now)
      }
    },
  }
  let detector!: Detector
  const books = new Books({ onUpdate: (e, now) => detector.onBookUpdate(e, now) })
  books.addVenue('binance', timed, ['BTC/USDT'])
  books.addVenue('kraken', { snapshotSource: 'ws' }, ['BTC/USDT'])
  detector = new Detector({
    books,
    venues: ['binance', 'kraken'],
    symbols: ['BTC/USDT'],
    feeBps: { ...DEFAULT_TAKER_FEE_BPS, binance: 10, kraken: 10 },
    ...thresholds,
  })
  // The other leg: a venue bidding 60,300, kept fresh.
  const seedOther = () =>
    books.apply(
      'kraken',
      {
        type: 'snapshot',
        pair: 'BTC/USDT',
        bids: [{ px: 60300, qty: 5, pxText: '60300.0', qtyText: '5' }],
        asks: [{ px: 60310, qty: 5, pxText: '60310.0', qtyText: '5' }],
      },
      Date.now(),
    )
  seedOther()
  const keepFresh = setInterval(seedOther, 1000)
  let last = 0
  const done = new Promise<void>((resolve) => {
    detector.subscribe((e) => {
      if (e.type === 'opened' && e.opportunity.buyVenue === 'binance')
        latencies.push((Bun.nanoseconds() - t0) / 1000)
    })
    const conn = new Connection({
      exchange: timed,
      wsUrl: `ws://${base}`,
      restUrl: `http://${base}`,
      pairs: ['BTC/USDT'],
      sink: books,
      log: createLogger('silent'),
      snapshotTimeoutMs: 50, // the server streams only once the book is seeded
      onFrame: () => {
        last = books.get('binance', 'BTC/USDT')!.lastSeq ?? 0
        if (last === n) {
          conn.stop()
          resolve()
        }
      },
    })
    conn.start()
  })
  await done
  clearInterval(keepFresh)
  const xs = Float64Array.from(latencies)
  return { events: latencies.length, p50Us: pct(xs, 0.5), p99Us: pct(xs, 0.99) }
}

const cost = detectorCost(Number(process.env.UPDATES ?? 200_000))
const latency = await frameToEvent(Number(portText), Number(nText))
console.log(JSON.stringify({ cost, latency }))
process.exit(0)
