/**
 * @module
 * Unified market names. Users and config write `BTC/USDT`, `BTCUSDT` or `btc-usdt`; everything
 * inside arbwatch uses `BTC/USDT`. Venue-native names come from each venue's own instrument list,
 * never from string guessing, and a venue's own asset codes (Kraken's `XBT`) are mapped by the
 * alias table that venue declares (the registry merges them for what users type).
 */
import type { Pair } from './types.ts'

/** Asset codes a venue uses for a coin others name differently, venue code → unified code. */
export type AssetAliases = Readonly<Record<string, string>>

const NONE: AssetAliases = Object.freeze({})

/**
 * Quote assets recognised when a user writes a pair without a separator (`BTCUSDT`).
 * Longest first, so `USDT` wins over `USD`: USD is never read as USDT or the other way round.
 */
const QUOTES = [
  'FDUSD',
  'USDT',
  'USDC',
  'TUSD',
  'BUSD',
  'EURC',
  'DAI',
  'USD',
  'EUR',
  'GBP',
  'JPY',
  'TRY',
  'BRL',
  'AUD',
  'CAD',
  'CHF',
  'BTC',
  'ETH',
  'BNB',
  'SOL',
]

export class SymbolError extends Error {
  override name = 'SymbolError'
}

/** Maps a venue's or user's asset code to the unified one through `aliases` (`XBT` → `BTC`). */
export function normalizeAsset(asset: string, aliases: AssetAliases = NONE): string {
  const upper = asset.trim().toUpperCase()
  return aliases[upper] ?? upper
}

/**
 * Normalises a user-typed market name to `BASE/QUOTE`.
 *
 * @example
 * ```ts
 * normalizePair('btc-usdt') // 'BTC/USDT'
 * normalizePair('XBT/USDT', { XBT: 'BTC' }) // 'BTC/USDT'
 * normalizePair('BTCUSD')   // 'BTC/USD' (never USDT)
 * ```
 * @throws SymbolError when the text is not a recognisable market.
 */
export function normalizePair(text: string, aliases: AssetAliases = NONE): Pair {
  const raw = text.trim().toUpperCase()
  if (!/^[A-Z0-9]{2,12}([/\-_:][A-Z0-9]{2,12})?$/.test(raw)) {
    throw new SymbolError(`"${text}" is not a market name (write it like BTC/USDT)`)
  }
  const parts = raw.split(/[/\-_:]/)
  if (parts.length === 2) return joinPair(parts[0]!, parts[1]!, aliases)
  for (const quote of QUOTES) {
    if (raw.length > quote.length + 1 && raw.endsWith(quote)) {
      return joinPair(raw.slice(0, -quote.length), quote, aliases)
    }
  }
  throw new SymbolError(`cannot tell the quote currency of "${text}" (write it like BTC/USDT)`)
}

/** Builds a unified pair from a venue's base and quote asset codes (mapped through `aliases`). */
export function joinPair(base: string, quote: string, aliases: AssetAliases = NONE): Pair {
  const b = normalizeAsset(base, aliases)
  const q = normalizeAsset(quote, aliases)
  if (b === q) throw new SymbolError(`"${base}/${quote}" has the same base and quote`)
  return `${b}/${q}`
}

/**
 * The market two assets trade on, oriented the way venues list it: the more quote-like asset
 * (earlier in the quote list: stablecoins, then fiat, then BTC, ETH...) is the quote.
 *
 * @example
 * ```ts
 * marketBetween('ETH', 'BTC') // 'ETH/BTC'
 * marketBetween('USDT', 'BTC') // 'BTC/USDT'
 * ```
 */
export function marketBetween(x: string, y: string): Pair {
  const rank = (a: string) => {
    const i = QUOTES.indexOf(a)
    return i < 0 ? QUOTES.length : i
  }
  const [base, quote] = rank(x) < rank(y) ? [y, x] : rank(y) < rank(x) ? [x, y] : [x, y].sort()
  return `${base}/${quote}`
}

/** The base and quote asset of a unified pair (`BTC/USDT` → BTC, USDT). */
export function splitPair(pair: Pair): { readonly base: string; readonly quote: string } {
  const i = pair.indexOf('/')
  return { base: pair.slice(0, i), quote: pair.slice(i + 1) }
}

/** A chat's subscription to every market, including those the universe adds later. */
export const EVERY_MARKET = '*'

/** A chat's subscription to every market of a base asset (`SOL/*`), later ones included. */
export const everyMarketOf = (base: string): string => `${base}/*`

/**
 * Whether subscription entries cover a market: the market itself, every market of its base
 * (`SOL/*`), or every market (`*`).
 */
export function follows(entries: ReadonlySet<string>, market: Pair): boolean {
  if (entries.has(market) || entries.has(EVERY_MARKET)) return true
  const i = market.indexOf('/')
  return i > 0 && entries.has(`${market.slice(0, i)}/*`)
}
