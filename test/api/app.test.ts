import { describe, expect, test } from 'bun:test'
import { createApi } from '../../src/api/app.ts'
import { Books } from '../../src/book/books.ts'
import { Store } from '../../src/db/store.ts'
import { explain, spreadText } from '../../src/detector/explain.ts'
import type { ConnectionStats } from '../../src/venues/connection.ts'
import { binance } from '../../src/venues/binance/index.ts'
import { kraken } from '../../src/venues/kraken/index.ts'
import { TransferFacts } from '../../src/transfers/facts.ts'
import {
  crossAt,
  openMemoryDb,
  scriptFeed,
  silent,
  stopAfterEach,
  testDetector,
} from '../support.ts'

const track = stopAfterEach()

async function fixture(extra: Partial<Parameters<typeof createApi>[0]> = {}) {
  const handle = await openMemoryDb(track)
  const store = new Store({ db: handle.db, log: silent })
  const books = new Books()
  const krakenFeed = track(scriptFeed(books, kraken, ['BTC/USDT', 'ETH/USDT']))
  const binanceFeed = track(scriptFeed(books, binance, ['BTC/USDT', 'ETH/USDT']))
  const detector = testDetector(books, ['binance', 'kraken'], ['BTC/USDT', 'ETH/USDT'], {
    now: () => 1000,
  })
  track(detector).start()
  detector.subscribe((e) => store.record(e))
  krakenFeed.snapshot('BTC/USDT', [['60000.1', '0.50000000']], [['60000.2', '1.25']], 1000)
  binanceFeed.snapshot('BTC/USDT', [['59000', '1']], [['59500', '1']], 1000)
  await store.flush()
  const stats: ConnectionStats = {
    state: 'connected',
    messages: 123,
    reconnects: 0,
    errors: { 'malformed-json': 2 },
    connectedSinceMs: 500,
    lastMessageMs: 1000,
    messagesPerSec: 12.5,
    latencyMs: 7,
    markets: new Map([
      ['BTC/USDT', 'BTC/USDT'],
      ['ETH/USDT', 'ETH/USDT'],
    ]),
    unlisted: [],
  }
  const app = createApi({
    connections: [{ venue: 'kraken', stats }],
    books,
    detector,
    store,
    log: silent,
    sizeQuote: 1000,
    now: () => 1042,
    ...extra,
  })
  return { app, store, detector, books, krakenFeed }
}

const get = async (app: Awaited<ReturnType<typeof fixture>>['app'], path: string) => {
  const res = await app.request(`http://localhost${path}`)
  return { status: res.status, body: (await res.json()) as any }
}

describe('API', () => {
  test('GET /healthz answers 200', async () => {
    const { app } = await fixture()
    expect((await get(app, '/healthz')).status).toBe(200)
  })

  test('GET /api/status is a summary per venue: book counts and feed figures, no book list', async () => {
    const { app } = await fixture()
    const { body } = await get(app, '/api/status')
    const kraken = body.venues.kraken
    expect(kraken).toMatchObject({
      state: 'connected',
      connections: { total: 1, connected: 1, connecting: 0, down: 0 },
      markets: 2,
      books: { total: 2, live: 1, syncing: 1, stale: 0 },
      messages: 123,
      messagesPerSec: 12.5,
      reconnects: 0,
      errors: { 'malformed-json': 2 },
      latencyMs: 7,
      lastMessageAgeMs: 42,
      connectedSinceMs: 500,
      rest: null,
    })
    expect(body.books).toBeUndefined()
    expect(body.total).toBeUndefined()
    expect(body.detector.open).toBe(1)
  })

  test("GET /api/status?venue= lists the books with the venue's own price strings", async () => {
    const { app } = await fixture()
    const { status, body } = await get(app, '/api/status?venue=kraken')
    expect(status).toBe(200)
    expect(body.venues.kraken.books.live).toBe(1)
    expect(body).toMatchObject({ total: 2, page: 1, limit: 100 })
    expect(body.books).toHaveLength(2)
    expect(body.books[0]).toMatchObject({
      venue: 'kraken',
      pair: 'BTC/USDT',
      state: 'live',
      bestBid: '60000.1',
      bestAsk: '60000.2',
      resyncs: 0,
      ageMs: 42,
      bestBidQty: '0.50000000',
    })
    expect(body.books[1]).toMatchObject({
      venue: 'kraken',
      pair: 'ETH/USDT',
      state: 'syncing',
      bestBid: null,
      bestAsk: null,
      ageMs: null,
    })
  })

  test('GET /api/spreads gives every venue pair, recomputed at ?size=', async () => {
    const { app } = await fixture()
    const { status, body } = await get(app, '/api/spreads?size=500')
    expect(status).toBe(200)
    expect(body.sizeQuote).toBe(500)
    const row = body.spreads.find((r: any) => r.symbol === 'BTC/USDT' && r.buyVenue === 'binance')
    expect(row).toMatchObject({ sellVenue: 'kraken', fresh: true, depth: 'ok', sizeQuote: 500 })
    expect(row.grossBps).toBeCloseTo(((60000.1 - 59500) / 59500) * 10_000, 9)
    expect(row.netBps).toBeCloseTo(((60000.1 / 59500) * 0.999 * 0.999 - 1) * 10_000, 9)
    const eth = body.spreads.find((r: any) => r.symbol === 'ETH/USDT')
    expect(eth).toMatchObject({ fresh: false, depth: 'empty-book', netBps: null })
  })

  test('GET /api/opportunities lists history from the database, by symbol as users type it', async () => {
    const { app } = await fixture()
    const { status, body } = await get(app, '/api/opportunities?symbol=btcusdt&limit=5')
    expect(status).toBe(200)
    expect(body.items).toHaveLength(1)
    expect(body.items[0]).toMatchObject({
      symbol: 'BTC/USDT',
      buyVenue: 'binance',
      sellVenue: 'kraken',
      kind: 'cross',
      closedAtMs: null,
    })
    expect(body.nextCursor).toBeNull()
    expect((await get(app, '/api/opportunities?symbol=ETH-USDT')).body.items).toHaveLength(0)
    const one = await get(app, `/api/opportunities/${encodeURIComponent(body.items[0].id)}`)
    expect(one.body.id).toBe(body.items[0].id)
    expect((await get(app, '/api/opportunities/nope')).status).toBe(404)
  })

  test('GET /api/opportunities/<id> takes the id as it is, its `/` unescaped', async () => {
    const { app } = await fixture()
    const [item] = (await get(app, '/api/opportunities')).body.items
    expect(item.id).toMatch(/^cross:BTC\/USDT:binance>kraken:\d+$/)
    const raw = await get(app, `/api/opportunities/${item.id}`)
    expect(raw.status).toBe(200)
    expect(raw.body.id).toBe(item.id)
    expect((await get(app, `/api/opportunities/${item.id}x`)).status).toBe(404)
  })

  test.each([
    ['/api/spreads?size=abc', 'size must be a number'],
    ['/api/spreads?size=-5', 'positive'],
    ['/api/opportunities?limit=0', 'limit must be a whole number'],
    ['/api/opportunities?limit=9999', 'limit must be a whole number'],
    ['/api/opportunities?venue=mtgox', 'venue must be one of'],
    ['/api/opportunities?symbol=%3F%3F', 'not a market name'],
    ['/api/opportunities?cursor=garbage', 'cursor'],
    ['/api/opportunities?kind=square', 'kind must be'],
  ])('%s is a 400 that says what is wrong', async (path, message) => {
    const { app } = await fixture()
    const { status, body } = await get(app, path)
    expect(status).toBe(400)
    expect(body.error).toContain(message)
    expect(JSON.stringify(body)).not.toContain('at ')
  })

  test('unknown routes get a JSON 404', async () => {
    const { app } = await fixture()
    const { status, body } = await get(app, '/nope')
    expect(status).toBe(404)
    expect(body.error).toContain('/nope')
  })
})

describe('API: readiness, auth, CSV and the live stream', () => {
  test('/readyz is 503 with reasons until two venues have live books and the database answers', async () => {
    const { app, books } = await fixture()
    const res = await get(app, '/readyz')
    expect(res.status).toBe(503)
    expect(res.body.reasons[0]).toContain('1 venue(s) with live books (kraken), need 2')
    const { app: two } = await fixture({
      connections: [
        { venue: 'kraken', stats: stubStats() },
        { venue: 'binance', stats: stubStats() },
      ],
    })
    expect((await get(two, '/readyz')).status).toBe(200)
    void books
  })

  test('with API_TOKEN everything but the health checks needs it (header or ?token=)', async () => {
    const { app } = await fixture({ apiToken: 's3cret' })
    expect((await app.request('http://localhost/healthz')).status).toBe(200)
    expect((await app.request('http://localhost/readyz')).status).toBe(503)
    const denied = await app.request('http://localhost/api/status')
    expect(denied.status).toBe(401)
    expect(denied.headers.get('www-authenticate')).toContain('Bearer')
    expect(
      (
        await app.request('http://localhost/api/status', {
          headers: { authorization: 'Bearer wrong' },
        })
      ).status,
    ).toBe(401)
    expect(
      (
        await app.request('http://localhost/api/status', {
          headers: { authorization: 'Bearer s3cret' },
        })
      ).status,
    ).toBe(200)
    expect((await app.request('http://localhost/api/spreads?token=s3cret')).status).toBe(200)
  })

  test('the bearer scheme is matched in any case (RFC 7235), the token exactly', async () => {
    const { app } = await fixture({ apiToken: 's3cret' })
    const status = async (authorization: string) =>
      (await app.request('http://localhost/api/status', { headers: { authorization } })).status
    expect(await status('bearer s3cret')).toBe(200)
    expect(await status('BEARER s3cret')).toBe(200)
    expect(await status('bearer S3CRET')).toBe(401)
    expect(await status('Basic s3cret')).toBe(401)
  })

  test('secure headers are set and errors carry no stack trace', async () => {
    const { app } = await fixture()
    const res = await app.request('http://localhost/api/status')
    expect(res.headers.get('x-content-type-options')).toBe('nosniff')
    expect(res.headers.get('content-security-policy')).toContain("default-src 'self'")
  })

  test('opportunities as CSV', async () => {
    const { app } = await fixture()
    const res = await app.request('http://localhost/api/opportunities?format=csv')
    expect(res.headers.get('content-type')).toContain('text/csv')
    const lines = (await res.text()).trim().split('\r\n')
    expect(lines[0]).toStartWith('id,kind,symbol,buyVenue,sellVenue,anomaly,openedAt')
    expect(lines).toHaveLength(2)
    expect(lines[1]).toContain(',cross,BTC/USDT,binance,kraken,false,')
  })

  test('/api/stream sends the open opportunities, venue states, and new events as they happen', async () => {
    const { app, krakenFeed } = await fixture({ streamPollMs: 20 })
    const res = await app.request('http://localhost/api/stream')
    expect(res.headers.get('content-type')).toContain('text/event-stream')
    const reader = res.body!.getReader()
    let text = ''
    const readUntil = async (needle: string) => {
      while (!text.includes(needle)) {
        const { value, done } = await reader.read()
        if (done) throw new Error('stream ended')
        text += new TextDecoder().decode(value)
        if (process.env.DEBUG_SSE) console.log(JSON.stringify(text))
      }
    }
    await readUntil('event: venue')
    expect(text).toContain('event: hello')
    expect(text).toContain('"symbol":"BTC/USDT"')
    // A checksum that does not match Kraken's book: the book resyncs and the opportunity closes.
    krakenFeed.snapshot('BTC/USDT', [['60000.1', '0.5']], [['60000.2', '1.25']], 2000, {
      checksum: 1,
    })
    await readUntil('"type":"closed"')
    expect(text).toMatch(/event: opportunity\ndata: \{"type":"closed"/)
    await reader.cancel()
  })
})

function stubStats(): ConnectionStats {
  return {
    state: 'connected',
    messages: 1,
    reconnects: 0,
    errors: {},
    connectedSinceMs: 1,
    lastMessageMs: 1000,
    messagesPerSec: 1,
    latencyMs: 1,
    markets: new Map([['BTC/USDT', 'BTC/USDT']]),
    unlisted: [],
  }
}

describe('API: transfer facts and statuses', () => {
  const fact = (venue: string, asset: string, over: Record<string, unknown> = {}) => ({
    venue,
    asset,
    network: 'BTC',
    venueNetwork: 'BTC',
    depositEnabled: true,
    withdrawEnabled: false,
    withdrawFee: 0.0002,
    withdrawMin: undefined,
    contract: undefined,
    fetchedAtMs: 1000,
    source: 'GET /test',
    ...over,
  })

  test('GET /api/transfers?asset= lists each venue’s facts with their age, and each fetch outcome', async () => {
    const transfers = new TransferFacts()
    transfers.replace('binance', [fact('binance', 'BTC'), fact('binance', 'ETH')], 1000)
    transfers.fail('kraken', 'GET /0/public/Assets answered 503', 1020)
    const { app } = await fixture({ transfers })
    const { status, body } = await get(app, '/api/transfers?asset=xbt')
    expect(status).toBe(200)
    expect(body.asset).toBe('BTC')
    expect(body.venues.binance.facts).toEqual(
      [{ ...fact('binance', 'BTC'), withdrawMin: undefined, ageMs: 42 }].map((f) =>
        JSON.parse(JSON.stringify(f)),
      ),
    )
    expect(body.venues.kraken.error).toContain('503')
    expect(body.venues.kraken.facts).toEqual([])
    expect((await get(app, '/api/transfers?asset=%3F%3F')).status).toBe(400)
    const all = await get(app, '/api/transfers')
    expect(all.body.venues.binance.facts.map((f: { asset: string }) => f.asset).sort()).toEqual([
      'BTC',
      'ETH',
    ])
  })

  test('without transfer facts /api/transfers is a 404 that says so', async () => {
    const { app } = await fixture()
    const { status, body } = await get(app, '/api/transfers')
    expect(status).toBe(404)
    expect(JSON.stringify(body)).toContain('no transfer facts')
  })

  test('/api/opportunities?transfer= filters on the status, and a bad one is a 400', async () => {
    const { app, store } = await fixture()
    const withStatus = (id: string, status: 'transferable' | 'blocked') => ({
      ...crossAt(40),
      id,
      transfer: { status, line: status, collision: false, sources: [] },
    })
    for (const o of [withStatus('a', 'blocked'), withStatus('b', 'transferable')]) {
      store.record({ type: 'opened', opportunity: o, atMs: o.openedAtMs })
    }
    await store.flush()
    const ids = async (q: string) =>
      (await get(app, `/api/opportunities?${q}`)).body.items.map((r: { id: string }) => r.id)
    expect(await ids('transfer=blocked')).toEqual(['a'])
    expect(await ids('transfer=transferable')).toEqual(['b'])
    const bad = await get(app, '/api/opportunities?transfer=ok')
    expect(bad.status).toBe(400)
    expect(JSON.stringify(bad.body)).toContain(
      'transfer must be one of transferable, blocked, unknown',
    )
  })
})

describe('API: backtest', () => {
  test('GET /api/backtest?threshold= answers from stored history at TRADE_SIZE', async () => {
    const { app, store } = await fixture()
    const o = { ...crossAt(60), id: 'bt1', openedAtMs: 1000 - 3_600_000 }
    store.record({ type: 'opened', opportunity: o, atMs: o.openedAtMs })
    await store.flush()
    const ok = await get(app, '/api/backtest?threshold=0.5')
    expect(ok.status).toBe(200)
    expect(ok.body.thresholdBps).toBe(50)
    expect(ok.body.sizeQuote).toBe(1000)
    expect(ok.body.week.alerts).toBeGreaterThanOrEqual(1)
    expect(ok.body.week.unknown).toBe(0)
    expect((await get(app, '/api/backtest?threshold=5')).body.week.alerts).toBe(0)
    expect((await get(app, '/api/backtest?threshold=0.5&size=1000')).body).toEqual(ok.body)
    expect((await get(app, '/api/backtest')).status).toBe(400)
  })

  test('another size is answered from the stored walks, with the openings it cannot tell', async () => {
    const { app, store } = await fixture()
    // The fixture's books opened one cross with its walk: 1 BTC asked at 59,500 on Binance, 0.5
    // bid at 60,000.1 on Kraken, 10 bps fees: (60000.1 / 59500) · 0.999² − 1 = 63.89 bps at any
    // size the walk covers, up to 0.5 / 0.999 BTC bought (29,779.78 USDT). One more without a walk.
    const o = { ...crossAt(60), id: 'bt1', openedAtMs: 1000 - 3_600_000 }
    store.record({ type: 'opened', opportunity: o, atMs: o.openedAtMs })
    await store.flush()
    const walked = (await store.opportunitiesSince(0)).filter((r) => r.walk !== undefined)
    expect(walked).toHaveLength(1)
    const net = ((60000.1 / 59500) * 0.999 * 0.999 - 1) * 10_000
    const at5000 = await get(app, '/api/backtest?threshold=0.5&size=5000')
    expect(at5000.status).toBe(200)
    expect(at5000.body.sizeQuote).toBe(5000)
    expect(at5000.body.day.alerts).toBe(1)
    expect(at5000.body.day.unknown).toBe(1)
    expect(at5000.body.day.medianNetBps).toBeCloseTo(net, 9)
    expect(at5000.body.week).toMatchObject({ alerts: 1, unknown: 1 })
    // Fractional sizes are sizes too; beyond the walk nothing is told.
    expect((await get(app, '/api/backtest?threshold=0.5&size=2500.5')).body.day.alerts).toBe(1)
    const beyond = await get(app, '/api/backtest?threshold=0.5&size=30000')
    expect(beyond.body.week).toEqual({
      alerts: 0,
      unknown: 2,
      medianDurationMs: null,
      medianNetBps: null,
    })
  })

  test('a size that is not a positive amount below 1e9 is a 400 saying so', async () => {
    const { app } = await fixture()
    const cases: [string, string][] = [
      ['0', 'size must be a positive amount of the quote currency'],
      ['-5', 'size must be a positive amount of the quote currency'],
      ['', 'size must be a positive amount of the quote currency'],
      ['lots', 'size must be a number'],
      ['2e9', 'size must be below 1e9'],
      ['Infinity', 'size must be a number'],
    ]
    for (const [size, message] of cases) {
      const res = await get(app, `/api/backtest?threshold=0.5&size=${size}`)
      expect(res.status).toBe(400)
      expect(JSON.stringify(res.body)).toContain(message)
    }
    const both = await get(app, '/api/backtest?threshold=99&size=0')
    expect(both.status).toBe(400)
    expect(JSON.stringify(both.body)).toContain('threshold must be a net spread in percent')
  })
})

describe('API: explain', () => {
  /** Books and a detector on the real clock's scale: ids like `cross:BTC/USDT:binance>kraken:1795…`. */
  async function opened() {
    const at = 1_795_307_804_603
    const handle = await openMemoryDb(track)
    const store = new Store({ db: handle.db, log: silent })
    const books = new Books()
    const krakenFeed = track(scriptFeed(books, kraken, ['BTC/USDT'], at))
    const binanceFeed = track(scriptFeed(books, binance, ['BTC/USDT'], at))
    const detector = testDetector(books, ['binance', 'kraken'], ['BTC/USDT'], { now: () => at })
    track(detector).start()
    detector.subscribe((e) => store.record(e))
    binanceFeed.snapshot(
      'BTC/USDT',
      [['59000', '1']],
      [
        ['59500.00', '0.01'],
        ['59510.5', '1'],
      ],
      at,
    )
    krakenFeed.snapshot('BTC/USDT', [['60000.1', '0.50000000']], [['60000.2', '1.25']], at)
    await store.flush()
    const app = createApi({
      connections: [],
      books,
      detector,
      store,
      log: silent,
      sizeQuote: 1000,
      now: () => at,
    })
    const [item] = (await get(app, '/api/opportunities')).body.items
    return { app, store, id: item.id as string }
  }

  test('GET /api/opportunities/<id>/explain: the walk and its lines, the id’s `/` as typed or escaped', async () => {
    const { app, store, id } = await opened()
    expect(id).toBe('cross:BTC/USDT:binance>kraken:1795307804603')
    const stored = (await store.getOpportunity(id))!
    for (const path of [id, encodeURIComponent(id)]) {
      const { status, body } = await get(app, `/api/opportunities/${path}/explain`)
      expect(status).toBe(200)
      expect(body.id).toBe(id)
      expect(body.walk).toEqual(JSON.parse(JSON.stringify(stored.walk)))
      expect(body.walk.legs.map((l: { levels: unknown[] }) => l.levels.length)).toEqual([2, 1])
      expect(body.walk.legs[0].levels[0]).toEqual({
        pxText: '59500.00',
        qtyText: '0.01',
        taken: 0.01,
      })
      expect(body.lines).toEqual(explain(stored))
      expect(body.lines.at(-1)).toContain(spreadText(stored.netBpsOpen))
    }
    // Who it was alerted to: a delivery written with it is listed with its state.
    expect((await get(app, `/api/opportunities/${id}/explain`)).body.alerted).toEqual([])
    // The record's own route still answers for the same id.
    const one = await get(app, `/api/opportunities/${id}`)
    expect(one.status).toBe(200)
    expect(one.body.id).toBe(id)
    expect(one.body.lines).toBeUndefined()
  })

  test('an unknown id, and one stored before walks were kept, are a 404 that says so', async () => {
    const { app, store } = await opened()
    const unknown = await get(app, '/api/opportunities/cross:BTC/USDT:binance>okx:1/explain')
    expect(unknown.status).toBe(404)
    expect(unknown.body.error).toBe('no opportunity cross:BTC/USDT:binance>okx:1')
    const old = { ...crossAt(60), id: 'cross:BTC/USDT:kraken>binance:1795307800000' }
    store.record({ type: 'opened', opportunity: old, atMs: old.openedAtMs })
    await store.flush()
    const before = await get(app, `/api/opportunities/${old.id}/explain`)
    expect(before.status).toBe(404)
    expect(before.body.error).toContain('recorded before opening walks were kept')
    expect((await get(app, `/api/opportunities/${old.id}`)).status).toBe(200)
  })
})
