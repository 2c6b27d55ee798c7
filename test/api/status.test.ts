/**
 * `/api/status` over venues sharded into several connections and thousands of books: the summary
 * per venue (states, counts, figures combined over connections, REST budgets), the book list with
 * its filters and pages, and the 400s for bad parameters.
 */
import { describe, expect, test } from 'bun:test'
import type { ApiDeps } from '../../src/api/app.ts'
import {
  buildStatus,
  LATENCY_WINDOW_MS,
  latencyTracker,
  summarizeVenues,
  venueState,
  type StatusSource,
} from '../../src/api/status.ts'
import { Books } from '../../src/book/books.ts'
import { Store } from '../../src/db/store.ts'
import type { Pair } from '../../src/types.ts'
import type { ConnectionStats } from '../../src/venues/connection.ts'
import type { RestBudgetStats } from '../../src/venues/rest-budget.ts'
import { openMemoryDb, silent, stopAfterEach, testApi, testDetector } from '../support.ts'

const track = stopAfterEach()
const NOW = 100_000

function stats(markets: readonly Pair[], over: Partial<ConnectionStats> = {}): ConnectionStats {
  return {
    state: 'connected',
    messages: 10,
    reconnects: 0,
    errors: {},
    connectedSinceMs: 50_000,
    lastMessageMs: NOW - 100,
    messagesPerSec: 5,
    latencyMs: 10,
    markets: new Map(markets.map((p) => [p, p])),
    unlisted: [],
    ...over,
  }
}

const budget = (over: Partial<RestBudgetStats> = {}): RestBudgetStats => ({
  requests: 40,
  peakWeight: 900,
  throttled: 1,
  banned: 0,
  venueUsedWeight: 120,
  pausedUntilMs: 0,
  ...over,
})

/** Binance sharded over three connections (one reconnecting), Kraken on one. */
function sharded() {
  const books = new Books()
  const binance = ['BTC/USDT', 'ETH/USDT', 'SOL/USDT', 'SOL/USDC', 'ETH/BTC', 'XRP/USDT']
  const entries = books.addVenue('binance', binance)
  books.addVenue('kraken', ['BTC/USD', 'SOL/USD'])
  for (const p of ['BTC/USDT', 'ETH/USDT', 'SOL/USDT', 'ETH/BTC']) entries.get(p)!.state = 'live'
  entries.get('XRP/USDT')!.state = 'stale'
  const connections: StatusSource[] = [
    {
      venue: 'binance',
      stats: stats(['BTC/USDT', 'ETH/USDT'], {
        messages: 100,
        reconnects: 1,
        errors: { 'malformed-json': 2 },
        latencyMs: 30,
        connectedSinceMs: 60_000,
        lastMessageMs: NOW - 400,
      }),
    },
    {
      venue: 'binance',
      stats: stats(['SOL/USDT', 'SOL/USDC'], {
        messages: 50,
        reconnects: 2,
        errors: { 'malformed-json': 1, idle: 1 },
        latencyMs: 12,
      }),
    },
    {
      venue: 'binance',
      stats: stats(['ETH/BTC', 'XRP/USDT'], {
        state: 'connecting',
        messages: 7,
        reconnects: 3,
        latencyMs: undefined,
        connectedSinceMs: undefined,
        lastMessageMs: NOW - 60_000,
      }),
    },
    { venue: 'kraken', stats: stats(['BTC/USD', 'SOL/USD'], { state: 'down' }) },
  ]
  return { books, entries, connections }
}

async function api(deps: Partial<ApiDeps> & Pick<ApiDeps, 'books' | 'connections'>) {
  const handle = await openMemoryDb(track)
  const store = new Store({ db: handle.db, log: silent })
  const detector = testDetector(deps.books, [], [])
  const app = testApi({ detector, store, now: () => NOW, ...deps })
  return async (path: string) => {
    const res = await app.request(`http://localhost${path}`)
    return { status: res.status, body: (await res.json()) as any }
  }
}

describe('the status summary over several connections of a venue', () => {
  test('states, counts and figures are combined over the connections', () => {
    const { books, connections } = sharded()
    const { venues } = buildStatus(connections, books, NOW)
    expect(venues.binance).toMatchObject({
      state: 'partial',
      connections: { total: 3, connected: 2, connecting: 1, down: 0 },
      markets: 6,
      books: { total: 6, live: 4, syncing: 1, stale: 1 },
      messages: 157,
      // The reconnecting shard has been silent for a minute: its rate no longer counts.
      messagesPerSec: 10,
      reconnects: 6,
      errors: { 'malformed-json': 3, idle: 1 },
      latencyMs: 30,
      lastMessageAgeMs: 400,
      // Not every connection is up.
      connectedSinceMs: null,
      rest: null,
    })
    expect(venues.kraken).toMatchObject({ state: 'down', books: { total: 2, live: 0 } })
  })

  test('the venue state is connected, partial, connecting or down', () => {
    expect(venueState(['connected', 'connected'])).toBe('connected')
    expect(venueState(['connected', 'down'])).toBe('partial')
    expect(venueState(['connected', 'connecting'])).toBe('partial')
    expect(venueState(['connecting', 'down'])).toBe('connecting')
    expect(venueState(['down', 'down'])).toBe('down')
    expect(venueState([])).toBe('down')
  })

  test('all connections up: connected since the last of them came up', () => {
    const { books, connections } = sharded()
    const up = connections.filter((c) => c.stats.state === 'connected')
    expect(buildStatus(up, books, NOW).venues.binance).toMatchObject({
      state: 'connected',
      connectedSinceMs: 60_000,
    })
  })

  test('REST budgets per venue: requests, peak weight, 429s, 418s and a pause in force', () => {
    const { books, connections } = sharded()
    const budgets = () =>
      new Map([
        ['binance', budget({ banned: 1, pausedUntilMs: NOW + 5000 })],
        ['kraken', budget({ throttled: 0, venueUsedWeight: undefined, pausedUntilMs: NOW - 1 })],
      ])
    const { venues } = buildStatus(connections, books, NOW, budgets)
    expect(venues.binance!.rest).toEqual({
      requests: 40,
      peakWeight: 900,
      throttled: 1,
      banned: 1,
      venueUsedWeight: 120,
      pausedUntilMs: NOW + 5000,
    })
    // A pause that is over is no pause.
    expect(venues.kraken!.rest).toMatchObject({ pausedUntilMs: null, venueUsedWeight: null })
  })

  test('the chat summary has one line per venue with its connections', () => {
    const { books, connections } = sharded()
    expect(summarizeVenues(connections, books)).toEqual([
      { venue: 'binance', state: 'partial', liveBooks: 4, books: 6, connections: 3, connected: 2 },
      { venue: 'kraken', state: 'down', liveBooks: 0, books: 2, connections: 1, connected: 0 },
    ])
  })

  test('a pair the venue does not list is not one of its books', () => {
    const books = new Books()
    books.addVenue('binance', ['BTC/USDT', 'DOGE/EUR'])
    const conn = { venue: 'binance', stats: stats(['BTC/USDT'], { unlisted: ['DOGE/EUR'] }) }
    expect(buildStatus([conn], books, NOW).venues.binance!.books.total).toBe(1)
  })
})

describe('GET /api/status with thousands of books', () => {
  /** 3000 books on one venue over three shards, every tenth stale, the rest live. */
  function thousands() {
    const books = new Books()
    const pairs = Array.from({ length: 3000 }, (_, i) => `C${String(i).padStart(4, '0')}/USDT`)
    const entries = books.addVenue('okx', pairs)
    let i = 0
    for (const e of entries.values()) e.state = i++ % 10 === 0 ? 'stale' : 'live'
    const connections = [0, 1, 2].map((n) => ({
      venue: 'okx',
      stats: stats(pairs.slice(n * 1000, n * 1000 + 1000)),
    }))
    return { books, connections }
  }

  test('by default it is a summary: counts, never a per-book map', async () => {
    const get = await api(thousands())
    const { status, body } = await get('/api/status')
    expect(status).toBe(200)
    expect(body.venues.okx.books).toEqual({ total: 3000, live: 2700, syncing: 0, stale: 300 })
    expect(body.venues.okx.connections.total).toBe(3)
    expect(body.books).toBeUndefined()
    expect(JSON.stringify(body)).not.toContain('C0001/USDT')
  })

  test('the books are filtered by state and paged, in pair order, with the total', async () => {
    const get = await api(thousands())
    const first = await get('/api/status?state=stale&limit=50')
    expect(first.body).toMatchObject({ total: 300, page: 1, limit: 50 })
    expect(first.body.books).toHaveLength(50)
    expect(first.body.books[0]).toMatchObject({ venue: 'okx', pair: 'C0000/USDT', state: 'stale' })
    const last = await get('/api/status?state=stale&limit=50&page=6')
    expect(last.body.books.at(-1).pair).toBe('C2990/USDT')
    expect((await get('/api/status?state=stale&limit=50&page=7')).body.books).toEqual([])
    const both = await get('/api/status?state=live,stale&limit=1')
    expect(both.body.total).toBe(3000)
  })
})

describe('GET /api/status filters', () => {
  test('venue, symbol (a market as typed, or an asset) and state', async () => {
    const get = await api(sharded())
    const pairs = async (q: string) =>
      (await get(`/api/status?${q}`)).body.books.map((b: any) => `${b.venue}:${b.pair}`)
    expect(await pairs('venue=kraken')).toEqual(['kraken:BTC/USD', 'kraken:SOL/USD'])
    expect(await pairs('symbol=solusdt')).toEqual(['binance:SOL/USDT'])
    // An asset: every market it is the base or the quote of.
    expect(await pairs('symbol=SOL')).toEqual([
      'binance:SOL/USDC',
      'binance:SOL/USDT',
      'kraken:SOL/USD',
    ])
    expect(await pairs('symbol=btc&venue=binance')).toEqual(['binance:BTC/USDT', 'binance:ETH/BTC'])
    expect(await pairs('symbol=XBT/USD')).toEqual(['kraken:BTC/USD'])
    expect(await pairs('state=stale')).toEqual(['binance:XRP/USDT'])
    expect(await pairs('page=1')).toHaveLength(8)
    expect((await get('/api/status?symbol=DOGE/USDT')).body).toMatchObject({ total: 0, books: [] })
  })

  test.each([
    ['state=dead', 'state must be syncing, live, stale'],
    ['page=0', 'page must be a whole number from 1'],
    ['page=1.5', 'page must be a whole number from 1'],
    ['limit=501', 'limit must be a whole number from 1 to 500'],
    ['limit=abc', 'limit must be a whole number from 1 to 500'],
    ['venue=mtgox', 'venue must be one of'],
    ['symbol=%3F%3F', 'not a market name'],
    ['venu=kraken', 'unknown parameter "venu"; this route takes venue, symbol, state, page, limit'],
  ])('?%s is a 400 that says what is wrong', async (query, message) => {
    const get = await api(sharded())
    const { status, body } = await get(`/api/status?${query}`)
    expect(status).toBe(400)
    expect(body.error).toContain(message)
  })

  test('the connections may be a function of the live set: shards that come and go show', async () => {
    const { books, connections } = sharded()
    let live = connections.slice(0, 1)
    const get = await api({ books, connections: () => live })
    expect((await get('/api/status')).body.venues.binance.connections.total).toBe(1)
    live = connections
    const { body } = await get('/api/status')
    expect(body.venues.binance.connections.total).toBe(3)
    expect(body.venues.kraken.state).toBe('down')
  })

  test('budgets are shown per venue', async () => {
    const { books, connections } = sharded()
    const get = await api({ books, connections, budgets: () => [['binance', budget()]] })
    const { body } = await get('/api/status')
    expect(body.venues.binance.rest).toMatchObject({ requests: 40, peakWeight: 900, throttled: 1 })
    expect(body.venues.kraken.rest).toBeNull()
  })

  test('/readyz counts venues, not connections', async () => {
    const { books, connections } = sharded()
    const get = await api({ books, connections })
    const { status, body } = await get('/readyz')
    expect(status).toBe(503)
    expect(body.reasons.join()).toContain('1 venue(s) with live books (binance), need 2')
  })
})

describe('latency percentiles per venue over the recent window', () => {
  /** Books of one venue, a tracker on a clock the test moves, and an update "received" at a time. */
  function tracked() {
    const books = new Books()
    const entries = books.addVenue('binance', ['BTC/USDT', 'ETH/USDT'])
    let clock = NOW - 30_000
    latencyTracker(books, () => clock)
    const update = (
      pair: Pair,
      exchangeTsMs: number | undefined,
      receivedAtMs: number,
      decidedAtMs: number,
    ) => {
      const entry = entries.get(pair)!
      entry.exchangeTsMs = exchangeTsMs
      clock = decidedAtMs
      books.events.emit({ type: 'update', entry, receivedAtMs })
    }
    const connections = [{ venue: 'binance', stats: stats(['BTC/USDT', 'ETH/USDT']) }]
    return { books, update, connections }
  }

  test('p50 and p99 of exchange-to-receive and of frame-to-decision, from the book updates', () => {
    const { books, update, connections } = tracked()
    // 100 updates 100 ms apart: exchange-to-receive 1..100 ms, frame-to-decision 0 or 3 ms.
    for (let i = 1; i <= 100; i++) {
      const received = NOW - 20_000 + i * 100
      update('BTC/USDT', received - i, received, received + (i % 10 === 0 ? 3 : 0))
    }
    const { latencies } = buildStatus(connections, books, NOW).venues.binance!
    expect(latencies).toEqual({
      windowMs: LATENCY_WINDOW_MS,
      exchangeToReceive: { p50Ms: 50, p99Ms: 99, samples: 100 },
      frameToDecision: { p50Ms: 0, p99Ms: 3, samples: 100 },
    })
  })

  test('an update without a new exchange time is no exchange-to-receive sample', () => {
    const { books, update, connections } = tracked()
    update('BTC/USDT', NOW - 10_400, NOW - 10_000, NOW - 10_000)
    // The same exchange time again (a delta that carried none): 9 s "late" if it counted.
    update('BTC/USDT', NOW - 10_400, NOW - 1_000, NOW - 999)
    update('ETH/USDT', undefined, NOW - 500, NOW - 500)
    const { latencies } = buildStatus(connections, books, NOW).venues.binance!
    expect(latencies.exchangeToReceive).toEqual({ p50Ms: 400, p99Ms: 400, samples: 1 })
    expect(latencies.frameToDecision).toEqual({ p50Ms: 0, p99Ms: 1, samples: 3 })
  })

  test('samples older than the window do not count, and a busy venue is sampled at most every 50 ms', () => {
    const { books, update, connections } = tracked()
    update('BTC/USDT', NOW - 29_000 - 900, NOW - 29_000, NOW - 29_000)
    expect(
      buildStatus(connections, books, NOW).venues.binance!.latencies.exchangeToReceive,
    ).toEqual({ p50Ms: 900, p99Ms: 900, samples: 1 })
    // 40 s later the first sample is out of the window; of five updates within 50 ms one counts.
    for (let i = 0; i < 5; i++) update('BTC/USDT', NOW - 100 + i - 20, NOW - 100 + i, NOW - 100 + i)
    const later = buildStatus(connections, books, NOW + 40_000).venues.binance!.latencies
    expect(later.exchangeToReceive).toEqual({ p50Ms: 20, p99Ms: 20, samples: 1 })
    expect(buildStatus(connections, books, NOW + 120_000).venues.binance!.latencies).toEqual({
      windowMs: LATENCY_WINDOW_MS,
      exchangeToReceive: null,
      frameToDecision: null,
    })
  })
})
