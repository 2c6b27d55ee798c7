/**
 * @module
 * `bun run demo`: arbwatch fully offline. Every registered venue's simulated venue starts on
 * 127.0.0.1, each speaking its real protocol (the same ones the tests use), with prices that
 * random-walk around realistic levels and now and then dislocate on one venue. The real bot is
 * then started against them through the endpoint overrides, so every code path is the live one.
 * With TELEGRAM_BOT_TOKEN or DISCORD_TOKEN set it also sends real alerts.
 */
import { startApp } from './main.ts'
import { runUntilSignal } from './run.ts'
import { joinPair } from './symbols.ts'
import type { Pair, VenueId } from './types.ts'
import { VENUES } from './venues/index.ts'
import { SimBook, type Row } from './venues/sim/book.ts'
import type { SimVenue } from './venues/sim/venue.ts'

interface Market {
  readonly base: string
  readonly quote: string
  /** Starting mid price, tick size and decimals of the price. */
  readonly mid: number
  readonly tick: number
  readonly decimals: number
}

const MARKETS: readonly Market[] = [
  { base: 'BTC', quote: 'USDT', mid: 60_000, tick: 0.1, decimals: 2 },
  { base: 'ETH', quote: 'USDT', mid: 3_000, tick: 0.01, decimals: 2 },
  { base: 'SOL', quote: 'USDT', mid: 150, tick: 0.01, decimals: 3 },
]
const LEVELS = 25

/** One venue's view of one market. */
interface Feed {
  readonly venue: VenueId
  readonly market: Market
  readonly pair: Pair
  readonly sim: SimVenue
}

/** A seeded PRNG so a demo run is repeatable (mulberry32). */
function prng(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = Math.imul(a ^ (a >>> 15), a | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

/** A ladder of LEVELS levels a side around `center`. */
function ladder(m: Market, center: number, rand: () => number): { bids: Row[]; asks: Row[] } {
  const bids: Row[] = []
  const asks: Row[] = []
  const half = Math.max(m.tick, Math.round((center * 0.00005) / m.tick) * m.tick) // ~0.5 bp half-spread
  for (let i = 0; i < LEVELS; i++) {
    const qty = () =>
      (0.05 + rand() * (m.base === 'BTC' ? 2 : m.base === 'ETH' ? 20 : 300)).toFixed(4)
    bids.push([(center - half - i * m.tick).toFixed(m.decimals), qty()])
    asks.push([(center + half + i * m.tick).toFixed(m.decimals), qty()])
  }
  return { bids, asks }
}

/** The rows that turn `book` into `next` (deletes for levels that went away). */
function diff(book: SimBook, next: { bids: Row[]; asks: Row[] }): { bids: Row[]; asks: Row[] } {
  const side = (current: Map<string, string>, rows: Row[]): Row[] => {
    const wanted = new Map(rows)
    const out: Row[] = []
    for (const p of current.keys()) if (!wanted.has(p)) out.push([p, '0'])
    for (const [p, q] of rows) if (current.get(p) !== q) out.push([p, q])
    return out
  }
  return { bids: side(book.bids, next.bids), asks: side(book.asks, next.asks) }
}

export interface Demo {
  readonly env: Record<string, string>
  stop(): void
}

/** Starts every simulated venue and the market driver; returns the endpoint overrides. */
export function startSimulatedVenues({
  seed = 7,
  stepMs = 250,
  firstDislocationMs = 8_000,
} = {}): Demo {
  const rand = prng(seed)
  const sims = new Map<VenueId, SimVenue>()
  for (const venue of VENUES) {
    sims.set(
      venue.id,
      venue.simulate(MARKETS.map((m) => ({ base: m.base, quote: m.quote, book: new SimBook() }))),
    )
  }
  const feeds: Feed[] = []
  for (const m of MARKETS) {
    const pair = joinPair(m.base, m.quote)
    for (const [venue, sim] of sims) feeds.push({ venue, market: m, pair, sim })
  }
  // Seed every book so snapshots have depth before the first update.
  for (const f of feeds) {
    const { bids, asks } = ladder(f.market, f.market.mid, rand)
    f.sim.book(f.pair).apply(bids, asks)
  }

  const fair = new Map(MARKETS.map((m) => [m, m.mid]))
  /** Active dislocation: one venue's prices pushed up for a while on one market. */
  let dislocation: { venue: VenueId; market: Market; factor: number; untilMs: number } | undefined
  let nextDislocationMs = Date.now() + firstDislocationMs
  // Dislocations happen on the venues with the lowest taker fees, where they are tradable.
  const lowest = Math.min(...VENUES.map((v) => v.takerFeeBps))
  const cheap = VENUES.filter((v) => v.takerFeeBps === lowest).map((v) => v.id)
  const timer = setInterval(() => {
    const now = Date.now()
    if (dislocation && now > dislocation.untilMs) {
      dislocation = undefined
      nextDislocationMs = now + 15_000 + rand() * 25_000
    } else if (!dislocation && now > nextDislocationMs) {
      dislocation = {
        venue: cheap[Math.floor(rand() * cheap.length)]!,
        market: MARKETS[Math.floor(rand() * MARKETS.length)]!,
        factor: 1 + (0.004 + rand() * 0.004) * (rand() < 0.5 ? 1 : -1),
        untilMs: now + 8_000 + rand() * 10_000,
      }
    }
    for (const m of MARKETS) fair.set(m, fair.get(m)! * (1 + (rand() - 0.5) * 0.0004))
    for (const f of feeds) {
      if (rand() < 0.3) continue // not every venue moves every step
      const noise = 1 + (rand() - 0.5) * 0.0002
      const d =
        dislocation && dislocation.venue === f.venue && dislocation.market === f.market
          ? dislocation.factor
          : 1
      const book = f.sim.book(f.pair)
      const change = diff(book, ladder(f.market, fair.get(f.market)! * noise * d, rand))
      if (change.bids.length + change.asks.length > 0)
        f.sim.update(f.pair, change.bids, change.asks)
    }
  }, stepMs)

  const env: Record<string, string> = {}
  for (const [venue, sim] of sims) {
    env[`${venue.toUpperCase()}_WS_URL`] = sim.wsUrl
    env[`${venue.toUpperCase()}_REST_URL`] = sim.restUrl
  }
  return {
    env,
    stop() {
      clearInterval(timer)
      for (const sim of sims.values()) sim.stop()
    },
  }
}

if (import.meta.main) {
  const venues = startSimulatedVenues()
  const app = await runUntilSignal(
    () =>
      startApp({
        DATABASE_URL: 'file:data/demo.db',
        TRIANGLES: 'off',
        ...process.env,
        // The simulated venues always win over endpoint variables in the environment.
        ...venues.env,
      }),
    { afterStop: () => venues.stop() },
  )
  if (app) {
    const host = app.config.host === '0.0.0.0' ? 'localhost' : app.config.host
    const token = app.config.apiToken ? `?token=${encodeURIComponent(app.config.apiToken)}` : ''
    console.log(
      `\narbwatch demo: ${VENUES.length} simulated venues on 127.0.0.1; dashboard at http://${host}:${app.port}/${token}\n`,
    )
  }
}
