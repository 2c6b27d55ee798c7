/**
 * @module
 * The whole bot (startApp: books, detector, store, metrics, API) ingesting the benchmark stream
 * from a local Binance, so the API can be loaded while it ingests.
 *   bun bench/app-ingest.ts <venue-port> <messages>
 * Prints `READY <http-port>`, then one JSON line with the ingest rate once the last update is in;
 * keeps serving the API until SIGTERM.
 */
import { createLogger } from '../src/log.ts'
import { startApp } from '../src/main.ts'

const [portText, nText] = process.argv.slice(2)
const n = Number(nText)
const base = `127.0.0.1:${portText}`
const app = await startApp(
  {
    EXCHANGES: 'binance',
    SYMBOLS: 'BTC/USDT',
    TRIANGLES: 'off',
    PORT: '0',
    HOST: '127.0.0.1',
    DATABASE_URL: ':memory:',
    BINANCE_WS_URL: `ws://${base}`,
    BINANCE_REST_URL: `http://${base}`,
  },
  createLogger('silent'),
)
// The connection exists once the venue's instrument list has been read.
if (app.universe.current === undefined) await app.universe.events.next('changed', undefined, 30_000)
console.log(`READY ${app.port}`)
const conn = app.connections[0]!
const book = app.books.get('binance', 'BTC/USDT')!
let start = 0
let startCount = 0
const timer = setInterval(() => {
  if (start === 0 && conn.stats.messages > 0) {
    start = Bun.nanoseconds()
    startCount = conn.stats.messages
  }
  if (book.lastSeq === n) {
    clearInterval(timer)
    const seconds = (Bun.nanoseconds() - start) / 1e9
    console.log(
      JSON.stringify({ messages: n - startCount, seconds, msgsPerSec: (n - startCount) / seconds }),
    )
    void app.stop().then(() => process.exit(0))
  }
}, 1)
