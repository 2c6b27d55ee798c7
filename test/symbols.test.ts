import { describe, expect, test } from 'bun:test'
import { joinPair, normalizePair, SymbolError } from '../src/symbols.ts'

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
    expect(normalizePair(input)).toBe(expected)
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

  test('joinPair maps venue asset aliases', () => {
    expect(joinPair('XXBT', 'USDT')).toBe('BTC/USDT')
    expect(joinPair('xbt', 'usd')).toBe('BTC/USD')
    expect(joinPair('XDG', 'USD')).toBe('DOGE/USD')
  })
})
