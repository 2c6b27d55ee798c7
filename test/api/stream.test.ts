import { describe, expect, test } from 'bun:test'
import net from 'node:net'
import type { ApiDeps } from '../../src/api/app.ts'
import type { StreamStats } from '../../src/api/stream.ts'
import { Books } from '../../src/book/books.ts'
import { Store } from '../../src/db/store.ts'
import { binance } from '../../src/venues/binance/index.ts'
import { kraken } from '../../src/venues/kraken/index.ts'
import {
  openMemoryDb,
  scriptFeed,
  silent,
  stopAfterEach,
  testApi,
  testDetector,
  until,
} from '../support.ts'

const track = stopAfterEach()

/** The API on a real socket (127.0.0.1, a free port), over books the test feeds. */
async function serve(extra: Partial<ApiDeps> = {}) {
  const handle = await openMemoryDb(track)
  const store = new Store({ db: handle.db, log: silent })
  const books = new Books()
  const krakenFeed = track(scriptFeed(books, kraken, ['BTC/USDT']))
  const binanceFeed = track(scriptFeed(books, binance, ['BTC/USDT']))
  const detector = testDetector(books, ['binance', 'kraken'], ['BTC/USDT'], { now: () => 1000 })
  track(detector).start()
  binanceFeed.snapshot('BTC/USDT', [['59000', '1']], [['59500', '1']], 1000)
  const app = testApi({ books, detector, store, ...extra })
  const server = Bun.serve({ hostname: '127.0.0.1', port: 0, fetch: app.fetch, idleTimeout: 30 })
  track({ stop: () => server.stop(true) })
  const stats = async (): Promise<StreamStats> =>
    ((await (await app.request('http://localhost/api/status')).json()) as any).stream
  /** One opening and one closing on BTC/USDT (Kraken's book resyncs on a bad checksum). */
  const cycle = () => {
    krakenFeed.snapshot('BTC/USDT', [['60000.1', '0.5']], [['60000.2', '1.25']], 1000)
    krakenFeed.snapshot('BTC/USDT', [['60000.1', '0.5']], [['60000.2', '1.25']], 1000, {
      checksum: 1,
    })
  }
  return { url: `http://127.0.0.1:${server.port}`, port: server.port!, stats, cycle }
}

/** A client that sends the request and then never reads a byte. */
async function nonReader(port: number): Promise<net.Socket> {
  const socket = net.connect(port, '127.0.0.1')
  await new Promise((resolve) => socket.once('connect', resolve))
  socket.write('GET /api/stream HTTP/1.1\r\nhost: 127.0.0.1\r\naccept: text/event-stream\r\n\r\n')
  socket.pause()
  track({ stop: () => socket.destroy() })
  return socket
}

/** A client that reads every event as it comes. */
async function reader(url: string) {
  const abort = new AbortController()
  const res = await fetch(`${url}/api/stream`, { signal: abort.signal })
  track({ stop: () => abort.abort() })
  const events: { event: string; data: string }[] = []
  const waiters: (() => void)[] = []
  const done = (async () => {
    if (res.body === null) return
    const decoder = new TextDecoder()
    let buffer = ''
    try {
      for await (const chunk of res.body) {
        const frames = (buffer + decoder.decode(chunk, { stream: true })).split('\n\n')
        buffer = frames.pop()!
        for (const f of frames) {
          const [, event = '', data = ''] = /^event: (.*)\ndata: (.*)$/s.exec(f) ?? []
          events.push({ event, data })
        }
        for (const wake of waiters.splice(0)) wake()
      }
    } catch {
      // aborted by the test
    }
  })()
  /** Resolves once `count` events satisfy `match`. */
  const seen = async (match: (e: { event: string; data: string }) => boolean, count = 1) => {
    while (events.filter(match).length < count) {
      await Promise.race([new Promise<void>((r) => waiters.push(r)), done])
      if (events.filter(match).length < count && (await isDone(done)))
        throw new Error('the stream ended')
    }
  }
  return { res, events, seen, close: () => abort.abort(), done }
}

/** `until` for a condition read asynchronously (the API's own counters). */
async function eventually(check: () => Promise<boolean>, what: string): Promise<void> {
  let ok = false
  const poll = () => void check().then((v) => (ok = v))
  poll()
  await until(() => (ok ? true : (poll(), false)), 5000, what)
}

const isDone = (p: Promise<void>) =>
  Promise.race([p.then(() => true), Promise.resolve().then(() => false)])

const opened = (e: { event: string; data: string }) =>
  e.event === 'opportunity' && e.data.includes('"type":"opened"')

describe('/api/stream cannot be starved', () => {
  test('non-reading clients fill every slot, a new client still gets in, the non-readers are dropped and counted', async () => {
    const api = await serve({
      maxStreams: 4,
      streamLimits: { maxStreamsPerIp: 100, maxBufferedBytes: 64 * 1024 },
    })
    for (let i = 0; i < 4; i++) await nonReader(api.port)
    await eventually(async () => (await api.stats()).clients === 4, 'four streams open')

    const fresh = await reader(api.url)
    expect(fresh.res.status).toBe(200)
    await fresh.seen((e) => e.event === 'hello')
    expect(await api.stats()).toMatchObject({ clients: 4, dropped: { evicted: 1, slow: 0 } })

    // Events flow until every non-reader's socket is full and its unsent queue passes the bound;
    // the reader gets each round before the next is sent.
    let rounds = 0
    while ((await api.stats()).dropped.slow < 3) {
      if (++rounds > 50_000) throw new Error('the non-readers were never dropped')
      api.cycle()
      await fresh.seen(opened, rounds)
    }
    expect(await api.stats()).toMatchObject({
      clients: 1,
      accepted: 5,
      dropped: { slow: 3, evicted: 1 },
    })
    // The reader was never the one dropped, and still gets what happens.
    api.cycle()
    await fresh.seen(opened, rounds + 1)
    // The slots are free again.
    const another = await reader(api.url)
    expect(another.res.status).toBe(200)
    await another.seen((e) => e.event === 'hello')
  }, 60_000)

  test('one address holds at most maxStreamsPerIp streams; a closed one frees its slot', async () => {
    const api = await serve({ streamLimits: { maxStreamsPerIp: 2 } })
    const a = await reader(api.url)
    const b = await reader(api.url)
    await a.seen((e) => e.event === 'hello')
    await b.seen((e) => e.event === 'hello')
    const refused = await fetch(`${api.url}/api/stream`)
    expect(refused.status).toBe(429)
    expect(refused.headers.get('retry-after')).toBe('10')
    expect(((await refused.json()) as any).error).toContain('too many streams from this address')
    expect(await api.stats()).toMatchObject({ clients: 2, refusedPerIp: 1 })
    a.close()
    await eventually(async () => (await api.stats()).clients === 1, 'the closed stream released')
    const c = await reader(api.url)
    expect(c.res.status).toBe(200)
    await c.seen((e) => e.event === 'hello')
  })
})
