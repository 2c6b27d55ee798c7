/**
 * @module
 * `bun run bench`: ingest throughput of the real Binance adapter and book against the JSON.parse
 * floor and ccxt.pro on the same local stream, per-message processing time, and the memory of
 * 6 venues x 50 symbols of books. Each consumer runs in its own process.
 *   MESSAGES=200000 bun run bench
 */
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
const memory = await runJson<{
  books: number
  levels: number
  allLive: boolean
  rssMb: number
  heapMb: number
  peakRssMb: number
}>([`${dir}/books-memory.ts`])

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
