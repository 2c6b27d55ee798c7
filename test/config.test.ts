import { describe, expect, test } from 'bun:test'
import { ConfigError, parseConfig } from '../src/config.ts'

describe('parseConfig', () => {
  test('defaults: all six venues, three USDT markets, port 8080, public endpoints', () => {
    const c = parseConfig({})
    expect(c.exchanges).toEqual(['binance', 'kraken', 'coinbase', 'bitstamp', 'okx', 'bybit'])
    expect(c.symbols).toEqual(['BTC/USDT', 'ETH/USDT', 'SOL/USDT'])
    expect(c.port).toBe(8080)
    expect(c.endpoints.okx.wsUrl).toBe('wss://ws.okx.com:8443/ws/v5/public')
    expect(c.endpoints.binance.restUrl).toBe('https://api.binance.com')
    expect(Object.isFrozen(c)).toBe(true)
  })

  test('normalises symbols and venue names, and honours endpoint overrides', () => {
    const c = parseConfig({
      EXCHANGES: ' Kraken,okx ',
      SYMBOLS: 'BTCUSDT, eth-usdt, XBT/USD',
      PORT: '9000',
      KRAKEN_WS_URL: 'ws://127.0.0.1:5555/',
      OKX_REST_URL: 'http://127.0.0.1:5556',
    })
    expect(c.exchanges).toEqual(['kraken', 'okx'])
    expect(c.symbols).toEqual(['BTC/USDT', 'ETH/USDT', 'BTC/USD'])
    expect(c.port).toBe(9000)
    expect(c.endpoints.kraken.wsUrl).toBe('ws://127.0.0.1:5555')
    expect(c.endpoints.okx.restUrl).toBe('http://127.0.0.1:5556')
    expect(c.endpoints.okx.wsUrl).toBe('wss://ws.okx.com:8443/ws/v5/public')
  })

  test('empty values count as unset', () => {
    expect(parseConfig({ PORT: '', SYMBOLS: '  ' }).port).toBe(8080)
  })

  test('one error names every bad variable and what it expects', () => {
    let err: unknown
    try {
      parseConfig({
        EXCHANGES: 'binance,ftx',
        SYMBOLS: 'BTC/USDT,!!',
        PORT: '70000',
        BYBIT_WS_URL: 'https://stream.bybit.com',
        COINBASE_REST_URL: 'not a url',
        LOG_LEVEL: 'loud',
      })
    } catch (e) {
      err = e
    }
    expect(err).toBeInstanceOf(ConfigError)
    const message = (err as ConfigError).message
    for (const name of [
      'EXCHANGES',
      'SYMBOLS',
      'PORT',
      'BYBIT_WS_URL',
      'COINBASE_REST_URL',
      'LOG_LEVEL',
    ]) {
      expect(message).toContain(`${name}=`)
    }
    expect(message).toContain('unknown: ftx')
    expect(message).toContain('ws:// or wss://')
    expect((err as ConfigError).problems).toHaveLength(6)
  })
})
