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

describe('parseConfig: roles and the Redis Streams bus', () => {
  /** The problems of a configuration that must be refused. */
  function problemsOf(env: Record<string, string>): string[] {
    try {
      parseConfig(env)
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError)
      return [...(err as ConfigError).problems]
    }
    throw new Error(`expected ${JSON.stringify(env)} to be refused`)
  }

  test('ROLE defaults to all, with no bus; the universe is decided over EXCHANGES', () => {
    const c = parseConfig({ EXCHANGES: 'kraken,okx' })
    expect(c.role).toBe('all')
    expect(c.bus).toBeUndefined()
    expect(c.universeExchanges).toEqual(['kraken', 'okx'])
    expect(parseConfig({ ROLE: '' }).role).toBe('all')
    expect(problemsOf({ ROLE: 'worker' })).toEqual(['ROLE="worker": expected all, ingest or core'])
  })

  test('ROLE=ingest or core without BUS_URL is refused, naming BUS_URL', () => {
    for (const role of ['ingest', 'core']) {
      const problems = problemsOf({ ROLE: role })
      expect(problems).toHaveLength(1)
      expect(problems[0]).toStartWith(`ROLE=${role}: needs BUS_URL`)
      expect(problems[0]).toContain('redis://')
    }
    expect(() => parseConfig({ ROLE: 'core', BUS_URL: '  ' })).toThrow(/needs BUS_URL/)
  })

  test('BUS_URL with its defaults, and each bus setting overridden', () => {
    const c = parseConfig({
      ROLE: 'core',
      BUS_URL: 'redis://:pw@10.0.0.5:6379/2',
      HOSTNAME: 'core-a',
    })
    expect(c.role).toBe('core')
    expect(c.bus).toEqual({
      url: 'redis://:pw@10.0.0.5:6379/2',
      prefix: 'arbwatch',
      maxLen: 100_000,
      maxBuffered: 200_000,
      snapshotMs: 30_000,
      group: 'core',
      consumer: `core-a-${process.pid}`,
    })
    expect(Object.isFrozen(c.bus)).toBe(true)
    const o = parseConfig({
      ROLE: 'ingest',
      BUS_URL: 'rediss://bus.internal:6380',
      BUS_PREFIX: 'arb-prod.v2',
      BUS_MAXLEN: '1000',
      BUS_BUFFER: '10000000',
      BUS_SNAPSHOT_S: '3600',
      BUS_GROUP: 'core_b',
      FLY_MACHINE_ID: 'e7843d1',
      HOSTNAME: 'ignored',
    })
    expect(o.bus).toEqual({
      url: 'rediss://bus.internal:6380',
      prefix: 'arb-prod.v2',
      maxLen: 1000,
      maxBuffered: 10_000_000,
      snapshotMs: 3_600_000,
      group: 'core_b',
      consumer: `e7843d1-${process.pid}`,
    })
    expect(
      parseConfig({ BUS_URL: 'redis://127.0.0.1:6379', BUS_SNAPSHOT_S: '1' }).bus?.snapshotMs,
    ).toBe(1000)
    // ROLE=all with a bus: the opportunities stream is written, the role stays.
    expect(parseConfig({ BUS_URL: 'redis://127.0.0.1:6379' }).role).toBe('all')
  })

  test('a bad BUS_URL is refused without printing it (it may hold a password)', () => {
    for (const url of [
      'http://user:hunter2@redis.internal:6379',
      'redis://hunter2 @host',
      'hunter2',
      'redis://',
    ]) {
      const problems = problemsOf({ ROLE: 'core', BUS_URL: url })
      expect(problems).toEqual(['BUS_URL=(hidden): expected a redis:// or rediss:// URL'])
      expect(problems.join('\n')).not.toContain('hunter2')
    }
  })

  test('the bus settings are checked against their bounds', () => {
    const bus = { BUS_URL: 'redis://127.0.0.1:6379' }
    const cases: [Record<string, string>, string][] = [
      [{ BUS_SNAPSHOT_S: '0' }, 'BUS_SNAPSHOT_S="0": expected seconds (1-3600)'],
      [{ BUS_SNAPSHOT_S: '3601' }, 'BUS_SNAPSHOT_S="3601": expected seconds (1-3600)'],
      [{ BUS_SNAPSHOT_S: '2.5' }, 'BUS_SNAPSHOT_S="2.5": expected whole seconds (1-3600)'],
      [{ BUS_SNAPSHOT_S: 'often' }, 'BUS_SNAPSHOT_S="often": expected seconds (1-3600)'],
      [{ BUS_MAXLEN: '999' }, 'BUS_MAXLEN="999": expected entries (1000-10000000)'],
      [{ BUS_MAXLEN: '10000001' }, 'BUS_MAXLEN="10000001": expected entries (1000-10000000)'],
      [{ BUS_BUFFER: '500' }, 'BUS_BUFFER="500": expected messages (1000-10000000)'],
      [{ BUS_BUFFER: 'lots' }, 'BUS_BUFFER="lots": expected messages (1000-10000000)'],
      [
        { BUS_PREFIX: 'arb:watch' },
        'BUS_PREFIX="arb:watch": expected letters, digits, _ . or - (at most 40)',
      ],
      [
        { BUS_GROUP: 'g'.repeat(41) },
        `BUS_GROUP="${'g'.repeat(41)}": expected letters, digits, _ . or - (at most 40)`,
      ],
    ]
    for (const [env, problem] of cases) {
      expect(problemsOf({ ...bus, ...env })).toEqual([problem])
    }
    // Every bad one is named at once.
    const all = problemsOf({ ...bus, BUS_SNAPSHOT_S: '0', BUS_MAXLEN: '1', BUS_GROUP: 'a b' })
    expect(all.map((p) => p.split('=')[0]).sort()).toEqual([
      'BUS_GROUP',
      'BUS_MAXLEN',
      'BUS_SNAPSHOT_S',
    ])
  })

  test("an ingest shard's UNIVERSE_EXCHANGES must include its EXCHANGES", () => {
    const shard = { ROLE: 'ingest', BUS_URL: 'redis://127.0.0.1:6379', EXCHANGES: 'kraken,okx' }
    expect(problemsOf({ ...shard, UNIVERSE_EXCHANGES: 'binance,kraken' })).toEqual([
      "UNIVERSE_EXCHANGES: expected it to include this shard's EXCHANGES (missing okx)",
    ])
    const c = parseConfig({ ...shard, UNIVERSE_EXCHANGES: 'Binance, kraken, okx, bybit' })
    expect(c.exchanges).toEqual(['kraken', 'okx'])
    expect(c.universeExchanges).toEqual(['binance', 'kraken', 'okx', 'bybit'])
    // Without it, the shard decides the universe over its own venues.
    expect(parseConfig(shard).universeExchanges).toEqual(['kraken', 'okx'])
    expect(problemsOf({ ...shard, UNIVERSE_EXCHANGES: 'kraken,ftx' })[0]).toStartWith(
      'UNIVERSE_EXCHANGES="kraken,ftx": expected "all" or a comma-separated list',
    )
  })
})
