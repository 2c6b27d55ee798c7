/**
 * @module
 * One benchmark consumer, in its own process so its memory is its own:
 *   bun bench/consume.ts <parse|ours|ccxt> <port> <messages>
 * Prints one JSON line: messages, seconds, msgs/s, per-message processing p50/p99 (µs), peak RSS.
 */
import { Books } from '../src/book/books.ts'
import { BookSync } from '../src/book/sync.ts'
import { createLogger } from '../src/log.ts'
import { binance } from '../src/venues/binance/index.ts'
import { Connection } from '../src/venues/connection.ts'
import type { Venue } from '../src/venues/venue.ts'

const [mode, portText, nText] = process.argv.slice(2)
const port = Number(portText)
const n = Number(nText)
const base = `127.0.0.1:${port}`

let peakRss = 0
const rssTimer = setInterval(() => {
  peakRss = Math.max(peakRss, process.memoryUsage.rss())
}, 20)

const samples = new Float64Array(n + 10)
let count = 0

function finish(startNs: number): never {
  const seconds = (Bun.nanoseconds() - startNs) / 1e9
  clearInterval(rssTimer)
  peakRss = Math.max(peakRss, process.memoryUsage.rss())
  const timed = samples
    .subarray(0, Math.min(count, samples.length))
    .filter((x) => x > 0)
    .sort()
  const pct = (p: number) =>
    timed.length ? timed[Math.min(timed.length - 1, Math.floor(timed.length * p))]! : null
  console.log(
    JSON.stringify({
      mode,
      messages: n,
      seconds,
      msgsPerSec: n / seconds,
      p50Us: pct(0.5),
      p99Us: pct(0.99),
      peakRssMb: peakRss / 2 ** 20,
    }),
  )
  process.exit(0)
}

async function parseOnly(): Promise<void> {
  const start = Bun.nanoseconds()
  const ws = new WebSocket(`ws://${base}/stream?streams=btcusdt@depth@100ms`)
  ws.onmessage = (m) => {
    const t0 = Bun.nanoseconds()
    const msg = JSON.parse(m.data as string) as { data?: { u?: number } }
    samples[count++] = (Bun.nanoseconds() - t0) / 1000
    if (msg.data?.u === n) finish(start)
  }
}

async function ours(): Promise<void> {
  const start = Bun.nanoseconds()
  let t0 = 0
  const timed: Venue = {
    ...binance,
    createParser(markets) {
      const parse = binance.createParser(markets)
      return (raw, now) => {
        t0 = Bun.nanoseconds()
        return parse(raw, now)
      }
    },
  }
  const log = createLogger((process.env.LOG_LEVEL as 'info') ?? 'silent')
  const books = new Books()
  const conn = new Connection({
    venue: timed,
    wsUrl: `ws://${base}`,
    restUrl: `http://${base}`,
    pairs: ['BTC/USDT'],
    log,
  })
  const sync = new BookSync({ connection: conn, books, log })
  sync.start()
  const entry = books.get('binance', 'BTC/USDT')!
  // Subscribed after the book sync, so this runs once the frame's events are applied.
  conn.events.on((ev) => {
    if (ev.type !== 'frame') return
    samples[count++] = (Bun.nanoseconds() - t0) / 1000
    if (entry.lastSeq === n) {
      sync.stop()
      void conn.stop()
      finish(start)
    }
  })
  conn.start()
}

async function viaCcxt(): Promise<void> {
  const { default: ccxt } = await import('ccxt')
  const ex = new ccxt.pro.binance({ options: { fetchMarkets: { types: ['spot'] } } }) as any
  const rewrite = (o: Record<string, unknown>) => {
    for (const [k, v] of Object.entries(o)) {
      if (typeof v === 'string')
        o[k] = v
          .replace(/^https?:\/\/[^/]+/, `http://${base}`)
          .replace(/^wss?:\/\/[^/]+/, `ws://${base}`)
      else if (v && typeof v === 'object') rewrite(v as Record<string, unknown>)
    }
  }
  rewrite(ex.urls.api)
  ex.urls.api.ws.spot = `ws://${base}/stream/ws`
  await ex.loadHttpProxyAgent()
  await ex.loadMarkets()
  const start = Bun.nanoseconds()
  for (;;) {
    const ob = await ex.watchOrderBook('BTC/USDT')
    count++
    if (ob.nonce >= n) {
      count = 0 // ccxt coalesces updates; per-message timing is not observable from outside
      await ex.close().catch(() => {})
      finish(start)
    }
  }
}

const run = { parse: parseOnly, ours, ccxt: viaCcxt }[mode as 'parse' | 'ours' | 'ccxt']
if (!run) {
  console.error('usage: bun bench/consume.ts <parse|ours|ccxt> <port> <messages>')
  process.exit(2)
}
await run()
