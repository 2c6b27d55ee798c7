import { describe, expect, test } from 'bun:test'
import { ConfigError, parseConfig } from '../src/config.ts'
import { VENUE_IDS } from '../src/venues/index.ts'

describe('parseConfig', () => {
  test('defaults: all six venues, three USDT markets, port 8080, public endpoints', () => {
    const c = parseConfig({})
    expect(c.exchanges).toEqual(['binance', 'kraken', 'coinbase', 'bitstamp', 'okx', 'bybit'])
    expect(c.symbols).toEqual(['BTC/USDT', 'ETH/USDT', 'SOL/USDT'])
    expect(c.port).toBe(8080)
    expect(c.endpoints.okx?.wsUrl).toBe('wss://ws.okx.com:8443/ws/v5/public')
    expect(c.endpoints.binance?.restUrl).toBe('https://api.binance.com')
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
    expect(c.endpoints.kraken?.wsUrl).toBe('ws://127.0.0.1:5555')
    expect(c.endpoints.okx?.restUrl).toBe('http://127.0.0.1:5556')
    expect(c.endpoints.okx?.wsUrl).toBe('wss://ws.okx.com:8443/ws/v5/public')
  })

  test('EXCHANGES=all names every venue, the opt-in ones too; the default leaves those out', () => {
    const all = parseConfig({ EXCHANGES: ' ALL ' }).exchanges
    expect(all).toEqual([...VENUE_IDS])
    expect(all).toContain('htx')
    expect(all).toContain('mexc')
    expect(all.length).toBe(12)
    const byDefault = parseConfig({}).exchanges
    expect(byDefault).toEqual(['binance', 'kraken', 'coinbase', 'bitstamp', 'okx', 'bybit'])
  })

  test('SYMBOLS=auto with the universe settings', () => {
    const c = parseConfig({
      SYMBOLS: 'AUTO',
      MIN_VENUES: '3',
      QUOTES: 'usdt, usd',
      EXCLUDE: 'doge, PEPE-USDT, xbt',
      MAX_MARKETS: '250',
      UNIVERSE_REFRESH_S: '120',
    })
    expect(c.universe).toBe('auto')
    expect(c.symbols).toEqual([])
    expect(c.minVenues).toBe(3)
    expect(c.quotes).toEqual(['USDT', 'USD'])
    // An asset or a market; venue aliases are mapped (XBT is BTC).
    expect(c.exclude).toEqual(['DOGE', 'PEPE/USDT', 'BTC'])
    expect(c.maxMarkets).toBe(250)
    expect(c.universeRefreshS).toBe(120)
    const d = parseConfig({})
    expect([
      d.universe,
      d.minVenues,
      d.quotes,
      d.exclude,
      d.maxMarkets,
      d.universeRefreshS,
    ]).toEqual(['list', 2, ['USDT', 'USD', 'USDC'], [], undefined, 600])
  })

  test('bad universe settings are named with what they expect', () => {
    let err: unknown
    try {
      parseConfig({
        MIN_VENUES: '0',
        QUOTES: 'US$',
        EXCLUDE: 'a/b/c',
        MAX_MARKETS: 'lots',
        UNIVERSE_REFRESH_S: '5',
      })
    } catch (e) {
      err = e
    }
    expect(err).toBeInstanceOf(ConfigError)
    const problems = (err as ConfigError).problems.join('\n')
    expect(problems).toContain('MIN_VENUES="0": expected a whole number of venues (1-12)')
    expect(problems).toContain('QUOTES="US$": expected a comma-separated list of assets')
    expect(problems).toContain(
      'EXCLUDE="a/b/c": "a/b/c" is neither an asset (DOGE) nor a market (PEPE/USDT)',
    )
    expect(problems).toContain('MAX_MARKETS="lots": expected a whole number of markets')
    expect(problems).toContain('UNIVERSE_REFRESH_S="5": expected seconds (30-86400)')
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

describe('parseConfig: detector, database and chat settings', () => {
  test('defaults', () => {
    const c = parseConfig({})
    expect(c.tradeSize).toBe(1000)
    expect(c.minSpreadBps).toBe(10)
    expect(c.hysteresisBps).toBe(5)
    expect(c.maxSpreadBps).toBe(500)
    expect(c.maxQuoteAgeMs).toBe(5000)
    expect(c.feeBps).toEqual({
      binance: 10,
      kraken: 40,
      coinbase: 120,
      bitstamp: 40,
      okx: 10,
      bybit: 10,
      kucoin: 10,
      gate: 10,
      bitget: 10,
      htx: 20,
      bitfinex: 20,
      mexc: 5,
    })
    expect(c.triangles).toEqual([['USDT', 'BTC', 'ETH']])
    expect(c.databaseUrl).toBe('file:data/arbwatch.db')
    expect(c.telegram).toBeUndefined()
    expect(c.discord).toBeUndefined()
    expect(c.allowedChats).toBeUndefined()
    expect(c.alertCooldownS).toBe(60)
  })

  test('overrides', () => {
    const c = parseConfig({
      TRADE_SIZE: '2500',
      MIN_SPREAD_PCT: '0.3',
      HYSTERESIS_PCT: '0.1',
      MAX_SPREAD_PCT: '3',
      FEE_BPS_KRAKEN: '26',
      TRIANGLES: 'usdt-eth-sol, USDC/BTC/ETH',
      DATABASE_URL: 'libsql://db.example.turso.io',
      DATABASE_AUTH_TOKEN: 't',
      TELEGRAM_BOT_TOKEN: '123456:ABCdefGHIjklMNOpqrSTUvwx',
      TELEGRAM_API_ROOT: 'http://127.0.0.1:9/',
      DISCORD_TOKEN: 'x'.repeat(60),
      DISCORD_GUILD_ID: '123456789012345678',
      ALLOWED_CHATS: 'telegram:-100123,discord:42',
    })
    expect(c.tradeSize).toBe(2500)
    expect(c.minSpreadBps).toBeCloseTo(30, 10)
    expect(c.feeBps.kraken).toBe(26)
    expect(c.triangles).toEqual([
      ['USDT', 'ETH', 'SOL'],
      ['USDC', 'BTC', 'ETH'],
    ])
    expect(c.telegram).toEqual({
      token: '123456:ABCdefGHIjklMNOpqrSTUvwx',
      apiRoot: 'http://127.0.0.1:9',
      webhookUrl: undefined,
    })
    expect(c.discord?.guildId).toBe('123456789012345678')
    expect([...c.allowedChats!]).toEqual(['telegram:-100123', 'discord:42'])
    expect(parseConfig({ TRIANGLES: 'off' }).triangles).toEqual([])
  })

  test('bad values are named, secrets are not printed', () => {
    let message = ''
    try {
      parseConfig({
        TRADE_SIZE: '-1',
        MIN_SPREAD_PCT: 'x',
        FEE_BPS_OKX: '5000',
        TRIANGLES: 'BTC-ETH',
        DATABASE_URL: 'postgres://x',
        TELEGRAM_BOT_TOKEN: 'secret-but-wrong',
        ALERT_COOLDOWN_S: 'soon',
      })
    } catch (e) {
      message = (e as Error).message
    }
    for (const name of [
      'TRADE_SIZE',
      'MIN_SPREAD_PCT',
      'FEE_BPS_OKX',
      'TRIANGLES',
      'DATABASE_URL',
      'TELEGRAM_BOT_TOKEN',
      'ALERT_COOLDOWN_S',
    ]) {
      expect(message).toContain(`${name}=`)
    }
    expect(message).not.toContain('secret-but-wrong')
    expect(() => parseConfig({ MIN_SPREAD_PCT: '0.1', HYSTERESIS_PCT: '0.5' })).toThrow(
      /HYSTERESIS_PCT/,
    )
  })
})

describe('parseConfig: API keys for transfer facts', () => {
  test('a key with its secret (and passphrase) is kept per venue; a half is refused, hidden', () => {
    const c = parseConfig({
      BINANCE_API_KEY: 'k1',
      BINANCE_API_SECRET: 's1',
      OKX_API_KEY: 'k2',
      OKX_API_SECRET: 's2',
      OKX_API_PASSPHRASE: 'p2',
    })
    expect(c.credentials).toEqual({
      binance: { key: 'k1', secret: 's1' },
      okx: { key: 'k2', secret: 's2', passphrase: 'p2' },
    })
    expect(parseConfig({}).credentials).toEqual({})
    expect(() => parseConfig({ BYBIT_API_KEY: 'only-the-key' })).toThrow(
      'BYBIT_API_SECRET: expected it too',
    )
    let message = ''
    try {
      parseConfig({ MEXC_API_KEY: 'has space', MEXC_API_SECRET: 'x' })
    } catch (err) {
      message = (err as Error).message
    }
    expect(message).toContain('MEXC_API_KEY=(hidden)')
    expect(message).not.toContain('has space')
  })
})
