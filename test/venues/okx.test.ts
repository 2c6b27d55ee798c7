/**
 * OKX's own behaviour: the 2022 capture as recorded (socket snapshot, real checksums) and
 * re-encoded in today's form (updates only, REST seqId), the published checksum vectors, the
 * seqId chain's keep-alive and maintenance-reset exceptions, an older server's snapshot form,
 * its parser, the 64008 notice, its instrument list, its REST errors, the limits the simulated
 * venue enforces and the product keeps to, and 24 h volumes. Generic faults are in
 * contract.test.ts; the snapshot forms of defect 3 in test/book/sync.test.ts.
 */
import { describe, expect, test } from 'bun:test'
import { okxFeed } from '../../bench/venue-feed.ts'
import { createFastParser } from '../../src/venues/okx/fast.ts'
import { createJsonParser } from '../../src/venues/okx/index.ts'
import { expectSameAsJsonPath, variantsOf } from './fast-path.ts'
import { prng as random } from '../../bench/stream.ts'
import { applyDelta, createBook } from '../../src/book/book.ts'
import type { Level } from '../../src/types.ts'
import { okxChecksum } from '../../src/venues/okx/checksum.ts'
import { toLevel } from '../../src/venues/venue.ts'
import { okx, OKX_BOOK_DEPTH } from '../../src/venues/okx/index.ts'
import { okxChecksumOf, SimOkx, type SimOkxOptions } from '../../src/venues/okx/sim.ts'
import { makeBook, SimBook, type Row } from '../../src/venues/sim/book.ts'
import type { Venue } from '../../src/venues/venue.ts'
import { bookWhere, readLines, rows, useFeeds, type Feed, type FeedOptions } from '../support.ts'
import { expectEachRejected, expectReconnect } from '../support.ts'

const FIX = `${import.meta.dir}/../fixtures`
const BTC = 'BTC/USDT'
const ETH = 'ETH/USDT'

const feeds = useFeeds()

function simFeed(
  pairs = [BTC, ETH],
  options: FeedOptions = {},
  simOptions: SimOkxOptions = {},
  venue: Venue = okx,
) {
  const sim = feeds.sim(
    new SimOkx(
      [
        { base: 'BTC', quote: 'USDT', book: makeBook(60000, 20, 0.1, 1) },
        { base: 'ETH', quote: 'USDT', book: makeBook(3000, 20, 0.01) },
        { base: 'BTC', quote: 'USDC', book: makeBook(60001, 20, 0.1, 1) },
        { base: 'DOGE', quote: 'USDT', trading: false, book: makeBook(0.2) },
        { base: 'BTC', quote: 'USD', instType: 'SWAP', book: makeBook(60000) },
      ],
      simOptions,
    ),
  )
  const feed = feeds.start(venue, sim, pairs, options)
  return { sim, feed }
}

/** True once the newest connection has subscribed to `instId`. */
const subscribed = (s: SimOkx, instId: string) =>
  s.subscriptions.get([...s.server.clients].at(-1)?.data.id ?? -1)?.has(instId) === true

/** The book once live; a keep-alive update makes it ask for its REST snapshot. */
async function live(f: Feed, s: SimOkx, pair: string) {
  await s.server.waitFor(() => subscribed(s, s.instId(pair)), 3000, `${pair} subscribed`)
  if (f.entry(pair).state !== 'live') s.keepAlive(pair)
  return bookWhere(f, pair)
}

const expectSame = (f: Feed, pair: string, book: SimBook) => {
  expect(rows(f.entry(pair).book.bids)).toEqual(book.topBids())
  expect(rows(f.entry(pair).book.asks)).toEqual(book.topAsks())
}

/** The REST book requests the sim served (for one instrument, or all). */
const bookRequests = (s: SimOkx, instId?: string) =>
  s.server.requests.filter(
    (r) => r.startsWith('/api/v5/market/books') && (!instId || r.includes(`=${instId}&`)),
  )

interface Sides {
  bids_descending: Row[]
  asks_ascending: Row[]
}

interface CapturedBooks {
  event?: string
  arg: { channel: string; instId: string }
  action: 'snapshot' | 'update'
  data: { asks: string[][]; bids: string[][]; ts: string; checksum: number }[]
}

/** The capture's `books` pushes for one instrument, in order. */
async function capturedBooks(instId: string): Promise<{ raw: string; msg: CapturedBooks }[]> {
  const lines = await readLines(`${FIX}/okx/OKX_ws_1_0.frames.jsonl`)
  return lines
    .map((raw) => ({ raw, msg: JSON.parse(raw) as CapturedBooks }))
    .filter(({ msg }) => !msg.event && msg.arg?.channel === 'books' && msg.arg.instId === instId)
}

const toRows = (levels: string[][]): Row[] => levels.map((l) => [l[0]!, l[1]!])

/** Applies one captured message's levels to a reference book. */
const applyTo = (ref: SimBook, msg: CapturedBooks) =>
  ref.apply(toRows(msg.data[0]!.bids), toRows(msg.data[0]!.asks))

describe('okx: recorded capture', () => {
  test('replays the 2022 BTC-USDT frames as recorded: all checksums pass, the book matches', async () => {
    const books = await capturedBooks('BTC-USDT')
    expect(books.length).toBe(98)
    expect(books[0]!.msg.action).toBe('snapshot')

    // The reference: the capture applied independently with SimBook, checked against its checksums.
    const ref = new SimBook()
    for (const { msg } of books) {
      if (msg.action === 'snapshot') (ref.bids.clear(), ref.asks.clear())
      applyTo(ref, msg)
      expect(okxChecksumOf(ref.topBids(25), ref.topAsks(25))).toBe(msg.data[0]!.checksum)
    }

    const sim = feeds.sim(new SimOkx([{ base: 'BTC', quote: 'USDT' }]))
    const feed = feeds.start(okx, sim, [BTC])
    const s = sim
    await s.server.waitFor(() => subscribed(s, 'BTC-USDT'), 3000, 'subscription')
    expect(JSON.parse(s.server.received[0]!.text)).toEqual({
      op: 'subscribe',
      args: [{ channel: 'books', instId: 'BTC-USDT' }],
    })

    // The parser carries every recorded checksum (none is 0 in 2022), so all 98 are verified.
    const parse = okx.createParser(new Map([['BTC-USDT', BTC]]))
    for (const { raw, msg } of books) {
      const type = msg.action === 'snapshot' ? 'snapshot' : 'delta'
      expect(parse(raw, 0)).toMatchObject([{ type, checksum: msg.data[0]!.checksum }])
    }

    const all = await readLines(`${FIX}/okx/OKX_ws_1_0.frames.jsonl`)
    expect(s.replay(all)).toBe(98) // the derivatives' books go nowhere: nobody subscribed
    const e = await bookWhere(feed, BTC, (e) => e.updates === 98, 5000, 'all 98 applied')

    expect(e.state).toBe('live')
    expect(e.resyncs).toBe(0)
    expect(e.book.bids.length).toBe(400)
    expect(rows(e.book.bids)).toEqual(ref.topBids())
    expect(rows(e.book.asks)).toEqual(ref.topAsks())
    expect(e.exchangeTsMs).toBe(Number(books.at(-1)!.msg.data[0]!.ts))
    expect(bookRequests(s)).toEqual([]) // the WS snapshot seeded the book
    expect(feed.conn.stats.errors).toEqual({})
  })

  test('replays the price path re-encoded as today: REST seqId snapshot + prevSeqId chain', async () => {
    const books = await capturedBooks('BTC-USDT')
    const updates = books.slice(1)
    // Current wire format: no WS snapshot; seqIds are large and not consecutive.
    let seq = 12_345_678_901
    const seqs = updates.map((_, i) => (seq += 1 + (i % 4)))
    const frames = updates.map(({ msg }, i) =>
      JSON.stringify({
        arg: msg.arg,
        action: 'update',
        data: [{ ...msg.data[0]!, prevSeqId: seqs[i - 1] ?? 12_345_678_901, seqId: seqs[i] }],
      }),
    )
    const ref = new SimBook()
    applyTo(ref, books[0]!.msg)
    const SNAP_AFTER = 5 // the REST snapshot is taken after the 5th update; the client buffers 10
    for (let i = 0; i < SNAP_AFTER; i++) applyTo(ref, updates[i]!.msg)
    const level = ([p, q]: Row) => [p, q, '0', '1']
    const ts = '1652459228000'
    const snap = { asks: ref.topAsks().map(level), bids: ref.topBids().map(level), ts }
    const data = [{ ...snap, seqId: seqs[SNAP_AFTER - 1] }]
    const restBody = JSON.stringify({ code: '0', msg: '', data })
    for (let i = SNAP_AFTER; i < updates.length; i++) applyTo(ref, updates[i]!.msg)

    const sim = feeds.sim(new SimOkx([{ base: 'BTC', quote: 'USDT' }]))
    sim.holdSnapshots = true
    const feed = feeds.start(okx, sim, [BTC])
    const s = sim
    await s.server.waitFor(() => subscribed(s, 'BTC-USDT'), 3000, 'subscription')
    for (let i = 0; i < 10; i++) s.push('BTC-USDT', frames[i]!)
    const e = await bookWhere(feed, BTC, (e) => e.buffer.length === 10, 3000, 'ten buffered')
    await s.server.waitFor(() => bookRequests(s).length === 1, 3000, 'a REST request')
    expect(bookRequests(s)).toEqual(['/api/v5/market/books?instId=BTC-USDT&sz=400'])
    s.cannedSnapshots.set('BTC-USDT', restBody)
    s.releaseSnapshots()
    await bookWhere(feed, BTC)
    expect(e.lastSeq).toBe(seqs[9]!)
    for (let i = 10; i < frames.length; i++) s.push('BTC-USDT', frames[i]!)
    await bookWhere(feed, BTC, (e) => e.lastSeq === seqs.at(-1), 5000, 'the last update')

    expect(e.resyncs).toBe(0) // the recorded checksums (kept in the re-encoded frames) all passed
    expect(rows(e.book.bids)).toEqual(ref.topBids())
    expect(rows(e.book.asks)).toEqual(ref.topAsks())
    expect(bookRequests(s).length).toBe(1)
    expect(feed.conn.stats.errors).toEqual({})
  })
})

describe('okx: checksum vectors', () => {
  // okxChecksum itself is checked in checksum.test.ts; the sim's own CRC must agree with both.
  test('the sim computes the published OKX vectors independently of the adapter', async () => {
    const v = (await Bun.file(`${FIX}/vectors/okx-checksum.json`).json()) as {
      vectors: (Sides & { expected_checksum_int32_as_sent_by_okx: number })[]
      string_only_examples: (Sides & { computed_checksum_int32: number })[]
    }
    const cases = [
      ...v.vectors.map((x) => [x, x.expected_checksum_int32_as_sent_by_okx] as const),
      ...v.string_only_examples.map((x) => [x, x.computed_checksum_int32] as const),
    ]
    expect(cases.length).toBe(3)
    for (const [{ bids_descending: bids, asks_ascending: asks }, sum] of cases) {
      expect(okxChecksumOf(bids, asks)).toBe(sum)
    }
    expect(cases[0]![1]).toBe(831078360)
  })
})

describe('okx: synchronisation', () => {
  test('buffers updates while the REST snapshot is on its way and applies the ones after it', async () => {
    const { sim, feed } = simFeed([BTC])
    await sim.server.waitFor(() => subscribed(sim, 'BTC-USDT'), 3000, 'subscription')
    sim.holdSnapshots = true
    sim.update(BTC, [['59999.9', '2.00000000']], [])
    await sim.server.waitFor(() => bookRequests(sim).length === 1, 3000, 'snapshot request')
    sim.update(BTC, [], [['60000.1', '0']])
    sim.update(BTC, [['59999.95', '1.50000000']], [['60000.15', '3.00000000']])
    const e = await bookWhere(feed, BTC, (e) => e.buffer.length === 3, 3000, 'three buffered')
    expect(e.state).toBe('syncing')
    sim.releaseSnapshots()
    await bookWhere(feed, BTC)
    expectSame(feed, BTC, sim.book(BTC))
    expect(e.book.asks[0]!.pxText).toBe('60000.15')
    expect(e.lastSeq).toBe(sim.seq(BTC))
    expect(bookRequests(sim)).toEqual(['/api/v5/market/books?instId=BTC-USDT&sz=400'])
  })

  test('keep-alives (seqId === prevSeqId) and a maintenance reset (seqId < prevSeqId): no resync', async () => {
    const { sim, feed } = simFeed([BTC])
    const e = await live(feed, sim, BTC)
    const fetched = bookRequests(sim).length
    sim.keepAlive(BTC)
    sim.keepAlive(BTC)
    sim.update(BTC, [['59999.91', '1.00000000']], [])
    sim.maintenanceReset(BTC, 3, [['59999.92', '2.00000000']], [])
    expect(sim.seq(BTC)).toBe(3)
    sim.keepAlive(BTC)
    sim.update(BTC, [['59999.93', '3.00000000']], [['60000.1', '0']], { step: 2 })
    await bookWhere(feed, BTC, (e) => e.lastSeq === 5, 3000, 'the chain after the reset')
    expect(e.resyncs).toBe(0)
    expect(e.state).toBe('live')
    expectSame(feed, BTC, sim.book(BTC))
    expect(bookRequests(sim).length).toBe(fetched)
  })

  test('a lost maintenance reset (the chain goes back) resyncs instead of freezing', async () => {
    const { sim, feed } = simFeed()
    await live(feed, sim, BTC)
    await live(feed, sim, ETH)
    // One update placed after the snapshot, as on any real session before a maintenance.
    sim.update(BTC, [['59999.91', '1.00000000']], [])
    await bookWhere(feed, BTC, (e) => e.lastSeq === sim.seq(BTC), 3000, 'an update')
    const resync = feed.books.events.next('resync', (ev) => ev.entry.pair === BTC)
    sim.maintenanceReset(BTC, 3, [['59999.92', '2.00000000']], [], true)
    sim.update(BTC, [['59999.93', '3.00000000']], [], { step: 2 })
    expect((await resync).failure.kind).toBe('sequence')
    const e = await live(feed, sim, BTC)
    expect(e.lastSeq).toBe(5)
    expectSame(feed, BTC, sim.book(BTC))
    expect(feed.entry(ETH).resyncs).toBe(0)
  })

  test('a repeated update (OKX never repeats on one connection) is not applied: it resyncs', async () => {
    const { sim, feed } = simFeed([BTC])
    const e = await live(feed, sim, BTC)
    const resync = feed.books.events.next('resync', (ev) => ev.entry.pair === BTC)
    const frame = sim.update(BTC, [['59999.96', '1.00000000']], [])
    sim.update(BTC, [['59999.96', '0']], [])
    sim.push('BTC-USDT', frame)
    expect((await resync).failure.kind).toBe('sequence')
    await live(feed, sim, BTC)
    expect(e.book.bids.some((l) => l.pxText === '59999.96')).toBe(false)
    expectSame(feed, BTC, sim.book(BTC))
  })

  test('real checksums (production before 2026-06-23) are verified on every update', async () => {
    const { sim, feed } = simFeed([BTC], {}, { checksums: true })
    const e = await live(feed, sim, BTC)
    for (let i = 0; i < 30; i++) {
      const bids: Row[] = [
        [(59998 - i).toFixed(1), '0.25000000'],
        ['59999.9', i % 2 ? '0' : '1.1'],
      ]
      sim.update(BTC, bids, [[(60002 + i / 10).toFixed(1), '0.50000000']])
    }
    const last = sim.seq(BTC)
    await bookWhere(feed, BTC, (e) => e.lastSeq === last, 3000, '30 updates')
    const frame = JSON.parse(sim.update(BTC, [], [])) as { data: { checksum: number }[] }
    expect(frame.data[0]!.checksum).toBe(sim.checksumOf(BTC))
    expect(frame.data[0]!.checksum).not.toBe(0)
    expect(e.resyncs).toBe(0)
    expectSame(feed, BTC, sim.book(BTC))
  })
})

describe('okx: the older forms', () => {
  // The current form, the socket snapshot alone and a REST body without seqId are in
  // test/book/sync.test.ts (defect 3); this is the older server's complete form.
  test('an older server: socket snapshot with real checksums, REST without seqId, no REST needed', async () => {
    const options = { restSeqId: false, wsSnapshot: true, checksums: true }
    const { sim, feed } = simFeed([BTC], {}, options)
    const e = await bookWhere(feed, BTC, undefined, 3000, 'live from the WS snapshot')
    sim.update(BTC, [['59999.94', '1.00000000']], [['60000.1', '0']])
    await bookWhere(feed, BTC, (e) => e.lastSeq === sim.seq(BTC), 3000, 'an update')
    expectSame(feed, BTC, sim.book(BTC))
    expect(e.resyncs).toBe(0)
    expect(bookRequests(sim)).toEqual([])
    const body = (await (
      await fetch(`${sim.restUrl}/api/v5/market/books?instId=BTC-USDT`)
    ).json()) as { data: Record<string, unknown>[] }
    expect(Object.keys(body.data[0]!).sort()).toEqual(['asks', 'bids', 'ts'])
  })
})

describe('okx: parser', () => {
  test('unknown messages and OKX error events are counted; pongs and acks are not', async () => {
    const quick: Venue = { ...okx, limits: { ...okx.limits, pingIntervalMs: 30 } }
    const { sim, feed } = simFeed([BTC], {}, {}, quick)
    const e = await live(feed, sim, BTC)
    const pings = () => sim.server.received.filter((r) => r.text === 'ping').length
    await sim.server.waitFor(() => pings() >= 2, 3000, 'two pings answered')
    const ticker = { arg: { channel: 'tickers', instId: 'BTC-USDT' }, data: [{ last: '60000' }] }
    sim.server.send(JSON.stringify(ticker))
    sim.server.send(JSON.stringify({ event: 'channel-conn-count', connCount: '2' }))
    sim.server.send(JSON.stringify({ event: 'error', code: '60012', msg: 'Invalid request' }))
    sim.update(BTC, [['59999.97', '4.00000000']], [])
    await bookWhere(feed, BTC, (e) => e.book.bids[0]!.pxText === '59999.97', 3000, 'update')
    expect(feed.conn.stats.errors).toEqual({ 'unknown-message': 2, 'venue-error': 1 })
    expect(e.state).toBe('live')
    expect(e.resyncs).toBe(0)
    expectSame(feed, BTC, sim.book(BTC))
  })

  test('a negative or non-numeric price rejects the message and resyncs that book only', async () => {
    const { sim, feed } = simFeed()
    await live(feed, sim, BTC)
    await live(feed, sim, ETH)
    const bads: [string, string][] = [
      ['-1.0', '1.0'],
      ['abc', '1.0'],
      ['60000.0', '-5'],
      ['1e3', '1'],
    ]
    const good = ['59999.01', '1.0', '0', '1']
    await expectEachRejected(
      feed,
      BTC,
      bads,
      ([px, qty]) => sim.inject(BTC, [good, [px, qty, '0', '1']], []),
      async () => {
        await live(feed, sim, BTC)
        expectSame(feed, BTC, sim.book(BTC))
      },
    )
    expect(feed.conn.stats.errors['bad-level']).toBe(4)
    expect(feed.entry(ETH).resyncs).toBe(0)
  })
})

describe('okx: venue behaviour', () => {
  test('the 64008 service-upgrade notice triggers a planned reconnect', async () => {
    const { sim, feed } = simFeed([BTC])
    await live(feed, sim, BTC)
    await expectReconnect(feed, sim, () => sim.noticeUpgrade(), '64008')
    await live(feed, sim, BTC)
    expect(feed.conn.stats.errors).toEqual({})
  })

  test('an instrument list error is retried', async () => {
    const sim = feeds.sim(new SimOkx([{ base: 'BTC', quote: 'USDT', book: makeBook(60000) }]))
    sim.failInstruments = 1
    const feed = feeds.start(okx, sim, [BTC])
    await live(feed, sim, BTC)
    expect(feed.conn.stats.errors.instruments).toBe(1)
  })

  test('only live SPOT instruments are listed; USD is not USDT, derivatives are not spot', async () => {
    const { sim, feed } = simFeed([BTC, 'BTC/USD', 'DOGE/USDT', 'BTC/USDC'])
    const listed = await feed.conn.events.next('listed')
    expect(listed.unlisted).toEqual(['BTC/USD', 'DOGE/USDT'])
    expect([...listed.markets]).toEqual([
      [BTC, 'BTC-USDT'],
      ['BTC/USDC', 'BTC-USDC'],
    ])
    expect(sim.server.requests[0]).toBe('/api/v5/public/instruments?instType=SPOT')
    const swaps = (await (
      await fetch(`${sim.restUrl}/api/v5/public/instruments?instType=SWAP`)
    ).json()) as { data: { instId: string; state: string }[] }
    expect(swaps.data.map((i) => i.instId)).toEqual(['BTC-USD-SWAP'])
  })

  test('REST errors carry OKX bodies; market/books answers 429 (50011) past 40 requests in 2 s', async () => {
    const sim = feeds.sim(
      new SimOkx([{ base: 'BTC', quote: 'USDT', book: makeBook(60000) }], { booksPer2s: 3 }),
    )
    const books = `${sim.restUrl}/api/v5/market/books?instId=BTC-USDT&sz=5`
    sim.snapshotFaults.push({ kind: 'status', status: 500 })
    const failed = await fetch(books)
    expect([failed.status, await failed.json()]).toEqual([
      500,
      { code: '50026', msg: 'System error. Try again later', data: [] },
    ])
    const ok = (await (await fetch(books)).json()) as { code: string; data: { seqId: number }[] }
    expect(ok.code).toBe('0')
    expect(ok.data[0]!.seqId).toBe(sim.seq(BTC))
    await fetch(books)
    const limited = await fetch(books)
    expect([limited.status, await limited.json()]).toEqual([
      429,
      { code: '50011', msg: 'Too Many Requests', data: [] },
    ])
    expect(sim.limited.throttled).toBe(1)
  })
})

describe('okx: limits the simulated venue enforces', () => {
  const opened = (ws: WebSocket) =>
    new Promise<boolean>((resolve) => {
      ws.onopen = () => resolve(true)
      ws.onclose = () => resolve(false)
    })
  /** The next `n` frames a socket receives, parsed (text `pong` aside). */
  const replies = (ws: WebSocket, n: number) =>
    new Promise<{ event?: string; code?: string; msg?: string }[]>((resolve) => {
      const got: { event?: string; code?: string; msg?: string }[] = []
      ws.onmessage = (m) => got.push(JSON.parse(String(m.data))) === n && resolve(got)
    })
  const books = (instId: string) => ({ channel: 'books', instId })

  test('more than 3 new connections a second are refused with HTTP 429', async () => {
    const sim = feeds.sim(new SimOkx([{ base: 'BTC', quote: 'USDT' }]))
    const sockets = Array.from({ length: 4 }, () => new WebSocket(`${sim.wsUrl}/ws/v5/public`))
    const results = await Promise.all(sockets.map(opened))
    expect(results.filter(Boolean).length).toBe(3)
    expect(sim.limited.connects).toBe(1)
    for (const ws of sockets) ws.close()
  })

  test('480 subscribe requests a connection an hour: the next is answered 60014, not applied', async () => {
    const sim = feeds.sim(
      new SimOkx([
        { base: 'BTC', quote: 'USDT' },
        { base: 'ETH', quote: 'USDT' },
      ]),
    )
    const ws = new WebSocket(`${sim.wsUrl}/ws/v5/public`)
    await opened(ws)
    const got = replies(ws, 481)
    const frame = JSON.stringify({ op: 'subscribe', args: [books('BTC-USDT')] })
    for (let i = 0; i < 480; i++) ws.send(frame)
    ws.send(JSON.stringify({ id: 'x', op: 'subscribe', args: [books('ETH-USDT')] }))
    const all = await got
    expect(all.filter((r) => r.event === 'subscribe').length).toBe(480)
    expect(all[480]).toMatchObject({
      id: 'x',
      event: 'error',
      code: '60014',
      msg: 'Requests too frequent',
    })
    const client = [...sim.server.clients][0]!.data.id
    expect([...sim.subscriptions.get(client)!]).toEqual(['BTC-USDT'])
    expect(sim.limited.ops).toBe(1)
    ws.close()
  })

  test('a request over 64 KB closes the socket with 1009', async () => {
    const sim = feeds.sim(new SimOkx([{ base: 'BTC', quote: 'USDT' }]))
    const ws = new WebSocket(`${sim.wsUrl}/ws/v5/public`)
    await opened(ws)
    const closed = new Promise<CloseEvent>((resolve) => (ws.onclose = resolve))
    const args = Array.from({ length: 2000 }, () => books('BTC-USDT'))
    ws.send(JSON.stringify({ op: 'subscribe', args }))
    expect((await closed).code).toBe(1009)
    expect(sim.limited.frames).toBe(1)
  })

  test('market/tickers and public/instruments (per instType) answer 429 past 20 requests in 2 s', async () => {
    const sim = feeds.sim(new SimOkx([{ base: 'BTC', quote: 'USDT' }], { listsPer2s: 2 }))
    const get = async (path: string) => (await fetch(`${sim.restUrl}${path}`)).status
    const tickers = '/api/v5/market/tickers?instType=SPOT'
    const spot = '/api/v5/public/instruments?instType=SPOT'
    expect([await get(tickers), await get(tickers), await get(tickers)]).toEqual([200, 200, 429])
    expect([await get(spot), await get(spot), await get(spot)]).toEqual([200, 200, 429])
    expect(await get('/api/v5/public/instruments?instType=SWAP')).toBe(200)
    expect(sim.limited.throttled).toBe(2)
  })
})

describe('okx: the product within the limits', () => {
  test('limits as OKX publishes them: 25 books a connection, 2 connections a second, REST costs', () => {
    const { limits } = okx
    expect(limits.marketsPerConnection).toBeLessThan(30)
    expect(limits.connects.count / limits.connects.windowMs).toBeLessThan(3 / 1000)
    expect(limits.rest).toMatchObject({ weight: 40, windowMs: 2000, snapshotCost: 1 })
    const cost = (path: string) => limits.rest.cost!(new URL(`https://www.okx.com${path}`))
    expect(cost('/api/v5/market/books?instId=BTC-USDT&sz=400')).toBe(1)
    expect(cost('/api/v5/market/tickers?instType=SPOT')).toBe(2)
    expect(cost('/api/v5/public/instruments?instType=SPOT')).toBe(2)
    // A shard's subscriptions are one request (one of the 480 an hour), far under 64 KB.
    const natives = Array.from(
      { length: limits.marketsPerConnection },
      (_, i) => `A${i}XYZABCD-USDT`,
    )
    const frames = okx.subscribe(natives)
    expect(frames.length).toBe(1)
    expect(Buffer.byteLength(frames[0]!)).toBeLessThan(64 * 1024)
    expect((JSON.parse(frames[0]!) as { args: unknown[] }).args.length).toBe(natives.length)
  })

  test('a shard of 25 markets comes live from one subscribe request and 25 snapshots, nothing refused', async () => {
    const n = okx.limits.marketsPerConnection
    const bases = Array.from({ length: n }, (_, i) => `C${i}`)
    const sim = feeds.sim(
      new SimOkx(bases.map((base) => ({ base, quote: 'USDT', book: makeBook(100, 5, 0.01) }))),
    )
    const pairs = bases.map((b) => `${b}/USDT`)
    const feed = feeds.start(okx, sim, pairs)
    for (const pair of pairs) await live(feed, sim, pair)
    const ops = sim.server.received.filter((r) => r.text.includes('"op":"subscribe"'))
    expect(ops.length).toBe(1)
    expect(bookRequests(sim).length).toBe(n)
    expect(bookRequests(sim).every((r) => r.endsWith(`&sz=${OKX_BOOK_DEPTH}`))).toBe(true)
    expect(sim.limited).toEqual({ throttled: 0, connects: 0, ops: 0, frames: 0 })
  })
})

describe('okx: 24 h volumes', () => {
  test('fetchVolumes reads volCcy24h of the live SPOT markets from market/tickers', async () => {
    const sim = feeds.sim(
      new SimOkx([
        { base: 'BTC', quote: 'USDT', book: makeBook(60000), volume24h: 525_802_090.5 },
        { base: 'ETH', quote: 'USDC', book: makeBook(3000), volume24h: 1_000 },
        { base: 'DOGE', quote: 'USDT', trading: false, volume24h: 5 },
        { base: 'BTC', quote: 'USD', instType: 'SWAP', volume24h: 7 },
      ]),
    )
    const signal = AbortSignal.timeout(3000)
    const volumes = await okx.fetchVolumes!(sim.restUrl, { fetch, signal })
    expect([...volumes]).toEqual([
      [BTC, 525_802_090.5],
      ['ETH/USDC', 1_000],
    ])
    expect(sim.server.requests).toContain('/api/v5/market/tickers?instType=SPOT')
  })

  test('the recorded ticker rows parse; derivatives and rows without a usable volume are skipped', async () => {
    // The 2022 capture's `tickers` pushes carry the rows GET market/tickers lists: the last of
    // each instrument, as the REST answer would give it, and some a venue could send wrong.
    const lines = await readLines(`${FIX}/okx/OKX_ws_1_0.frames.jsonl`)
    const last = new Map<string, Record<string, unknown>>()
    for (const l of lines) {
      const m = JSON.parse(l) as { arg?: { channel?: string }; data?: Record<string, unknown>[] }
      if (m.arg?.channel === 'tickers' && m.data?.[0]) last.set(String(m.data[0].instId), m.data[0])
    }
    expect([...last.keys()].sort()).toEqual(['BTC-USD-220527', 'BTC-USDT', 'UNI-USD-SWAP'])
    const rows = [
      ...last.values(),
      { instType: 'SPOT', instId: 'ETH-USDT', volCcy24h: '-3' },
      { instType: 'SPOT', instId: 'SOL-USDT' },
      null,
    ]
    const instruments = ['BTC-USDT', 'ETH-USDT', 'SOL-USDT'].map((instId) => ({
      instType: 'SPOT',
      instId,
      baseCcy: instId.split('-')[0],
      quoteCcy: 'USDT',
      state: 'live',
    }))
    const fake = (async (input: string | URL | Request) => {
      const data = String(input).includes('/public/instruments') ? instruments : rows
      return Response.json({ code: '0', msg: '', data })
    }) as typeof fetch
    const signal = AbortSignal.timeout(3000)
    const volumes = await okx.fetchVolumes!('http://okx.test', { fetch: fake, signal })
    expect([...volumes]).toEqual([[BTC, Number(last.get('BTC-USDT')!.volCcy24h)]])
    expect(volumes.get(BTC)).toBeGreaterThan(5e8)
  })
})

describe('okx: fast path', () => {
  const markets = new Map([
    ['BTC-USDT', 'BTC/USDT'],
    ['ETH-USDT', 'ETH/USDT'],
  ])
  const paths = () => ({
    parser: okx.createParser(markets),
    reference: createJsonParser(markets),
    fast: createFastParser(markets),
  })

  test('every captured frame, as recorded (2022) and with seqIds added (today), reads the same on both paths', async () => {
    const lines = await readLines(`${FIX}/okx/OKX_ws_1_0.frames.jsonl`)
    // Today's form: the same pushes chained by prevSeqId/seqId (appended after `checksum`).
    let seqId = 1000
    const today = lines
      .map((l) => JSON.parse(l) as { arg?: { channel?: string }; data?: Record<string, unknown>[] })
      .filter((m) => m.arg?.channel === 'books' && m.data !== undefined)
      .map((m) => {
        const data = m.data!.map((d) => ({ ...d, prevSeqId: seqId, seqId: (seqId += 3) }))
        return JSON.stringify({ ...m, data })
      })
    expect(today.length).toBeGreaterThan(100)
    const { parser, reference, fast } = paths()
    // The scanner reads every BTC-USDT push of today's form (the 2022 ones, without seqId, and
    // the derivatives nobody subscribed are left to JSON.parse).
    const scanned = expectSameAsJsonPath([...lines, ...today, 'pong'], parser, reference, { fast })
    expect(scanned).toBe(today.filter((f) => f.includes('"instId":"BTC-USDT"')).length + 1)
  })

  test('the bench stream (with and without checksums) reads the same on both paths', () => {
    const frames = [...okxFeed(2000).frames, ...okxFeed(1000, { checksums: true }).frames]
    const { parser, reference, fast } = paths()
    expectSameAsJsonPath(frames, parser, reference, { fast, minFast: frames.length })
  })

  test('the checksum, kept per level, matches an independent CRC-32 after every change', () => {
    const rand = random(6)
    const book = createBook()
    for (let i = 0; i < 4000; i++) {
      const bid = rand() < 0.5
      const px = (
        bid ? 100 - Math.floor(rand() * 40) / 10 : 100.1 + Math.floor(rand() * 40) / 10
      ).toFixed(1)
      const qty = rand() < 0.3 ? '0' : (rand() * 10).toFixed(Math.floor(rand() * 8))
      applyDelta(book, bid ? [toLevel(px, qty)] : [], bid ? [] : [toLevel(px, qty)])
      const top = (side: readonly Level[]): Row[] =>
        side.slice(0, 25).map((l) => [l.pxText, l.qtyText])
      expect(okxChecksum(book)).toBe(okxChecksumOf(top(book.bids), top(book.asks)))
    }
  })

  test('malformed or unusual frames are rejected (or read) as the JSON.parse path does', () => {
    const [update] = okxFeed(3).frames
    const frames = [
      ...variantsOf(update!, 3),
      update!.replace('"update"', '"snapshot"').replace(/"prevSeqId":\d+/, '"prevSeqId":-1'),
      update!.replace(/"checksum":0/, '"checksum":-855196043'),
      update!.replace(/"checksum":0/, '"checksum":-0'),
      update!.replace(/"ts":"\d+"/, '"ts":"0"'),
      update!.replace(/"seqId":\d+/, '"seqId":-5'),
      update!.replace('"update"', '"partial"'),
      update!.replace('"books"', '"books5"'),
      update!.replace('"BTC-USDT"', '"SOL-USDT"'),
      update!.replace('"data":[', `"data":[${update!.slice(update!.indexOf('"data":[') + 8, -2)},`),
      '{"event":"subscribe","arg":{"channel":"books","instId":"BTC-USDT"},"connId":"a4d3ae55"}',
    ]
    const { parser, reference } = paths()
    expectSameAsJsonPath(frames, parser, reference)
  })
})
