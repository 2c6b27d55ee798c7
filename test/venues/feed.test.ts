import { describe, expect, test } from 'bun:test'
import { Books, type BooksEvent } from '../../src/book/books.ts'
import type { Pair } from '../../src/types.ts'
import { binance } from '../../src/venues/binance/index.ts'
import { VenueFeed } from '../../src/venues/feed.ts'
import { makeBook } from '../../src/venues/sim/book.ts'
import { silent, stopAfterEach, until } from '../support.ts'

const track = stopAfterEach()
const bases = Array.from({ length: 12 }, (_, i) => `C${String(i).padStart(2, '0')}`)
const pairOf = (base: string): Pair => `${base}/USDT`
const nativesOf = (pairs: readonly Pair[]) => new Map(pairs.map((p) => [p, p.replace('/', '')]))

function setup(perShard: number) {
  const sim = track(
    binance.simulate(
      bases.map((base, i) => ({ base, quote: 'USDT', book: makeBook(10 + i, 5, 0.01) })),
    ),
  )
  const books = new Books()
  const feed = track(
    new VenueFeed({
      venue: binance,
      wsUrl: sim.wsUrl,
      restUrl: sim.restUrl,
      books,
      log: silent,
      marketsPerConnection: perShard,
      connection: { backoffBaseMs: 20 },
      sync: { snapshotTimeoutMs: 500 },
    }),
  )
  /** Nudges every market until every book of `pairs` is live. */
  const live = async (pairs: readonly Pair[]) => {
    let n = 0
    await until(
      () => {
        n++
        for (const p of pairs) sim.update(p, [[sim.book(p).topBids(1)[0]![0], `${n}.5`]], [])
        return pairs.every((p) => books.get('binance', p)?.state === 'live')
      },
      10_000,
      'every book live',
    )
  }
  return { sim, books, feed, live }
}

describe('VenueFeed', () => {
  test('shards the markets over as many connections as the venue allows, and every book goes live', async () => {
    const { sim, feed, live } = setup(4)
    const pairs = bases.slice(0, 10).map(pairOf)
    feed.setMarkets(nativesOf(pairs))
    feed.start()
    await live(pairs)
    expect(feed.connections).toHaveLength(3)
    expect(feed.connections.map((c) => c.stats.markets.size)).toEqual([4, 4, 2])
    expect(feed.connections.map((c) => c.label)).toEqual(['binance#1', 'binance#2', 'binance#3'])
    expect(sim.server.connections).toBe(3)
    // Each connection subscribed only its own markets (two streams each: depth and bookTicker).
    const urls = sim.server.clients.size
    expect(urls).toBe(3)
  })

  test('a changed market set rebuilds only the shards it touches; a dropped book leaves the books', async () => {
    const { sim, books, feed, live } = setup(4)
    const first = bases.slice(0, 10).map(pairOf)
    feed.setMarkets(nativesOf(first))
    feed.start()
    await live(first)
    const untouched = feed.connections[0]!
    const seen: BooksEvent[] = []
    books.events.on((e) => seen.push(e))

    // C05 (shard 2) is delisted; C10 and C11 are listed.
    const next = [...first.filter((p) => p !== 'C05/USDT'), 'C10/USDT', 'C11/USDT']
    feed.setMarkets(nativesOf(next), 'no longer trading on Binance')
    await feed.settled()
    await live(next)

    expect(books.get('binance', 'C05/USDT')).toBeUndefined()
    const removed = seen.find((e) => e.type === 'removed')
    expect(removed).toMatchObject({ reason: 'no longer trading on Binance' })
    expect(removed?.type === 'removed' && removed.entries.map((e) => e.pair)).toEqual(['C05/USDT'])
    // Shard 1 kept its socket and its books were never invalidated.
    expect(feed.connections[0]).toBe(untouched)
    expect(untouched.stats.reconnects).toBe(0)
    const invalid = seen
      .filter((e) => e.type === 'invalid')
      .map((e) => 'entry' in e && e.entry.pair)
    for (const p of first.slice(0, 4)) expect(invalid).not.toContain(p)
    // Shard 2 took C10 in place of C05, shard 3 took C11: two new sockets, none for shard 1.
    expect(feed.connections.map((c) => [...c.stats.markets.keys()].length)).toEqual([4, 4, 3])
    expect(sim.server.connections).toBe(5)
    expect(feed.connections.flatMap((c) => [...c.stats.markets.keys()]).sort()).toEqual(
      [...next].sort(),
    )
  })

  test('stop closes every shard', async () => {
    const { sim, feed, live } = setup(3)
    const pairs = bases.slice(0, 6).map(pairOf)
    feed.setMarkets(nativesOf(pairs))
    feed.start()
    await live(pairs)
    await feed.stop()
    await sim.server.waitFor(() => sim.server.clients.size === 0, 5000, 'clients gone')
    expect(feed.connections).toHaveLength(0)
  })
})

describe('RestBudget', () => {
  test('a 429 pauses every request until its Retry-After; 418s are never earned', async () => {
    const { RestBudget } = await import('../../src/venues/rest-budget.ts')
    let now = 1_000_000
    const answers: Response[] = [
      new Response('{}', { status: 429, headers: { 'retry-after': '7' } }),
    ]
    const budget = new RestBudget(
      { weight: 100, windowMs: 60_000, snapshotCost: 5, usedWeightHeader: 'x-used' },
      {
        fetch: (async () =>
          answers.shift() ??
          new Response('{}', { headers: { 'x-used': '70' } })) as unknown as typeof fetch,
        now: () => now,
      },
    )
    expect(budget.tryTake(5)).toBe(0)
    await budget.observing('http://venue/depth')
    expect(budget.stats.throttled).toBe(1)
    // Nothing may go out before Retry-After, whatever the weight left.
    expect(budget.tryTake(5)).toBe(7000)
    now += 7000
    expect(budget.tryTake(5)).toBe(0)
    // The venue's own count wins over ours: 70 used of 80 usable (80 % of 100).
    await budget.observing('http://venue/depth')
    expect(budget.stats.venueUsedWeight).toBe(70)
    expect(budget.tryTake(5)).toBe(0)
    expect(budget.tryTake(10)).toBeGreaterThan(0)
    expect(budget.stats.banned).toBe(0)
  })

  test("a venue's own slow-down status pauses as long as it says (Bybit 403)", async () => {
    const { RestBudget } = await import('../../src/venues/rest-budget.ts')
    const now = 5_000
    const budget = new RestBudget(
      { weight: 600, windowMs: 5000, snapshotCost: 1, pauseOn: { 403: 600_000 } },
      {
        fetch: (async () =>
          new Response('access too frequent', { status: 403 })) as unknown as typeof fetch,
        now: () => now,
      },
    )
    await budget.observing('http://venue/x')
    expect(budget.tryTake(1)).toBe(600_000)
  })
})

describe('VenueFeed per-IP frame budget', () => {
  /** Eight one-market shards of Coinbase opening at once; resolves with the sim's refusals. */
  async function eightShards(sendPerSecondPerIp: number | undefined) {
    const { coinbase } = await import('../../src/venues/coinbase/index.ts')
    const limits = {
      ...coinbase.limits,
      connects: { count: 100, windowMs: 1000 },
      sendPerSecondPerIp,
    }
    const venue = { ...coinbase, limits }
    const markets = Array.from({ length: 8 }, (_, i) => ({
      base: `P${i}`,
      quote: 'USD',
      book: makeBook(10 + i, 5, 0.01),
    }))
    const sim = track(venue.simulate(markets))
    const books = new Books()
    const feed = track(
      new VenueFeed({
        venue,
        wsUrl: sim.wsUrl,
        restUrl: sim.restUrl,
        books,
        log: silent,
        marketsPerConnection: 1,
      }),
    )
    feed.setMarkets(await feed.listMarkets(AbortSignal.timeout(5000)))
    feed.start()
    // 8 connections x 2 subscribe frames.
    await sim.server.waitFor(
      () => sim.server.received.length >= 16,
      15_000,
      'every subscribe frame',
    )
    return sim.limited!
  }

  test("every shard's frames share the venue's per-IP window, so the venue refuses none", async () => {
    expect(await eightShards(3)).toMatchObject({ rateLimited: 0 })
  }, 20_000)

  test('without the shared window the same start breaks the per-IP limit (the check can fail)', async () => {
    expect((await eightShards(undefined)).rateLimited).toBeGreaterThan(0)
  }, 20_000)
})
