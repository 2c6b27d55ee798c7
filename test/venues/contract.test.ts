/**
 * The venue contract: every registered venue, through its simulated venue on 127.0.0.1, keeps
 * exact books through the faults real venues produce. A venue added to the registry is covered
 * here with no test edits; what a venue cannot do (detect a lost message, send a checksum, seed
 * from REST) is read from its own sync rules.
 */
import { describe, expect, test } from 'bun:test'
import type { BookEntry } from '../../src/book/books.ts'
import { isCrossed } from '../../src/book/book.ts'
import { VENUES as REGISTERED } from '../../src/venues/index.ts'
import { makeBook, type Row, type SimBook } from '../../src/venues/sim/book.ts'
import type { SnapshotFault, SimVenue } from '../../src/venues/sim/venue.ts'
import type { Venue } from '../../src/venues/venue.ts'
import { Books } from '../../src/book/books.ts'
import { VenueFeed } from '../../src/venues/feed.ts'
import {
  bookWhere,
  rows,
  silent,
  stopAfterEach,
  until,
  useFeeds,
  type Feed,
  type FeedOptions,
} from '../support.ts'

/**
 * Every registered venue, plus those named in `CONTRACT_EXTRA` (venue folder names, comma-separated):
 * a venue being built runs the same contract before its registry line is added.
 */
const VENUES: readonly Venue[] = [
  ...REGISTERED,
  ...(await Promise.all(
    (process.env.CONTRACT_EXTRA ?? '')
      .split(',')
      .filter(Boolean)
      .map(async (id) => (await import(`../../src/venues/${id}/index.ts`))[id] as Venue),
  )),
]

/** A client frame that subscribes, in any venue's words (`subscribe`, MEXC `SUBSCRIPTION`, HTX `sub`). */
const SUBSCRIBE = /subscri|"sub"/i

const BTC = 'BTC/USDT'
const ETH = 'ETH/USDT'

const feeds = useFeeds()

function start(venue: Venue, options: FeedOptions = {}, pairs = [BTC, ETH]) {
  const sim = feeds.sim(
    venue.simulate([
      { base: 'BTC', quote: 'USDT', book: makeBook(60000, 20, 0.1) },
      { base: 'ETH', quote: 'USDT', book: makeBook(3000, 20, 0.01) },
    ]),
  )
  const feed = feeds.start(venue, sim, pairs, { snapshotTimeoutMs: 300, ...options })
  return { sim, feed }
}

/** True when the client's book is level for level the venue's (within the subscribed depth). */
function same(e: BookEntry, book: SimBook, depth = Infinity): boolean {
  if (e.state !== 'live') return false
  return (
    Bun.deepEquals(rows(e.book.bids), book.topBids(depth)) &&
    Bun.deepEquals(rows(e.book.asks), book.topAsks(depth))
  )
}

/** Waits until the book is live and exactly the venue's, nudging quiet REST venues with updates. */
async function exact(venue: Venue, s: SimVenue, f: Feed, pair: string, timeoutMs = 5000) {
  const depth = venue.sync.maxDepth ?? Infinity
  const deadline = Date.now() + timeoutMs
  for (;;) {
    try {
      const e = await bookWhere(f, pair, (e) => same(e, s.book(pair), depth), 400, `${pair} exact`)
      expect(rows(e.book.bids)).toEqual(s.book(pair).topBids(depth))
      expect(rows(e.book.asks)).toEqual(s.book(pair).topAsks(depth))
      return e
    } catch (err) {
      if (Date.now() > deadline) throw err
      // A REST venue seeds a book when an update arrives; a quiet one gets one here.
      const best = s.book(pair).topBids(1)[0]
      if (best && f.conn.stats.state === 'connected') s.update(pair, [[best[0], bump(best[1])]], [])
    }
  }
}

const bump = (qty: string): string => (Number(qty) + 0.125).toFixed(8)

/** A change a little inside the book: a new bid one tick under the best, and an ask removed. */
function change(s: SimVenue, pair: string, n: number): { bids: Row[]; asks: Row[] } {
  const [bestBid] = s.book(pair).topBids(1)
  const asks = s.book(pair).topAsks(3)
  const tick = pair === BTC ? 0.1 : 0.01
  const px = (Number(bestBid![0]) - tick / 2).toFixed(pair === BTC ? 2 : 3)
  return { bids: [[px, (1 + n / 8).toFixed(8)]], asks: n % 2 === 0 ? [[asks[2]![0], '0']] : [] }
}

for (const venue of VENUES) {
  // Books seeded beside the stream: from REST, or by a request on the socket (HTX `req`).
  const seeded = venue.sync.snapshot !== 'ws'
  describe(`${venue.name} contract`, () => {
    test('builds every book from its snapshot and keeps it exact through updates', async () => {
      const { sim, feed } = start(venue)
      await exact(venue, sim, feed, BTC)
      await exact(venue, sim, feed, ETH)
      const crossed: string[] = []
      feed.books.events.on((e) => {
        if (e.type === 'update' && isCrossed(e.entry.book)) crossed.push(e.entry.pair)
      })
      for (let n = 0; n < 25; n++) {
        const pair = n % 3 === 0 ? ETH : BTC
        const { bids, asks } = change(sim, pair, n)
        sim.update(pair, bids, asks)
      }
      await exact(venue, sim, feed, BTC)
      await exact(venue, sim, feed, ETH)
      expect(crossed).toEqual([])
      expect(feed.entry(BTC).resyncs).toBe(0)
    })

    if (venue.sync.detectsGaps) {
      test('a lost message is noticed: that book resyncs and comes back exact', async () => {
        const { sim, feed } = start(venue)
        await exact(venue, sim, feed, BTC)
        await exact(venue, sim, feed, ETH)
        const resync = feed.books.events.next('resync', (e) => e.entry.pair === BTC)
        const lost = change(sim, BTC, 1)
        sim.lose(BTC, lost.bids, lost.asks)
        const [bestAsk] = sim.book(BTC).topAsks(1)
        sim.update(BTC, [], [[bestAsk![0], bump(bestAsk![1])]])
        const { failure } = await resync
        expect(['sequence', 'checksum']).toContain(failure.kind)
        await exact(venue, sim, feed, BTC)
        await exact(venue, sim, feed, ETH)
      })
    } else {
      test('without gap detection, unreadable input re-seeds the books, which come back exact', async () => {
        const { sim, feed } = start(venue)
        await exact(venue, sim, feed, BTC)
        const resync = feed.books.events.next('resync', (e) => e.entry.pair === BTC)
        sim.server.send('{"this is not": json')
        expect((await resync).failure.kind).toBe('bad-input')
        await exact(venue, sim, feed, BTC)
      })
    }

    if (venue.sync.checksum !== undefined) {
      test('a wrong checksum resyncs that book only', async () => {
        const { sim, feed } = start(venue)
        await exact(venue, sim, feed, BTC)
        await exact(venue, sim, feed, ETH)
        expect(sim.corruptChecksum).toBeDefined()
        const resync = feed.books.events.next('resync')
        sim.corruptChecksum!(BTC)
        const { entry, failure } = await resync
        expect([entry.pair, failure.kind]).toEqual([BTC, 'checksum'])
        expect(typeof failure.expected).toBe('number')
        await exact(venue, sim, feed, BTC)
        expect(feed.entry(ETH).resyncs).toBe(0)
      })
    }

    if (venue.sync.topChannel !== undefined) {
      test(`a top changed without its book message is caught against ${venue.sync.topChannel}`, async () => {
        const { sim, feed } = start(venue)
        await exact(venue, sim, feed, BTC)
        await exact(venue, sim, feed, ETH)
        expect(sim.corruptTop).toBeDefined()
        for (const side of ['bid', 'ask'] as const) {
          const resync = feed.books.events.next('resync')
          sim.corruptTop!(BTC, side)
          const { entry, failure } = await resync
          expect([entry.pair, failure.kind]).toEqual([BTC, 'cross-check'])
          expect(failure.detail).toContain(`venue best ${side}`)
          await exact(venue, sim, feed, BTC)
        }
        // The rebuilt book keeps being checked, and right tops never resync it.
        const { bids, asks } = change(sim, BTC, 5)
        sim.update(BTC, bids, asks)
        await exact(venue, sim, feed, BTC)
        expect(feed.entry(BTC).resyncs).toBe(2)
        expect(feed.entry(ETH).resyncs).toBe(0)
        expect(feed.books.resyncCounts(venue.id)['cross-check']).toBe(2)
      })
    }

    test('a crossed book is never live: it resyncs and comes back exact', async () => {
      const { sim, feed } = start(venue)
      await exact(venue, sim, feed, BTC)
      const crossedLive: number[] = []
      feed.books.events.on((e) => {
        if (e.type === 'update' && isCrossed(e.entry.book)) crossedLive.push(e.receivedAtMs)
      })
      const resync = feed.books.events.next('resync', (e) => e.entry.pair === BTC)
      sim.pushCrossed(BTC)
      const { failure } = await resync
      expect(failure.kind).toBe('crossed')
      await exact(venue, sim, feed, BTC)
      expect(crossedLive).toEqual([])
    })

    test('garbage is counted, not fatal, and the books stay exact', async () => {
      const { sim, feed } = start(venue)
      await exact(venue, sim, feed, BTC)
      sim.server.send('not json at all')
      sim.server.send('{"truncated":')
      const { bids, asks } = change(sim, BTC, 3)
      sim.update(BTC, bids, asks)
      await exact(venue, sim, feed, BTC)
      expect(feed.conn.stats.errors['malformed-json']).toBe(2)
      expect(feed.conn.stats.state).toBe('connected')
    })

    test('a frame cut mid-way and a dropped connection are survived: reconnect, exact again', async () => {
      const { sim, feed } = start(venue)
      await exact(venue, sim, feed, BTC)
      const down = feed.conn.events.next('down')
      sim.server.closeMidMessage(JSON.stringify({ a: 'frame that never ends', b: [1, 2, 3, 4] }))
      await down
      await sim.server.waitFor(() => sim.server.connections === 2, 3000, 'reconnect')
      await exact(venue, sim, feed, BTC)
      expect(feed.conn.stats.reconnects).toBe(1)
    })

    test('an abrupt close reconnects and rebuilds without ghost levels', async () => {
      const { sim, feed } = start(venue)
      await exact(venue, sim, feed, BTC)
      const ghost = sim.book(BTC).topBids(1)[0]![0]
      const down = feed.conn.events.next('down')
      sim.server.terminateAll()
      await down
      // While we are away the best bid goes; the client never sees that message.
      sim.lose(BTC, [[ghost, '0']], [])
      await sim.server.waitFor(() => sim.server.connections === 2, 3000, 'reconnect')
      const e = await exact(venue, sim, feed, BTC)
      expect(e.book.bids.some((l) => l.pxText === ghost)).toBe(false)
    })

    test('a stalled feed trips the idle watchdog and is reconnected', async () => {
      const { sim, feed } = start(venue, { idleTimeoutMs: 300 })
      await exact(venue, sim, feed, BTC)
      const down = feed.conn.events.next('down')
      sim.server.stalled = true
      expect((await down).reason).toBe('idle watchdog')
      sim.server.stalled = false
      await exact(venue, sim, feed, BTC)
      expect(feed.conn.stats.errors.idle).toBeGreaterThanOrEqual(1)
    })

    test('reconnects refused for a while back off, then the books come back exact', async () => {
      const { sim, feed } = start(venue)
      await exact(venue, sim, feed, BTC)
      sim.server.refuseConnections = true
      sim.server.terminateAll()
      await sim.server.waitFor(() => sim.server.refused >= 4, 5000, 'four refused reconnects')
      sim.server.refuseConnections = false
      await exact(venue, sim, feed, BTC)
      expect(feed.conn.stats.reconnects).toBeGreaterThanOrEqual(5)
      expect(feed.conn.stats.errors.socket ?? 0).toBeGreaterThanOrEqual(1)
    })

    if (venue.acksSubscriptions) {
      test('a lost subscription is sent again; the book is never live before its data flows', async () => {
        const { sim, feed } = start(venue, {}, [BTC])
        // The first subscribe frames (before the socket is even open) are lost on the way in.
        sim.server.loseClientFrames = (text) =>
          SUBSCRIBE.test(text) && sim.server.lostClientFrames < 2
        const wentLive: number[] = []
        feed.books.events.on((e) => {
          // How many subscribe frames had reached the venue when the book went live.
          const through = sim.server.received.filter((r) => SUBSCRIBE.test(r.text)).length
          if (e.type === 'live') wentLive.push(through)
        })
        await sim.server.waitFor(() => sim.server.lostClientFrames >= 1, 3000, 'a lost subscribe')
        await exact(venue, sim, feed, BTC)
        // It went live once, and only after a subscribe got through.
        expect(wentLive.length).toBe(1)
        expect(wentLive[0]).toBeGreaterThanOrEqual(1)
        expect(feed.conn.stats.errors.resubscribe ?? 0).toBeGreaterThanOrEqual(seeded ? 1 : 0)
      })
    }

    test('markets the venue does not list are reported, not guessed', async () => {
      const { feed } = start(venue, {}, [BTC, 'DOGE/EUR'])
      const listed = await feed.conn.events.next('listed')
      expect(listed.unlisted).toEqual(['DOGE/EUR'])
      expect([...listed.markets.keys()]).toEqual([BTC])
      expect(feed.entry('DOGE/EUR').syncNote).toContain('does not list')
    })

    if (seeded) {
      const faults: [string, SnapshotFault][] = [
        ['429 with Retry-After', { kind: 'status', status: 429, retryAfterS: 1 }],
        ['500', { kind: 'status', status: 500 }],
        ['a slow answer past the timeout', { kind: 'slow', delayMs: 700 }],
        ['invalid JSON', { kind: 'invalid-json' }],
      ]
      for (const [what, fault] of faults) {
        test(`a snapshot answering ${what} is asked for again; the book goes live exact`, async () => {
          const { sim, feed } = start(venue, { snapshotTimeoutMs: 400 }, [BTC])
          sim.snapshotFaults.push(fault)
          await exact(venue, sim, feed, BTC, 6000)
          const times = sim.snapshotRequestsMs
          expect(times.length).toBeGreaterThanOrEqual(2)
          // Retry-After is an HTTP header: only REST answers carry one.
          const rest = venue.sync.snapshot === 'rest'
          if (rest && fault.kind === 'status' && fault.retryAfterS !== undefined) {
            expect(times[1]! - times[0]!).toBeGreaterThanOrEqual(fault.retryAfterS * 1000 - 50)
            expect(feed.conn.stats.errors.snapshot).toBe(1)
          }
        })
      }
    }

    if (seeded && venue.sync.sequence === 'chain') {
      test('a snapshot older than the buffered updates is never applied: it is fetched again', async () => {
        // No timer asks for the snapshot here: the update the client holds does.
        const { sim, feed } = start(venue, { snapshotTimeoutMs: 5000 }, [BTC])
        // History the client never sees (it is not connected yet) ...
        for (let n = 1; n <= 3; n++) {
          const { bids, asks } = change(sim, BTC, n)
          sim.update(BTC, bids, asks)
        }
        await feed.conn.events.next('up')
        // ... and a venue cache answering with a book from before it.
        sim.snapshotFaults.push({ kind: 'stale' })
        // Updates until one reaches the client (its subscription may still be on its way).
        for (let n = 0; feed.entry(BTC).lastSeenSeq === undefined; n++) {
          const { bids, asks } = change(sim, BTC, n)
          sim.update(BTC, bids, asks)
          await bookWhere(feed, BTC, (e) => e.lastSeenSeq !== undefined, 200).catch(() => {})
        }
        const lives: boolean[] = []
        feed.books.events.on((e) => {
          if (e.type === 'live') lives.push(same(e.entry, sim.book(BTC), venue.sync.maxDepth))
        })
        const e = await exact(venue, sim, feed, BTC)
        expect(lives).toEqual([true])
        expect(sim.snapshotRequestsMs.length).toBeGreaterThanOrEqual(2)
        expect(feed.conn.stats.errors['stale-snapshot']).toBeGreaterThanOrEqual(1)
        expect(e.resyncs).toBe(0)
      })
    }
  })
}


describe('venue contract: more markets than one connection carries, within every published limit', () => {
  const track = stopAfterEach()
  for (const venue of VENUES) {
    test(`${venue.name}: sharded, every book live, nothing refused`, async () => {
      const per = venue.limits.marketsPerConnection
      const count = 2 * per + 1
      const bases = Array.from({ length: count }, (_, i) => `M${String(i).padStart(4, '0')}`)
      const sim = feeds.sim(
        venue.simulate(
          bases.map((base, i) => ({
            base,
            quote: 'USDT',
            book: makeBook(1 + i / 100, 5, 0.0001, 4),
          })),
        ),
      )
      const books = new Books()
      const feed = track(
        new VenueFeed({ venue, wsUrl: sim.wsUrl, restUrl: sim.restUrl, books, log: silent }),
      )
      const listed = await feed.listMarkets(AbortSignal.timeout(10_000))
      expect(listed.size).toBe(count)
      feed.setMarkets(listed)
      feed.start()
      const pairs = [...listed.keys()]
      let n = 0
      await until(
        () => {
          // REST venues seed a book when an update arrives: the quiet ones get one.
          n++
          let live = 0
          for (const p of pairs) {
            const e = books.get(venue.id, p)
            if (e?.state === 'live') live++
            else if (n % 20 === 0) {
              const best = sim.book(p).topBids(1)[0]!
              sim.update(p, [[best[0], bump(best[1])]], [])
            }
          }
          return live === count
        },
        60_000,
        `${count} ${venue.name} books live`,
      )
      expect(feed.connections).toHaveLength(3)
      for (const c of feed.connections) expect(c.stats.markets.size).toBeLessThanOrEqual(per)
      expect(sim.limited).toBeDefined()
      expect(Object.entries(sim.limited!).filter(([, v]) => v > 0)).toEqual([])
      expect(feed.budget.stats.throttled + feed.budget.stats.banned).toBe(0)
    }, 90_000)
  }
})
