/**
 * @module
 * Deterministic book streams in each venue's own wire format, for bench/parse-floor.ts: a seeded
 * random walk of one BTC book per venue, encoded as that venue sends it (its envelope, level
 * tuples or objects, sequence fields and timestamps, the checksums it sends computed by the sims'
 * own independent code, and the top-of-book channel we subscribe where there is one). Shapes follow
 * ../shared/captures and docs/exchange-protocols.md; update sizes are typical of a liquid market.
 * Same seed, same frames.
 */
import type { Pair } from '../src/types.ts'
import { binance, BINANCE_SNAPSHOT_LIMIT } from '../src/venues/binance/index.ts'
import { bitstamp } from '../src/venues/bitstamp/index.ts'
import { bybit } from '../src/venues/bybit/index.ts'
import { coinbase } from '../src/venues/coinbase/index.ts'
import { kraken } from '../src/venues/kraken/index.ts'
import { checksumOf as krakenChecksumOf } from '../src/venues/kraken/sim.ts'
import { okx } from '../src/venues/okx/index.ts'
import { okxChecksumOf } from '../src/venues/okx/sim.ts'
import { SimBook, type Row } from '../src/venues/sim/book.ts'
import { toLevels, type SnapshotEvent, type Venue } from '../src/venues/venue.ts'
import { prng } from './stream.ts'

/** One venue's stream: what the consumer subscribes to and the frames, in order. */
export interface VenueFeed {
  readonly name: string
  readonly venue: Venue
  readonly markets: ReadonlyMap<string, Pair>
  readonly pair: Pair
  /** REST venues: the snapshot the stream follows (applied before the frames, not timed). */
  readonly snapshot?: SnapshotEvent
  /** Fresh flat strings, as a socket hands them over. */
  readonly frames: string[]
  readonly bytes: number
  /** The frames by kind, for the table. */
  readonly mix: Readonly<Record<string, number>>
}

/** One side of the walk's book: integer ticks best first, quantity text by tick. */
class Side {
  readonly ticks: number[] = []
  readonly qty = new Map<number, string>()
  constructor(readonly bid: boolean) {}

  #index(t: number): number {
    let lo = 0
    let hi = this.ticks.length
    while (lo < hi) {
      const mid = (lo + hi) >>> 1
      const m = this.ticks[mid]!
      if (this.bid ? m > t : m < t) lo = mid + 1
      else hi = mid
    }
    return lo
  }

  set(t: number, q: string): void {
    if (!this.qty.has(t)) this.ticks.splice(this.#index(t), 0, t)
    this.qty.set(t, q)
  }

  delete(t: number): boolean {
    if (!this.qty.delete(t)) return false
    this.ticks.splice(this.#index(t), 1)
    return true
  }

  /** The best `n` levels as [tick, qty]. */
  top(n: number): [number, string][] {
    return this.ticks.slice(0, n).map((t) => [t, this.qty.get(t)!])
  }
}

/** A change in ticks; quantity undefined deletes. */
type TickRow = [tick: number, qty: string | undefined]

interface StepShape {
  /** Changed levels per side: `min + floor(rand * spread)`. */
  readonly min: number
  readonly spread: number
  /** How far from the mid changes land, in ticks (skewed to the top). */
  readonly range: number
  /** Share of changes that delete a level. */
  readonly deletes: number
}

/**
 * A random walk of one book in integer ticks around `mid`: bids below it, asks above it, `mid`
 * itself never a level, so deleting the level `mid` lands on after each move keeps it uncrossed.
 */
class Walk {
  readonly rand: () => number
  readonly bids = new Side(true)
  readonly asks = new Side(false)
  mid: number

  constructor(
    seed: number,
    mid: number,
    levels: number,
    readonly qty: (rand: () => number) => string,
  ) {
    this.rand = prng(seed)
    this.mid = mid
    for (let i = 1; i <= levels; i++) {
      this.bids.set(mid - i, qty(this.rand))
      this.asks.set(mid + i, qty(this.rand))
    }
  }

  /** One step: maybe a mid move, then changes near the top. Applied; returned per side. */
  step(shape: StepShape): { bids: TickRow[]; asks: TickRow[] } {
    const rand = this.rand
    const bids: TickRow[] = []
    const asks: TickRow[] = []
    const r = rand()
    if (r < 0.1) {
      this.mid++
      if (this.asks.delete(this.mid)) asks.push([this.mid, undefined])
    } else if (r < 0.2) {
      this.mid--
      if (this.bids.delete(this.mid)) bids.push([this.mid, undefined])
    }
    const nb = shape.min + Math.floor(rand() * shape.spread)
    const na = shape.min + Math.floor(rand() * shape.spread)
    for (const [n, side, out, sign] of [
      [nb, this.bids, bids, -1],
      [na, this.asks, asks, 1],
    ] as const) {
      for (let i = 0; i < n; i++) {
        const t = this.mid + sign * (1 + Math.floor(rand() * rand() * shape.range))
        if (rand() < shape.deletes) {
          // A delete of an absent level happens on real feeds too; keep most of them real.
          if (side.delete(t) || rand() < 0.2) out.push([t, undefined])
        } else {
          const q = this.qty(rand)
          side.set(t, q)
          out.push([t, q])
        }
      }
    }
    return { bids: sorted(bids, true), asks: sorted(asks, false) }
  }
}

/**
 * A message's changes as venues send them: best first, one per price (the last change of a
 * price is what the book holds after the message).
 */
function sorted<T extends [number, string | undefined]>(rows: T[], bid: boolean): T[] {
  const last = new Map<number, T>()
  for (const r of rows) last.set(r[0], r)
  return [...last.values()].sort((a, b) => (bid ? b[0] - a[0] : a[0] - b[0]))
}

/**
 * What a client subscribed at `depth` is sent for a change: new or changed levels in its window,
 * and deletes for levels that left the book (not for those pushed out of the window).
 */
function windowDiff(
  side: Side,
  before: [number, string][],
  depth: number,
): [number, string | undefined][] {
  const after = side.top(depth)
  const was = new Map(before)
  const out: [number, string | undefined][] = []
  for (const [t, q] of after) if (was.get(t) !== q) out.push([t, q])
  const now = new Set(after.map(([t]) => t))
  for (const [t] of before) if (!now.has(t) && !side.qty.has(t)) out.push([t, undefined])
  return sorted(out, side.bid)
}

const qty8 = (rand: () => number) => (0.0001 + rand() * rand() * 4).toFixed(8)
/** Quantities without trailing zeros, as Coinbase, OKX and Bybit print them. */
const trimmed = (text: string) => (text.includes('.') ? text.replace(/\.?0+$/, '') : text)
const qtyTrim = (decimals: number) => (rand: () => number) =>
  trimmed((0.0001 + rand() * rand() * 4).toFixed(decimals))

const count = (mix: Record<string, number>, kind: string) => (mix[kind] = (mix[kind] ?? 0) + 1)

function feed(
  name: string,
  venue: Venue,
  native: string,
  pair: Pair,
  frames: string[],
  mix: Record<string, number>,
  snapshot?: SnapshotEvent,
): VenueFeed {
  const bytes = frames.reduce((n, f) => n + f.length, 0)
  // Built by concatenation, a frame would be a rope until first read; a received one is flat.
  const flat = frames.map((f) => Buffer.from(f).toString())
  return {
    name,
    venue,
    markets: new Map([[native, pair]]),
    pair,
    snapshot,
    frames: flat,
    bytes,
    mix,
  }
}

/** The book as a REST snapshot event at `seq` (levels as the venue prints them). */
function restSnapshot(
  walk: Walk,
  pair: Pair,
  seq: number,
  price: (t: number) => string,
  depth = Infinity,
): SnapshotEvent {
  const rows = (side: Side) => side.top(depth).map(([t, q]) => [price(t), q])
  return {
    type: 'snapshot',
    pair,
    seq,
    bids: toLevels(rows(walk.bids), pair),
    asks: toLevels(rows(walk.asks), pair),
  }
}

/**
 * Binance combined streams: `btcusdt@depth@100ms` diffs of 5-25 levels a side spanning 1-3
 * update ids, and a `btcusdt@bookTicker` whenever the best levels change, sent before the diff
 * batch that carries its id (bookTicker is real-time, the diff every 100 ms), over a REST snapshot
 * of `BINANCE_SNAPSHOT_LIMIT` levels.
 */
export function binanceFeed(n: number, seed = 1): VenueFeed {
  const walk = new Walk(seed, 6_000_000, 1000, qty8)
  const price = (t: number) => (t / 100).toFixed(2)
  const snapshot = restSnapshot(walk, 'BTC/USDT', 1000, price, BINANCE_SNAPSHOT_LIMIT)
  const frames: string[] = []
  const mix: Record<string, number> = {}
  const rows = (r: TickRow[]) => JSON.stringify(r.map(([t, q]) => [price(t), q ?? '0.00000000']))
  let id = 1000
  let time = 1_700_000_000_000
  let top = ''
  while (frames.length < n) {
    const { bids, asks } = walk.step({ min: 5, spread: 21, range: 300, deletes: 0.33 })
    const U = id + 1
    id += 1 + Math.floor(walk.rand() * 3)
    time += 100
    const [b] = walk.bids.top(1)
    const [a] = walk.asks.top(1)
    const now = `${b![0]} ${b![1]} ${a![0]} ${a![1]}`
    if (now !== top) {
      top = now
      const data = `{"u":${id},"s":"BTCUSDT","b":"${price(b![0])}","B":"${b![1]}","a":"${price(a![0])}","A":"${a![1]}"}`
      frames.push(`{"stream":"btcusdt@bookTicker","data":${data}}`)
      count(mix, 'bookTicker')
    }
    const data = `{"e":"depthUpdate","E":${time},"s":"BTCUSDT","U":${U},"u":${id},"b":${rows(bids)},"a":${rows(asks)}}`
    frames.push(`{"stream":"btcusdt@depth@100ms","data":${data}}`)
    count(mix, 'depthUpdate')
  }
  return feed('binance', binance, 'BTCUSDT', 'BTC/USDT', frames.slice(0, n), mix, snapshot)
}

/** RFC 3339 with microseconds (Kraken), or nanoseconds (Coinbase). */
function iso(ms: number, extra: string): string {
  return `${new Date(ms).toISOString().slice(0, -1)}${extra}Z`
}

/**
 * Kraken v2 `book` at depth 25: the snapshot, then updates of the levels that changed in the
 * window (1-3 a side, both sides in one message as Kraken batches them), prices and quantities
 * as JSON numbers with their trailing zeros, each with the CRC-32 of the top 10 levels a side.
 */
export function krakenFeed(n: number, seed = 2): VenueFeed {
  const depth = kraken.sync.maxDepth!
  const walk = new Walk(seed, 600_000, 60, qty8)
  const price = (t: number) => (t / 10).toFixed(1)
  const frames: string[] = []
  const mix: Record<string, number> = {}
  const levels = (rows: [number, string | undefined][]) =>
    rows.map(([t, q]) => `{"price":${price(t)},"qty":${q ?? '0.00000000'}}`).join(',')
  const checksum = () => {
    const rows = (side: Side): Row[] => side.top(10).map(([t, q]) => [price(t), q])
    return krakenChecksumOf(new SimBook(rows(walk.bids), rows(walk.asks)))
  }
  const frame = (type: string, b: string, a: string, ms: number) => {
    const stamp = iso(ms, String(Math.floor(walk.rand() * 1000)).padStart(3, '0'))
    const data = `{"symbol":"BTC/USD","bids":[${b}],"asks":[${a}],"checksum":${checksum()},"timestamp":"${stamp}"}`
    return `{"channel":"book","type":"${type}","data":[${data}]}`
  }
  let ms = 1_696_613_755_440
  frames.push(frame('snapshot', levels(walk.bids.top(depth)), levels(walk.asks.top(depth)), ms))
  count(mix, 'book snapshot')
  while (frames.length < n) {
    const before = { bids: walk.bids.top(depth), asks: walk.asks.top(depth) }
    walk.step({ min: 0, spread: 3, range: 40, deletes: 0.3 })
    // The venue keeps a deeper book: refill what deletes took from the window's far end.
    while (walk.bids.ticks.length < 60) walk.bids.set(walk.bids.ticks.at(-1)! - 1, qty8(walk.rand))
    while (walk.asks.ticks.length < 60) walk.asks.set(walk.asks.ticks.at(-1)! + 1, qty8(walk.rand))
    const b = windowDiff(walk.bids, before.bids, depth)
    const a = windowDiff(walk.asks, before.asks, depth)
    ms += Math.floor(walk.rand() * 20)
    if (b.length === 0 && a.length === 0) continue
    frames.push(frame('update', levels(b), levels(a), ms))
    count(mix, 'book update')
  }
  return feed('kraken', kraken, 'BTC/USD', 'BTC/USD', frames, mix)
}

/**
 * Coinbase Advanced Trade `level2` (channel `l2_data`): the snapshot of 1,000 levels a side, then
 * updates of 1-6 levels, every message numbered by the connection's `sequence_num`, and a
 * `heartbeats` message once a second (every ~50 messages of a busy book).
 */
export function coinbaseFeed(n: number, seed = 3): VenueFeed {
  const walk = new Walk(seed, 6_000_000, 1000, qtyTrim(8))
  const price = (t: number) => trimmed((t / 100).toFixed(2))
  const frames: string[] = []
  const mix: Record<string, number> = {}
  let seq = 0
  let ms = 1_675_974_770_714
  let beat = 0
  const envelope = (channel: string, events: string) => {
    const stamp = iso(ms, String(Math.floor(walk.rand() * 1e6)).padStart(6, '0'))
    return `{"channel":"${channel}","client_id":"","timestamp":"${stamp}","sequence_num":${seq++},"events":[${events}]}`
  }
  const updates = (rows: [number, string | undefined][], side: string, time: string) =>
    rows.map(
      ([t, q]) =>
        `{"side":"${side}","event_time":"${time}","price_level":"${price(t)}","new_quantity":"${q ?? '0'}"}`,
    )
  const epoch = '1970-01-01T00:00:00Z'
  const all = [
    ...updates(walk.bids.top(1000), 'bid', epoch),
    ...updates(walk.asks.top(1000), 'offer', epoch),
  ]
  frames.push(
    envelope('l2_data', `{"type":"snapshot","product_id":"BTC-USD","updates":[${all.join(',')}]}`),
  )
  count(mix, 'l2_data snapshot')
  while (frames.length < n) {
    ms += Math.floor(walk.rand() * 40)
    if (Math.floor(ms / 1000) !== beat) {
      beat = Math.floor(ms / 1000)
      const now = new Date(ms).toISOString().replace('T', ' ').slice(0, -1)
      const events = `{"current_time":"${now}123456 +0000 UTC m=+91717.525857105","heartbeat_counter":${beat % 100_000}}`
      frames.push(envelope('heartbeats', events))
      count(mix, 'heartbeats')
      continue
    }
    const { bids, asks } = walk.step({ min: 0, spread: 4, range: 200, deletes: 0.35 })
    if (bids.length + asks.length === 0) continue
    const time = iso(ms, '123456')
    const rows = [...updates(bids, 'bid', time), ...updates(asks, 'offer', time)]
    frames.push(
      envelope('l2_data', `{"type":"update","product_id":"BTC-USD","updates":[${rows.join(',')}]}`),
    )
    count(mix, 'l2_data update')
  }
  return feed('coinbase', coinbase, 'BTC-USD', 'BTC/USD', frames, mix)
}

/**
 * Bitstamp v2: `diff_order_book_btcusd` data of 1-8 levels stamped with a rising
 * microtimestamp, and after every change the `order_book_btcusd` push of the top 100 levels a
 * side at the same microtimestamp (as the sim does), whose best levels are the cross-check.
 */
export function bitstampFeed(n: number, seed = 4): VenueFeed {
  const walk = new Walk(seed, 60_000, 1000, qty8)
  const price = (t: number) => String(t)
  let micros = 1_641_343_691_406_478
  const snapshot = restSnapshot(walk, 'BTC/USD', micros, price)
  const frames: string[] = []
  const mix: Record<string, number> = {}
  const rows = (r: [number, string | undefined][]) =>
    JSON.stringify(r.map(([t, q]) => [price(t), q ?? '0.00000000']))
  const data = (channel: string, b: string, a: string) =>
    `{"data":{"timestamp":"${Math.floor(micros / 1e6)}","microtimestamp":"${micros}","bids":${b},"asks":${a}},"channel":"${channel}","event":"data"}`
  while (frames.length < n) {
    micros += 1 + Math.floor(walk.rand() * 200_000)
    const { bids, asks } = walk.step({ min: 0, spread: 5, range: 150, deletes: 0.3 })
    if (bids.length + asks.length === 0) continue
    frames.push(data('diff_order_book_btcusd', rows(bids), rows(asks)))
    count(mix, 'diff_order_book')
    frames.push(data('order_book_btcusd', rows(walk.bids.top(100)), rows(walk.asks.top(100))))
    count(mix, 'order_book (top 100)')
  }
  return feed('bitstamp', bitstamp, 'btcusd', 'BTC/USD', frames.slice(0, n), mix, snapshot)
}

/**
 * OKX `books` as sent today: updates every 100 ms of 5-30 levels (`[px, sz, "0", orders]`),
 * chained by prevSeqId/seqId, checksum 0 (retired 2026-06-23), over a REST snapshot of 400
 * levels. With `checksums`, the 2022 form: every update carries the real CRC-32 of the top 25.
 */
export function okxFeed(n: number, { seed = 5, checksums = false } = {}): VenueFeed {
  const depth = okx.sync.maxDepth!
  const walk = new Walk(seed, 600_000, 600, qtyTrim(8))
  const price = (t: number) => trimmed((t / 10).toFixed(1))
  let seqId = 1_000_000
  const snapshot = restSnapshot(walk, 'BTC/USDT', seqId, price, depth)
  const frames: string[] = []
  const mix: Record<string, number> = {}
  const rows = (r: [number, string | undefined][]) =>
    JSON.stringify(
      r.map(([t, q]) => [
        price(t),
        q ?? '0',
        '0',
        q === undefined ? '0' : String(1 + Math.floor(walk.rand() * 20)),
      ]),
    )
  const sum = () => {
    const top = (side: Side): Row[] => side.top(25).map(([t, q]) => [price(t), q])
    return okxChecksumOf(top(walk.bids), top(walk.asks))
  }
  let ms = 1_652_459_228_568
  while (frames.length < n) {
    const before = { bids: walk.bids.top(depth), asks: walk.asks.top(depth) }
    walk.step({ min: 2, spread: 14, range: 300, deletes: 0.3 })
    const b = windowDiff(walk.bids, before.bids, depth)
    const a = windowDiff(walk.asks, before.asks, depth)
    ms += 100
    const prev = seqId
    seqId += 1 + Math.floor(walk.rand() * 30)
    const data = `{"asks":${rows(a)},"bids":${rows(b)},"ts":"${ms}","checksum":${checksums ? sum() : 0},"prevSeqId":${prev},"seqId":${seqId}}`
    frames.push(
      `{"arg":{"channel":"books","instId":"BTC-USDT"},"action":"update","data":[${data}]}`,
    )
    count(mix, 'books update')
  }
  return feed(
    checksums ? 'okx (checksums)' : 'okx',
    okx,
    'BTC-USDT',
    'BTC/USDT',
    frames,
    mix,
    snapshot,
  )
}

/**
 * Bybit v5 spot: `orderbook.50.BTCUSDT` (the snapshot, then deltas of 1-6 levels a side every
 * 20 ms, `u` one up per message, `seq` the cross sequence) and `orderbook.1.BTCUSDT` level-1
 * snapshots every 10 ms: one at each delta's `seq` (compared) and one between (skipped).
 */
export function bybitFeed(n: number, seed = 6): VenueFeed {
  const depth = bybit.sync.maxDepth!
  const walk = new Walk(seed, 6_000_000, 200, qtyTrim(6))
  const price = (t: number) => (t / 100).toFixed(2)
  const frames: string[] = []
  const mix: Record<string, number> = {}
  const rows = (r: [number, string | undefined][]) =>
    JSON.stringify(r.map(([t, q]) => [price(t), q ?? '0']))
  let u = 1
  let topU = 1
  let seq = 7_961_638_724
  let ts = 1_672_304_484_978
  const book = (type: string, b: string, a: string) =>
    `{"topic":"orderbook.50.BTCUSDT","ts":${ts},"type":"${type}","data":{"s":"BTCUSDT","b":${b},"a":${a},"u":${u},"seq":${seq}},"cts":${ts - 2}}`
  const top = (atSeq: number) => {
    const b = rows(walk.bids.top(1))
    const a = rows(walk.asks.top(1))
    return `{"topic":"orderbook.1.BTCUSDT","ts":${ts},"type":"snapshot","data":{"s":"BTCUSDT","b":${b},"a":${a},"u":${topU++},"seq":${atSeq}},"cts":${ts - 1}}`
  }
  frames.push(book('snapshot', rows(walk.bids.top(depth)), rows(walk.asks.top(depth))))
  count(mix, 'orderbook.50 snapshot')
  while (frames.length < n) {
    const before = { bids: walk.bids.top(depth), asks: walk.asks.top(depth) }
    walk.step({ min: 0, spread: 7, range: 80, deletes: 0.3 })
    const b = windowDiff(walk.bids, before.bids, depth)
    const a = windowDiff(walk.asks, before.asks, depth)
    ts += 20
    seq += 2 + Math.floor(walk.rand() * 40)
    u++
    frames.push(book('delta', rows(b), rows(a)))
    count(mix, 'orderbook.50 delta')
    frames.push(top(seq))
    count(mix, 'orderbook.1')
    // A level-1 push between two depth-50 ones: the book never sits at its seq.
    frames.push(top(seq + 1))
    count(mix, 'orderbook.1')
  }
  return feed('bybit', bybit, 'BTCUSDT', 'BTC/USDT', frames.slice(0, n), mix)
}

/** The feeds by name, each generating about `n` frames when called. */
export const FEEDS: Readonly<Record<string, (n: number) => VenueFeed>> = {
  binance: (n) => binanceFeed(n),
  kraken: (n) => krakenFeed(n),
  coinbase: (n) => coinbaseFeed(n),
  bitstamp: (n) => bitstampFeed(n),
  okx: (n) => okxFeed(n),
  'okx (checksums)': (n) => okxFeed(n, { checksums: true }),
  bybit: (n) => bybitFeed(n),
}
