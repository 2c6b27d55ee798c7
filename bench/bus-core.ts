/**
 * @module
 * The core side of bench/bus.ts, in a process of its own as a `ROLE=core` is: a BookMirror (as
 * src/main.ts builds it) rebuilding the books of the default venues from the venue streams.
 *
 *   bun bench/bus-core.ts latency <redis-url> <prefix>
 *     Prints `READY`, then answers commands on stdin, one a line:
 *       `PING <n>`  → `PONG <n> <clock>` (this process's clock, for the parent's offset)
 *       `LIVE`      → `LIVE <live books> <books>`
 *       `DUMP <file>` → writes each delta the core's books announced since the last DUMP to
 *                     `<file>` (float64s: every delta's book number, then their sequence ids or
 *                     exchange times, then when), collects its garbage, and answers
 *                     `DUMP <json>` (CoreDump: the book names, how late its timers fired, ...)
 *       `QUIT`      → stops and exits
 *   bun bench/bus-core.ts throughput <redis-url> <prefix> <messages> [detector]
 *     A new consumer group reads the streams from their start; prints one JSON line once
 *     `<messages>` messages were applied: how long it took, and the CPU it used. With `detector`,
 *     the detector (as ROLE=core runs it) re-evaluates its routes on every book update too.
 *
 * Clock: `performance.timeOrigin + performance.now()` in ms, in both processes.
 */
import pino from 'pino'
import { Books, type BookEntry } from '../src/book/books.ts'
import { BookMirror } from '../src/bus/mirror.ts'
import { busClient } from '../src/bus/redis.ts'
import { BUS_VENUES } from './bus-workload.ts'

const clock = () => performance.timeOrigin + performance.now()
// Warnings (gaps, mismatches, bad entries) on stderr: stdout is the protocol.
const log = pino({ level: 'warn', base: { app: 'bench-bus-core' } }, pino.destination(2))
const venues = BUS_VENUES.map((v) => v.id)

/**
 * What `DUMP` answers; the deltas themselves are in its file: `count` book numbers, then `count`
 * keys (the delta's sequence id, or its exchange time where the venue has none), then `count`
 * times (when the core's Books announced it, this process's clock, ms).
 */
export interface CoreDump {
  /** `venue|pair` of each book number (every book seen so far). */
  names: string[]
  count: number
  /** How late a 5 ms timer fired, each time (ms). */
  lateMs: number[]
  /** CPU seconds this process used since the last DUMP. */
  cpuS: number
  stats: BookMirror['stats']
}

export interface ThroughputResult {
  messages: number
  entries: number
  seconds: number
  msgsPerSec: number
  /** CPU seconds (user + system) over the read, and per second of it. */
  cpuS: number
  cpuPct: number
  booksLive: number
  books: number
  detector: boolean
  /** Route re-evaluations the detector made (0 without it). */
  evaluations: number
  stats: BookMirror['stats']
}

async function latency(url: string, prefix: string): Promise<void> {
  const books = new Books()
  const client = busClient(url)
  const mirror = new BookMirror({
    client,
    books,
    venues,
    prefix,
    group: 'bench-latency',
    consumer: 'core-1',
    silentMs: 3_000,
    joinBackMs: 35_000,
    log,
  })
  // Each delta announced: its book (numbered in order of first sight, `names`), its sequence id
  // or exchange time, and when; in typed arrays, so recording adds no garbage per delta.
  const names: string[] = []
  const numbers = new Map<BookEntry, number>()
  let count = 0
  let book = new Int32Array(1 << 18)
  let key = new Float64Array(1 << 18)
  let time = new Float64Array(1 << 18)
  // How late a 5 ms timer fires: this process's event loop (GC pauses, long tasks).
  let lateMs: number[] = []
  let lastTick = clock()
  const lag = setInterval(() => {
    const now = clock()
    lateMs.push(Math.max(0, now - lastTick - 5))
    lastTick = now
  }, 5)
  books.events.on((e) => {
    if (e.type !== 'update' || e.delta === undefined) return
    const t = clock()
    let n = numbers.get(e.entry)
    if (n === undefined) {
      n = names.length
      numbers.set(e.entry, n)
      names.push(`${e.entry.venue}|${e.entry.pair}`)
    }
    if (count === time.length) {
      const grow = <T extends Int32Array | Float64Array>(a: T, b: T): T => (b.set(a), b)
      book = grow(book, new Int32Array(count * 2))
      key = grow(key, new Float64Array(count * 2))
      time = grow(time, new Float64Array(count * 2))
    }
    book[count] = n
    key[count] = e.delta.seq ?? e.delta.exchangeTsMs ?? NaN
    time[count] = t
    count++
  })
  await mirror.start()
  let cpu0 = process.cpuUsage()
  console.log('READY')
  for await (const line of console) {
    const [cmd, arg] = line.trim().split(' ')
    if (cmd === 'PING') console.log(`PONG ${arg} ${clock()}`)
    else if (cmd === 'LIVE') {
      let live = 0
      let total = 0
      for (const v of venues) {
        for (const e of books.ofVenue(v)) {
          total++
          if (e.state === 'live') live++
        }
      }
      console.log(`LIVE ${live} ${total}`)
    } else if (cmd === 'DUMP' && arg !== undefined) {
      const cpu = process.cpuUsage(cpu0)
      const out = new Float64Array(count * 3)
      for (let i = 0; i < count; i++) out[i] = book[i]!
      out.set(key.subarray(0, count), count)
      out.set(time.subarray(0, count), 2 * count)
      await Bun.write(arg, out)
      const dump: CoreDump = {
        names,
        count,
        lateMs,
        cpuS: (cpu.user + cpu.system) / 1e6,
        stats: { ...mirror.stats },
      }
      // What the dump made is collected now, not during the next run; the clocks restart after.
      Bun.gc(true)
      count = 0
      lateMs = []
      lastTick = clock()
      cpu0 = process.cpuUsage()
      console.log(`DUMP ${JSON.stringify(dump)}`)
    } else if (cmd === 'QUIT') break
  }
  clearInterval(lag)
  await mirror.stop()
  client.close()
}

/**
 * The detector as src/main.ts sets it up for the default venues (no triangles), counting its
 * re-evaluations. Imported only here, so the latency mode never depends on it.
 */
async function startDetector(books: Books, onEvaluated: () => void): Promise<void> {
  const { Detector } = await import('../src/detector/detector.ts')
  const feeBps = Object.fromEntries(BUS_VENUES.map((v) => [v.id, v.takerFeeBps]))
  const detector = new Detector({
    books,
    venues,
    quotes: ['USDT', 'USD', 'USDC'],
    feeBps,
    sizeQuote: 1_000,
    minSpreadBps: 10,
    hysteresisBps: 5,
    maxSpreadBps: 5_000,
    maxQuoteAgeMs: 60_000,
    onEvaluated,
  })
  detector.start()
}

async function throughput(url: string, prefix: string, messages: number, withDetector: boolean) {
  const books = new Books()
  let evaluations = 0
  if (withDetector) await startDetector(books, () => evaluations++)
  const client = busClient(url)
  const mirror = new BookMirror({
    client,
    books,
    venues,
    prefix,
    group: `bench-throughput-${crypto.randomUUID().slice(0, 8)}`,
    consumer: 'core-1',
    // The streams were filled before: nothing is silent, everything from their start is read.
    silentMs: 600_000,
    joinBackMs: 24 * 3_600_000,
    log,
  })
  const { promise: done, resolve } = Promise.withResolvers<number>()
  mirror.events.on((e) => {
    if (e.type === 'entry' && mirror.stats.messages + mirror.stats.bad >= messages) resolve(clock())
  })
  const cpu0 = process.cpuUsage()
  const t0 = clock()
  await mirror.start()
  const t1 = await done
  const cpu = process.cpuUsage(cpu0)
  const seconds = (t1 - t0) / 1000
  let booksLive = 0
  let total = 0
  for (const v of venues) {
    for (const e of books.ofVenue(v)) {
      total++
      if (e.state === 'live') booksLive++
    }
  }
  await mirror.stop()
  client.close()
  const cpuS = (cpu.user + cpu.system) / 1e6
  const result: ThroughputResult = {
    messages: mirror.stats.messages,
    entries: mirror.stats.entries,
    seconds,
    msgsPerSec: mirror.stats.messages / seconds,
    cpuS,
    cpuPct: (cpuS / seconds) * 100,
    booksLive,
    books: total,
    detector: withDetector,
    evaluations,
    stats: mirror.stats,
  }
  console.log(JSON.stringify(result))
}

if (import.meta.main) {
  const [mode, url, prefix, n, flag] = process.argv.slice(2)
  if (url === undefined || prefix === undefined) throw new Error('usage: see bench/bus-core.ts')
  if (mode === 'latency') await latency(url, prefix)
  else if (mode === 'throughput') await throughput(url, prefix, Number(n), flag === 'detector')
  else throw new Error(`unknown mode ${mode}`)
  process.exit(0)
}
