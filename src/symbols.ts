/**
 * @module
 * Unified market names. Users and config write `BTC/USDT`, `BTCUSDT`, `btc-usdt` or `XBT/USDT`;
 * everything inside arbwatch uses `BTC/USDT`. Venue-native names come from each venue's own
 * instrument list (see the adapters), never from string guessing.
 */
import type { Pair } from './types.ts'

/** Asset aliases some venues use for the same coin. */
const ALIASES: Record<string, string> = { XBT: 'BTC', XXBT: 'BTC', XDG: 'DOGE', XETH: 'ETH' }

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

/** Maps a venue's or user's asset code to the unified one (`XBT` → `BTC`). */
export function normalizeAsset(asset: string): string {
  const upper = asset.trim().toUpperCase()
  return ALIASES[upper] ?? upper
}

/**
 * Normalises a user-typed market name to `BASE/QUOTE`.
 *
 * @example
 * ```ts
 * normalizePair('btc-usdt') // 'BTC/USDT'
 * normalizePair('XBT/USDT') // 'BTC/USDT'
 * normalizePair('BTCUSD')   // 'BTC/USD' (never USDT)
 * ```
 * @throws SymbolError when the text is not a recognisable market.
 */
export function normalizePair(text: string): Pair {
  const raw = text.trim().toUpperCase()
  if (!/^[A-Z0-9]{2,12}([/\-_:][A-Z0-9]{2,12})?$/.test(raw)) {
    throw new SymbolError(`"${text}" is not a market name (write it like BTC/USDT)`)
  }
  const parts = raw.split(/[/\-_:]/)
  if (parts.length === 2) return joinPair(parts[0]!, parts[1]!)
  for (const quote of QUOTES) {
    if (raw.length > quote.length + 1 && raw.endsWith(quote)) {
      return joinPair(raw.slice(0, -quote.length), quote)
    }
  }
  throw new SymbolError(`cannot tell the quote currency of "${text}" (write it like BTC/USDT)`)
}

/** Builds a unified pair from a venue's base and quote asset codes. */
export function joinPair(base: string, quote: string): Pair {
  const b = normalizeAsset(base)
  const q = normalizeAsset(quote)
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
