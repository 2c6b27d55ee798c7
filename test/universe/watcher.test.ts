import { describe, expect, test } from 'bun:test'
import pino from 'pino'
import { Books } from '../../src/book/books.ts'
import type { Pair } from '../../src/types.ts'
import { UniverseWatcher } from '../../src/universe/watcher.ts'
import { binance } from '../../src/venues/binance/index.ts'
import { bybit } from '../../src/venues/bybit/index.ts'
import { VenueFeed } from '../../src/venues/feed.ts'
import { makeBook } from '../../src/venues/sim/book.ts'
import type { Venue } from '../../src/venues/venue.ts'
import { stopAfterEach, until } from '../support.ts'

const track = stopAfterEach()

/** A log that keeps its lines. */
function capturingLog() {
  const lines: { msg: string; level: number }[] = []
  const log = pino({ level: 'info' }, { write: (s: string) => void lines.push(JSON.parse(s)) })
  return { log, lines }
}

/** A venue whose instrument list the test edits (the real protocol otherwise). */
function listedBy(venue: Venue, listed: Map<Pair, string>): Venue {
  return { ...venue, listMarkets: async () => new Map(listed) }
}

describe('UniverseWatcher', () => {
  test('picks up a newly listed market and drops a halted one on refresh, without a restart', async () => {
    const all = ['BTC', 'ETH', 'NEW'].map((base, i) => ({
      base,
      quote: 'USDT',
      book: makeBook(100 * (i + 1), 5, 0.01),
    }))
    const simA = track(binance.simulate(all))
    const simB = track(bybit.simulate(all))
    const a = new Map<Pair, string>([
      ['BTC/USDT', 'BTCUSDT'],
      ['ETH/USDT', 'ETHUSDT'],
    ])
    const b = new Map<Pair, string>([
      ['BTC/USDT', 'BTCUSDT'],
      ['ETH/USDT', 'ETHUSDT'],
    ])
    const books = new Books()
    const { log, lines } = capturingLog()
    const feeds = [
      track(
        new VenueFeed({
          venue: listedBy(binance, a),
          wsUrl: simA.wsUrl,
          restUrl: simA.restUrl,
          books,
          log,
        }),
      ),
      track(
        new VenueFeed({
          venue: listedBy(bybit, b),
          wsUrl: simB.wsUrl,
          restUrl: simB.restUrl,
          books,
          log,
        }),
      ),
    ]
    const watcher = track(
      new UniverseWatcher({
        feeds,
        rules: { symbols: 'auto', minVenues: 2, quotes: ['USDT'], exclude: [] },
        refreshMs: 3_600_000,
        log,
      }),
    )
    for (const f of feeds) f.start()
    await watcher.start()
    expect([...watcher.markets].sort()).toEqual(['BTC/USDT', 'ETH/USDT'])

    // NEW/USDT starts trading on both; ETH/USDT is halted on Bybit.
    a.set('NEW/USDT', 'NEWUSDT')
    b.set('NEW/USDT', 'NEWUSDT')
    b.delete('ETH/USDT')
    const changed = watcher.events.next('changed')
    await watcher.refresh()
    const e = await changed
    expect([...watcher.markets].sort()).toEqual(['BTC/USDT', 'NEW/USDT'])
    expect(e.added.map((x) => `${x.venue} ${x.pair}`).sort()).toEqual([
      'binance NEW/USDT',
      'bybit NEW/USDT',
    ])
    expect(e.removed.map((x) => `${x.venue} ${x.pair}: ${x.why}`).sort()).toEqual([
      'binance ETH/USDT: no longer common to enough venues',
      'bybit ETH/USDT: no longer trading on Bybit',
    ])
    expect(lines.map((l) => l.msg)).toContain(
      'ETH/USDT dropped on Bybit: no longer trading on Bybit',
    )
    await Promise.all(feeds.map((f) => f.settled()))
    expect(books.get('bybit', 'ETH/USDT')).toBeUndefined()
    expect(books.get('binance', 'NEW/USDT')).toBeDefined()
    // The new market's books go live on both venues.
    let n = 0
    await until(
      () => {
        n++
        for (const sim of [simA, simB])
          sim.update('NEW/USDT', [[sim.book('NEW/USDT').topBids(1)[0]![0], `${n}.5`]], [])
        return ['binance', 'bybit'].every((v) => books.get(v, 'NEW/USDT')?.state === 'live')
      },
      10_000,
      'NEW/USDT live on both venues',
    )
  })

  test('a venue whose list cannot be read keeps its last one and the others go on', async () => {
    const sim = track(
      binance.simulate([{ base: 'BTC', quote: 'USDT', book: makeBook(100, 5, 0.01) }]),
    )
    let fail = false
    const flaky: Venue = {
      ...binance,
      id: 'binance',
      listMarkets: async () => {
        if (fail) throw new Error('exchangeInfo answered 503')
        return new Map([['BTC/USDT', 'BTCUSDT']])
      },
    }
    const books = new Books()
    const { log } = capturingLog()
    const feed = track(
      new VenueFeed({ venue: flaky, wsUrl: sim.wsUrl, restUrl: sim.restUrl, books, log }),
    )
    const watcher = track(
      new UniverseWatcher({
        feeds: [feed],
        rules: { symbols: ['BTC/USDT'], minVenues: 2, quotes: ['USDT'], exclude: [] },
        refreshMs: 3_600_000,
        log,
      }),
    )
    await watcher.start()
    expect([...feed.markets.keys()]).toEqual(['BTC/USDT'])
    fail = true
    const failed = watcher.events.next('listing-failed')
    await watcher.refresh()
    expect(await failed).toMatchObject({ venue: 'binance', message: 'exchangeInfo answered 503' })
    expect([...feed.markets.keys()]).toEqual(['BTC/USDT'])
  })
})
