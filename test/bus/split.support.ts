/**
 * @module
 * The split deployment in a test: six simulated venues listing BTC/USDT and ETH/USDT, a real
 * redis-server, ingest shards as real child processes (`bun src/main.ts` with `ROLE=ingest`), and
 * a core process and a one-process `ROLE=all` arbwatch side by side in the test, all fed by the
 * same simulated venues (each simulated venue sends every frame to every subscribed client).
 */
import { join } from 'node:path'
import type { Subprocess } from 'bun'
import type { BookEntry, Books } from '../../src/book/books.ts'
import { toRecord } from '../../src/detector/record.ts'
import type { Opportunity } from '../../src/detector/types.ts'
import type { Pair } from '../../src/types.ts'
import { venueById } from '../../src/venues/index.ts'
import { makeBook, type Row } from '../../src/venues/sim/book.ts'
import type { SimVenue } from '../../src/venues/sim/venue.ts'

export const SHARD_A = ['binance', 'kraken', 'coinbase'] as const
export const SHARD_B = ['bitstamp', 'okx', 'bybit'] as const
export const SIX = [...SHARD_A, ...SHARD_B]
export const PAIRS: Pair[] = ['BTC/USDT', 'ETH/USDT']

export interface SixVenues {
  readonly sims: ReadonlyMap<string, SimVenue>
  readonly env: Record<string, string>
  stop(): void
}

/** The six simulated venues, each listing both markets around the same prices. */
export function simulateSix(): SixVenues {
  const sims = new Map<string, SimVenue>()
  const env: Record<string, string> = {}
  for (const id of SIX) {
    const sim = venueById(id)!.simulate([
      { base: 'BTC', quote: 'USDT', book: makeBook(60000, 20, 0.1) },
      { base: 'ETH', quote: 'USDT', book: makeBook(3000, 20, 0.01) },
    ])
    sims.set(id, sim)
    env[`${id.toUpperCase()}_WS_URL`] = sim.wsUrl
    env[`${id.toUpperCase()}_REST_URL`] = sim.restUrl
  }
  return {
    sims,
    env,
    stop() {
      for (const s of sims.values()) s.stop()
    },
  }
}

/** What every process of the test shares. */
export function baseEnv(
  six: SixVenues,
  extra: Record<string, string> = {},
): Record<string, string> {
  return {
    EXCHANGES: SIX.join(','),
    SYMBOLS: PAIRS.join(','),
    TRIANGLES: 'off',
    PORT: '0',
    HOST: '127.0.0.1',
    DATABASE_URL: ':memory:',
    LOG_LEVEL: 'silent',
    MIN_SPREAD_PCT: '0.1',
    MAX_SPREAD_PCT: '50',
    // The simulated venues are quiet between the test's moves: quotes stay usable meanwhile.
    MAX_QUOTE_AGE_MS: '60000',
    ...Object.fromEntries(SIX.map((v) => [`FEE_BPS_${v.toUpperCase()}`, '10'])),
    ...six.env,
    ...extra,
  }
}

export interface Shard {
  readonly proc: Subprocess<'ignore', 'ignore', 'inherit'>
  /** SIGKILL: no goodbye on the bus. */
  kill(): Promise<void>
  stop(): Promise<void>
}

const MAIN = join(import.meta.dir, '..', '..', 'src', 'main.ts')

/** An ingest shard as its own process. */
export function spawnShard(env: Record<string, string>, venues: readonly string[]): Shard {
  const proc = Bun.spawn([process.execPath, MAIN], {
    env: {
      ...process.env,
      ...env,
      ROLE: 'ingest',
      EXCHANGES: venues.join(','),
      UNIVERSE_EXCHANGES: SIX.join(','),
    },
    stdin: 'ignore',
    stdout: 'ignore',
    stderr: 'inherit',
  })
  return {
    proc,
    async kill() {
      proc.kill('SIGKILL')
      await proc.exited
    },
    async stop() {
      if (proc.exitCode !== null || proc.signalCode !== null) return
      proc.kill('SIGTERM')
      await proc.exited
    },
  }
}

/** Resolves once every book of `venues` × `PAIRS` in `books` is live. */
export async function liveOn(books: Books, venues: readonly string[], timeoutMs = 20_000) {
  const done = () => venues.every((v) => PAIRS.every((p) => books.get(v, p)?.state === 'live'))
  if (!done()) await books.events.next('live', done, timeoutMs)
}

/**
 * Every market of every venue gets one update once `clients` clients are subscribed (a venue
 * seeded from REST after its first update needs one), so every process's books go live.
 */
export async function nudgeAll(six: SixVenues, clients: number): Promise<void> {
  const SUBSCRIBE = /subscri|"sub"/i
  for (const [id, sim] of six.sims) {
    // Binance subscribes in the URL (`/stream?streams=…`): there the socket is the subscription.
    const byFrame = id !== 'binance'
    const subscribed = () =>
      sim.server.clients.size >= clients &&
      (!byFrame ||
        new Set(sim.server.received.filter((r) => SUBSCRIBE.test(r.text)).map((r) => r.client))
          .size >= clients)
    await sim.server.waitFor(subscribed, 20_000, `${clients} ${id} subscriptions`)
  }
  for (const sim of six.sims.values()) {
    sim.update('BTC/USDT', [['59999.95', '1.00000000']], [])
    sim.update('ETH/USDT', [], [['3000.015', '2.00000000']])
  }
}

/** The venue's BTC/USDT book jumps to a best bid of `bid` (its asks move above it). */
export function jump(sim: SimVenue, bid: string): void {
  const asksGone: Row[] = sim
    .book('BTC/USDT')
    .topAsks()
    .map(([p]) => [p, '0'])
  const bidsGone: Row[] = sim
    .book('BTC/USDT')
    .topBids()
    .map(([p]) => [p, '0'])
  const ask = (Number(bid) + 100).toFixed(2)
  sim.update('BTC/USDT', [...bidsGone, [bid, '1.00000000']], [...asksGone, [ask, '1.00000000']])
}

/** Resolves once the book's best bid is `bid` (the change reached this process). */
export async function bestBidIs(books: Books, venue: string, bid: string, timeoutMs = 10_000) {
  const at = (e?: BookEntry) => e?.state === 'live' && e.book.bids[0]?.pxText === bid
  if (!at(books.get(venue, 'BTC/USDT'))) {
    await books.events.next('update', () => at(books.get(venue, 'BTC/USDT')), timeoutMs)
  }
}

/**
 * An opportunity's numbers and route, without what differs between processes (ids, times, ages,
 * transfer facts).
 */
export function numbers(o: Opportunity): Record<string, unknown> {
  return withoutTimes(toRecord(o)) as Record<string, unknown>
}

function withoutTimes(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(withoutTimes)
  if (typeof v !== 'object' || v === null) return v
  const out: Record<string, unknown> = {}
  for (const [k, x] of Object.entries(v)) {
    // Transfer facts are each process's own REST reads (not the bus's): four processes share the
    // simulated venues' per-IP limits, so one may hold a fact the other was refused a moment.
    if (k === 'id' || k === 'walk' || k === 'transfer' || k === 'transferStatus') continue
    if (/Ms$|Age|age/.test(k)) continue
    out[k] = withoutTimes(x)
  }
  return out
}

export const byRoute = (a: Record<string, unknown>, b: Record<string, unknown>) =>
  `${a.symbol}${a.buyVenue}${a.sellVenue}`.localeCompare(`${b.symbol}${b.buyVenue}${b.sellVenue}`)
