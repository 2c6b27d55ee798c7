/**
 * @module
 * `bun run bench`: ingest throughput of the real Binance adapter and book against the JSON.parse
 * floor and ccxt.pro on the same local stream, per-message processing time, and the memory of
 * 6 venues x 50 symbols of books, and the whole bot's frame-to-alert-sent latency against a fake
 * Bot API. Each consumer runs in its own process. Last, the Redis Streams bus of a split deployment
 * (bench/bus.ts): ingest-to-core latency, one core's throughput and the bytes on the wire.
 *   MESSAGES=200000 bun run bench
 */
import { formatTable, type FloorRow } from './parse-floor.ts'
import { universeTable, type UniverseResult } from './universe.ts'
import { busTable, type BusResult } from './bus.ts'

const MESSAGES = Number(process.env.MESSAGES ?? 200_000)
const dir = import.meta.dir

interface Result {
  mode: string
  messages: number
  seconds: number
  msgsPerSec: number
  p50Us: number | null
  p99Us: number | null
  peakRssMb: number
}

async function startServer(
  messages = MESSAGES,
  mode = 'walk',
): Promise<{ port: number; bytes: number; stop: () => void }> {
  const proc = Bun.spawn(['bun', `${dir}/binance-server.ts`, String(messages), mode], {
    stdout: 'pipe',
    stderr: 'inherit',
  })
  const reader = proc.stdout.getReader()
  let text = ''
  while (!text.includes('\n')) {
    const { value, done } = await reader.read()
    if (done) throw new Error('bench server exited before it was ready')
    text += new TextDecoder().decode(value)
  }
  const [, port, , bytes] = text.trim().split(' ')
  return { port: Number(port), bytes: Number(bytes), stop: () => proc.kill() }
}

async function runJson<T>(args: string[], timeoutMs = 120_000): Promise<T> {
  const proc = Bun.spawn(['bun', ...args], { stdout: 'pipe', stderr: 'inherit' })
  const timer = setTimeout(() => proc.kill(), timeoutMs)
  const out = await new Response(proc.stdout).text()
  clearTimeout(timer)
  const code = await proc.exited
  if (code !== 0)
    throw new Error(`${args.join(' ')} exited with ${code} (signal ${proc.signalCode}): ${out}`)
  return JSON.parse(out.trim().split('\n').pop()!) as T
}

/** Reads a spawned process's stdout line by line. */
function lineReader(stream: ReadableStream<Uint8Array>) {
  const reader = stream.getReader()
  let buf = ''
  return async (): Promise<string> => {
    while (!buf.includes('\n')) {
      const { value, done } = await reader.read()
      if (done) throw new Error(`process ended before a line: ${buf}`)
      buf += new TextDecoder().decode(value)
    }
    const i = buf.indexOf('\n')
    const line = buf.slice(0, i)
    buf = buf.slice(i + 1)
    return line
  }
}

interface LoadResult {
  seconds: number
  errors: number
  '/api/status': { requests: number; rps: number; p50Ms: number; p99Ms: number }
  '/api/spreads': { requests: number; rps: number; p50Ms: number; p99Ms: number }
}

/** The whole bot ingesting the stream, with or without a second process loading its API. */
async function ingestWithApi(
  load: boolean,
): Promise<{ ingest: { msgsPerSec: number }; load?: LoadResult }> {
  const server = await startServer(MESSAGES, 'hold')
  const app = Bun.spawn(['bun', `${dir}/app-ingest.ts`, String(server.port), String(MESSAGES)], {
    stdout: 'pipe',
    stderr: 'inherit',
  })
  const next = lineReader(app.stdout)
  try {
    const httpPort = (await next()).split(' ')[1]!
    const loader = load
      ? Bun.spawn(['bun', `${dir}/api-load.ts`, httpPort, '8', '120'], {
          stdout: 'pipe',
          stderr: 'inherit',
        })
      : undefined
    await Bun.sleep(500) // let the load reach a steady state
    await fetch(`http://127.0.0.1:${server.port}/bench/start`)
    const ingest = JSON.parse(await next()) as { msgsPerSec: number }
    let loadResult: LoadResult | undefined
    if (loader) {
      loader.kill('SIGTERM')
      loadResult = JSON.parse((await new Response(loader.stdout).text()).trim()) as LoadResult
    }
    app.kill('SIGTERM')
    await app.exited
    return { ingest, load: loadResult }
  } finally {
    app.kill()
    server.stop()
  }
}

const fmt = (n: number | null, digits = 1) =>
  n === null ? '   n/a' : n.toFixed(digits).padStart(8)
const mark = (ok: boolean) => (ok ? 'ok  ' : 'MISS')

console.log(
  `arbwatch bench — ${MESSAGES.toLocaleString()} Binance depthUpdate messages, Bun ${Bun.version}`,
)
const server = await startServer()
console.log(
  `stream: ${(server.bytes / MESSAGES).toFixed(0)} bytes/message on average, served from a separate process`,
)
const results: Record<string, Result> = {}
try {
  for (const mode of ['parse', 'ours', 'ccxt']) {
    results[mode] = await runJson<Result>([
      `${dir}/consume.ts`,
      mode,
      String(server.port),
      String(MESSAGES),
    ])
  }
} finally {
  server.stop()
}
const dislocations = await startServer(20_000, 'dislocate')
let detector: {
  cost: { updates: number; opened: number; p50Us: number; p99Us: number }
  latency: { events: number; p50Us: number; p99Us: number }
}
try {
  detector = await runJson([`${dir}/detector.ts`, String(dislocations.port), '20000'])
} finally {
  dislocations.stop()
}
const quiet = await ingestWithApi(false)
const loaded = await ingestWithApi(true)
const memory = await runJson<{
  books: number
  levels: number
  allLive: boolean
  rssMb: number
  heapMb: number
  peakRssMb: number
}>([`${dir}/books-memory.ts`])
const alerts = await runJson<{ openings: number; p50Ms: number; maxMs: number }>([
  `${dir}/alert-latency.ts`,
  '30',
])
// Every venue's parser and book rules against a bare JSON.parse of the same frames, in one
// process (about a minute; bench/parse-floor.ts).
const floors = await runJson<FloorRow[]>([`${dir}/parse-floor.ts`, '--json'], 600_000)
// Every venue's real listing size over the simulated venues, the bot in its own process (about
// 2-3 minutes; knobs in bench/universe.ts).
const universe = await runJson<UniverseResult>([`${dir}/universe.ts`, '--json'], 600_000)
// The bus of a split deployment against a real redis-server on loopback, the core in its own
// process (about a minute; skipped without redis-server; knobs in bench/bus.ts).
const bus = await runJson<BusResult | { skipped: string }>([`${dir}/bus.ts`, '--json'], 300_000)

const { parse, ours, ccxt } = results as Record<'parse' | 'ours' | 'ccxt', Result>
console.log('\nconsumer            msgs/s   p50 µs   p99 µs  peak RSS MB')
for (const [name, r] of [
  ['JSON.parse only', parse],
  ['arbwatch (ours)', ours],
  ['ccxt.pro', ccxt],
] as const) {
  console.log(
    `${name.padEnd(16)} ${fmt(r.msgsPerSec, 0)} ${fmt(r.p50Us)} ${fmt(r.p99Us)} ${fmt(r.peakRssMb)}`,
  )
}
const vsFloor = ours.msgsPerSec / parse.msgsPerSec
const vsCcxt = ours.msgsPerSec / ccxt.msgsPerSec
console.log('\ntargets')
console.log(
  `${mark(vsFloor >= 0.8)} ours / JSON.parse floor = ${(vsFloor * 100).toFixed(0)} % (target >= 80 %)`,
)
console.log(`${mark(vsCcxt >= 3)} ours / ccxt.pro = ${vsCcxt.toFixed(1)}x (target >= 3x)`)
console.log(
  `${mark((ours.p99Us ?? Infinity) < 50)} processing p99 = ${ours.p99Us?.toFixed(1)} µs per message (target < 50 µs)`,
)
console.log(
  `${mark(memory.rssMb < 150)} ${memory.books} books (6 venues x 50 symbols, ${memory.levels.toLocaleString()} levels, all live: ${memory.allLive}): ` +
    `RSS ${memory.rssMb.toFixed(0)} MB after GC, peak ${memory.peakRssMb.toFixed(0)} MB, JS heap ${memory.heapMb.toFixed(0)} MB (target < 150 MB)`,
)
console.log(
  `${mark(detector.cost.p99Us < 20)} detector per book update, 6 venues x 50 symbols: p50 ${detector.cost.p50Us.toFixed(2)} µs, ` +
    `p99 ${detector.cost.p99Us.toFixed(2)} µs over ${detector.cost.updates.toLocaleString()} updates (target p99 < 20 µs)`,
)
console.log(
  `${mark(detector.latency.p99Us < 1000)} frame on the socket to opportunity-opened event: p50 ${detector.latency.p50Us.toFixed(1)} µs, ` +
    `p99 ${detector.latency.p99Us.toFixed(1)} µs over ${detector.latency.events.toLocaleString()} openings (target p99 < 1 ms)`,
)
const drop = 1 - loaded.ingest.msgsPerSec / quiet.ingest.msgsPerSec
const l = loaded.load!
console.log(
  `${mark(drop <= 0.1)} whole bot ingest ${quiet.ingest.msgsPerSec.toFixed(0)} msgs/s alone, ${loaded.ingest.msgsPerSec.toFixed(0)} msgs/s ` +
    `while a second process loads the API: ${(drop * 100).toFixed(1)} % drop (target <= 10 %)`,
)
for (const path of ['/api/status', '/api/spreads'] as const) {
  console.log(
    `     ${path} under load: ${l[path].rps.toFixed(0)} req/s, p50 ${l[path].p50Ms.toFixed(2)} ms, p99 ${l[path].p99Ms.toFixed(2)} ms (8 clients, ${l.errors} errors)`,
  )
}
console.log(
  `${mark(alerts.p50Ms <= 25)} frame leaving the venue to sendMessage at the Bot API, whole bot: p50 ${alerts.p50Ms.toFixed(1)} ms ` +
    `over ${alerts.openings} openings (target p50 <= 25 ms)`,
)
console.log(
  `${mark(alerts.maxMs <= 100)} frame leaving the venue to sendMessage at the Bot API, whole bot: worst ${alerts.maxMs.toFixed(1)} ms ` +
    `over ${alerts.openings} openings (target worst <= 100 ms)`,
)
console.log(
  `\nuniverse: ${universe.venues.length} venues at their real listing sizes, ${universe.booksTotal.toLocaleString()} books, the bot in its own process`,
)
for (const line of universeTable(universe)) console.log(line)
console.log(
  "\nevery venue's parser and book rules against a bare JSON.parse of the same frames (bench/parse-floor.ts)",
)
console.log(formatTable(floors))
for (const r of floors) {
  console.log(
    `${mark(r.ratio >= 1)} ${r.venue}: ${r.ratio.toFixed(2)}x the JSON.parse floor (target >= 1.0x, moonshot 1.5x)`,
  )
}
console.log(
  '\nthe Redis Streams bus (ROLE=ingest to ROLE=core) at the universe rate (bench/bus.ts)',
)
for (const line of busTable(bus)) console.log(line)
