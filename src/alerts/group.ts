/**
 * @module
 * Which alerts of one chat go out as one message, pure. One book update is one detector pass: it
 * re-evaluates every route that reads that book, so the routes it opens all trade on the venue
 * whose book moved. The fan-out gives the deliveries of one pass and one asset the same group key;
 * the dispatcher sends those of a chat that share the moving venue on the same side (bought there
 * in every route, or sold there in every route) as one message, best route first. Triangles stay
 * on their own.
 */
import type { OpportunityRecord } from '../detector/record.ts'
import type { OpportunityKind } from '../detector/types.ts'
import type { VenueId } from '../types.ts'

/** The venue every route of a group trades on, and on which side. */
export interface MovingVenue {
  readonly side: 'buy' | 'sell'
  readonly venue: VenueId
}

/** The base asset a route trades: `BTC` for `BTC/USDT` and `BTC/USDT>BTC/USD`. */
export const assetOf = (symbol: string): string => symbol.slice(0, symbol.indexOf('/'))

/**
 * The group key of an opening (`<atMs>.<pass>|<asset>`), or undefined for a route that is never
 * grouped (a triangle) or an opening without a detector pass.
 *
 * @example
 * ```ts
 * groupKeyOf({ kind: 'cross', symbol: 'BTC/USDT' }, 1795307804603, 7) // '1795307804603.7|BTC'
 * ```
 */
export function groupKeyOf(
  o: { readonly kind: OpportunityKind; readonly symbol: string },
  atMs: number,
  pass: number | undefined,
): string | undefined {
  if (pass === undefined || o.kind === 'triangle') return undefined
  return `${atMs}.${pass}|${assetOf(o.symbol)}`
}

/**
 * The market a route trades on its moving venue: a cross's market; a cross-quote route's bought
 * market (`side` buy) or sold market (`side` sell); a triangle's cycle.
 */
export function marketOn(
  o: Pick<OpportunityRecord, 'kind' | 'symbol'>,
  side: MovingVenue['side'],
): string {
  if (o.kind !== 'cross-quote') return o.symbol
  const [bought, sold] = o.symbol.split('>')
  return (side === 'buy' ? bought : sold) ?? o.symbol
}

/**
 * The message `head` goes out in: of `all` (the chat's deliveries sharing its group key, `head`
 * among them), those that trade on the same venue on the same side as `head`: its buy venue, or
 * its sell venue when more of them sell there (a tie goes to the buy venue). Order is kept.
 *
 * @example
 * ```ts
 * // buy Kraken sell Binance, buy Kraken sell OKX, buy Bybit sell Kraken: the first two
 * pickGroup(a, [a, b, c]) // { moving: { side: 'buy', venue: 'kraken' }, members: [a, b] }
 * ```
 */
export function pickGroup<
  T extends { readonly opportunity: Pick<OpportunityRecord, 'buyVenue' | 'sellVenue'> },
>(head: T, all: readonly T[]): { moving: MovingVenue; members: T[] } {
  const list = all.includes(head) ? all : [head, ...all]
  const buyVenue = head.opportunity.buyVenue
  const sellVenue = head.opportunity.sellVenue
  const buying = list.filter((m) => m.opportunity.buyVenue === buyVenue)
  const selling = list.filter((m) => m.opportunity.sellVenue === sellVenue)
  return selling.length > buying.length
    ? { moving: { side: 'sell', venue: sellVenue }, members: selling }
    : { moving: { side: 'buy', venue: buyVenue }, members: buying }
}
