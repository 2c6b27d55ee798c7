import { afterEach, describe, expect, test } from 'bun:test'
import { Books, type BookEntry, type BooksEvent } from '../../src/book/books.ts'
import { applySnapshot, applyUpdate, placeTop, settleTop } from '../../src/book/sync.ts'
import { listBooks } from '../../src/api/status.ts'
import { binance } from '../../src/venues/binance/index.ts'
import type { SimBinance } from '../../src/venues/binance/sim.ts'
import { okx } from '../../src/venues/okx/index.ts'
import { SimOkx } from '../../src/venues/okx/sim.ts'
import { makeBook, SimBook, type Row } from '../../src/venues/sim/book.ts'
import {
  toLevels,
  type DeltaEvent,
  type SnapshotEvent,
  type SyncRules,
  type TopEvent,
  type Venue,
} from '../../src/venues/venue.ts'
import { bookWhere, rows, startFeed, type Feed } from '../support.ts'

const FIX = `${import.meta.dir}/../fixtures`

const snap = (seq: number | undefined, bids: Row[], asks: Row[]): SnapshotEvent => ({
  type: 'snapshot',
  pair: 'BTC/USDT',
  seq,
  bids: toLevels(bids),
  asks: toLevels(asks),
})
const delta = (
  prevSeq: number | undefined,
  seq: number | undefined,
  bids: Row[] = [],
  asks: Row[] = [],
): DeltaEvent => ({
  type: 'delta',
  pair: 'BTC/USDT',
  prevSeq,
  seq,
  bids: toLevels(bids),
  asks: toLevels(asks),
})

const CHAIN_REST: SyncRules = { snapshot: 'rest', sequence: 'chain', detectsGaps: true }
const STAMP_REST: SyncRules = { snapshot: 'rest', sequence: 'stamp', detectsGaps: false }
const NONE_WS: SyncRules = { snapshot: 'ws', sequence: 'none', detectsGaps: false }

function entry(): BookEntry {
  return new Books().addVenue('v', ['BTC/USDT']).get('BTC/USDT')!
}

describe('the sync rules (pure)', () => {
  test('buffers until the snapshot, drops what it already holds, applies the rest', () => {
    const e = entry()
    expect(applyUpdate(e, CHAIN_REST, delta(99, 101, [['10', '1']]), 100).kind).toBe('buffered')
    applyUpdate(e, CHAIN_REST, delta(101, 103, [['11', '1']]), 100)
    applyUpdate(e, CHAIN_REST, delta(103, 104, [['12', '1']]), 100)
    expect(applySnapshot(e, CHAIN_REST, snap(102, [['9', '1']], [['20', '1']]), true).kind).toBe(
      'applied',
    )
    expect(e.lastSeq).toBe(104)
    // 101 was inside the snapshot (dropped); 103 straddles 102 and 104 follows.
    expect(rows(e.book.bids)).toEqual([
      ['12', '1'],
      ['11', '1'],
      ['9', '1'],
    ])
  })

  test('once aligned, every update must follow the last exactly', () => {
    const e = entry()
    applySnapshot(e, CHAIN_REST, snap(10, [['9', '1']], [['20', '1']]), true)
    expect(applyUpdate(e, CHAIN_REST, delta(10, 15, [['9.5', '1']]), 100).kind).toBe('applied')
    expect(applyUpdate(e, CHAIN_REST, delta(15, 15), 100).kind).toBe('applied') // OKX: no change
    expect(applyUpdate(e, CHAIN_REST, delta(15, 3, [['9.6', '1']]), 100).kind).toBe('applied') // reset
    expect(applyUpdate(e, CHAIN_REST, delta(3, 5, [['9.7', '1']]), 100).kind).toBe('applied')
    const back = applyUpdate(e, CHAIN_REST, delta(4, 6), 100)
    expect(back.kind === 'failed' && back.failure.kind).toBe('sequence')
    const gap = applyUpdate(e, CHAIN_REST, delta(7, 8), 100)
    expect(gap.kind === 'failed' && [gap.failure.expected, gap.failure.got]).toEqual([5, 7])
  })

  test('stamped updates (Bitstamp): at or before the snapshot are dropped; an older snapshot is refused', () => {
    const e = entry()
    applyUpdate(e, STAMP_REST, delta(undefined, 100, [['8', '1']]), 100)
    applyUpdate(e, STAMP_REST, delta(undefined, 200, [['10', '1']]), 100)
    expect(applySnapshot(e, STAMP_REST, snap(90, [['9', '1']], [['20', '1']]), true).kind).toBe(
      'refetch',
    )
    expect(applySnapshot(e, STAMP_REST, snap(150, [['9', '1']], [['20', '1']]), true).kind).toBe(
      'applied',
    )
    expect(rows(e.book.bids)).toEqual([
      ['10', '1'],
      ['9', '1'],
    ])
  })

  test('socket venues ignore updates before their snapshot, which always replaces the book', () => {
    const e = entry()
    expect(applyUpdate(e, NONE_WS, delta(undefined, undefined, [['10', '1']]), 100).kind).toBe(
      'ignored',
    )
    applySnapshot(e, NONE_WS, snap(undefined, [['9', '1']], [['20', '1']]), false)
    applySnapshot(e, NONE_WS, snap(undefined, [['8', '1']], [['21', '1']]), false)
    expect(rows(e.book.bids)).toEqual([['8', '1']])
  })

  test('checksums are verified after applying, and depth is truncated first', () => {
    const e = entry()
    const rules: SyncRules = {
      ...NONE_WS,
      maxDepth: 1,
      checksum: (b) => Bun.hash.crc32(b.bids.map((l) => l.pxText + l.qtyText).join('')) >>> 0,
    }
    const ok = {
      ...snap(
        undefined,
        [
          ['9.0', '1.0'],
          ['8.0', '1.0'],
        ],
        [['20.0', '1.0']],
      ),
    }
    expect(
      applySnapshot(e, rules, { ...ok, checksum: Bun.hash.crc32('9.01.0') >>> 0 }, false).kind,
    ).toBe('applied')
    expect(rows(e.book.bids)).toEqual([['9.0', '1.0']])
    const bad = applyUpdate(e, rules, { ...delta(undefined, undefined), checksum: 123 }, 100)
    expect(bad.kind === 'failed' && bad.failure.kind).toBe('checksum')
  })

  test('a crossed book is a failure, never applied as live', () => {
    const e = entry()
    applySnapshot(e, CHAIN_REST, snap(1, [['9', '1']], [['20', '1']]), true)
    const out = applyUpdate(e, CHAIN_REST, delta(1, 2, [['25', '1']]), 100)
    expect(out.kind === 'failed' && out.failure).toMatchObject({ kind: 'crossed', got: '25' })
  })
})

// ---------------------------------------------------------------------------------------------
// The defects found on real venue sessions: each replays the real recorded frames.

interface DepthFrame {
  stream: string
  data: { e: string; s: string; U: number; u: number; b: Row[]; a: Row[] }
}

/** The recorded NKNUSDT session: its REST snapshot and its diff frames, in order. */
async function nknSession() {
  const snapshots = (await Bun.file(`${FIX}/binance/BINANCE_http_0_0.rest_snapshots.jsonl`).text())
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { url: string; body: string })
  const body = snapshots.find((s) => s.url.includes('NKNUSDT'))!.body
  const frames = (await Bun.file(`${FIX}/binance/BINANCE_ws_1_0.frames.jsonl`).text())
    .trim()
    .split('\n')
    .filter((f) => f.includes('"nknusdt@depth@100ms"'))
  const snapshot = JSON.parse(body) as { lastUpdateId: number; bids: Row[]; asks: Row[] }
  // The frames after the snapshot, as the venue applied them.
  const after = frames.filter((f) => (JSON.parse(f) as DepthFrame).data.u > snapshot.lastUpdateId)
  return { body, snapshot, frames: after }
}

/** The venue's own book: the snapshot plus every frame up to `upTo` (inclusive), applied in order. */
function venueBook(snapshot: { bids: Row[]; asks: Row[] }, frames: string[], upTo: number) {
  const book = new SimBook(snapshot.bids, snapshot.asks)
  let u = 0
  for (let i = 0; i <= upTo; i++) {
    const { data } = JSON.parse(frames[i]!) as DepthFrame
    book.apply(data.b, data.a)
    u = data.u
  }
  return { book, u }
}

let sim: SimBinance | SimOkx | undefined
let feed: Feed | undefined
afterEach(async () => {
  await feed?.stop()
  sim?.stop()
  feed = sim = undefined
})

/** The feed's book events, with the sequence each book was at when it happened. */
function record(f: Feed): { type: BooksEvent['type']; seq: number | undefined }[] {
  const seen: { type: BooksEvent['type']; seq: number | undefined }[] = []
  f.books.events.on((e) => 'entry' in e && seen.push({ type: e.type, seq: e.entry.lastSeq }))
  return seen
}

describe('defect 1: a stale book never goes live after a gap (real Binance session)', () => {
  test('the update that reveals the gap stays buffered; a snapshot older than it is fetched again', async () => {
    const { body, snapshot, frames } = await nknSession()
    expect(frames.length).toBeGreaterThan(100)
    const pair = 'NKN/USDT'
    sim = binance.simulate([{ base: 'NKN', quote: 'USDT' }]) as SimBinance
    sim.cannedSnapshots.set('NKNUSDT', body)
    feed = startFeed(binance, sim, [pair])
    const seen = record(feed)
    await feed.conn.events.next('up')
    await sim.server.waitFor(() => sim!.server.clients.size === 1, 3000, 'a client')
    // The first 40 frames arrive; the book goes live from the recorded snapshot.
    const lostAt = 40
    for (let i = 0; i < lostAt; i++) sim.server.send(frames[i]!)
    const atLost = venueBook(snapshot, frames, lostAt - 1)
    await bookWhere(feed, pair, (e) => e.state === 'live' && e.lastSeq === atLost.u)
    // Frame 40 is lost; frame 41 reveals the gap. The venue's cache still answers with the
    // recorded snapshot, older than everything the client holds.
    const refused = feed.books.events.next('snapshot-rejected')
    sim.server.send(frames[lostAt + 1]!)
    expect((await refused).action).toBe('refetch')
    const e = feed.entry(pair)
    expect(e.state).toBe('syncing')
    expect(e.buffer.map((d) => d.seq)).toEqual([venueBook(snapshot, frames, lostAt + 1).u])
    // Then the venue answers with a snapshot new enough to join the buffer: the truth at 41.
    const truth = venueBook(snapshot, frames, lostAt + 1)
    sim.cannedSnapshots.set(
      'NKNUSDT',
      JSON.stringify({
        lastUpdateId: truth.u,
        bids: truth.book.topBids(),
        asks: truth.book.topAsks(),
      }),
    )
    await bookWhere(feed, pair, (x) => x.state === 'live' && x.lastSeq === truth.u, 5000)
    for (let i = lostAt + 2; i < frames.length; i++) sim.server.send(frames[i]!)
    const end = venueBook(snapshot, frames, frames.length - 1)
    await bookWhere(feed, pair, (x) => x.lastSeq === end.u)
    expect(rows(e.book.bids)).toEqual(end.book.topBids())
    expect(rows(e.book.asks)).toEqual(end.book.topAsks())
    // Every time the book went live it was at or past the newest update it had received.
    const lives = seen.filter((x) => x.type === 'live').map((x) => x.seq)
    expect(lives).toEqual([atLost.u, truth.u])
  })
})

describe('defect 4: a late snapshot never rewinds a live book', () => {
  test('a REST snapshot older than the live book is discarded; the book stays live and exact', async () => {
    const { snapshot, frames } = await nknSession()
    const e = entry()
    const rules = binance.sync
    const toSnap = (s: typeof snapshot): SnapshotEvent => ({
      ...snap(s.lastUpdateId, s.bids, s.asks),
      pair: e.pair,
    })
    applySnapshot(e, rules, toSnap(snapshot), true)
    const parse = binance.createParser(new Map([['NKNUSDT', e.pair]]))
    for (const f of frames) {
      for (const ev of parse(f, 0)) if (ev.type === 'delta') applyUpdate(e, rules, ev, 100)
    }
    const end = venueBook(snapshot, frames, frames.length - 1)
    // The answer to a request repeated while the first was slow arrives now, long after.
    const late = applySnapshot(e, rules, toSnap(snapshot), true)
    expect(late.kind).toBe('discarded')
    expect(e.lastSeq).toBe(end.u)
    expect(rows(e.book.bids)).toEqual(end.book.topBids())
    expect(rows(e.book.asks)).toEqual(end.book.topAsks())
  })

  test('with snapshots queued behind the REST budget, no live book is invalidated', async () => {
    const venue: Venue = {
      ...binance,
      limits: { ...binance.limits, rest: { ...binance.limits.rest, weight: 25, windowMs: 200 } },
    }
    const bases = Array.from({ length: 30 }, (_, i) => `C${i}`)
    sim = venue.simulate(
      bases.map((base, i) => ({ base, quote: 'USDT', book: makeBook(10 + i, 10, 0.01) })),
    ) as SimBinance
    const pairs = bases.map((b) => `${b}/USDT`)
    feed = startFeed(venue, sim, pairs, { snapshotTimeoutMs: 200 })
    const seen = record(feed)
    await feed.conn.events.next('up')
    // Every market keeps moving while its snapshot waits in the queue.
    const f = feed
    const s = sim
    const live = () => pairs.every((p) => f.entry(p).state === 'live')
    for (let n = 0; !live() && n < 200; n++) {
      for (const p of pairs) s.update(p, [[s.book(p).topBids(1)[0]![0], `${n + 1}.0`]], [])
      await bookWhere(f, pairs[0]!, () => live(), 50).catch(() => {})
    }
    expect(live()).toBe(true)
    expect(seen.filter((x) => x.type === 'invalid' || x.type === 'resync')).toEqual([])
  })
})

describe('defect 3: OKX books sync in every form OKX sends, or say why not', () => {
  async function okxFeed(options: { restSeqId?: boolean; wsSnapshot?: boolean }) {
    sim = new SimOkx([{ base: 'BTC', quote: 'USDT', book: makeBook(60000, 20, 0.1) }], options)
    feed = startFeed(okx, sim, ['BTC/USDT'], { snapshotTimeoutMs: 300 })
    await feed.conn.events.next('up')
    return { sim: sim as SimOkx, feed }
  }
  const nudge = (s: SimOkx, n: number) =>
    s.update('BTC/USDT', [[s.book('BTC/USDT').topBids(1)[0]![0], `${n + 1}.0`]], [])

  test('current form: updates only, then the REST snapshot with seqId', async () => {
    const { sim, feed } = await okxFeed({})
    for (let n = 0; feed.entry('BTC/USDT').state !== 'live'; n++) {
      nudge(sim, n)
      await bookWhere(feed, 'BTC/USDT', undefined, 200).catch(() => {})
    }
    expect(rows(feed.entry('BTC/USDT').book.bids)).toEqual(sim.book('BTC/USDT').topBids(400))
  })

  test('older servers: the socket snapshot with seqId is enough, no REST needed', async () => {
    const { sim, feed } = await okxFeed({ wsSnapshot: true })
    const e = await bookWhere(feed, 'BTC/USDT')
    expect(rows(e.book.asks)).toEqual(sim.book('BTC/USDT').topAsks(400))
    nudge(sim, 1)
    await bookWhere(feed, 'BTC/USDT', (x) => x.updates >= 2)
    expect(rows(e.book.bids)).toEqual(sim.book('BTC/USDT').topBids(400))
  })

  test('a REST body without seqId cannot be aligned: the book stays syncing and /api/status says why', async () => {
    const { sim, feed } = await okxFeed({ restSeqId: false })
    const refused = feed.books.events.next('snapshot-rejected')
    nudge(sim, 0)
    expect((await refused).why).toContain('no sequence id')
    const query = { venue: 'okx', pair: (p: string) => p === 'BTC/USDT', page: 1, limit: 1 }
    const [book] = listBooks([feed.conn], feed.books, Date.now(), query).books
    expect(book!.state).toBe('syncing')
    expect(book!.syncNote).toContain('no sequence id')
  })
})

describe('a sequence that went back without saying so', () => {
  test('after a lost OKX maintenance reset, updates behind the snapshot end in a resync, not a frozen book', () => {
    const e = entry()
    applySnapshot(e, okx.sync, snap(5000, [['9', '1']], [['20', '1']]), true)
    const outcomes = new Set<string>()
    for (let seq = 3; seq < 3 + 2 * 101; seq += 2) {
      outcomes.add(applyUpdate(e, okx.sync, delta(seq, seq + 2, [['9.5', '1']]), 100).kind)
    }
    expect([...outcomes]).toEqual(['ignored', 'failed'])
  })
})

describe('the cross-check against an independent channel (pure)', () => {
  const top = (seq: number, bid: Row, ask: Row): TopEvent => ({
    type: 'top',
    pair: 'BTC/USDT',
    seq,
    bid: toLevels([bid])[0],
    ask: toLevels([ask])[0],
  })
  const liveAt = (seq: number): BookEntry => {
    const e = entry()
    applySnapshot(e, CHAIN_REST, snap(seq, [['9', '1']], [['20', '1']]), true)
    e.state = 'live'
    return e
  }

  test("compared only at exactly the book's sequence; held while ahead, dropped once passed", () => {
    const e = liveAt(10)
    expect(placeTop(e, top(10, ['9', '1.0'], ['20', '1'])).kind).toBe('matched')
    expect(placeTop(e, top(9, ['1', '1'], ['2', '1'])).kind).toBe('skipped') // behind: never
    expect(placeTop(e, top(12, ['9', '1'], ['20', '1'])).kind).toBe('pending')
    applyUpdate(e, CHAIN_REST, delta(10, 11), 100)
    expect(settleTop(e)).toBeUndefined() // not there yet
    applyUpdate(e, CHAIN_REST, delta(11, 12), 100)
    expect(settleTop(e)?.kind).toBe('matched')
    expect(e.pendingTop).toBeUndefined()
    placeTop(e, top(13, ['1', '1'], ['2', '1'])) // wrong, but the book jumps past it
    applyUpdate(e, CHAIN_REST, delta(12, 15), 100)
    expect(settleTop(e)?.kind).toBe('skipped')
  })

  test("with a cross sequence (Bybit seq) tops are placed against the book's crossSeq, not its seq", () => {
    const WS_CHAIN: SyncRules = { snapshot: 'ws', sequence: 'chain', detectsGaps: true }
    const e = entry()
    applySnapshot(e, WS_CHAIN, { ...snap(10, [['9', '1']], [['20', '1']]), crossSeq: 500 }, false)
    e.state = 'live'
    expect(e.crossSeq).toBe(500)
    // At the book's update id, far behind its cross sequence: never compared.
    expect(placeTop(e, top(10, ['1', '1'], ['2', '1'])).kind).toBe('skipped')
    expect(placeTop(e, top(500, ['9', '1'], ['20', '1'])).kind).toBe('matched')
    expect(placeTop(e, top(501, ['1', '1'], ['2', '1'])).kind).toBe('pending')
    applyUpdate(e, WS_CHAIN, { ...delta(10, 11, [['9', '2']]), crossSeq: 503 }, 100)
    expect(e.lastSeq).toBe(11)
    expect(settleTop(e)?.kind).toBe('skipped') // the book went from 500 to 503: never at 501
    expect(placeTop(e, top(503, ['9', '1'], ['20', '1']))).toMatchObject({
      kind: 'failed',
      failure: {
        kind: 'cross-check',
        detail: 'cross-check at 503: venue best bid 9 x 1, book 9 x 2',
      },
    })
  })

  test('a different price or quantity on either side at the same sequence is a cross-check failure', () => {
    const e = liveAt(10)
    const bid = placeTop(e, top(10, ['9', '2'], ['20', '1']))
    expect(bid).toMatchObject({
      kind: 'failed',
      failure: { kind: 'cross-check', expected: '9 x 2', got: '9 x 1' },
    })
    const ask = placeTop(e, top(10, ['9', '1'], ['19', '1']))
    expect(ask.kind === 'failed' && ask.failure.detail).toBe(
      'cross-check at 10: venue best ask 19 x 1, book 20 x 1',
    )
    const empty: TopEvent = {
      type: 'top',
      pair: 'BTC/USDT',
      seq: 10,
      bid: toLevels([['9', '1']])[0],
    }
    expect(placeTop(e, empty).kind).toBe('failed') // the venue has no ask, the book has one
    e.state = 'syncing'
    expect(placeTop(e, top(10, ['1', '1'], ['2', '1'])).kind).toBe('pending') // not live: held
  })
})

describe('a lost subscription is sent again, in as few frames as the venue allows', () => {
  test('OKX: the books one sweep finds unconfirmed go out in one subscribe request', async () => {
    const bases = ['BTC', 'ETH', 'SOL', 'XRP']
    sim = new SimOkx(
      bases.map((base, i) => ({ base, quote: 'USDT', book: makeBook(100 + i, 5, 0.01) })),
    )
    const s = sim
    // The first subscribe request never arrives (each of OKX's requests counts, 480 an hour).
    let lost = 0
    s.server.loseClientFrames = (text) => text.includes('"subscribe"') && lost++ === 0
    const pairs = bases.map((b) => `${b}/USDT`)
    feed = startFeed(okx, s, pairs, { snapshotTimeoutMs: 200 })
    const f = feed
    await s.server.waitFor(
      () => s.server.received.some((r) => r.text.includes('"subscribe"')),
      5000,
      'the subscribe sent again',
    )
    const again = s.server.received.filter((r) => r.text.includes('"subscribe"'))
    expect(again).toHaveLength(1)
    const args = (JSON.parse(again[0]!.text) as { args: { instId: string }[] }).args.map(
      (a) => a.instId,
    )
    expect(args.sort()).toEqual(['BTC-USDT', 'ETH-USDT', 'SOL-USDT', 'XRP-USDT'])
    for (const p of pairs) {
      for (let n = 0; f.entry(p).state !== 'live'; n++) {
        s.update(p, [[s.book(p).topBids(1)[0]![0], `${n + 1}.5`]], [])
        await bookWhere(f, p, (e) => e.state === 'live', 200).catch(() => {})
      }
    }
    expect(f.conn.stats.errors.resubscribe).toBe(4)
  })
})
