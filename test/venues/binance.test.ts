import { afterEach, describe, expect, test } from 'bun:test'
import { binance } from '../../src/exchanges/binance.ts'
import { FakeBinance } from '../fakes/binance.ts'
import { makeBook, SimBook, type Row } from '../fakes/sim-book.ts'
import { rows, startFeed, until, type Feed } from '../support.ts'

const FIX = `${import.meta.dir}/../fixtures/binance`

let fake: FakeBinance | undefined
let feed: Feed | undefined
afterEach(() => {
  feed?.stop()
  fake?.stop()
  feed = fake = undefined
})

function simFeed(pairs = ['BTC/USDT', 'ETH/USDT'], opts: Parameters<typeof startFeed>[3] = {}) {
  fake = new FakeBinance([
    { symbol: 'BTCUSDT', base: 'BTC', quote: 'USDT', book: makeBook(60000, 20, 0.1) },
    { symbol: 'ETHUSDT', base: 'ETH', quote: 'USDT', book: makeBook(3000, 20, 0.01) },
    { symbol: 'BTCUSD', base: 'BTC', quote: 'USD', status: 'BREAK', book: makeBook(60000) },
  ])
  feed = startFeed(binance, fake, pairs, opts)
  return { fake, feed }
}

async function live(f: Feed, fk: FakeBinance, pair: string, symbol: string) {
  await until(() => fk.server.clients.size > 0, 3000, 'a connection')
  const e = f.books.get('binance', pair)!
  // Keep the stream moving until the book is live (the first update triggers the snapshot).
  while (e.state !== 'live') {
    fk.update(symbol, [], [])
    await until(() => e.state === 'live' || e.buffer.length > 0, 3000, `${pair} update`)
    await Bun.sleep(5)
  }
}

const expectSame = (f: Feed, pair: string, book: SimBook) => {
  const e = f.books.get('binance', pair)!
  expect(rows(e.book.bids)).toEqual(book.topBids())
  expect(rows(e.book.asks)).toEqual(book.topAsks())
}

describe('binance: recorded capture', () => {
  test('replays the captured frames and REST snapshots into the documented books, level by level', async () => {
    const snapshots = (await Bun.file(`${FIX}/BINANCE_http_0_0.rest_snapshots.jsonl`).text())
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { url: string; body: string })
    const frames = (await Bun.file(`${FIX}/BINANCE_ws_1_0.frames.jsonl`).text()).trim().split('\n')
    const markets = [
      { symbol: 'NKNUSDT', base: 'NKN', quote: 'USDT', pair: 'NKN/USDT' },
      { symbol: 'BLZETH', base: 'BLZ', quote: 'ETH', pair: 'BLZ/ETH' },
      { symbol: 'LRCBTC', base: 'LRC', quote: 'BTC', pair: 'LRC/BTC' },
      { symbol: 'RUNEEUR', base: 'RUNE', quote: 'EUR', pair: 'RUNE/EUR' },
    ]
    fake = new FakeBinance(markets)
    for (const s of snapshots)
      fake.cannedSnapshots.set(new URL(s.url).searchParams.get('symbol')!, s.body)

    // The reference: the documented procedure, applied independently with the fake's SimBook.
    const expected = new Map<string, SimBook>()
    const applied = new Map<string, number>()
    for (const m of markets) {
      const snap = JSON.parse(fake.cannedSnapshots.get(m.symbol)!) as {
        lastUpdateId: number
        bids: Row[]
        asks: Row[]
      }
      const book = new SimBook(snap.bids, snap.asks)
      let id = snap.lastUpdateId
      let count = 0
      for (const f of frames) {
        const { stream, data } = JSON.parse(f) as {
          stream: string
          data: { e: string; s: string; U: number; u: number; b: Row[]; a: Row[] }
        }
        if (!stream.endsWith('@depth@100ms') || data.s !== m.symbol || data.u <= id) continue
        expect(data.U).toBeLessThanOrEqual(id + 1) // the capture has no gaps
        book.apply(data.b, data.a)
        id = data.u
        count++
      }
      expected.set(m.pair, book)
      applied.set(m.pair, count)
    }

    feed = startFeed(
      binance,
      fake,
      markets.map((m) => m.pair),
    )
    await until(() => fake!.server.clients.size === 1, 3000, 'connection')
    const client = [...fake.server.clients][0]!
    expect(fake.streamsOf(client).sort()).toEqual(
      markets.map((m) => `${m.symbol.toLowerCase()}@depth@100ms`).sort(),
    )
    for (const f of frames) {
      const stream = (JSON.parse(f) as { stream: string }).stream
      if (fake.streamsOf(client).includes(stream)) fake.server.send(f, client)
    }
    await until(
      () =>
        markets.every(
          (m) =>
            feed!.books.get('binance', m.pair)!.state === 'live' &&
            feed!.books.get('binance', m.pair)!.lastSeq === maxU(frames, m.symbol),
        ),
      5000,
      'all books live at the last update',
    )

    for (const m of markets) {
      const e = feed.books.get('binance', m.pair)!
      const book = expected.get(m.pair)!
      expect(rows(e.book.bids)).toEqual(book.topBids())
      expect(rows(e.book.asks)).toEqual(book.topAsks())
      expect(e.resyncs).toBe(0)
    }
    expect(applied.get('NKN/USDT')).toBeGreaterThan(100)
    expect(feed.conn.stats.errors).toEqual({})
    expect(fake.server.requests.filter((r) => r.startsWith('/api/v3/depth')).length).toBe(4)
  })
})

function maxU(frames: string[], symbol: string): number {
  let u = 0
  for (const f of frames) {
    const { data } = JSON.parse(f) as { data: { s?: string; u?: number; e?: string } }
    if (data.e === 'depthUpdate' && data.s === symbol) u = Math.max(u, data.u!)
  }
  return u
}

describe('binance: synchronisation', () => {
  test('buffers updates while the snapshot is on its way and applies the ones after it', async () => {
    const { fake, feed } = simFeed(['BTC/USDT'])
    await until(() => fake.server.clients.size > 0, 3000, 'connection')
    fake.holdSnapshots = true
    fake.update('BTCUSDT', [['59999.90', '2.00000000']], [])
    await until(
      () => fake.server.requests.some((r) => r.startsWith('/api/v3/depth')),
      3000,
      'snapshot request',
    )
    fake.update('BTCUSDT', [], [['60000.10', '0']])
    fake.update('BTCUSDT', [['59999.95', '1.50000000']], [['60000.15', '3.00000000']])
    const e = feed.books.get('binance', 'BTC/USDT')!
    await until(() => e.buffer.length === 3, 3000, 'three buffered updates')
    expect(e.state).toBe('syncing')
    fake.releaseSnapshots()
    await until(() => e.state === 'live', 3000, 'live')
    expectSame(feed, 'BTC/USDT', fake.state.get('BTCUSDT')!.book)
    expect(e.book.asks[0]!.pxText).toBe('60000.15')
  })

  test('fetches the snapshot again when it is older than the buffered updates', async () => {
    const { fake, feed } = simFeed(['BTC/USDT'])
    fake.update('BTCUSDT', [['59990.00', '1.00000000']], [])
    fake.update('BTCUSDT', [['59991.00', '1.00000000']], [])
    await until(() => fake.server.clients.size > 0, 3000, 'connection')
    fake.staleSnapshots = 1
    await live(feed, fake, 'BTC/USDT', 'BTCUSDT')
    expect(fake.server.requests.filter((r) => r.startsWith('/api/v3/depth')).length).toBe(2)
    expectSame(feed, 'BTC/USDT', fake.state.get('BTCUSDT')!.book)
  })

  test('a sequence gap resyncs that book only', async () => {
    const { fake, feed } = simFeed()
    await live(feed, fake, 'BTC/USDT', 'BTCUSDT')
    await live(feed, fake, 'ETH/USDT', 'ETHUSDT')
    const btc = feed.books.get('binance', 'BTC/USDT')!
    const eth = feed.books.get('binance', 'ETH/USDT')!
    const ethUpdates = eth.updates
    fake.holdSnapshots = true
    fake.update('BTCUSDT', [['59999.99', '9.00000000']], [], { skip: 3 })
    await until(() => btc.resyncs === 1, 3000, 'resync')
    expect(btc.lastResyncReason).toContain('sequence gap')
    expect(btc.state).toBe('syncing')
    expect(btc.book.bids.length).toBe(0)
    fake.releaseSnapshots()
    await live(feed, fake, 'BTC/USDT', 'BTCUSDT')
    expectSame(feed, 'BTC/USDT', fake.state.get('BTCUSDT')!.book)
    expect(eth.state).toBe('live')
    expect(eth.resyncs).toBe(0)
    expect(eth.updates).toBeGreaterThanOrEqual(ethUpdates)
  })
})

describe('binance: bad input', () => {
  test('malformed JSON and unknown messages are counted, and the books stay exact', async () => {
    const { fake, feed } = simFeed(['BTC/USDT'])
    await live(feed, fake, 'BTC/USDT', 'BTCUSDT')
    fake.server.send('{"stream":"btcusdt@depth@100ms","data":{"e":"depthUpd')
    fake.server.send('not json at all')
    fake.server.send(
      JSON.stringify({ stream: 'btcusdt@trade', data: { e: 'trade', s: 'BTCUSDT' } }),
    )
    fake.update('BTCUSDT', [['59999.97', '4.00000000']], [])
    const e = feed.books.get('binance', 'BTC/USDT')!
    await until(() => e.book.bids[0]!.pxText === '59999.97', 3000, 'update after garbage')
    expect(feed.conn.stats.errors['malformed-json']).toBe(2)
    expect(feed.conn.stats.errors['unknown-message']).toBe(1)
    expect(e.state).toBe('live')
    expectSame(feed, 'BTC/USDT', fake.state.get('BTCUSDT')!.book)
  })

  test('a negative or non-numeric price rejects the whole message and resyncs that book', async () => {
    const { fake, feed } = simFeed()
    await live(feed, fake, 'BTC/USDT', 'BTCUSDT')
    await live(feed, fake, 'ETH/USDT', 'ETHUSDT')
    const btc = feed.books.get('binance', 'BTC/USDT')!
    const s = fake.state.get('BTCUSDT')!
    for (const bad of [
      ['-1.00', '1.0'],
      ['abc', '1.0'],
      ['60000.00', '-5'],
    ] as Row[]) {
      const before = btc.resyncs
      // Sent by hand so the fake's own book does not take the bad level.
      s.lastUpdateId++
      fake.server.send(
        JSON.stringify({
          stream: 'btcusdt@depth@100ms',
          data: {
            e: 'depthUpdate',
            E: 1,
            s: 'BTCUSDT',
            U: s.lastUpdateId,
            u: s.lastUpdateId,
            b: [['59999.01', '1.0'], bad],
            a: [],
          },
        }),
      )
      await until(() => btc.resyncs === before + 1, 3000, 'resync after bad level')
      expect(btc.book.bids.some((l) => l.pxText === '59999.01')).toBe(false)
      await live(feed, fake, 'BTC/USDT', 'BTCUSDT')
      expectSame(feed, 'BTC/USDT', s.book)
    }
    expect(feed.conn.stats.errors['bad-level']).toBe(3)
    expect(feed.books.get('binance', 'ETH/USDT')!.resyncs).toBe(0)
  })

  test('a crossed book is never live: it resyncs', async () => {
    const { fake, feed } = simFeed(['BTC/USDT'])
    await live(feed, fake, 'BTC/USDT', 'BTCUSDT')
    const e = feed.books.get('binance', 'BTC/USDT')!
    const s = fake.state.get('BTCUSDT')!
    s.lastUpdateId++
    fake.server.send(
      JSON.stringify({
        stream: 'btcusdt@depth@100ms',
        data: {
          e: 'depthUpdate',
          E: 1,
          s: 'BTCUSDT',
          U: s.lastUpdateId,
          u: s.lastUpdateId,
          b: [['60005.00', '1.00000000']],
          a: [],
        },
      }),
    )
    await until(() => e.resyncs === 1, 3000, 'resync')
    expect(e.lastResyncReason).toContain('crossed')
    await live(feed, fake, 'BTC/USDT', 'BTCUSDT')
    expect(e.book.bids[0]!.px).toBeLessThan(e.book.asks[0]!.px)
  })
})

describe('binance: connection faults', () => {
  test('a disconnect reconnects, resubscribes and rebuilds the book without ghost levels', async () => {
    const { fake, feed } = simFeed(['BTC/USDT'])
    await live(feed, fake, 'BTC/USDT', 'BTCUSDT')
    const e = feed.books.get('binance', 'BTC/USDT')!
    fake.server.disconnectAll()
    await until(() => feed.conn.stats.state !== 'connected', 3000, 'down')
    // While we are away a level disappears; the client never sees that delete.
    fake.state.get('BTCUSDT')!.book.apply([['59999.90', '0']], [])
    fake.state.get('BTCUSDT')!.lastUpdateId += 10
    await until(() => fake.server.connections === 2, 3000, 'reconnect')
    expect(fake.streamsOf([...fake.server.clients][0]!)).toEqual(['btcusdt@depth@100ms'])
    await live(feed, fake, 'BTC/USDT', 'BTCUSDT')
    expect(e.book.bids.some((l) => l.pxText === '59999.90')).toBe(false)
    expectSame(feed, 'BTC/USDT', fake.state.get('BTCUSDT')!.book)
    expect(feed.conn.stats.reconnects).toBe(1)
  })

  test('a stalled feed is caught by the idle watchdog and reconnected', async () => {
    const { fake, feed } = simFeed(['BTC/USDT'], { idleTimeoutMs: 200 })
    await live(feed, fake, 'BTC/USDT', 'BTCUSDT')
    fake.server.stalled = true
    await until(() => fake.server.connections === 2, 3000, 'watchdog reconnect')
    fake.server.stalled = false
    expect(feed.conn.stats.errors.idle).toBeGreaterThanOrEqual(1)
    await live(feed, fake, 'BTC/USDT', 'BTCUSDT')
  })

  test('serverShutdown triggers a planned reconnect', async () => {
    const { fake, feed } = simFeed(['BTC/USDT'])
    await live(feed, fake, 'BTC/USDT', 'BTCUSDT')
    fake.serverShutdown()
    await until(() => fake.server.connections === 2, 3000, 'planned reconnect')
    await live(feed, fake, 'BTC/USDT', 'BTCUSDT')
    expect(feed.conn.stats.errors.socket ?? 0).toBe(0)
  })

  test('a server closing mid-message is survived', async () => {
    const { fake, feed } = simFeed(['BTC/USDT'])
    await live(feed, fake, 'BTC/USDT', 'BTCUSDT')
    const s = fake.state.get('BTCUSDT')!
    fake.server.closeMidMessage(
      JSON.stringify({
        stream: 'btcusdt@depth@100ms',
        data: {
          e: 'depthUpdate',
          E: 1,
          s: 'BTCUSDT',
          U: s.lastUpdateId + 1,
          u: s.lastUpdateId + 1,
          b: [['1.0', '1.0']],
          a: [],
        },
      }),
    )
    await until(() => fake.server.connections === 2, 3000, 'reconnect')
    await live(feed, fake, 'BTC/USDT', 'BTCUSDT')
    expectSame(feed, 'BTC/USDT', s.book)
  })

  test('markets the venue does not list are reported, not guessed; USD is not USDT', async () => {
    const unlisted: string[] = []
    const { fake, feed } = simFeed(['BTC/USDT', 'BTC/USD', 'DOGE/USDT'], {
      onUnlisted: (_v, p) => unlisted.push(...p),
    })
    await until(() => fake.server.clients.size > 0, 3000, 'connection')
    expect(unlisted).toEqual(['BTC/USD', 'DOGE/USDT'])
    expect(feed.conn.stats.unlisted).toEqual(['BTC/USD', 'DOGE/USDT'])
    expect([...feed.conn.stats.markets]).toEqual([['BTC/USDT', 'BTCUSDT']])
  })
})

describe('binance: snapshots that never come', () => {
  test('a quiet market is seeded once the connection has been up for the snapshot timeout', async () => {
    const { fake, feed } = simFeed(['BTC/USDT'], { snapshotTimeoutMs: 100 })
    const e = feed.books.get('binance', 'BTC/USDT')!
    // No update is ever sent: the REST snapshot is fetched anyway after the timeout.
    await until(() => e.state === 'live', 3000, 'seeded without updates')
    expectSame(feed, 'BTC/USDT', fake.state.get('BTCUSDT')!.book)
  })

  test('a snapshot request that fails is retried until it succeeds', async () => {
    const { fake, feed } = simFeed(['BTC/USDT'])
    await until(() => fake.server.clients.size > 0, 3000, 'connection')
    fake.state.get('BTCUSDT')!.market.symbol = 'BTCUSDT' // keep listing
    const original = fake.cannedSnapshots
    original.set('BTCUSDT', 'not json')
    fake.update('BTCUSDT', [], [])
    await until(() => (feed.conn.stats.errors.snapshot ?? 0) >= 1, 3000, 'failed snapshot counted')
    original.delete('BTCUSDT')
    await live(feed, fake, 'BTC/USDT', 'BTCUSDT')
    expectSame(feed, 'BTC/USDT', fake.state.get('BTCUSDT')!.book)
  })
})
