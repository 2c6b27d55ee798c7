/**
 * @module
 * A diagnostic beside bench/bus.ts: the same bus path (the real BookPublisher and StreamPublisher
 * on one side, the real BookMirror into Books on the other, through a real redis-server on
 * loopback), driven by a light load: 3,000 books of 20 levels a side, one-level deltas at
 * `BUS_LIGHT_RATE` a second (20,000), no workload held in memory. It separates what the bus costs
 * from what a heavy shard's heap costs (bench/bus.ts holds the whole universe's workload).
 * Latency is from the shard's `update` event to the core's, on one clock (the delta's exchange
 * time carries the send time), once the core has every book live from its snapshot.
 *
 *   bun run bench/bus-light.ts
 */
import { Books } from '../src/book/books.ts'
import { applyDelta, applySnapshot } from '../src/book/book.ts'
import { BookPublisher } from '../src/bus/book-publisher.ts'
import { redisServerPath, startLocalRedis } from '../src/bus/local-redis.ts'
import { BookMirror } from '../src/bus/mirror.ts'
import { StreamPublisher } from '../src/bus/publisher.ts'
import { busClient } from '../src/bus/redis.ts'
import { createLogger } from '../src/log.ts'
import { toLevels } from '../src/venues/venue.ts'

const VENUES = ['binance', 'kraken', 'coinbase', 'bitstamp', 'okx', 'bybit']
const PAIRS = Array.from({ length: 500 }, (_, i) => `T${i}/USDT`)
const clock = () => performance.timeOrigin + performance.now()
const log = createLogger('warn')

if (process.argv[2] === 'core') {
  // The core: a BookMirror into Books; prints p50/p99/max of the deltas' added latency.
  const [, , , url, seconds] = process.argv
  const books = new Books()
  const mirror = new BookMirror({
    client: busClient(url!),
    books,
    venues: VENUES,
    prefix: 'light',
    group: 'core',
    consumer: 'core-1',
    silentMs: 3_000,
    joinBackMs: 60_000,
    log,
  })
  const lat: number[] = []
  let live = 0
  books.events.on((e) => {
    if (e.type === 'update' && e.delta?.exchangeTsMs !== undefined) {
      lat.push(clock() - e.delta.exchangeTsMs)
    }
    // Every book live from its snapshot: the shard may start its deltas.
    if (e.type === 'live' && ++live === VENUES.length * PAIRS.length) console.log('LIVE')
  })
  await mirror.start()
  console.log('READY')
  await Bun.sleep(Number(seconds) * 1000)
  await mirror.stop()
  lat.sort((a, b) => a - b)
  const q = (p: number) => lat[Math.min(lat.length - 1, Math.floor(lat.length * p))] ?? NaN
  console.log(JSON.stringify({ deltas: lat.length, p50: q(0.5), p99: q(0.99), max: q(1) }))
  process.exit(0)
}

if (redisServerPath() === undefined) {
  console.log('bus-light: skipped (redis-server is not installed)')
  process.exit(0)
}
const rate = Number(process.env.BUS_LIGHT_RATE ?? 20_000)
const seconds = 8
const redis = await startLocalRedis()
const core = Bun.spawn(
  [process.execPath, import.meta.path, 'core', redis.url, String(seconds + 3)],
  { stdout: 'pipe', stderr: 'inherit' },
)
const out = core.stdout.getReader()
let text = ''
const line = async () => {
  while (!text.includes('\n')) text += new TextDecoder().decode((await out.read()).value)
  const [first, ...rest] = text.split('\n')
  text = rest.join('\n')
  return first!
}
await line() // READY

const books = new Books()
const client = busClient(redis.url)
const publisher = new StreamPublisher({ client, maxLen: 100_000, maxBuffered: 200_000, log })
const bookPublisher = new BookPublisher({
  books,
  venues: VENUES,
  publisher,
  prefix: 'light',
  snapshotMs: 30_000,
  depthOf: () => undefined,
  connections: () => [],
})
bookPublisher.start()
// BUS_LIGHT_LEVELS (20) levels a side: deeper books make the shard's heap what a real one holds.
const depth = Number(process.env.BUS_LIGHT_LEVELS ?? 20)
const width = Number(process.env.BUS_LIGHT_DELTA ?? 1)
const side = (from: number, step: number) =>
  toLevels(Array.from({ length: depth }, (_, i) => [(from + i * step).toFixed(2), '1']))
const entries = VENUES.flatMap((v) => [...books.addVenue(v, PAIRS).values()])
for (const e of entries) {
  applySnapshot(e.book, side(100, -0.01), side(100.1, 0.01))
  e.state = 'live'
  e.lastUpdateMs = Date.now()
  books.events.emit({ type: 'update', entry: e, receivedAtMs: Date.now() })
}
await publisher.flushed()
await line() // LIVE: the core has read every snapshot

// Every millisecond, the deltas now due, each applied and announced as book/sync.ts does.
let sent = 0
const t0 = performance.now()
await new Promise<void>((resolve) => {
  const tick = setInterval(() => {
    const due = Math.floor(((performance.now() - t0) / 1000) * rate)
    for (; sent < due; sent++) {
      const e = entries[sent % entries.length]!
      // BUS_LIGHT_DELTA (1) levels a side per delta (the universe's deltas carry 8.7 in all).
      const bids = toLevels(
        Array.from({ length: width }, (_, j) => [
          (99.95 - j * 0.01).toFixed(2),
          String(((sent + j) % 7) + 1),
        ]),
      )
      const asks = toLevels(
        Array.from({ length: width }, (_, j) => [
          (100.15 + j * 0.01).toFixed(2),
          (sent + j) % 2 === 0 ? '0' : '2',
        ]),
      )
      applyDelta(e.book, bids, asks)
      e.lastUpdateMs = Date.now()
      const delta = { type: 'delta' as const, pair: e.pair, bids, asks, exchangeTsMs: clock() }
      books.events.emit({ type: 'update', entry: e, receivedAtMs: e.lastUpdateMs, delta })
    }
    if (performance.now() - t0 >= seconds * 1000) {
      clearInterval(tick)
      resolve()
    }
  }, 1)
})
await publisher.flushed()
const heapMb = (await import('bun:jsc')).heapStats().heapSize / 1e6
const result = JSON.parse(await line()) as { deltas: number; p50: number; p99: number; max: number }
bookPublisher.stop()
await publisher.stop()
client.close()
await core.exited
await redis.stop()
const ms = (x: number) => `${x.toFixed(2)} ms`
console.log(
  `bus-light: ${result.deltas.toLocaleString('en-US')} of ${sent.toLocaleString('en-US')} deltas at ${rate.toLocaleString('en-US')}/s over ${entries.length.toLocaleString('en-US')} books of ${depth} levels a side (shard heap ${heapMb.toFixed(0)} MB): added latency p50 ${ms(result.p50)}, p99 ${ms(result.p99)}, max ${ms(result.max)}`,
)
