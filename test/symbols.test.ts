import { describe, expect, test } from 'bun:test'
import { joinPair, normalizePair, SymbolError } from '../src/symbols.ts'
import { ASSET_ALIASES } from '../src/venues/index.ts'
import { KRAKEN_ASSETS } from '../src/venues/kraken/index.ts'

describe('normalizePair', () => {
  test.each([
    ['BTC/USDT', 'BTC/USDT'],
    ['BTCUSDT', 'BTC/USDT'],
    ['btc-usdt', 'BTC/USDT'],
    ['XBT/USDT', 'BTC/USDT'],
    ['xbtusdt', 'BTC/USDT'],
    ['BTCUSD', 'BTC/USD'],
    ['BTC-USD', 'BTC/USD'],
    ['ethbtc', 'ETH/BTC'],
    ['SOL_USDC', 'SOL/USDC'],
    [' eth/usdt ', 'ETH/USDT'],
  ])('%p → %p', (input, expected) => {
    expect(normalizePair(input, ASSET_ALIASES)).toBe(expected)
  })

  test('USD is never read as USDT and the other way round', () => {
    expect(normalizePair('BTCUSD')).not.toBe('BTC/USDT')
    expect(normalizePair('BTCUSDT')).not.toBe('BTC/USD')
  })

  test.each(['', 'BTC', '!!!', 'BTC/USDT/EUR', 'a'.repeat(30), 'BTC USDT', 'USDTUSDT'])(
    'rejects %p',
    (input) => {
      expect(() => normalizePair(input)).toThrow(SymbolError)
    },
  )

  test("joinPair maps a venue's asset codes through that venue's own table, and only there", () => {
    expect(joinPair('XXBT', 'USDT', KRAKEN_ASSETS)).toBe('BTC/USDT')
    expect(joinPair('xbt', 'usd', KRAKEN_ASSETS)).toBe('BTC/USD')
    expect(joinPair('XDG', 'USD', KRAKEN_ASSETS)).toBe('DOGE/USD')
    // Another venue's XBT is not guessed to be BTC.
    expect(joinPair('XBT', 'USD')).toBe('XBT/USD')
  })

  test('what users type may use any venue alias the registry knows', () => {
    expect(ASSET_ALIASES.XBT).toBe('BTC')
    expect(normalizePair('XBT/USDT')).toBe('XBT/USDT')
    expect(normalizePair('XBT/USDT', ASSET_ALIASES)).toBe('BTC/USDT')
  })
})
