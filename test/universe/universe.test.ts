import { describe, expect, test } from 'bun:test'
import type { Pair } from '../../src/types.ts'
import { selectUniverse, type Listing, type UniverseRules } from '../../src/universe/universe.ts'

const listing = (
  pairs: readonly Pair[],
  volumes: Record<Pair, number> = {},
  distinct?: Record<string, string>,
): Listing => ({
  markets: new Map(pairs.map((p) => [p, p.replace('/', '')])),
  volumes: new Map(Object.entries(volumes)),
  distinctAssets: distinct,
})

const AUTO: UniverseRules = {
  symbols: 'auto',
  minVenues: 2,
  quotes: ['USDT', 'USD', 'USDC'],
  exclude: [],
}

describe('selectUniverse', () => {
  test('auto keeps the markets trading on at least MIN_VENUES venues with an allowed quote', () => {
    const u = selectUniverse(
      new Map([
        ['a', listing(['BTC/USDT', 'ETH/USDT', 'ONLY/USDT', 'BTC/EUR', 'SOL/USD'])],
        ['b', listing(['BTC/USDT', 'ETH/USDT', 'BTC/EUR', 'SOL/USD'])],
        ['c', listing(['BTC/USDT', 'SOL/USD'])],
      ]),
      AUTO,
    )
    expect([...u.markets].sort()).toEqual(['BTC/USDT', 'ETH/USDT', 'SOL/USD'])
    // BTC/EUR is common but EUR is not in QUOTES; ONLY/USDT is on one venue.
    expect([...u.perVenue.get('c')!.keys()]).toEqual(
      expect.arrayContaining(['BTC/USDT', 'SOL/USD']),
    )
    expect(u.perVenue.get('a')!.has('ONLY/USDT')).toBe(false)
  })

  test('MIN_VENUES=3 leaves out a market on two venues', () => {
    const u = selectUniverse(
      new Map([
        ['a', listing(['BTC/USDT', 'ETH/USDT'])],
        ['b', listing(['BTC/USDT', 'ETH/USDT'])],
        ['c', listing(['BTC/USDT'])],
      ]),
      { ...AUTO, minVenues: 3 },
    )
    expect(u.markets).toEqual(['BTC/USDT'])
  })

  test('EXCLUDE drops an asset everywhere and a single market, and says why', () => {
    const both = listing(['BTC/USDT', 'DOGE/USDT', 'DOGE/USD', 'PEPE/USDT', 'PEPE/USD'])
    const u = selectUniverse(
      new Map([
        ['a', both],
        ['b', both],
      ]),
      {
        ...AUTO,
        exclude: ['DOGE', 'PEPE/USDT'],
      },
    )
    expect([...u.markets].sort()).toEqual(['BTC/USDT', 'PEPE/USD'])
    expect(u.left.map((l) => l.pair).sort()).toEqual(['DOGE/USD', 'DOGE/USDT', 'PEPE/USDT'])
    expect(u.left.every((l) => l.why.includes('EXCLUDE'))).toBe(true)
  })

  test('MAX_MARKETS keeps the most traded, summed over venues', () => {
    const pairs: Pair[] = ['AAA/USDT', 'BBB/USDT', 'CCC/USDT', 'DDD/USDT']
    const u = selectUniverse(
      new Map([
        ['a', listing(pairs, { 'AAA/USDT': 10, 'BBB/USDT': 500, 'CCC/USDT': 100, 'DDD/USDT': 1 })],
        ['b', listing(pairs, { 'AAA/USDT': 1000, 'BBB/USDT': 1, 'CCC/USDT': 100 })],
      ]),
      { ...AUTO, maxMarkets: 2 },
    )
    // AAA 1010, BBB 501, CCC 200, DDD 1.
    expect(u.markets).toEqual(['AAA/USDT', 'BBB/USDT'])
    expect(u.left).toEqual([
      { pair: 'CCC/USDT', why: 'over MAX_MARKETS' },
      { pair: 'DDD/USDT', why: 'over MAX_MARKETS' },
    ])
    expect([...u.perVenue.get('a')!.keys()].sort()).toEqual(['AAA/USDT', 'BBB/USDT'])
  })

  test('an asset a venue uses for a different token is left out on that venue, not guessed', () => {
    const u = selectUniverse(
      new Map([
        ['a', listing(['BTC/USDT', 'TWIN/USDT'])],
        [
          'b',
          listing(['BTC/USDT', 'TWIN/USDT'], {}, { TWIN: 'another project under the same ticker' }),
        ],
        ['c', listing(['TWIN/USDT'])],
      ]),
      AUTO,
    )
    // TWIN counts on a and c only; b never subscribes it.
    expect([...u.markets].sort()).toEqual(['BTC/USDT', 'TWIN/USDT'])
    expect(u.perVenue.get('b')!.has('TWIN/USDT')).toBe(false)
    expect(u.perVenue.get('a')!.has('TWIN/USDT')).toBe(true)
    expect(u.left).toEqual([
      {
        pair: 'TWIN/USDT',
        venue: 'b',
        why: 'a different token on this venue: another project under the same ticker',
      },
    ])
  })

  test('markets quoted in several quotes bring the conversion books wherever they are listed', () => {
    const u = selectUniverse(
      new Map([
        ['usdt', listing(['BTC/USDT', 'USDC/USDT'])],
        ['usd', listing(['BTC/USD', 'USDT/USD'])],
        ['both', listing(['BTC/USD', 'BTC/USDT'])],
      ]),
      AUTO,
    )
    expect([...u.markets].sort()).toEqual(['BTC/USD', 'BTC/USDT'])
    // The conversion book is on one venue only, and still subscribed: a route leg, not a market.
    expect(u.perVenue.get('usd')!.has('USDT/USD')).toBe(true)
    expect(u.markets).not.toContain('USDT/USD')
    // USDC is not quoted by any watched market: its conversion book is not needed.
    expect(u.perVenue.get('usdt')!.has('USDC/USDT')).toBe(false)
  })

  test('an explicit list is kept wherever listed, with the route legs it needs', () => {
    const u = selectUniverse(
      new Map([
        ['a', listing(['BTC/USDT', 'ETH/USDT', 'ETH/BTC'])],
        ['b', listing(['BTC/USDT'])],
      ]),
      { ...AUTO, symbols: ['BTC/USDT', 'SOL/USDT'], extra: ['ETH/BTC', 'ETH/USDT'] },
    )
    expect(u.markets).toEqual(['BTC/USDT', 'SOL/USDT'])
    expect([...u.perVenue.get('a')!.keys()]).toEqual(['BTC/USDT', 'ETH/BTC', 'ETH/USDT'])
    expect([...u.perVenue.get('b')!.keys()]).toEqual(['BTC/USDT'])
  })
})
