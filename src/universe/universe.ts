/**
 * @module
 * Which markets to watch, decided from the venues' own instrument lists (pure). `auto` keeps
 * every market with the same base and quote asset trading on at least `minVenues` venues, with a
 * quote in `quotes`, minus `exclude`, and at most `maxMarkets` of them, the most traded first (24 h
 * volume summed over venues). An explicit list keeps those markets wherever they are listed.
 * Markets a route needs besides (triangle legs, the conversion books of cross-quote routes such as
 * USDT/USD) are kept on every venue listing them. An asset a venue names differently is mapped by
 * that venue's alias table before this runs; one it uses for a different token (`distinctAssets`)
 * is left out on that venue, never guessed.
 */
import { splitPair } from '../symbols.ts'
import type { Pair, VenueId } from '../types.ts'

/** One venue's instrument list, as the universe reads it. */
export interface Listing {
  /** Trading markets, unified → native. */
  readonly markets: ReadonlyMap<Pair, string>
  /** 24 h volume per market in its quote asset, when the venue gave it. */
  readonly volumes?: ReadonlyMap<Pair, number>
  /** Asset codes this venue uses for a different token than others (code → why). */
  readonly distinctAssets?: Readonly<Record<string, string>>
}

export interface UniverseRules {
  /** `auto`, or the markets the user listed. */
  readonly symbols: 'auto' | readonly Pair[]
  readonly minVenues: number
  readonly quotes: readonly string[]
  /** Assets (`DOGE`) and markets (`PEPE/USDT`) never watched. */
  readonly exclude: readonly string[]
  readonly maxMarkets?: number
  /** Markets routes need besides (triangle legs), kept wherever listed. */
  readonly extra?: readonly Pair[]
}

export interface Universe {
  /** The markets compared across venues, most traded first in `auto`. */
  readonly markets: readonly Pair[]
  /** Per venue, what it subscribes (the markets above it lists, plus route legs), unified → native. */
  readonly perVenue: ReadonlyMap<VenueId, ReadonlyMap<Pair, string>>
  /** Markets left out and why (excluded, a distinct asset, over MAX_MARKETS), for the log. */
  readonly left: readonly { readonly pair: Pair; readonly venue?: VenueId; readonly why: string }[]
}

/** The conversion markets between quote assets (`USDT/USD`, `USD/USDT`, ...) any route may need. */
export function conversionMarkets(quotes: readonly string[]): Pair[] {
  const out: Pair[] = []
  for (const a of quotes) for (const b of quotes) if (a !== b) out.push(`${a}/${b}`)
  return out
}

/** Decides the universe from every enabled venue's listing. */
export function selectUniverse(
  listings: ReadonlyMap<VenueId, Listing>,
  rules: UniverseRules,
): Universe {
  const excluded = new Set(rules.exclude.map((x) => x.toUpperCase()))
  const quotes = new Set(rules.quotes)
  const left: { pair: Pair; venue?: VenueId; why: string }[] = []
  const isExcluded = (pair: Pair): boolean => {
    const { base, quote } = splitPair(pair)
    return excluded.has(pair) || excluded.has(base) || excluded.has(quote)
  }
  /** The venue's market, unless it uses one of the pair's assets for a different token. */
  const usable = (venue: VenueId, l: Listing, pair: Pair): string | undefined => {
    const native = l.markets.get(pair)
    if (native === undefined || l.distinctAssets === undefined) return native
    const { base, quote } = splitPair(pair)
    const why = l.distinctAssets[base] ?? l.distinctAssets[quote]
    if (why === undefined) return native
    left.push({ pair, venue, why: `a different token on this venue: ${why}` })
    return undefined
  }

  let markets: Pair[]
  if (rules.symbols === 'auto') {
    const venuesOf = new Map<Pair, number>()
    const volume = new Map<Pair, number>()
    for (const [venue, l] of listings) {
      for (const pair of l.markets.keys()) {
        const { quote } = splitPair(pair)
        if (!quotes.has(quote) || usable(venue, l, pair) === undefined) continue
        venuesOf.set(pair, (venuesOf.get(pair) ?? 0) + 1)
        const v = l.volumes?.get(pair)
        if (v !== undefined && Number.isFinite(v) && v > 0)
          volume.set(pair, (volume.get(pair) ?? 0) + v)
      }
    }
    markets = []
    for (const [pair, n] of venuesOf) {
      if (n < rules.minVenues) continue
      if (isExcluded(pair)) left.push({ pair, why: 'excluded (EXCLUDE)' })
      else markets.push(pair)
    }
    // Most traded first; ties (and markets without volumes) by name, so the choice is stable.
    markets.sort(
      (a, b) => (volume.get(b) ?? 0) - (volume.get(a) ?? 0) || (a < b ? -1 : a > b ? 1 : 0),
    )
    if (rules.maxMarkets !== undefined && markets.length > rules.maxMarkets) {
      for (const pair of markets.slice(rules.maxMarkets))
        left.push({ pair, why: 'over MAX_MARKETS' })
      markets = markets.slice(0, rules.maxMarkets)
    }
  } else {
    markets = rules.symbols.filter((pair) => {
      if (!isExcluded(pair)) return true
      left.push({ pair, why: 'excluded (EXCLUDE)' })
      return false
    })
  }

  // Route legs: triangle markets, and conversion books where the markets span several quotes.
  const extra = new Set<Pair>(rules.extra ?? [])
  const quotesUsed = new Set(markets.map((p) => splitPair(p).quote))
  if (quotesUsed.size > 1) for (const c of conversionMarkets([...quotesUsed])) extra.add(c)
  const watched = new Set(markets)
  const perVenue = new Map<VenueId, Map<Pair, string>>()
  for (const [venue, l] of listings) {
    const subscribed = new Map<Pair, string>()
    for (const pair of [...markets, ...extra]) {
      if (subscribed.has(pair) || (!watched.has(pair) && isExcluded(pair))) continue
      const native = usable(venue, l, pair)
      if (native !== undefined) subscribed.set(pair, native)
    }
    perVenue.set(venue, subscribed)
  }
  const seen = new Set<string>()
  const unique = left.filter((x) => {
    const key = `${x.venue ?? ''} ${x.pair}`
    return !seen.has(key) && seen.add(key) !== undefined
  })
  return { markets, perVenue, left: unique }
}
