/**
 * @module
 * MEXC spot v3 names shared by the venue module and its simulated venue: the diff-depth
 * channel, the refusal text, and the REST weights (sources in ./index.ts).
 */

/** The diff-depth channel of a symbol, less the symbol (MEXC wants symbols upper case). */
export const MEXC_DEPTH_CHANNEL = 'spot@public.aggre.depth.v3.api.pb@100ms@'

/** The text MEXC starts a refused subscription's `msg` with (`code` is still 0). */
export const MEXC_REFUSAL = 'Not Subscribed successfully!'

/** The symbol a channel name ends with (`...@100ms@BTCUSDT` → `BTCUSDT`). */
export const symbolOfChannel = (channel: string): string =>
  channel.slice(channel.lastIndexOf('@') + 1)

/**
 * The weight MEXC counts for a GET (docs "Weight(IP)" per endpoint): exchangeInfo 10,
 * ticker/24hr 1 for one symbol and 40 for all, depth 1 at any limit.
 */
export function mexcCost(url: URL): number {
  switch (url.pathname) {
    case '/api/v3/exchangeInfo':
      return 10
    case '/api/v3/ticker/24hr':
      return url.searchParams.has('symbol') ? 1 : 40
    default:
      return 1
  }
}
