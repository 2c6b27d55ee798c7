/**
 * @module
 * Every venue's adapter against the JSON.parse floor, in one process: the same deterministic
 * frames (bench/venue-feed.ts) go (a) through `JSON.parse` and nothing else, and (b) through the
 * venue's real parser (`createParser`) and the book rules of book/sync.ts on a book entry
 * (sequencing, levels, depth, checksums, crossed-book and top-of-book cross-checks), frame by
 * frame. Warmed up, then measured in alternating rounds; prints a table and one JSON line.
 *   bun bench/parse-floor.ts [frames per venue] [rounds] [--json]    (VENUES=okx,bybit for some)
 */
import { Books, type BookEntry } from '../src/book/books.ts'
import { applySnapshot, applyUpdate, placeTop, settleTop } from '../src/book/sync.ts'
import type { SyncOutcome, TopOutcome } from '../src/book/sync.ts'
import type { FrameParser, VenueEvent } from '../src/venues/venue.ts'
import { FEEDS, type VenueFeed } from './venue-feed.ts'

const args = process.argv.slice(2).filter((a) => !a.startsWith('--'))
/** `--json`: only the JSON line (bench/index.ts prints the table). */
const JSON_ONLY = process.argv.includes('--json')
const FRAMES = Number(args[0] ?? process.env.FRAMES ?? 20_000)
const ROUNDS = Number(args[1] ?? process.env.ROUNDS ?? 9)

export interface FloorRow {
  venue: string
  frames: number
  bytesPerFrame: number
  mix: Record<string, number>
  floorMsgsPerSec: number
  productMsgsPerSec: number
  ratio: number
  floorP99Us: number
  productP99Us: number
  /** What the product did with the frames (a check that the stream kept the book live). */
  outcome: { applied: number; ignored: number; compared: number; skipped: number }
}

/** The frames through JSON.parse only; returns something of each result so none is dead. */
function floor(frames: readonly string[], times?: Float64Array): number {
  let sink = 0
  for (let i = 0; i < frames.length; i++) {
    const t0 = times === undefined ? 0 : Bun.nanoseconds()
    const msg = JSON.parse(frames[i]!) as object | null
    if (msg !== null) sink++
    if (times !== undefined) times[i] = Bun.nanoseconds() - t0
  }
  return sink
}

/** One product run: a fresh book and parser, every frame parsed and applied. */
class Product {
  readonly entry: BookEntry
  readonly parse: FrameParser
  readonly outcome = { applied: 0, ignored: 0, compared: 0, skipped: 0 }
  streamSeq: number | undefined

  constructor(readonly f: VenueFeed) {
    this.entry = new Books().addVenue(f.venue.id, [f.pair]).get(f.pair)!
    this.parse = f.venue.createParser(f.markets)
    if (f.snapshot !== undefined) {
      this.#settle(applySnapshot(this.entry, f.venue.sync, f.snapshot, true), 'REST snapshot')
    }
  }

  run(frames: readonly string[], times?: Float64Array): void {
    const rules = this.f.venue.sync
    const e = this.entry
    for (let i = 0; i < frames.length; i++) {
      const t0 = times === undefined ? 0 : Bun.nanoseconds()
      const events = this.parse(frames[i]!, 0)
      for (let j = 0; j < events.length; j++) {
        const ev = events[j]!
        switch (ev.type) {
          case 'snapshot':
            this.#settle(applySnapshot(e, rules, ev, false), ev)
            break
          case 'delta':
            this.#settle(applyUpdate(e, rules, ev, 20_000), ev)
            break
          case 'top':
            this.#top(placeTop(e, ev), ev)
            break
          case 'stream-seq':
            if (this.streamSeq !== undefined && ev.seq !== this.streamSeq + 1) this.#broke(ev)
            this.streamSeq = ev.seq
            break
          case 'info':
            break
          default:
            this.#broke(ev)
        }
      }
      if (times !== undefined) times[i] = Bun.nanoseconds() - t0
    }
  }

  /** What BookSync does with an outcome, minus its events and metrics. */
  #settle(outcome: SyncOutcome, ev: VenueEvent | string): void {
    if (outcome.kind === 'applied') {
      this.outcome.applied++
      this.entry.state = 'live'
      if (this.entry.pendingTop !== undefined) {
        const top = settleTop(this.entry)
        if (top !== undefined) this.#top(top, ev)
      }
    } else if (outcome.kind === 'ignored') this.outcome.ignored++
    else this.#broke(ev, outcome)
  }

  #top(outcome: TopOutcome, ev: VenueEvent | string): void {
    if (outcome.kind === 'matched') this.outcome.compared++
    else if (outcome.kind === 'skipped') this.outcome.skipped++
    else if (outcome.kind !== 'pending') this.#broke(ev, outcome)
  }

  #broke(ev: VenueEvent | string, outcome?: unknown): never {
    const what = JSON.stringify(ev).slice(0, 300)
    throw new Error(
      `${this.f.name}: the bench stream broke the book: ${JSON.stringify(outcome)} at ${what}`,
    )
  }
}

const msgsPerSec = (frames: number, ns: number) => frames / (ns / 1e9)
const p99 = (times: Float64Array) =>
  [...times].sort((a, b) => a - b)[Math.floor(times.length * 0.99)]! / 1000

/** Frames timed at a time; a round's chunks alternate which path goes first. */
const CHUNK = 500

/**
 * Both paths over the same frames, chunk by chunk in every round (a fresh product each round),
 * each chunk's fastest time of all rounds kept: a burst of other work on the machine then spoils
 * one round of one chunk, not the comparison. Rates are frames over the sum of those times.
 */
function measure(f: VenueFeed): FloorRow {
  const frames = f.frames
  const chunks: string[][] = []
  for (let i = 0; i < frames.length; i += CHUNK) chunks.push(frames.slice(i, i + CHUNK))
  const floorNs = new Float64Array(chunks.length).fill(Infinity)
  const productNs = new Float64Array(chunks.length).fill(Infinity)
  let last: Product | undefined
  const round = (keep: boolean) => {
    const p = new Product(f) // the REST snapshot, when there is one, is not timed
    for (let c = 0; c < chunks.length; c++) {
      const chunk = chunks[c]!
      const t0 = Bun.nanoseconds()
      if (c % 2 === 0) floor(chunk)
      else p.run(chunk)
      const t1 = Bun.nanoseconds()
      if (c % 2 === 0) p.run(chunk)
      else floor(chunk)
      const t2 = Bun.nanoseconds()
      if (!keep) continue
      const [floorTime, productTime] = c % 2 === 0 ? [t1 - t0, t2 - t1] : [t2 - t1, t1 - t0]
      floorNs[c] = Math.min(floorNs[c]!, floorTime)
      productNs[c] = Math.min(productNs[c]!, productTime)
    }
    last = p
  }
  // Warm-up: both paths reach their optimising tiers.
  for (let r = 0; r < 3; r++) round(false)
  for (let r = 0; r < ROUNDS; r++) round(true)
  const floorTimes = new Float64Array(frames.length)
  const productTimes = new Float64Array(frames.length)
  floor(frames, floorTimes)
  new Product(f).run(frames, productTimes)
  const sum = (xs: Float64Array) => xs.reduce((a, b) => a + b, 0)
  const floorRate = msgsPerSec(frames.length, sum(floorNs))
  const productRate = msgsPerSec(frames.length, sum(productNs))
  return {
    venue: f.name,
    frames: frames.length,
    bytesPerFrame: Math.round(f.bytes / frames.length),
    mix: f.mix,
    floorMsgsPerSec: floorRate,
    productMsgsPerSec: productRate,
    ratio: productRate / floorRate,
    floorP99Us: p99(floorTimes),
    productP99Us: p99(productTimes),
    outcome: last!.outcome,
  }
}

/** The table bench/index.ts prints too. */
export function formatTable(rows: readonly FloorRow[]): string {
  const lines = [
    'venue             bytes/msg  floor msgs/s  product msgs/s  ratio  p99 floor µs  p99 product µs',
  ]
  for (const r of rows) {
    lines.push(
      `${r.venue.padEnd(17)} ${String(r.bytesPerFrame).padStart(9)} ${r.floorMsgsPerSec.toFixed(0).padStart(13)} ` +
        `${r.productMsgsPerSec.toFixed(0).padStart(15)} ${r.ratio.toFixed(2).padStart(5)}x ` +
        `${r.floorP99Us.toFixed(2).padStart(13)} ${r.productP99Us.toFixed(2).padStart(15)}`,
    )
  }
  return lines.join('\n')
}

if (import.meta.main) {
  const only = process.env.VENUES?.split(',')
  const rows: FloorRow[] = []
  for (const [name, make] of Object.entries(FEEDS)) {
    if (only !== undefined && !only.includes(name)) continue
    const row = measure(make(FRAMES))
    rows.push(row)
    if (!JSON_ONLY) {
      const mix = Object.entries(row.mix)
        .map(([k, v]) => `${k} ${v}`)
        .join(', ')
      console.error(
        `${formatTable([row]).split('\n')[1]}   (${mix}; ${JSON.stringify(row.outcome)})`,
      )
    }
  }
  if (!JSON_ONLY) console.error(`\n${formatTable(rows)}\n`)
  console.log(JSON.stringify(rows))
}
