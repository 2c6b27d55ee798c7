/**
 * The grouping rule, pure: the group key of an opening, the market on the moving venue, and which
 * deliveries of a pass go out as one message.
 */
import { describe, expect, test } from 'bun:test'
import { assetOf, groupKeyOf, marketOn, pickGroup } from '../../src/alerts/group.ts'

const route = (id: number, buyVenue: string, sellVenue: string) => ({
  id,
  opportunity: { buyVenue, sellVenue },
})

describe('grouping', () => {
  test('the group key names the pass and the asset; triangles and openings without a pass get none', () => {
    expect(groupKeyOf({ kind: 'cross', symbol: 'BTC/USDT' }, 1795307804603, 7)).toBe(
      '1795307804603.7|BTC',
    )
    // A cross-quote route groups with the crosses of its asset.
    expect(groupKeyOf({ kind: 'cross-quote', symbol: 'BTC/USDT>BTC/USD' }, 5, 1)).toBe('5.1|BTC')
    expect(groupKeyOf({ kind: 'triangle', symbol: 'USDT>BTC>ETH>USDT' }, 5, 1)).toBeUndefined()
    expect(groupKeyOf({ kind: 'cross', symbol: 'BTC/USDT' }, 5, undefined)).toBeUndefined()
    expect(assetOf('1000SATS/USDT')).toBe('1000SATS')
  })

  test('the market on the moving venue: the bought one when buying there, the sold one when selling', () => {
    expect(marketOn({ kind: 'cross', symbol: 'BTC/USDT' }, 'sell')).toBe('BTC/USDT')
    expect(marketOn({ kind: 'cross-quote', symbol: 'BTC/USDT>BTC/USD' }, 'buy')).toBe('BTC/USDT')
    expect(marketOn({ kind: 'cross-quote', symbol: 'BTC/USDT>BTC/USD' }, 'sell')).toBe('BTC/USD')
  })

  test('one venue bought in every route: one group; the venue sold in more routes wins', () => {
    const a = route(1, 'kraken', 'binance')
    const b = route(2, 'kraken', 'okx')
    const c = route(3, 'kraken', 'bybit')
    expect(pickGroup(a, [a, b, c])).toEqual({
      moving: { side: 'buy', venue: 'kraken' },
      members: [a, b, c],
    })
    // Kraken's bid rose above OKX's and Bybit's asks, and its ask fell below Binance's bid.
    const x = route(4, 'okx', 'kraken')
    const y = route(5, 'bybit', 'kraken')
    const z = route(6, 'kraken', 'binance')
    expect(pickGroup(x, [x, y, z])).toEqual({
      moving: { side: 'sell', venue: 'kraken' },
      members: [x, y],
    })
    // The one left over goes alone.
    expect(pickGroup(z, [z])).toEqual({ moving: { side: 'buy', venue: 'kraken' }, members: [z] })
    // A tie goes to the buy venue.
    expect(pickGroup(z, [z, x]).moving).toEqual({ side: 'buy', venue: 'kraken' })
  })
})
