/**
 * Shared test helpers: a silent logger, waits on events, a venue feed (a real Connection and
 * BookSync) against a simulated venue on 127.0.0.1, cleanup after each test, and opportunities.
 */
import { createApi, type ApiDeps } from '../src/api/app.ts'
import { Detector, type DetectorOptions } from '../src/detector/detector.ts'
import { VENUE_IDS } from '../src/venues/index.ts'
import { afterEach, expect } from 'bun:test'
import { Books, type BookEntry } from '../src/book/books.ts'
import { applySnapshot, applyUpdate, BookSync, type BookSyncOptions } from '../src/book/sync.ts'
import { openDb, runMigrations, type DbHandle } from '../src/db/client.ts'
import type { OpeningWalk, Opportunity, Quote } from '../src/detector/types.ts'
import { createLogger } from '../src/log.ts'
import type { Level, Pair } from '../src/types.ts'
import { binance as binanceVenue } from '../src/venues/binance/index.ts'
import { bybit as bybitVenue } from '../src/venues/bybit/index.ts'
import { Connection, type ConnectionOptions } from '../src/venues/connection.ts'
import { makeBook } from '../src/venues/sim/book.ts'
import type { SimMarket, SimVenue } from '../src/venues/sim/venue.ts'
import { toLevels, type SnapshotEvent, type Venue, type VenueEvent } from '../src/venues/venue.ts'

export const silent = createLogger('silent')

/**
 * Resolves once `check()` is true; polls every few ms; rejects after `timeoutMs`. For conditions
 * nothing announces (prefer `bookWhere` and the components' `events.next`).
 */
export async function until(
  check: () => boolean,
  timeoutMs = 5000,
  what = 'condition',
): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!check()) {
    if (Date.now() > deadline)
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)
    await Bun.sleep(5)
  }
}

/** Anything a test starts and must stop: a simulated venue, a feed, a fake server. */
export interface Stoppable {
  stop(): unknown
}

/** Hands back what it is given, to be stopped after the test. */
export type Track = <T extends Stoppable>(it: T) => T

/**
 * Registers an `afterEach` that stops, newest first, everything handed to the returned function
 * during the test, and returns that function (it hands back what it was given).
 *
 * @example
 * const track = stopAfterEach()
 * const sim = track(new SimBinance(markets))
 * const feed = track(startFeed(binance, sim, [BTC]))
 */
export function stopAfterEach(): Track {
  const running: Stoppable[] = []
  afterEach(async () => {
    for (const it of running.splice(0).reverse()) await it.stop()
  })
  return (it) => (running.push(it), it)
}

/** An in-memory database with the real migrations, closed after the test by `track`. */
export async function openMemoryDb(track: Track): Promise<DbHandle> {
  const handle = await openDb({ url: ':memory:' })
  track({ stop: () => handle.close() })
  await runMigrations(handle.db)
  return handle
}

/** The lines of a recorded capture (one frame or request a line). */
export async function readLines(path: string): Promise<string[]> {
  return (await Bun.file(path).text()).trim().split('\n')
}

export interface Feed {
  readonly books: Books
  readonly conn: Connection
  readonly sync: BookSync
  /** The book of one pair (throws for a pair the feed does not hold). */
  entry(pair: Pair): BookEntry
  stop(): Promise<void>
}

export type FeedOptions = Partial<
  Omit<ConnectionOptions, 'venue' | 'wsUrl' | 'restUrl' | 'pairs'>
> &
  Partial<Omit<BookSyncOptions, 'connection' | 'books'>>

/** Starts a real Connection and BookSync for `venue` against local URLs, with fast backoff. */
export function startFeed(
  venue: Venue,
  urls: { readonly wsUrl: string; readonly restUrl: string },
  pairs: readonly Pair[],
  options: FeedOptions = {},
): Feed {
  const books = new Books()
  const conn = new Connection({
    venue,
    wsUrl: urls.wsUrl,
    restUrl: urls.restUrl,
    pairs,
    log: silent,
    backoffBaseMs: 20,
    backoffCapMs: 200,
    ...options,
  })
  const sync = new BookSync({
    connection: conn,
    books,
    log: silent,
    backoffBaseMs: 20,
    backoffCapMs: 200,
    ...options,
  })
  sync.start()
  conn.start()
  return {
    books,
    conn,
    sync,
    entry(pair) {
      const e = books.get(venue.id, pair)
      if (e === undefined) throw new Error(`no ${venue.id} book for ${pair}`)
      return e
    },
    async stop() {
      await conn.stop()
      sync.stop()
    },
  }
}

/** Simulated venues and feeds on them, each stopped (feeds first) after the test that made it. */
export interface Feeds {
  /** Hands back `sim`, to be stopped after the test. */
  sim<S extends SimVenue>(sim: S): S
  /** `startFeed`, and the feed is stopped after the test. */
  start(...args: Parameters<typeof startFeed>): Feed
}

/**
 * Registers an `afterEach` stopping the simulated venues and feeds of each test.
 *
 * @example
 * const feeds = useFeeds()
 * const sim = feeds.sim(new SimBinance(markets))
 * const feed = feeds.start(binance, sim, [BTC])
 */
export function useFeeds(): Feeds {
  const track = stopAfterEach()
  return { sim: track, start: (...args) => track(startFeed(...args)) }
}

/**
 * Resolves with the book once `check` holds (by default: live), re-checked after every book and
 * connection event of the feed; rejects after `timeoutMs` saying what it waited for.
 */
export function bookWhere(
  feed: Feed,
  pair: Pair,
  check: (e: BookEntry) => boolean = (e) => e.state === 'live',
  timeoutMs = 5000,
  what = `${pair} live`,
): Promise<BookEntry> {
  const e = feed.entry(pair)
  if (check(e)) return Promise.resolve(e)
  return new Promise((resolve, reject) => {
    const done = () => {
      clearTimeout(timer)
      offBooks()
      offConn()
    }
    const test = () => {
      if (!check(e)) return
      done()
      resolve(e)
    }
    const timer = setTimeout(() => {
      done()
      const state = `state ${e.state}, resyncs ${e.resyncs}, note ${e.syncNote ?? '-'}`
      reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what} (${state})`))
    }, timeoutMs)
    const offBooks = feed.books.events.on(test)
    const offConn = feed.conn.events.on(test)
  })
}

/**
 * Sends each of `bads` with `push` (a message that also carries a good bid at `goodPx`) and
 * expects it rejected whole: `pair`'s book resyncs on bad input without that bid; `recover` then
 * waits for the book to come back (and checks it).
 */
export async function expectEachRejected<T>(
  feed: Feed,
  pair: Pair,
  bads: readonly T[],
  push: (bad: T) => void,
  recover: () => Promise<unknown>,
  goodPx = '59999.01',
): Promise<void> {
  const entry = feed.entry(pair)
  for (const bad of bads) {
    const resync = feed.books.events.next('resync', (ev) => ev.entry.pair === pair)
    push(bad)
    expect((await resync).failure.kind).toBe('bad-input')
    expect(entry.book.bids.some((l) => l.pxText === goodPx)).toBe(false)
    await recover()
  }
}

/**
 * `trigger` makes the venue ask for a reconnect: the socket goes down with a reason containing
 * `reason`, and the client opens the simulated venue's second connection.
 */
export async function expectReconnect(
  feed: Feed,
  sim: SimVenue,
  trigger: () => void,
  reason: string,
): Promise<void> {
  const down = feed.conn.events.next('down')
  trigger()
  expect((await down).reason).toContain(reason)
  await sim.server.waitFor(() => sim.server.connections === 2, 3000, 'planned reconnect')
}

/** A book side as `[price, qty]` strings, for level-by-level comparison. */
export const rows = (levels: readonly Level[], n = Infinity): [string, string][] =>
  levels.slice(0, n).map((l) => [l.pxText, l.qtyText])

/**
 * A venue's real BookSync over a Connection that never opens a socket: the test plays what the
 * connection would announce (listing, up, frames, down), so the book rules, the detector and the
 * API run in-process on a clock the test controls.
 */
export interface ScriptedFeed {
  readonly conn: Connection
  readonly sync: BookSync
  /** One frame of venue events, received at `atMs`. */
  frame(events: readonly VenueEvent[], atMs: number): void
  /** A socket snapshot of one book (`extra` adds a checksum, a sequence, ...). */
  snapshot(
    pair: Pair,
    bids: [string, string][],
    asks: [string, string][],
    atMs: number,
    extra?: Partial<SnapshotEvent>,
  ): void
  /** The socket closed: live books go stale. */
  down(atMs: number, reason?: string): void
  stop(): void
}

/** Registers `venue`'s books for `pairs` in `books`, listed and connected at `atMs`. */
export function scriptFeed(
  books: Books,
  venue: Venue,
  pairs: readonly Pair[],
  atMs = 0,
): ScriptedFeed {
  const conn = new Connection({
    venue,
    wsUrl: 'ws://unused',
    restUrl: 'http://unused',
    pairs,
    log: silent,
  })
  const sync = new BookSync({ connection: conn, books, log: silent })
  sync.start()
  for (const pair of pairs) conn.stats.markets.set(pair, pair)
  conn.events.emit({ type: 'listed', markets: conn.stats.markets, unlisted: [] })
  conn.events.emit({ type: 'up', atMs })
  const frame = (events: readonly VenueEvent[], receivedAtMs: number) =>
    conn.events.emit({ type: 'frame', events, receivedAtMs })
  return {
    conn,
    sync,
    frame,
    snapshot(pair, bids, asks, at, extra = {}) {
      frame([{ type: 'snapshot', pair, bids: toLevels(bids), asks: toLevels(asks), ...extra }], at)
    },
    down(at, reason = 'closed by the test') {
      conn.events.emit({ type: 'down', reason, atMs: at })
    },
    stop() {
      sync.stop()
    },
  }
}

/**
 * Resolves once every book that `counts` selects is live (checked on each `live` event); rejects
 * after `timeoutMs`.
 */
export async function allLive(
  books: Books,
  counts: (e: BookEntry) => boolean = () => true,
  timeoutMs = 5000,
): Promise<void> {
  const done = () =>
    [...books.venues()].every((v) =>
      [...books.ofVenue(v)].every((e) => e.state === 'live' || !counts(e)),
    )
  if (!done()) await books.events.next('live', done, timeoutMs)
}

/** Simulated Binance and Bybit listing BTC/USDT and ETH/USDT, and the variables pointing at them. */
export function simulateBinanceAndBybit(): {
  binance: SimVenue
  bybit: SimVenue
  env: Record<string, string>
  stop(): void
} {
  const markets = (): SimMarket[] => [
    { base: 'BTC', quote: 'USDT', book: makeBook(60000, 20, 0.1) },
    { base: 'ETH', quote: 'USDT', book: makeBook(3000, 20, 0.01) },
  ]
  const binance = binanceVenue.simulate(markets())
  const bybit = bybitVenue.simulate(markets())
  return {
    binance,
    bybit,
    env: {
      BINANCE_WS_URL: binance.wsUrl,
      BINANCE_REST_URL: binance.restUrl,
      BYBIT_WS_URL: bybit.wsUrl,
      BYBIT_REST_URL: bybit.restUrl,
    },
    stop() {
      binance.stop()
      bybit.stop()
    },
  }
}

/**
 * Resolves once every listed book of a bot fed by `simulateBinanceAndBybit` is live. Binance's
 * first update triggers its REST snapshot, so one update per market is pushed once the client is
 * subscribed: BTC/USDT gets a bid at 59,999.95 and ETH/USDT an ask at 3,000.015.
 */
export async function binanceAndBybitLive(books: Books, binance: SimVenue): Promise<void> {
  // The books exist once each venue's instrument list has been read (the universe decides them).
  const registered = () =>
    ['binance', 'bybit'].every((v) => books.get(v, 'BTC/USDT') && books.get(v, 'ETH/USDT'))
  if (!registered()) await books.events.next('added', registered, 5000)
  const live = allLive(books, (e) => e.pair === 'BTC/USDT' || e.pair === 'ETH/USDT')
  await binance.server.waitFor(() => binance.server.clients.size > 0, 5000, 'a Binance client')
  binance.update('BTC/USDT', [['59999.95', '1.00000000']], [])
  binance.update('ETH/USDT', [], [['3000.015', '2.00000000']])
  await live
}

/** A quote at `netBps`: gross 20 bps more, 1,000 quote at a tenth of `netBps` profit; `over` wins. */
export const quoteAt = (netBps: number, over: Partial<Quote> = {}): Quote => ({
  grossBps: netBps + 20,
  netBps,
  sizeQuote: 1000,
  profitQuote: netBps / 10,
  maxSizeQuote: 5000,
  maxProfitQuote: 1,
  buyPrice: 100,
  sellPrice: 101,
  feeBps: 20,
  buyAgeMs: 1,
  sellAgeMs: 2,
  ...over,
})

/** An open cross opportunity on `symbol`, buy Binance and sell Kraken, quoted at `netBps`. */
export const crossAt = (netBps: number, symbol = 'BTC/USDT', anomaly = false): Opportunity => ({
  id: `cross:${symbol}:binance>kraken:1`,
  kind: 'cross',
  symbol,
  buyVenue: 'binance',
  sellVenue: 'kraken',
  anomaly,
  openedAtMs: 1,
  open: quoteAt(netBps),
  last: quoteAt(netBps),
  peakNetBps: netBps,
  updatedAtMs: 1,
  closedAtMs: undefined,
  closeReason: undefined,
})

/**
 * A cross walk worked out by hand, at a trade of 1000 with 10 bps fees on both legs. Binance's asks
 * are 5 at 100 and 10 at 102.4, Kraken's bids 5 at 103 and 10 at 102:
 *   - 1000: buy 5 at 100 (500) and 500 / 102.4 = 4.8828125 at 102.4, 9.8828125 in all, 9.8729296875
 *     after the fee; sell 5 at 103 (515) and 4.8729296875 at 102 (497.038828125), 1012.038828125,
 *     1011.026789296875 after the fee: net 110.26789296875 bps;
 *   - 500: buy 5 at 100, 4.995 after the fee; sell at 103, 514.485, 513.970515 after the fee: net
 *     279.4103 bps (a smaller size walks fewer levels and nets more);
 *   - 1500: buy 5 + 1000 / 102.4 = 14.765625, 14.750859375 after the fee; sell 5 at 103 and
 *     9.750859375 at 102, 1509.58765625, 1508.07806859375 after the fee: net 53.853790625 bps
 *     (beyond the size walked, but still within the levels the walk read);
 *   - above 1524 (all the asks read, 500 + 1024): unknown, the walk never read further.
 */
export const HAND_WALK: OpeningWalk = {
  sizeQuote: 1000,
  legs: [
    {
      venue: 'binance',
      market: 'BTC/USDT',
      side: 'buy',
      feeBps: 10,
      levels: [
        { pxText: '100', qtyText: '5', taken: 5 },
        { pxText: '102.4', qtyText: '10', taken: 4.8828125 },
      ],
      amountIn: 1000,
      amountOut: 9.8828125,
      amountAfterFee: 9.8729296875,
    },
    {
      venue: 'kraken',
      market: 'BTC/USDT',
      side: 'sell',
      feeBps: 10,
      levels: [
        { pxText: '103', qtyText: '5', taken: 5 },
        { pxText: '102', qtyText: '10', taken: 4.8729296875 },
      ],
      amountIn: 9.8729296875,
      amountOut: 1012.038828125,
      amountAfterFee: 1011.026789296875,
    },
  ],
}

/** Every venue's taker fee at 10 bps, for tests whose numbers should not depend on the fee table. */
export const FLAT_FEES: Readonly<Record<string, number>> = Object.fromEntries(
  VENUE_IDS.map((v) => [v, 10]),
)

/** A detector over `books` with the tests' usual thresholds (0.1 % to open, 0.05 % hysteresis). */
export function testDetector(
  books: Books,
  venues: readonly string[],
  symbols: readonly string[],
  over: Partial<DetectorOptions> = {},
): Detector {
  return new Detector({
    books,
    venues,
    symbols,
    feeBps: FLAT_FEES,
    sizeQuote: 1000,
    minSpreadBps: 10,
    hysteresisBps: 5,
    maxSpreadBps: 500,
    maxQuoteAgeMs: 60_000,
    ...over,
  })
}

/** The API over these parts, with no venue connections and a 1,000 trade size unless given. */
export function testApi(
  parts: Pick<ApiDeps, 'books' | 'detector' | 'store'> & Partial<ApiDeps>,
): ReturnType<typeof createApi> {
  return createApi({ connections: [], log: silent, sizeQuote: 1000, ...parts })
}

/** A raw client socket to a simulated venue: the frames it got, parsed, and a wait on them. */
export function rawSocket<F>(url: string) {
  const ws = new WebSocket(url)
  const frames: F[] = []
  let wake = () => {}
  ws.onmessage = (m) => {
    frames.push(JSON.parse(String(m.data)) as F)
    wake()
  }
  const opened = new Promise<boolean>((resolve) => {
    ws.onopen = () => resolve(true)
    ws.onclose = () => resolve(false)
  })
  /** Resolves once `check` holds over the frames received, re-checked on every frame. */
  const until = (check: (frames: F[]) => boolean, what: string, timeoutMs = 3000) =>
    new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), timeoutMs)
      const test = () => {
        if (!check(frames)) return
        clearTimeout(timer)
        resolve()
      }
      wake = test
      test()
    })
  return { ws, frames, opened, until }
}

/** One book entry of `venue` fed straight through its sync rules (no socket); every event must apply. */
export function ruleBook(
  venue: Venue,
  pair: string,
): { entry: BookEntry; feed: (ev: VenueEvent) => void } {
  const entry = new Books().addVenue(venue.id, [pair]).get(pair)!
  return {
    entry,
    feed(ev) {
      const outcome =
        ev.type === 'snapshot'
          ? applySnapshot(entry, venue.sync, ev, false)
          : ev.type === 'delta'
            ? applyUpdate(entry, venue.sync, ev, 100)
            : undefined
      expect(outcome).toEqual({ kind: 'applied' })
    },
  }
}
