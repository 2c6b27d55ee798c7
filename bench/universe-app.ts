/**
 * @module
 * The whole bot (`startApp`, exactly as `bun src/main.ts` builds it from the environment it is
 * given) for the universe benchmark, with three in-process probes the exposition cannot give:
 *   - the detector's time per book update, in a 50 ns histogram (the /metrics buckets jump from
 *     10 to 25 µs, too coarse for a 20 µs target);
 *   - frame to opportunity-opened event: the frame reaching the parser to the detector emitting
 *     `opened` in the same synchronous pass (bench/detector.ts's definition);
 *   - every REST spend through each venue's budget, so the peak weight and request count in any
 *     60 s can be given for every venue whatever its own window.
 * Each probe adds two clock reads per call.
 *   bun bench/universe-app.ts          (environment: the app's, SYMBOLS=auto and the sim endpoints)
 * Prints `READY <port>`; then reads commands on stdin: `MEASURE` starts the steady-state window
 * (probes reset), `REPORT` prints `REPORT <json>`, `RETAINED` prints `RETAINED <json>` (what the
 * books' level texts keep alive of their frames; last, as it replaces those strings). Exits when
 * stdin closes (the parent is gone) or on SIGTERM.
 */
import { heapStats } from 'bun:jsc'
import { Detector } from '../src/detector/detector.ts'
import { startApp } from '../src/main.ts'
import { VENUES } from '../src/venues/index.ts'
import type { FrameParser } from '../src/venues/venue.ts'
import { RestBudget } from '../src/venues/rest-budget.ts'

/** Durations in 50 ns buckets up to 500 µs; longer ones kept exactly (rare). */
class NsHistogram {
  readonly #buckets = new Uint32Array(10_000)
  #over: number[] = []
  count = 0

  add(ns: number): void {
    this.count++
    const b = Math.floor(ns / 50)
    if (b < this.#buckets.length) this.#buckets[b]!++
    else this.#over.push(ns)
  }

  /** The `p` quantile in µs (upper edge of its bucket), null when empty. */
  quantileUs(p: number): number | null {
    if (this.count === 0) return null
    const rank = Math.min(this.count - 1, Math.floor(this.count * p))
    let seen = 0
    for (let i = 0; i < this.#buckets.length; i++) {
      seen += this.#buckets[i]!
      if (seen > rank) return ((i + 1) * 50) / 1000
    }
    const over = this.#over.sort((a, b) => a - b)
    return over[rank - seen]! / 1000
  }

  maxUs(): number | null {
    if (this.#over.length > 0) return Math.max(...this.#over) / 1000
    for (let i = this.#buckets.length - 1; i >= 0; i--) {
      if (this.#buckets[i]! > 0) return ((i + 1) * 50) / 1000
    }
    return null
  }

  reset(): void {
    this.#buckets.fill(0)
    this.#over = []
    this.count = 0
  }
}

const detectorNs = new NsHistogram()
const frameToOpenedNs = new NsHistogram()
/** The first opening of each frame only: frame to event, and its two parts. */
const firstNs = new NsHistogram()
const firstSyncNs = new NsHistogram()
const firstDetectNs = new NsHistogram()

// Detector cost: the same call the app's `onEvaluated` times, timed here with the ns clock.
let updateT0 = 0
const onBookUpdate = Detector.prototype.onBookUpdate
Detector.prototype.onBookUpdate = function (this: Detector, entry, nowMs) {
  const t0 = Bun.nanoseconds()
  updateT0 = t0
  onBookUpdate.call(this, entry, nowMs)
  detectorNs.add(Bun.nanoseconds() - t0)
}

// Frame to event: the parse of each frame is stamped; a book update applied from that frame runs
// the detector synchronously, before any microtask, so the stamp is cleared in one.
let frameT0 = 0
/** Counts frames; the frame whose first opening was last timed. */
let frameNo = 0
let timedFrameNo = -1
let clearing = false
const clearFrame = () => {
  frameT0 = 0
  clearing = false
}
for (const venue of VENUES) {
  const createParser = venue.createParser.bind(venue)
  ;(venue as { createParser: typeof venue.createParser }).createParser = (markets) => {
    const parse = createParser(markets)
    const mark = () => {
      frameT0 = Bun.nanoseconds()
      frameNo++
      if (!clearing) {
        clearing = true
        queueMicrotask(clearFrame)
      }
    }
    const timed: FrameParser = (raw, now) => {
      mark()
      return parse(raw, now)
    }
    // Binary venues (HTX gzip, MEXC protobuf) keep their binary path.
    const binary = parse.binary
    if (binary !== undefined) {
      timed.binary = (bytes, now) => {
        mark()
        return binary(bytes, now)
      }
    }
    return timed
  }
}
let openings = 0
let openingsFromFrames = 0
// The probe listens before the app's own listeners (store, metrics, log), as bench/detector.ts's
// only listener does.
const hooked = new WeakSet<Detector>()
const subscribe = Detector.prototype.subscribe
Detector.prototype.subscribe = function (this: Detector, listener) {
  if (!hooked.has(this)) {
    hooked.add(this)
    subscribe.call(this, (e) => {
      if (e.type !== 'opened') return
      openings++
      if (frameT0 === 0) return
      openingsFromFrames++
      const now = Bun.nanoseconds()
      frameToOpenedNs.add(now - frameT0)
      if (timedFrameNo !== frameNo) {
        timedFrameNo = frameNo
        firstNs.add(now - frameT0)
        firstSyncNs.add(updateT0 - frameT0)
        firstDetectNs.add(now - updateT0)
      }
    })
  }
  return subscribe.call(this, listener)
}

// REST spends per venue (a budget's limits object is its venue's).
const venueOfLimits = new Map(VENUES.map((v) => [v.limits.rest as object, v.id]))
const spends = new Map<string, { atMs: number; weight: number }[]>()
const tryTake = RestBudget.prototype.tryTake
RestBudget.prototype.tryTake = function (this: RestBudget, weight: number) {
  const wait = tryTake.call(this, weight)
  if (wait === 0) {
    const venue = venueOfLimits.get(this.limits) ?? 'unknown'
    let list = spends.get(venue)
    if (list === undefined) spends.set(venue, (list = []))
    list.push({ atMs: Date.now(), weight })
  }
  return wait
}

/** The most weight and requests spent in any `windowMs`, per venue. */
function peaks(windowMs: number) {
  const out: Record<
    string,
    { requests: number; weight: number; peakWeight: number; peakRequests: number }
  > = {}
  for (const [venue, list] of spends) {
    let from = 0
    let weight = 0
    let peakWeight = 0
    let peakRequests = 0
    let total = 0
    for (let i = 0; i < list.length; i++) {
      weight += list[i]!.weight
      total += list[i]!.weight
      while (list[from]!.atMs <= list[i]!.atMs - windowMs) weight -= list[from++]!.weight
      peakWeight = Math.max(peakWeight, weight)
      peakRequests = Math.max(peakRequests, i - from + 1)
    }
    out[venue] = { requests: list.length, weight: total, peakWeight, peakRequests }
  }
  return out
}

/**
 * How much of the heap the books' level texts keep alive beyond themselves. A level's `pxText`
 * and `qtyText` are cut from the frame with `slice`, and JSC's substrings keep their whole base
 * string: every level holds on to the frame it came in. Measured at the end of a run (it changes
 * the books' strings, not their values): a full collection, the heap; every text replaced by a
 * flat copy, a full collection, the heap again.
 */
function retainedByLevelTexts() {
  const heap = () => {
    Bun.gc(true)
    return { heapMb: heapStats().heapSize / 2 ** 20, rssMb: process.memoryUsage.rss() / 2 ** 20 }
  }
  const before = heap()
  let levels = 0
  const flat = (text: string) => JSON.parse(JSON.stringify(text)) as string
  for (const v of VENUES) {
    for (const e of app.books.ofVenue(v.id)) {
      for (const side of [e.book.bids, e.book.asks]) {
        for (let i = 0; i < side.length; i++) {
          const l = side[i]!
          side[i] = { px: l.px, qty: l.qty, pxText: flat(l.pxText), qtyText: flat(l.qtyText) }
          levels++
        }
      }
    }
  }
  const after = heap()
  return { levels, before, after }
}

const app = await startApp(process.env)
console.log(`READY ${app.port}`)
// The benchmark ends the bot with SIGTERM; exiting normally lets `bun --cpu-prof` write its profile.
process.on('SIGTERM', () => process.exit(0))

let measureFromNs = 0
const decoder = new TextDecoder()
let buf = ''
for await (const chunk of Bun.stdin.stream()) {
  buf += decoder.decode(chunk, { stream: true })
  for (let i = buf.indexOf('\n'); i !== -1; i = buf.indexOf('\n')) {
    const command = buf.slice(0, i).trim()
    buf = buf.slice(i + 1)
    if (command === 'MEASURE') {
      for (const h of [detectorNs, frameToOpenedNs, firstNs, firstSyncNs, firstDetectNs]) h.reset()
      openings = 0
      openingsFromFrames = 0
      measureFromNs = Bun.nanoseconds()
    } else if (command === 'REPORT') {
      let books = 0
      for (const v of VENUES) for (const _ of app.books.ofVenue(v.id)) books++
      const report = {
        books,
        seconds: measureFromNs === 0 ? null : (Bun.nanoseconds() - measureFromNs) / 1e9,
        detector: {
          updates: detectorNs.count,
          p50Us: detectorNs.quantileUs(0.5),
          p99Us: detectorNs.quantileUs(0.99),
          maxUs: detectorNs.maxUs(),
        },
        frameToOpened: {
          openings,
          timed: openingsFromFrames,
          p50Us: frameToOpenedNs.quantileUs(0.5),
          p99Us: frameToOpenedNs.quantileUs(0.99),
          maxUs: frameToOpenedNs.maxUs(),
          /** Each frame's first opening: frame to event, frame to the detector, detector to event. */
          first: {
            frames: firstNs.count,
            p50Us: firstNs.quantileUs(0.5),
            p99Us: firstNs.quantileUs(0.99),
            syncP50Us: firstSyncNs.quantileUs(0.5),
            syncP99Us: firstSyncNs.quantileUs(0.99),
            detectP50Us: firstDetectNs.quantileUs(0.5),
            detectP99Us: firstDetectNs.quantileUs(0.99),
          },
        },
        rest: peaks(60_000),
        routes: app.detector.routeCount,
        memory: (() => {
          const m = process.memoryUsage()
          const h = heapStats()
          const mb = (n: number) => Math.round(n / 2 ** 20)
          const top = Object.entries(h.objectTypeCounts)
            .sort((a, b) => b[1] - a[1])
            .slice(0, 6)
          return {
            rssMb: mb(m.rss),
            heapMb: mb(h.heapSize),
            heapCapacityMb: mb(h.heapCapacity),
            externalMb: mb(m.external),
            objects: h.objectCount,
            top,
          }
        })(),
      }
      console.log(`REPORT ${JSON.stringify(report)}`)
    } else if (command === 'RETAINED') {
      console.log(`RETAINED ${JSON.stringify(retainedByLevelTexts())}`)
    }
  }
}
// stdin closed: the benchmark is gone.
process.exit(0)
