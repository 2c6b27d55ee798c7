/**
 * @module
 * The bus benchmark (issue 15, splitting across machines): arbwatch's Redis Streams bus against a real
 * redis-server on loopback (src/bus/local-redis.ts), with the universe of the default six venues
 * (~3,335 books, bench/bus-workload.ts).
 *
 * 1. Latency: this process is the ingest shard (its Books changed through book/sync.ts's rules and
 *    announced as BookSync announces them, the real BookPublisher and StreamPublisher on Bun's
 *    client); a core in its own process (bench/bus-core.ts: a BookMirror as ROLE=core builds it)
 *    reads the streams. Each delta is timed from the shard's `update` event to the core's Books
 *    `update` event for it, on one clock (`performance.timeOrigin + performance.now()`, the two
 *    processes' offset measured over their pipe). Updates go out at a steady rate (due ones every
 *    millisecond): the universe rate (20,000/s), a modest rate (2,000/s), and the universe rate
 *    across a snapshot round of every book (what BUS_SNAPSHOT_S does to books that went live
 *    together, and what follows lost entries).
 * 2. Throughput: the streams filled beforehand with the same kind of deltas, made by the real
 *    BookPublisher and cut into entries of the sizes the publisher made at the universe rate; one
 *    core process (a fresh consumer group) reads them all, without and with the detector.
 * 3. Bytes: the XADD fields as published at the universe rate (and what redis-server counted on
 *    its sockets), against other encodings of the same entries (bench/bus-encodings.ts); the
 *    deltas of liquid books (bench/venue-feed.ts through the real parsers) as an upper bound; and
 *    a snapshot round of every book at the depths real venues keep, level texts from captured
 *    sessions, which BUS_SNAPSHOT_S=30 sends every 30 s.
 *
 *   bun run bench/bus.ts          prints the table
 *   bun run bench/bus.ts --json   one JSON line (bench/index.ts)
 * Knobs: BUS_BENCH_RATE (20000), BUS_BENCH_SLOW_RATE (2000), BUS_BENCH_SECONDS (10: the universe
 * rate run; the others are half as long), BUS_BENCH_MESSAGES (200000: the throughput fill).
 * Without redis-server it says so and skips.
 */
import type { RedisClient, Subprocess } from 'bun'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import pino from 'pino'
import { Books, type BookEntry } from '../src/book/books.ts'
import { applySnapshot, applyUpdate } from '../src/book/sync.ts'
import { BookPublisher } from '../src/bus/book-publisher.ts'
import { encodeBatch, streamNames } from '../src/bus/codec.ts'
import { redisServerPath, startLocalRedis, type LocalRedis } from '../src/bus/local-redis.ts'
import { StreamPublisher, type PublisherEvent } from '../src/bus/publisher.ts'
import { busClient } from '../src/bus/redis.ts'
import { Emitter } from '../src/events.ts'
import type { VenueId } from '../src/types.ts'
import { toLevels, type DeltaEvent, type SyncRules } from '../src/venues/venue.ts'
import type { CoreDump, ThroughputResult } from './bus-core.ts'
import { measureEncodings, type EncodingRow, type EntrySample } from './bus-encodings.ts'
import {
  BUS_VENUES,
  deepBooks,
  liquidDeltas,
  SEQ_BASE,
  universeWorkload,
  type UniverseWorkload,
  type WorkUpdates,
} from './bus-workload.ts'

/** The targets of the issue, and the defaults the bus runs with (src/config.ts). */
export const BUS_TARGETS = {
  /** Added latency, ingest `update` to core `update`, p99 at the universe rate. */
  p99Ms: 5,
  /** The universe rate of the issue "Watch every market". */
  ratePerSecond: 20_000,
  snapshotS: 30,
  maxLen: 100_000,
  maxBuffered: 200_000,
} as const

const num = (name: string, def: number): number => {
  const v = Number(process.env[name] ?? def)
  if (!Number.isFinite(v) || v <= 0) throw new Error(`${name} must be a positive number`)
  return v
}

export interface LatencyRun {
  label: string
  rateTarget: number
  achievedRate: number
  seconds: number
  /** Deltas published (timed), and those the core announced. */
  deltas: number
  matched: number
  p50Ms: number | null
  p99Ms: number | null
  p999Ms: number | null
  maxMs: number | null
  /** Share of the deltas later than the target (5 ms), %. */
  overTargetPct: number
  /** Stream entries written, and messages per entry. */
  entries: number
  meanBatch: number
  largestEntryBytes: number
  /** CPU over the run, % of one core: the ingest (this process), the core, redis-server, and
   * every other process of the machine (its busy time less those three). */
  ingestCpuPct: number
  coreCpuPct: number
  redisCpuPct: number
  othersCpuPct: number
  cores: number
  /** The core's mirror over the run: gaps, deltas skipped waiting for a snapshot, bad entries,
   * snapshots that differed from its book. */
  mirror: { gaps: number; waiting: number; bad: number; mismatches: number }
  /** The shard's XADD round trips (publish to Redis's answer), ms. */
  xaddP99Ms: number | null
  xaddMaxMs: number | null
  /** How late each process's timers fired (its event loop busy or paused), ms. */
  ingestLateP99Ms: number | null
  ingestLateMaxMs: number | null
  coreLateP99Ms: number | null
  coreLateMaxMs: number | null
}

export interface BytesFigures {
  messages: number
  /** Levels per delta, on average. */
  levelsPerDelta: number
  encodings: EncodingRow[]
}

export interface SnapshotFigures {
  books: number
  perVenue: Record<
    VenueId,
    { books: number; levelsPerSide: number; bytesPerSnapshot: number; captured: number }
  >
  roundBytes: number
  bytesPerSec: number
  entries: number
  largestEntryBytes: number
  largestEntryMessages: number
  /** JSON.stringify and JSON.parse of the largest entry's batch, ms (each blocks its process). */
  largestEncodeMs: number
  largestDecodeMs: number
  /** A core reading two such rounds from the stream (the first replaces, the second compares). */
  core: ThroughputResult | null
}

export interface BusResult {
  books: number
  booksByVenue: Record<VenueId, number>
  listed: number
  clock: { offsetMs: number; rttMs: number }
  latency: LatencyRun[]
  throughput: {
    batch: number
    prefillMessages: number
    mirror: ThroughputResult
    detector: ThroughputResult | null
  }
  /** At the universe rate, as published (XADD fields) and as redis-server counted its sockets. */
  wire: {
    rate: number
    seconds: number
    fieldBytesPerSec: number
    respBytesPerSec: number
    redisInBytesPerSec: number
    redisOutBytesPerSec: number
  }
  universeBytes: BytesFigures
  liquidBytes: BytesFigures
  snapshots: SnapshotFigures
  totalSeconds: number
}

const clock = () => performance.timeOrigin + performance.now()
/** Kills what this run started (redis-server, core processes) if the process exits early. */
const onExit = new Set<() => void>()
let exitHook = false
// Warnings on stderr: stdout carries the table or the JSON line.
const logger = pino({ level: 'warn', base: { app: 'bench-bus' } }, pino.destination(2))
const log = (msg: string) => console.error(`[bus] ${msg}`)

/** A RESP command's size on the socket: `*n`, then `$len` and the bytes of each argument. */
function respBytes(command: string, args: readonly string[]): number {
  let n = 0
  for (const a of [command, ...args]) {
    const len = Buffer.byteLength(a)
    n += 1 + String(len).length + 2 + len + 2
  }
  return n + 1 + String(args.length + 1).length + 2
}

interface XaddTap {
  (stream: string, fields: readonly string[], resp: number): void
}

/** A bus client whose XADDs are shown to `tap` (while set) on their way out. */
function tappedClient(url: string): {
  client: RedisClient
  setTap: (t?: XaddTap) => void
  /** Each XADD's round trip since the last call, ms. */
  takeRtts: () => number[]
} {
  const client = busClient(url)
  const send = client.send.bind(client)
  let tap: XaddTap | undefined
  let rtts: number[] = []
  client.send = ((command: string, args: string[]) => {
    if (command !== 'XADD') return send(command, args)
    if (tap !== undefined)
      tap(args[0]!, args.slice(args.indexOf('*') + 1), respBytes(command, args))
    const t0 = clock()
    const p = send(command, args)
    void p.then(
      () => rtts.push(clock() - t0),
      () => {},
    )
    return p
  }) as RedisClient['send']
  return {
    client,
    setTap: (t) => (tap = t),
    takeRtts: () => {
      const out = rtts
      rtts = []
      return out
    },
  }
}

/** A publisher that keeps what it is given (for messages made by the real BookPublisher). */
function keepingPublisher(): { publisher: StreamPublisher; kept: Map<string, unknown[]> } {
  const kept = new Map<string, unknown[]>()
  const fake = {
    events: new Emitter<PublisherEvent>(),
    down: false,
    publish(stream: string, message: unknown) {
      let list = kept.get(stream)
      if (list === undefined) kept.set(stream, (list = []))
      list.push(message)
    },
  }
  return { publisher: fake as unknown as StreamPublisher, kept }
}

/**
 * The shard's books, kept as book/sync.ts keeps them: each update through the venue's rules
 * (`applyUpdate`: sequence, levels, depth, crossed-book check), then announced as BookSync
 * announces an applied one. Every venue's stamps are as the venue sends them: sequence ids where
 * it has them (`prevSeq` the last for the chain venues), an exchange time except on Bitstamp.
 */
class ShardBooks {
  readonly books = new Books()
  readonly entries: BookEntry[] = []
  readonly #rules: SyncRules[] = []
  readonly #seq: (number | undefined)[] = []
  readonly #lastX: number[] = []
  readonly #hasX: boolean[] = []
  failures = 0
  /** When the last `update` was announced (`clock()`), the start of its latency. */
  emittedAt = 0

  constructor(work: UniverseWorkload) {
    const now = Date.now()
    for (const [i, w] of work.books.entries()) {
      const venue = BUS_VENUES.find((v) => v.id === w.venue)!
      const e = this.books.addVenue(w.venue, [w.pair]).get(w.pair)!
      const seq = SEQ_BASE[w.venue]?.(i)
      const hasX = w.venue !== 'bitstamp'
      const outcome = applySnapshot(
        e,
        venue.sync,
        {
          type: 'snapshot',
          pair: w.pair,
          bids: toLevels(w.bids, w.pair),
          asks: toLevels(w.asks, w.pair),
          seq,
          exchangeTsMs: hasX ? now : undefined,
        },
        false,
      )
      if (outcome.kind !== 'applied') throw new Error(`${w.venue} ${w.pair}: ${outcome.kind}`)
      e.state = 'live'
      e.lastUpdateMs = now
      this.entries.push(e)
      this.#rules.push(venue.sync)
      this.#seq.push(seq)
      this.#lastX.push(now)
      this.#hasX.push(hasX)
    }
  }

  /**
   * Applies and announces update `u` of the workload; returns what the core's delta will carry to
   * tell it apart (its sequence id, or its exchange time where the venue has none), NaN when the
   * rules refused it.
   */
  apply(updates: WorkUpdates, u: number): number {
    const i = updates.book[u]!
    const [bids, asks] = JSON.parse(updates.frame(u)) as [unknown, unknown]
    const e = this.entries[i]!
    const rules = this.#rules[i]!
    const last = this.#seq[i]
    let seq: number | undefined
    if (last !== undefined) {
      seq = e.venue === 'bitstamp' ? Math.max(Date.now() * 1000, last + 1) : last + 1
      this.#seq[i] = seq
    }
    let x: number | undefined
    if (this.#hasX[i]) x = this.#lastX[i] = Math.max(Date.now(), this.#lastX[i]! + 1)
    const delta: DeltaEvent = {
      type: 'delta',
      pair: e.pair,
      bids: toLevels(bids, e.pair),
      asks: toLevels(asks, e.pair),
      seq,
      prevSeq: rules.sequence === 'chain' ? last : undefined,
      exchangeTsMs: x,
    }
    if (applyUpdate(e, rules, delta, 20_000).kind !== 'applied') {
      this.failures++
      return NaN
    }
    const now = Date.now()
    e.state = 'live'
    e.lastUpdateMs = now
    e.updates++
    this.emittedAt = clock()
    this.books.events.emit({ type: 'update', entry: e, receivedAtMs: now, delta })
    return (seq ?? x)!
  }
}

/** Deltas as they were published: book, key (see `ShardBooks.apply`), time; no garbage each. */
class SentLog {
  count = 0
  book = new Int32Array(1 << 18)
  key = new Float64Array(1 << 18)
  time = new Float64Array(1 << 18)

  add(book: number, key: number, time: number): void {
    if (this.count === this.time.length) {
      const grow = <T extends Int32Array | Float64Array>(a: T, b: T): T => (b.set(a), b)
      this.book = grow(this.book, new Int32Array(this.count * 2))
      this.key = grow(this.key, new Float64Array(this.count * 2))
      this.time = grow(this.time, new Float64Array(this.count * 2))
    }
    this.book[this.count] = book
    this.key[this.count] = key
    this.time[this.count] = time
    this.count++
  }

  /**
   * Each delta the core announced (its DUMP and the file it wrote), timed from its publication:
   * ms, on our clock.
   */
  latencies(
    dump: CoreDump,
    file: Float64Array,
    offsetMs: number,
    index: ReadonlyMap<string, number>,
  ): number[] {
    const byBook = new Map<number, Map<number, number>>()
    for (let i = 0; i < this.count; i++) {
      let m = byBook.get(this.book[i]!)
      if (m === undefined) byBook.set(this.book[i]!, (m = new Map()))
      m.set(this.key[i]!, this.time[i]!)
    }
    const ours = dump.names.map((n) => index.get(n) ?? -1)
    const n = dump.count
    const out: number[] = []
    for (let i = 0; i < n; i++) {
      const t0 = byBook.get(ours[file[i]!]!)?.get(file[n + i]!)
      if (t0 !== undefined) out.push(file[2 * n + i]! - offsetMs - t0)
    }
    return out
  }
}

/** Lines of a child's stdout (long ones too: each chunk is searched once). */
function lineReader(stream: ReadableStream<Uint8Array>): () => Promise<string> {
  const reader = stream.getReader()
  const decoder = new TextDecoder()
  const parts: string[] = []
  const ready: string[] = []
  return async () => {
    while (ready.length === 0) {
      const { value, done } = await reader.read()
      if (done) throw new Error(`the core process ended (${parts.join('').slice(0, 300)})`)
      let text = decoder.decode(value, { stream: true })
      for (let i = text.indexOf('\n'); i !== -1; i = text.indexOf('\n')) {
        parts.push(text.slice(0, i))
        ready.push(parts.join(''))
        parts.length = 0
        text = text.slice(i + 1)
      }
      if (text !== '') parts.push(text)
    }
    return ready.shift()!
  }
}

interface Core {
  ask(command: string, prefix: string): Promise<string>
  quit(): Promise<void>
  kill(): void
}

function spawnCore(args: string[]): { proc: Subprocess<'pipe', 'pipe', 'inherit'>; core: Core } {
  const proc = Bun.spawn(['bun', `${import.meta.dir}/bus-core.ts`, ...args], {
    stdin: 'pipe',
    stdout: 'pipe',
    stderr: 'inherit',
  })
  const next = lineReader(proc.stdout)
  const killNow = () => {
    if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL')
  }
  onExit.add(killNow)
  void proc.exited.then(() => onExit.delete(killNow))
  const core: Core = {
    async ask(command, prefix) {
      if (command !== '') {
        proc.stdin.write(`${command}\n`)
        proc.stdin.flush()
      }
      for (;;) {
        const line = await next()
        if (line.startsWith(prefix)) return line.slice(prefix.length).trim()
        if (line.trim() !== '') log(`core: ${line.slice(0, 200)}`)
      }
    },
    async quit() {
      proc.stdin.write('QUIT\n')
      proc.stdin.end()
      await Promise.race([proc.exited, Bun.sleep(5_000)])
      this.kill()
    },
    kill: killNow,
  }
  return { proc, core }
}

/** A core process reading prefilled streams; its one JSON line. */
async function coreThroughput(
  url: string,
  prefix: string,
  messages: number,
  detector: boolean,
): Promise<ThroughputResult> {
  const args = ['throughput', url, prefix, String(messages), ...(detector ? ['detector'] : [])]
  const { proc, core } = spawnCore(args)
  const timer = setTimeout(() => core.kill(), 120_000)
  try {
    return JSON.parse(await core.ask('', '{').then((s) => `{${s}`)) as ThroughputResult
  } finally {
    clearTimeout(timer)
    core.kill()
    await proc.exited
  }
}

const quantile = (sorted: Float64Array, p: number): number | null =>
  sorted.length === 0 ? null : sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))]!

/** Runs `apply` at `rate` a second for `seconds`: every millisecond or so, the updates now due. */
function pace(
  rate: number,
  seconds: number,
  apply: () => void,
  at?: { afterS: number; run: () => void },
): Promise<{ applied: number; seconds: number; lateMs: number[] }> {
  return new Promise((resolve) => {
    const t0 = performance.now()
    let applied = 0
    let fired = false
    let last = t0
    const lateMs: number[] = []
    const tick = () => {
      const now = performance.now()
      // How late this 1 ms timer fired (past the work of the last tick): the ingest's event loop.
      lateMs.push(Math.max(0, now - last - 1))
      const elapsed = (now - t0) / 1000
      if (at !== undefined && !fired && elapsed >= at.afterS) {
        fired = true
        at.run()
      }
      if (elapsed >= seconds) {
        resolve({ applied, seconds: elapsed, lateMs })
        return
      }
      // A late timer catches up, but by 50 ms worth at most (no burst after a stall).
      const due = Math.min(Math.floor(rate * elapsed), applied + rate * 0.05)
      while (applied < due) {
        apply()
        applied++
      }
      last = performance.now()
      setTimeout(tick, 1)
    }
    tick()
  })
}

/** The machine's CPU so far: busy and all jiffies over every core (/proc/stat), and its cores. */
function machineCpu(): { busy: number; total: number; cores: number } {
  try {
    const text = readFileSync('/proc/stat', 'utf8')
    const f = text.split('\n', 1)[0]!.trim().split(/\s+/).slice(1).map(Number)
    const total = f.slice(0, 8).reduce((a, b) => a + b, 0)
    const cores = (text.match(/^cpu\d+ /gm) ?? []).length || 1
    return { busy: total - f[3]! - f[4]!, total, cores }
  } catch {
    return { busy: NaN, total: NaN, cores: 1 }
  }
}

/** redis-server's CPU seconds so far (user and system). */
async function redisCpuS(client: RedisClient): Promise<number> {
  const info = String(await client.send('INFO', ['cpu']))
  const field = (k: string) => Number(new RegExp(`^${k}:([\\d.]+)`, 'm').exec(info)?.[1] ?? NaN)
  return field('used_cpu_user') + field('used_cpu_sys')
}

/** redis-server's byte counters (its sockets, both ways). */
async function redisNetBytes(client: RedisClient): Promise<{ input: number; output: number }> {
  const info = String(await client.send('INFO', ['stats']))
  const field = (k: string) => Number(new RegExp(`^${k}:(\\d+)`, 'm').exec(info)?.[1] ?? NaN)
  return { input: field('total_net_input_bytes'), output: field('total_net_output_bytes') }
}

export async function runBusBench(): Promise<BusResult | { skipped: string }> {
  if (redisServerPath() === undefined) {
    return { skipped: 'redis-server is not installed (Debian: apt-get install redis-server)' }
  }
  const started = performance.now()
  if (!exitHook) {
    exitHook = true
    process.on('exit', () => {
      for (const kill of onExit) kill()
    })
  }
  const rate = num('BUS_BENCH_RATE', BUS_TARGETS.ratePerSecond)
  const slowRate = num('BUS_BENCH_SLOW_RATE', 2_000)
  const runS = num('BUS_BENCH_SECONDS', 10)
  const fill = num('BUS_BENCH_MESSAGES', 200_000)
  const prefix = 'arbwatch'
  const names = streamNames(prefix)

  // Enough updates for every run without using one twice (warm-up, three runs, 10 % spare).
  const need = Math.ceil((slowRate * (1 + runS / 2) + rate * (runS + runS / 2)) * 1.1)
  const work = await universeWorkload(need)
  log(
    `${work.books.length} books of ${work.listed} listed; ${work.updates.length.toLocaleString()} updates generated`,
  )
  const booksByVenue: Record<VenueId, number> = {}
  for (const b of work.books) booksByVenue[b.venue] = (booksByVenue[b.venue] ?? 0) + 1

  let redis: LocalRedis | undefined
  let latencyCore: ReturnType<typeof spawnCore> | undefined
  const cleanups: (() => void)[] = []
  try {
    redis = await startLocalRedis()
    const server = redis
    // LocalRedis.kill sends SIGKILL at once (then awaits the exit): usable from an exit handler.
    const killRedis = () => void server.kill()
    onExit.add(killRedis)
    cleanups.push(() => onExit.delete(killRedis))
    const admin = busClient(redis.url)
    await admin.connect()
    cleanups.push(() => admin.close())
    const dumpDir = mkdtempSync(join(tmpdir(), 'arbwatch-bus-'))
    cleanups.push(() => rmSync(dumpDir, { recursive: true, force: true }))
    const dumpFile = join(dumpDir, 'core-deltas.f64')

    // --- 1. Latency -----------------------------------------------------------------------------
    latencyCore = spawnCore(['latency', redis.url, prefix])
    const core = latencyCore.core
    await core.ask('', 'READY')
    // The core's clock against ours: the ping with the shortest round trip.
    let best = { rttMs: Infinity, offsetMs: 0 }
    for (let i = 0; i < 40; i++) {
      const t0 = clock()
      const their = Number((await core.ask(`PING ${i}`, `PONG ${i} `)).trim())
      const t1 = clock()
      if (t1 - t0 < best.rttMs) best = { rttMs: t1 - t0, offsetMs: their - (t0 + t1) / 2 }
    }
    log(`clock offset ${best.offsetMs.toFixed(3)} ms (round trip ${best.rttMs.toFixed(3)} ms)`)

    const shard = new ShardBooks(work)
    const { client, setTap, takeRtts } = tappedClient(redis.url)
    cleanups.push(() => client.close())
    const publisher = new StreamPublisher({
      client,
      maxLen: BUS_TARGETS.maxLen,
      maxBuffered: BUS_TARGETS.maxBuffered,
      log: logger,
    })
    const bookPublisher = new BookPublisher({
      books: shard.books,
      venues: BUS_VENUES.map((v) => v.id),
      publisher,
      prefix,
      snapshotMs: BUS_TARGETS.snapshotS * 1000,
      depthOf: (venue) => BUS_VENUES.find((v) => v.id === venue)!.sync.maxDepth,
      connections: () => [],
    })
    bookPublisher.start()
    cleanups.push(() => bookPublisher.stop())
    // Every book is live: the publisher's first round snapshots them, the core's books go live.
    const liveBy = Date.now() + 30_000
    for (;;) {
      const [live, total] = (await core.ask('LIVE', 'LIVE ')).split(' ').map(Number)
      if (live === work.books.length && total === work.books.length) break
      if (Date.now() > liveBy) throw new Error(`the core has ${live} of ${work.books.length} live`)
      await Bun.sleep(100)
    }

    const index = new Map(work.books.map((b, i) => [`${b.venue}|${b.pair}`, i]))
    let cursor = 0
    let sent: SentLog | undefined
    const applyOne = () => {
      const u = cursor++
      if (u >= work.updates.length) throw new Error('the workload ran out of updates')
      const before = bookPublisher.counts.deltas
      const key = shard.apply(work.updates, u)
      // Timed when it went out as a delta (a book waiting for its snapshot sends that instead).
      if (sent !== undefined && bookPublisher.counts.deltas !== before) {
        sent.add(work.updates.book[u]!, key, shard.emittedAt)
      }
    }
    const written: number[] = []
    const batchesByStream = new Map<string, number[]>()
    publisher.events.on((e) => {
      if (e.type !== 'written') return
      written.push(e.messages)
      let list = batchesByStream.get(e.stream)
      if (list === undefined) batchesByStream.set(e.stream, (list = []))
      list.push(e.messages)
    })

    const settle = async () => {
      await publisher.flushed()
      await Bun.sleep(300)
    }
    const run = async (
      label: string,
      r: number,
      seconds: number,
      opts: { tap?: XaddTap; at?: { afterS: number; run: () => void } } = {},
    ): Promise<LatencyRun> => {
      await settle()
      // The last run's garbage is collected now, not during this one.
      Bun.gc(true)
      sent = new SentLog()
      written.length = 0
      let largest = 0
      setTap((stream, fields, resp) => {
        let bytes = 0
        for (const f of fields) bytes += Buffer.byteLength(f)
        largest = Math.max(largest, bytes)
        opts.tap?.(stream, fields, resp)
      })
      takeRtts()
      const before = (JSON.parse(await core.ask(`DUMP ${dumpFile}`, 'DUMP ')) as CoreDump).stats
      const redis0 = await redisCpuS(admin)
      const machine0 = machineCpu()
      const cpu0 = process.cpuUsage()
      const paced = await pace(r, seconds, applyOne, opts.at)
      const cpu = process.cpuUsage(cpu0)
      const machine1 = machineCpu()
      const redisS = (await redisCpuS(admin)) - redis0
      const timed = sent
      sent = undefined
      await settle()
      setTap(undefined)
      const rtts = Float64Array.from(takeRtts()).sort()
      const dump = JSON.parse(await core.ask(`DUMP ${dumpFile}`, 'DUMP ')) as CoreDump
      const file = new Float64Array(await Bun.file(dumpFile).arrayBuffer())
      const wall = (machine1.total - machine0.total) / machine0.cores
      const machineS = wall > 0 ? ((machine1.busy - machine0.busy) / wall) * paced.seconds : NaN
      const ingestS = (cpu.user + cpu.system) / 1e6
      const pct = (s: number) => (s / paced.seconds) * 100
      const ingestLate = Float64Array.from(paced.lateMs).sort()
      const coreLate = Float64Array.from(dump.lateMs).sort()
      const sorted = Float64Array.from(timed.latencies(dump, file, best.offsetMs, index)).sort()
      const entries = written.length
      const result: LatencyRun = {
        label,
        rateTarget: r,
        achievedRate: paced.applied / paced.seconds,
        seconds: paced.seconds,
        deltas: timed.count,
        matched: sorted.length,
        p50Ms: quantile(sorted, 0.5),
        p99Ms: quantile(sorted, 0.99),
        p999Ms: quantile(sorted, 0.999),
        maxMs: sorted.length === 0 ? null : sorted[sorted.length - 1]!,
        overTargetPct:
          sorted.length === 0
            ? 0
            : (100 * sorted.filter((ms) => ms > BUS_TARGETS.p99Ms).length) / sorted.length,
        entries,
        meanBatch: entries === 0 ? 0 : written.reduce((a, b) => a + b, 0) / entries,
        largestEntryBytes: largest,
        ingestCpuPct: pct(ingestS),
        // The core's CPU since the DUMP before the run (a moment more than the run: settling).
        coreCpuPct: pct(dump.cpuS),
        redisCpuPct: pct(redisS),
        othersCpuPct: pct(Math.max(0, machineS - ingestS - dump.cpuS - redisS)),
        cores: machine0.cores,
        mirror: {
          gaps: dump.stats.gaps - before.gaps,
          waiting: dump.stats.waiting - before.waiting,
          bad: dump.stats.bad - before.bad,
          mismatches: dump.stats.mismatches - before.mismatches,
        },
        xaddP99Ms: quantile(rtts, 0.99),
        xaddMaxMs: rtts.length === 0 ? null : rtts[rtts.length - 1]!,
        ingestLateP99Ms: quantile(ingestLate, 0.99),
        ingestLateMaxMs: ingestLate.length === 0 ? null : ingestLate[ingestLate.length - 1]!,
        coreLateP99Ms: quantile(coreLate, 0.99),
        coreLateMaxMs: coreLate.length === 0 ? null : coreLate[coreLate.length - 1]!,
      }
      log(
        `${label}: ${result.matched}/${result.deltas} deltas, p50 ${f(result.p50Ms, 2)} ms, p99 ${f(result.p99Ms, 2)} ms, max ${f(result.maxMs)} ms; ` +
          `XADD round trip p99 ${f(result.xaddP99Ms, 2)} ms, max ${f(result.xaddMaxMs)}; event loops late p99/max: ingest ${f(result.ingestLateP99Ms)}/${f(result.ingestLateMaxMs)} ms, core ${f(result.coreLateP99Ms)}/${f(result.coreLateMaxMs)} ms`,
      )
      return result
    }

    // Warm-up (not timed), then the universe rate first: the publisher's periodic round comes
    // BUS_SNAPSHOT_S after every book went live, after these runs.
    await pace(slowRate, 1, applyOne)
    const samples: EntrySample[] = []
    let respTotal = 0
    let fieldTotal = 0
    const net0 = await redisNetBytes(admin)
    const universeRun = await run(`${rate.toLocaleString()} updates/s`, rate, runS, {
      tap: (_, fields, resp) => {
        let bytes = 0
        for (const f of fields) bytes += Buffer.byteLength(f)
        fieldTotal += bytes
        respTotal += resp
        samples.push({ fieldBytes: bytes, body: fields[fields.indexOf('m') + 1]! })
      },
    })
    const net1 = await redisNetBytes(admin)
    const batchSizes = new Map([...batchesByStream].map(([k, v]) => [k, v.slice()]))
    const slowRun = await run(`${slowRate.toLocaleString()} updates/s`, slowRate, runS / 2)
    // A snapshot round of every book a second in: the entries lost (`dropped`) event makes the
    // book publisher send each book whole again, as its periodic round does for books that went
    // live together.
    const roundRun = await run(
      `${rate.toLocaleString()} updates/s, snapshot round of all books`,
      rate,
      runS / 2,
      {
        at: {
          afterS: 1,
          run: () => {
            for (const v of BUS_VENUES) {
              publisher.events.emit({ type: 'dropped', stream: names.books(v.id), messages: 0 })
            }
          },
        },
      },
    )
    if (shard.failures > 0) log(`${shard.failures} updates refused by the book rules`)
    await core.quit()
    latencyCore = undefined
    bookPublisher.stop()
    await publisher.stop()

    const wireSeconds = universeRun.seconds
    const wire = {
      rate: universeRun.achievedRate,
      seconds: wireSeconds,
      fieldBytesPerSec: fieldTotal / wireSeconds,
      respBytesPerSec: respTotal / wireSeconds,
      redisInBytesPerSec: (net1.input - net0.input) / wireSeconds,
      redisOutBytesPerSec: (net1.output - net0.output) / wireSeconds,
    }

    // --- 3a. Encodings of the entries published at the universe rate ----------------------------
    const universeMessages = samples.reduce(
      (n, s) => n + (JSON.parse(s.body) as unknown[]).length,
      0,
    )
    const universeBytes: BytesFigures = {
      messages: universeMessages,
      levelsPerDelta: levelsPerDelta(samples.map((s) => JSON.parse(s.body) as Msg[])),
      encodings: measureEncodings(samples, BUS_TARGETS.ratePerSecond),
    }
    samples.length = 0

    // --- 2. Throughput: one core reading filled streams -----------------------------------------
    const tpPrefix = 'benchtp'
    const filled = await prefill(redis.url, tpPrefix, work, fill, batchSizes)
    log(`throughput: ${filled.messages.toLocaleString()} messages in ${filled.entries} entries`)
    const mirror = await coreThroughput(redis.url, tpPrefix, filled.messages, false)
    log(`throughput: ${mirror.msgsPerSec.toFixed(0)} messages/s (mirror)`)
    let detector: ThroughputResult | null = null
    try {
      detector = await coreThroughput(redis.url, tpPrefix, filled.messages, true)
      log(`throughput: ${detector.msgsPerSec.toFixed(0)} messages/s (mirror and detector)`)
    } catch (err) {
      log(`throughput with the detector failed: ${String(err)}`)
    }
    await admin.send('FLUSHALL', [])

    // --- 3b. Liquid books' deltas --------------------------------------------------------------
    const liquid = liquidMessages(universeRun.meanBatch)
    const liquidBytes: BytesFigures = {
      messages: liquid.messages,
      levelsPerDelta: levelsPerDelta(liquid.samples.map((s) => JSON.parse(s.body) as Msg[])),
      encodings: measureEncodings(liquid.samples, BUS_TARGETS.ratePerSecond),
    }

    // --- 3c. Snapshots at real depths ---------------------------------------------------------
    const snapshots = await snapshotRound(work, redis.url)

    return {
      books: work.books.length,
      booksByVenue,
      listed: work.listed,
      clock: best,
      latency: [universeRun, slowRun, roundRun],
      throughput: {
        batch: filled.messages / filled.entries,
        prefillMessages: filled.messages,
        mirror,
        detector,
      },
      wire,
      universeBytes,
      liquidBytes,
      snapshots,
      totalSeconds: (performance.now() - started) / 1000,
    }
  } finally {
    latencyCore?.core.kill()
    for (const c of cleanups.reverse()) c()
    await redis?.stop()
  }
}

type Msg = { t: string; b?: unknown[]; a?: unknown[] }

function levelsPerDelta(batches: readonly Msg[][]): number {
  let deltas = 0
  let levels = 0
  for (const b of batches) {
    for (const m of b) {
      if (m.t !== 'd') continue
      deltas++
      levels += m.b!.length + m.a!.length
    }
  }
  return deltas === 0 ? 0 : levels / deltas
}

/**
 * The streams under `prefix` filled with `n` updates as the real BookPublisher publishes them
 * (each book's first as its snapshot, then deltas, and the heartbeats), cut into entries of the
 * sizes the publisher made for each stream at the universe rate, written with the codec's own
 * `encodeBatch`, pipelined.
 */
async function prefill(
  url: string,
  prefix: string,
  work: UniverseWorkload,
  n: number,
  batchSizes: ReadonlyMap<string, number[]>,
): Promise<{ messages: number; entries: number }> {
  const shard = new ShardBooks(work)
  const { publisher, kept } = keepingPublisher()
  const bookPublisher = new BookPublisher({
    books: shard.books,
    venues: BUS_VENUES.map((v) => v.id),
    publisher,
    prefix,
    snapshotMs: BUS_TARGETS.snapshotS * 1000,
    depthOf: (venue) => BUS_VENUES.find((v) => v.id === venue)!.sync.maxDepth,
    connections: () => [],
  })
  bookPublisher.start()
  for (let i = 0; i < n && i < work.updates.length; i++) shard.apply(work.updates, i)
  bookPublisher.stop()
  const client = busClient(url)
  await client.connect()
  const names = streamNames('arbwatch')
  let messages = 0
  let entries = 0
  try {
    for (const v of BUS_VENUES) {
      const all = kept.get(streamNames(prefix).books(v.id)) ?? []
      const sizes = batchSizes.get(names.books(v.id)) ?? [4]
      const pending: Promise<unknown>[] = []
      for (let i = 0, k = 1, at = 0; at < all.length; i++, k++) {
        const batch = all.slice(at, at + Math.max(1, sizes[i % sizes.length]!))
        at += batch.length
        pending.push(
          client.send('XADD', [
            streamNames(prefix).books(v.id),
            '*',
            ...encodeBatch('fill', k, batch),
          ]),
        )
        if (pending.length >= 2_000) await Promise.all(pending.splice(0))
        messages += batch.length
        entries++
      }
      await Promise.all(pending)
    }
  } finally {
    client.close()
  }
  return { messages, entries }
}

/**
 * Liquid books' deltas (bench/venue-feed.ts, each venue's parser and rules) as the real
 * BookPublisher publishes them, in entries of `batch` messages.
 */
function liquidMessages(batch: number): { messages: number; samples: EntrySample[] } {
  const books = new Books()
  const { publisher, kept } = keepingPublisher()
  const bookPublisher = new BookPublisher({
    books,
    venues: BUS_VENUES.map((v) => v.id),
    publisher,
    prefix: 'arbwatch',
    snapshotMs: BUS_TARGETS.snapshotS * 1000,
    depthOf: (venue) => BUS_VENUES.find((v) => v.id === venue)!.sync.maxDepth,
    connections: () => [],
  })
  bookPublisher.start()
  liquidDeltas(books, 1_500)
  bookPublisher.stop()
  const samples: EntrySample[] = []
  let messages = 0
  const size = Math.max(1, Math.round(batch))
  for (const list of kept.values()) {
    const deltas = list.filter((m) => (m as Msg).t === 'd')
    for (let at = 0, k = 1; at < deltas.length; at += size, k++) {
      const fields = encodeBatch('a1b2c3d4', k, deltas.slice(at, at + size))
      let bytes = 0
      for (const f of fields) bytes += Buffer.byteLength(f)
      samples.push({ fieldBytes: bytes, body: fields[5]! })
      messages += Math.min(size, deltas.length - at)
    }
  }
  return { messages, samples }
}

/**
 * One snapshot round of every universe book at real depths, through the real BookPublisher and
 * StreamPublisher (its XADDs counted, not sent), then written to redis and read by a core twice.
 */
async function snapshotRound(work: UniverseWorkload, url: string): Promise<SnapshotFigures> {
  const deep = deepBooks(work.books)
  const bodies: { stream: string; fields: string[] }[] = []
  const counting = {
    connected: true,
    async send(command: string, args: string[]) {
      if (command === 'XADD')
        bodies.push({ stream: args[0]!, fields: args.slice(args.indexOf('*') + 1) })
      return '1-0'
    },
  }
  const publisher = new StreamPublisher({
    client: counting as unknown as RedisClient,
    maxLen: BUS_TARGETS.maxLen,
    maxBuffered: 10_000_000,
    log: logger,
  })
  const bookPublisher = new BookPublisher({
    books: deep.books,
    venues: BUS_VENUES.map((v) => v.id),
    publisher,
    prefix: 'arbwatch',
    snapshotMs: BUS_TARGETS.snapshotS * 1000,
    depthOf: (venue) => BUS_VENUES.find((v) => v.id === venue)!.sync.maxDepth,
    connections: () => [],
  })
  bookPublisher.start()
  // The first periodic look (250 ms after the start) finds every book live and unpublished.
  while (bookPublisher.counts.snapshots < work.books.length) await Bun.sleep(20)
  bookPublisher.stop()
  await publisher.flushed()
  await publisher.stop()

  const perVenue: SnapshotFigures['perVenue'] = {}
  let roundBytes = 0
  let largest = { bytes: 0, body: '[]' }
  const names = streamNames('arbwatch')
  // The entries of the round (the start's heartbeats went out on their own before it).
  const round = bodies.filter((b) => b.fields[b.fields.indexOf('m') + 1]!.includes('"t":"s"'))
  for (const v of BUS_VENUES) {
    let bytes = 0
    for (const b of round) {
      if (b.stream !== names.books(v.id)) continue
      let n = 0
      for (const f of b.fields) n += Buffer.byteLength(f)
      bytes += n
      if (n > largest.bytes) largest = { bytes: n, body: b.fields[b.fields.indexOf('m') + 1]! }
    }
    const d = deep.perVenue[v.id]!
    perVenue[v.id] = {
      books: d.books,
      levelsPerSide: d.levelsPerSide,
      bytesPerSnapshot: bytes / d.books,
      captured: d.captured,
    }
    roundBytes += bytes
  }
  let t0 = Bun.nanoseconds()
  const parsed = JSON.parse(largest.body) as unknown[]
  const largestDecodeMs = (Bun.nanoseconds() - t0) / 1e6
  t0 = Bun.nanoseconds()
  JSON.stringify(parsed)
  const largestEncodeMs = (Bun.nanoseconds() - t0) / 1e6

  // The round, twice, on the streams of a prefix of its own; a core reads both.
  const client = busClient(url)
  await client.connect()
  let messages = 0
  let core: ThroughputResult | null = null
  try {
    const byStream = new Map<string, unknown[]>()
    for (const b of round) {
      const list = byStream.get(b.stream) ?? []
      list.push(...(JSON.parse(b.fields[b.fields.indexOf('m') + 1]!) as unknown[]))
      byStream.set(b.stream, list)
    }
    for (const [stream, list] of byStream) {
      const target = stream.replace(/^arbwatch:/, 'benchsnap:')
      for (let pass = 0, k = 1; pass < 2; pass++) {
        for (let at = 0; at < list.length; at += 2_000, k++) {
          const batch = list.slice(at, at + 2_000)
          await client.send('XADD', [target, '*', ...encodeBatch('snap', k, batch)])
          messages += batch.length
        }
      }
    }
    core = await coreThroughput(url, 'benchsnap', messages, false)
  } catch (err) {
    log(`snapshot round through a core failed: ${String(err)}`)
  } finally {
    client.close()
  }
  return {
    books: work.books.length,
    perVenue,
    roundBytes,
    bytesPerSec: roundBytes / BUS_TARGETS.snapshotS,
    entries: round.length,
    largestEntryBytes: largest.bytes,
    largestEntryMessages: parsed.length,
    largestEncodeMs,
    largestDecodeMs,
    core,
  }
}

const mark = (ok: boolean) => (ok ? 'ok  ' : 'MISS')
const f = (n: number | null | undefined, digits = 1) =>
  n === null || n === undefined || !Number.isFinite(n) ? 'n/a' : n.toFixed(digits)
const int = (n: number) => Math.round(n).toLocaleString('en-US')
const mb = (bytes: number, digits = 2) => (bytes / 1e6).toFixed(digits)

/** The benchmark's lines: latency, throughput, bytes, each target with ok/MISS. */
export function busTable(r: BusResult | { skipped: string }): string[] {
  if ('skipped' in r) return [`     bus: skipped, ${r.skipped}`]
  const x = r
  const out: string[] = []
  out.push(
    `${x.books.toLocaleString()} books of the default venues (${Object.entries(x.booksByVenue)
      .map(([v, n]) => `${v} ${n}`)
      .join(', ')}), a real redis-server on loopback; the core in its own process ` +
      `(clocks ${f(x.clock.offsetMs, 3)} ms apart, measured over a ${f(x.clock.rttMs, 3)} ms round trip)`,
  )
  out.push(
    'run                                             rate/s   deltas  p50 ms  p99 ms  p99.9 ms  max ms  msgs/entry  CPU % ingest/core/redis/others  loop late p99 ms ingest/core',
  )
  for (const l of x.latency) {
    out.push(
      [
        l.label.padEnd(45),
        int(l.achievedRate).padStart(8),
        int(l.matched).padStart(8),
        f(l.p50Ms, 2).padStart(7),
        f(l.p99Ms, 2).padStart(7),
        f(l.p999Ms, 2).padStart(9),
        f(l.maxMs, 1).padStart(7),
        f(l.meanBatch, 1).padStart(11),
        `${f(l.ingestCpuPct, 0)}/${f(l.coreCpuPct, 0)}/${f(l.redisCpuPct, 0)}/${f(l.othersCpuPct, 0)}`.padStart(
          31,
        ),
        `${f(l.ingestLateP99Ms)}/${f(l.coreLateP99Ms)}`.padStart(29),
      ].join(' '),
    )
  }
  const others = Math.max(...x.latency.map((l) => l.othersCpuPct))
  out.push(
    `     (${x.latency[0]?.cores ?? '?'} cores; "others": every other process of the machine, at most ${f(others, 0)} % of a core during a run; ` +
      `loop late: how late a 1 ms / 5 ms timer fired in each process, its event loop busy, collecting or waiting for a core)`,
  )
  const [u, slow, round] = x.latency as [LatencyRun, LatencyRun, LatencyRun]
  const lost = x.latency.reduce((n, l) => n + (l.deltas - l.matched), 0)
  const mm = round.mirror
  out.push(
    `     the core's mirror over the runs: ${x.latency.reduce((n, l) => n + l.mirror.gaps, 0)} gaps, ${x.latency.reduce((n, l) => n + l.mirror.bad, 0)} bad entries, ` +
      `${x.latency.reduce((n, l) => n + l.mirror.waiting, 0)} deltas waiting for a snapshot; ${mm.mismatches} "snapshot differed" in the round ` +
      `(no damage: the publisher sends an unsynced book's next update whole, in place of its delta, and the mirror compares that ` +
      `snapshot, one update ahead, with its book as if it were a periodic one)`,
  )
  out.push('')
  out.push(
    `${mark((u.p99Ms ?? Infinity) <= BUS_TARGETS.p99Ms && lost === 0)} added latency at ${int(u.achievedRate)} updates/s (target ${int(BUS_TARGETS.ratePerSecond)}): ` +
      `p50 ${f(u.p50Ms, 2)} ms, p99 ${f(u.p99Ms, 2)} ms, max ${f(u.maxMs, 1)} ms, ${f(u.overTargetPct, 2)} % over ${BUS_TARGETS.p99Ms} ms ` +
      `(target p99 <= ${BUS_TARGETS.p99Ms} ms; ${lost} deltas not seen by the core)`,
  )
  out.push(
    `${mark((slow.p99Ms ?? Infinity) <= BUS_TARGETS.p99Ms)} added latency at ${int(slow.achievedRate)} updates/s: p50 ${f(slow.p50Ms, 2)} ms, p99 ${f(slow.p99Ms, 2)} ms, max ${f(slow.maxMs, 1)} ms, ` +
      `${f(slow.overTargetPct, 2)} % over ${BUS_TARGETS.p99Ms} ms`,
  )
  out.push(
    `     across a snapshot round of all ${int(x.books)} books (20 levels a side, entries up to ${mb(round.largestEntryBytes)} MB): ` +
      `p50 ${f(round.p50Ms, 2)} ms, p99 ${f(round.p99Ms, 2)} ms, max ${f(round.maxMs, 1)} ms`,
  )
  const t = x.throughput
  out.push(
    `${mark(t.mirror.msgsPerSec >= BUS_TARGETS.ratePerSecond)} one core reading the bus: ${int(t.mirror.msgsPerSec)} messages/s ` +
      `(${int(t.mirror.messages)} messages in ${int(t.mirror.entries)} entries of ${f(t.batch, 1)}, ${f(t.mirror.seconds, 2)} s, ${f(t.mirror.cpuPct, 0)} % of a core; ` +
      `${t.mirror.booksLive}/${t.mirror.books} books the fill touched live) (target >= ${int(BUS_TARGETS.ratePerSecond)})`,
  )
  if (t.detector !== null) {
    out.push(
      `${mark(t.detector.msgsPerSec >= BUS_TARGETS.ratePerSecond)} the same with the detector on its books (as ROLE=core runs it): ${int(t.detector.msgsPerSec)} messages/s ` +
        `(${int(t.detector.evaluations)} re-evaluations, ${f(t.detector.cpuPct, 0)} % of a core)`,
    )
  } else out.push('MISS the same with the detector: failed (see the log above)')
  const w = x.wire
  out.push(
    `     on the wire at ${int(w.rate)} updates/s: ${mb(w.fieldBytesPerSec)} MB/s of XADD fields, ${mb(w.respBytesPerSec)} MB/s as RESP commands; ` +
      `redis-server read ${mb(w.redisInBytesPerSec)} MB/s and wrote ${mb(w.redisOutBytesPerSec)} MB/s (the core's reads)`,
  )
  for (const [title, b] of [
    [
      `universe deltas (bench/universe.ts's generator, ${f(x.universeBytes.levelsPerDelta, 1)} levels a delta), entries as published`,
      x.universeBytes,
    ],
    [
      `liquid books' deltas (bench/venue-feed.ts through each venue's parser, ${f(x.liquidBytes.levelsPerDelta, 1)} levels a delta), an upper bound`,
      x.liquidBytes,
    ],
  ] as const) {
    out.push(`\n${title}, ${int(b.messages)} messages:`)
    out.push(
      'encoding                    bytes/msg  MB/s at 20k/s  vs JSON  encode µs/msg  decode µs/msg  exact',
    )
    for (const e of b.encodings) {
      out.push(
        [
          e.name.padEnd(27),
          f(e.bytesPerMessage, 0).padStart(9),
          f(e.mbPerSec, 2).padStart(14),
          `${f(e.vsJson * 100, 0)} %`.padStart(8),
          f(e.encodeUsPerMessage, 2).padStart(14),
          f(e.decodeUsPerMessage, 2).padStart(14),
          `  ${e.exact ? 'yes' : `no: ${e.note}`}`,
        ].join(' '),
      )
    }
  }
  const s = x.snapshots
  out.push(
    `\nsnapshots at real depths (levels' texts from the captured sessions in test/fixtures), BUS_SNAPSHOT_S=${BUS_TARGETS.snapshotS}:`,
  )
  for (const [v, p] of Object.entries(s.perVenue)) {
    out.push(
      `     ${v.padEnd(9)} ${String(p.books).padStart(5)} books, ${f(p.levelsPerSide, 0).padStart(4)} levels a side (${p.captured} captured books), ${int(p.bytesPerSnapshot).padStart(6)} bytes a snapshot`,
    )
  }
  out.push(
    `     a round: ${mb(s.roundBytes, 1)} MB every ${BUS_TARGETS.snapshotS} s = ${mb(s.bytesPerSec, 2)} MB/s on average, in ${s.entries} entries; ` +
      `the largest ${mb(s.largestEntryBytes, 1)} MB (${s.largestEntryMessages} messages: JSON.stringify ${f(s.largestEncodeMs, 0)} ms, JSON.parse ${f(s.largestDecodeMs, 0)} ms)`,
  )
  if (s.core !== null) {
    const perRound = s.core.seconds / 2
    out.push(
      `     a core reading two rounds: ${f(s.core.seconds, 2)} s, ${f(s.core.cpuS / 2, 2)} CPU s a round (${s.core.booksLive}/${s.core.books} books live): ` +
        `sent at once, a round holds every delta behind it for up to ~${f(perRound, 2)} s, ${f((perRound / BUS_TARGETS.snapshotS) * 100, 1)} % of the time`,
    )
  }
  out.push(`     (bench/bus.ts took ${f(x.totalSeconds, 0)} s)`)
  return out
}

if (import.meta.main) {
  const json = process.argv.includes('--json')
  // Interrupted: the exit handler stops redis-server and the core process.
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => process.exit(130))
  const r = await runBusBench()
  if (json) console.log(JSON.stringify(r))
  else {
    console.log(`arbwatch bus bench — Bun ${Bun.version}`)
    for (const line of busTable(r)) console.log(line)
  }
  process.exit(0)
}
