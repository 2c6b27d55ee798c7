import { follows } from '../../src/symbols.ts'
/**
 * The chat core: parsing text into typed commands against the definitions table (no database),
 * answering them, and the core with its settings cache over a real database.
 */
import { describe, expect, test } from 'bun:test'
import { backtest, type BacktestRow } from '../../src/alerts/backtest.ts'
import { Fanout } from '../../src/alerts/fanout.ts'
import {
  ChatCore,
  COMMANDS,
  commandSpec,
  parseCommand,
  parseDuration,
  replyText,
  runCommand,
  type ChatRef,
  type ChatSettingsRepo,
  type CommandDeps,
} from '../../src/chat/commands.ts'
import type { ChatSettings } from '../../src/db/chats.ts'
import { ChatRepo } from '../../src/db/chats.ts'
import { deliveries } from '../../src/db/schema.ts'
import { Store } from '../../src/db/store.ts'
import { crossAt, HAND_WALK, openMemoryDb, silent, stopAfterEach } from '../support.ts'

const track = stopAfterEach()

const MARKETS = ['BTC/USDT', 'ETH/USDT', 'SOL/USDT']

async function setup(extra: Partial<ConstructorParameters<typeof ChatCore>[0]> = {}) {
  const handle = await openMemoryDb(track)
  let now = 1_000_000
  const repo = new ChatRepo(handle.db)
  const options = {
    repo,
    symbols: MARKETS,
    defaultThresholdBps: 10,
    defaultSizeQuote: 1000,
    log: silent,
    status,
    now: () => now,
    ...extra,
  }
  const core = new ChatCore(options)
  await core.load()
  const say = (text: string, ref: Partial<ChatRef> = {}) => {
    const [name, ...rest] = text.slice(1).split(' ')
    return core
      .handle({ platform: 'telegram', chatId: '100', userId: '7', ...ref }, name!, rest.join(' '))
      .then(replyText)
  }
  return { core, repo, say, tick: (ms: number) => (now += ms), options, handle }
}

const status = {
  venues: () => [
    { venue: 'binance', state: 'connected', liveBooks: 3, books: 3 },
    { venue: 'kraken', state: 'down', liveBooks: 0, books: 3 },
  ],
  spreads: (size: number) => [
    {
      kind: 'cross' as const,
      symbol: 'BTC/USDT',
      buyVenue: 'binance' as const,
      sellVenue: 'okx' as const,
      fresh: true,
      grossBps: 30,
      netBps: 12.5,
      depth: 'ok' as const,
      sizeQuote: size,
      profitQuote: 1.25,
      maxSizeQuote: 5000,
      maxProfitQuote: 5,
      buyPrice: 1,
      sellPrice: 1,
      feeBps: 20,
      buyAgeMs: 1,
      sellAgeMs: 1,
      openId: null,
    },
  ],
}

describe('chat core: commands', () => {
  test('/subscribe accepts the ways users write markets and persists', async () => {
    const { say, repo } = await setup()
    expect(await say('/subscribe BTCUSDT eth-usdt')).toBe(
      'Subscribed to BTC/USDT, ETH/USDT. You follow: BTC/USDT, ETH/USDT.',
    )
    const [chat] = await repo.loadAll()
    expect([...chat!.symbols].sort()).toEqual(['BTC/USDT', 'ETH/USDT'])
    expect(await say('/list')).toContain('Markets: BTC/USDT, ETH/USDT')
  })

  test('/backtest 0.5 answers from history over the last day and week', async () => {
    const asked: [number, number][] = []
    const backtest = async (thresholdBps: number, sizeQuote: number) => {
      asked.push([thresholdBps, sizeQuote])
      const p = { alerts: 2, unknown: 0, medianDurationMs: 12_000, medianNetBps: 61 }
      return { thresholdBps, sizeQuote, day: p, week: { ...p, alerts: 9 } }
    }
    const { say } = await setup({ status: { ...status, backtest } })
    const text = await say('/backtest 0.5')
    expect(asked).toEqual([[50, 1000]]) // no /size here: the default
    expect(text).toContain(
      'From 0.50% net at a trade of 1000 (the default size; /size sets this chat’s):',
    )
    expect(text).toContain('Last day: 2 alerts, lasting 12 s and netting 0.61% at the median')
    expect(text).toContain('Last week: 9 alerts')
    expect(text).not.toContain('unknown')
    expect(await say('/backtest lots')).toContain('e.g. /backtest 0.5')
  })

  test('/backtest at a chat’s /size 500: nets from the stored walks, and what it cannot tell', async () => {
    // HAND_WALK nets 110.27 bps at 1000 and 279.41 at 500; the second row has no walk.
    const NOW = 1_800_000_000_000
    const rows: BacktestRow[] = [
      {
        kind: 'cross',
        anomaly: false,
        openedAtMs: NOW - 3_600_000,
        closedAtMs: NOW - 3_600_000 + 8_000,
        netBpsOpen: 110.26789296875,
        peakNetBps: 120,
        sizeQuote: 1000,
        walk: HAND_WALK,
      },
      {
        kind: 'cross',
        anomaly: false,
        openedAtMs: NOW - 7_200_000,
        closedAtMs: NOW - 7_200_000 + 5_000,
        netBpsOpen: 300,
        peakNetBps: 300,
        sizeQuote: 1000,
      },
    ]
    const asked: number[] = []
    const status500 = {
      ...status,
      backtest: async (thresholdBps: number, sizeQuote: number) => {
        asked.push(sizeQuote)
        return backtest(rows, thresholdBps, sizeQuote, NOW)
      },
    }
    const { say } = await setup({ status: status500 })
    expect(await say('/size 500')).toContain('a trade of 500')
    expect((await say('/backtest 2')).split('\n')).toEqual([
      'From 2.00% net at a trade of 500 (this chat’s /size):',
      'Last day: 1 alert, lasting 8 s and netting 2.79% at the median',
      'Last week: 1 alert, lasting 8 s and netting 2.79% at the median',
      'Not counted, unknown at 500: 1 opening in the last day, 1 in the last week (stored without their book walk, or their walk does not reach that size).',
    ])
    // At the default size the stored nets tell every row: only the 3 % one reaches 2 %.
    const other = await say('/backtest 2', { chatId: '200' })
    expect(other).toContain('at a trade of 1000 (the default size')
    expect(other).toContain('Last day: 1 alert, lasting 5 s and netting 3.00% at the median')
    expect(other).not.toContain('unknown')
    expect(asked).toEqual([500, 1000])
  })

  test('/lifetime 3s is kept per chat and shown in /list; off alerts at once again', async () => {
    const { say, repo } = await setup()
    expect(await say('/lifetime 3s')).toContain('once an opportunity has lasted 3 s')
    expect((await repo.loadAll())[0]!.minLifetimeMs).toBe(3000)
    expect(await say('/list')).toContain('Lifetime: after 3 s open')
    expect(await say('/lifetime forever')).toContain('from 1s to 1h')
    expect(await say('/lifetime 2h')).toContain('from 1s to 1h')
    expect(await say('/lifetime off')).toBe('Alerts as soon as an opportunity opens.')
    expect((await repo.loadAll())[0]!.minLifetimeMs).toBeNull()
  })

  test('/ignore, /unignore and /venues are kept per chat, shown in /list, and refuse bad words', async () => {
    const { say, repo } = await setup()
    expect(await say('/ignore doge xbt')).toBe('Ignoring BTC, DOGE: no alerts about them here.')
    expect((await repo.loadAll())[0]!.ignoredAssets).toEqual(['BTC', 'DOGE'])
    expect(await say('/list')).toContain('Ignored: BTC, DOGE')
    expect(await say('/ignore ???')).toContain('Give 1 to 20 asset codes')
    expect(await say('/unignore DOGE')).toBe('Still ignoring BTC.')
    expect(await say('/unignore all')).toBe('No assets ignored.')
    expect(await say('/venues binance, Kraken')).toBe('Only routes between Binance, Kraken.')
    expect((await repo.loadAll())[0]!.venues).toEqual(['binance', 'kraken'])
    expect(await say('/list')).toContain('Venues: Binance, Kraken')
    expect(await say('/venues binance,ftx')).toContain('Unknown venue ftx.')
    expect(await say('/venues binance')).toContain('Name two or more of')
    expect((await repo.loadAll())[0]!.venues).toEqual(['binance', 'kraken'])
    expect(await say('/venues all')).toBe('Routes between every venue.')
    expect((await repo.loadAll())[0]!.venues).toBeNull()
  })

  test('/transfer only|any|off is kept per chat, shown in /list, and refuses other words', async () => {
    const { say, repo } = await setup()
    expect(await say('/list')).toContain('Transfers: every route, with its status')
    expect(await say('/transfer ONLY')).toContain('only for routes whose coins can move')
    expect((await repo.loadAll())[0]!.transferMode).toBe('only')
    expect(await say('/list')).toContain('Transfers: only routes whose coins can move')
    expect(await say('/transfer maybe')).toContain('Say /transfer only')
    expect(await say('/transfer')).toContain('Say /transfer only')
    expect((await repo.loadAll())[0]!.transferMode).toBe('only')
    expect(await say('/transfer off')).toContain('without the transfer line')
    expect((await repo.loadAll())[0]!.transferMode).toBe('off')
  })

  test('an unknown symbol names what is available and changes nothing', async () => {
    const { say, repo } = await setup()
    expect(await say('/subscribe BTCUSDT DOGEUSDT')).toBe(
      'DOGE/USDT is not watched here. Available: BTC/USDT, ETH/USDT, SOL/USDT.',
    )
    expect(await say('/subscribe ???')).toContain('Available: BTC/USDT, ETH/USDT, SOL/USDT.')
    expect(await repo.loadAll()).toEqual([])
  })

  test('an over-long argument list is refused', async () => {
    const { say } = await setup()
    expect(await say(`/subscribe ${Array(11).fill('BTCUSDT').join(' ')}`)).toBe(
      'At most 10 markets at a time.',
    )
    expect(await say(`/subscribe ${'B'.repeat(300)}`)).toContain('too long')
  })

  test('/threshold and /size validate and say what is accepted', async () => {
    const { say, repo } = await setup()
    for (const bad of ['abc', '-1', '51', '']) {
      expect(await say(`/threshold ${bad}`)).toBe(
        'The threshold is a net spread in percent between 0.1 and 50, e.g. /threshold 0.5.',
      )
    }
    expect(await say('/threshold 0')).toContain('start at a net spread of 0.1%')
    expect(await say('/threshold 0.5')).toBe('Alerts from a net spread of 0.5% after fees.')
    expect(await say('/size lots')).toContain('between 1 and 10000000')
    expect(await say('/size 2500')).toContain('2500')
    const [chat] = await repo.loadAll()
    expect(chat).toMatchObject({ thresholdBps: 50, sizeQuote: 2500 })
  })

  test('/unsubscribe one or all; /mute with and without a duration; /unmute', async () => {
    const { say } = await setup()
    await say('/subscribe BTCUSDT ETHUSDT')
    expect(await say('/unsubscribe BTCUSDT')).toBe('Unsubscribed. You follow: ETH/USDT.')
    expect(await say('/unsubscribe all')).toBe('You follow no markets now.')
    expect(await say('/mute 2h')).toMatch(/^Muted until /)
    expect(await say('/mute forever')).toContain('30m, 2h or 1d')
    expect(await say('/mute')).toBe('Muted until /unmute.')
    expect(await say('/list')).toContain('Alerts: muted')
    expect(await say('/unmute')).toBe('Alerts are on.')
    expect(await say('/list')).toContain('Alerts: on')
  })

  test('/status shows the best spread of the chat’s markets and each venue', async () => {
    const { say } = await setup()
    await say('/subscribe BTCUSDT SOLUSDT')
    const text = await say('/status')
    expect(text).toContain(
      'BTC/USDT: best buy binance / sell okx, net 0.125% (gross 0.300%) at 1000',
    )
    expect(text).toContain('SOL/USDT: no two fresh books to compare right now')
    expect(text).toContain('kraken: down, 0/3 books live')
  })

  test('/status summarises whether the coins of the chat’s assets can move', async () => {
    const asked: string[] = []
    const transfers = (asset: string) => (asked.push(asset), `${asset}: open on Binance`)
    const { say } = await setup({ status: { ...status, transfers } })
    await say('/subscribe BTCUSDT SOLUSDT')
    const text = await say('/status')
    expect(text).toContain('Transfers:\nBTC: open on Binance\nSOL: open on Binance')
    expect(asked).toEqual(['BTC', 'SOL'])
  })

  test('/start, /help and unknown commands', async () => {
    const { say } = await setup()
    expect(await say('/start')).toContain('/subscribe BTC/USDT')
    const help = await say('/help')
    for (const c of [
      'subscribe',
      'unsubscribe',
      'threshold',
      'size',
      'list',
      'status',
      'mute',
      'unmute',
    ])
      expect(help).toContain(`/${c}`)
    expect(await say('/frobnicate')).toBe('Unknown command /frobnicate. See /help.')
  })

  test('ALLOWED_CHATS restricts who may use the bot', async () => {
    const { say, repo } = await setup({ allowedChats: new Set(['telegram:100', '555']) })
    expect(await say('/subscribe BTCUSDT')).toContain('Subscribed')
    expect(await say('/subscribe BTCUSDT', { chatId: '101' })).toContain('private')
    expect(await say('/subscribe BTCUSDT', { platform: 'discord', chatId: '555' })).toContain(
      'Subscribed',
    )
    expect((await repo.loadAll()).map((c) => c.chatId).sort()).toEqual(['100', '555'])
  })

  test('commands are rate-limited per user', async () => {
    const { say, tick } = await setup({ commandsPerMinute: 3 })
    for (let i = 0; i < 3; i++) expect(await say('/list')).toContain('Markets')
    expect(await say('/list')).toContain('Too many commands')
    expect(await say('/list', { userId: '8' })).toContain('Markets')
    tick(60_001)
    expect(await say('/list')).toContain('Markets')
  })

  test('/threshold below MIN_SPREAD_PCT is refused: nothing below it is ever detected', async () => {
    const { core, say, repo } = await setup({ minThresholdBps: 25 })
    const threshold = core.commands().find((c) => c.name === 'threshold')!
    expect(threshold.arg).toMatchObject({ min: 0.25, max: 50 })
    for (const low of ['0.01', '0.1', '0.249']) {
      const reply = await say(`/threshold ${low}`)
      expect(reply).toContain('start at a net spread of 0.25%')
      expect(reply).toContain('could never alert')
      expect(reply).toContain('between 0.25 and 50')
    }
    expect(await repo.loadAll()).toEqual([])
    expect(await say('/threshold 0.25')).toBe('Alerts from a net spread of 0.25% after fees.')
    // The floor defaults to the default threshold (both are MIN_SPREAD_PCT in the process).
    const plain = await setup({ defaultThresholdBps: 7 })
    expect(plain.core.commands().find((c) => c.name === 'threshold')!.arg!.min).toBe(0.07)
    expect(await plain.say('/threshold 0.07')).toBe('Alerts from a net spread of 0.07% after fees.')
  })

  test('bidi and control characters are refused and never echoed back', async () => {
    const { say, repo } = await setup()
    const unsafe = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F\u202A-\u202E\u2066-\u2069]/
    const inputs = [
      '/subscribe BTC\u202EUSDT',
      '/subscribe \u2066ETHUSDT\u2069',
      '/threshold 0.5\u202A',
      '/size 25\u000700',
      '/subscribe BTCUSDT\u0085',
      '/li\u202Est',
      '/mute 2h\u001B[2J',
    ]
    for (const text of inputs) {
      const reply = await say(text)
      expect(unsafe.test(reply)).toBe(false)
      expect(reply).toBe(
        'That command contains invisible control or text-direction characters; type it again without them.',
      )
    }
    expect(await repo.loadAll()).toEqual([])
    // Tabs and newlines still separate words.
    expect(await say('/subscribe BTCUSDT\nETH/USDT\tSOLUSDT')).toContain(
      'Subscribed to BTC/USDT, ETH/USDT, SOL/USDT',
    )
  })

  test('rate-limit state is pruned: idle users are forgotten, and it never passes its bound', async () => {
    const { core, say, tick } = await setup({ commandsPerMinute: 3, maxTrackedUsers: 100 })
    for (let i = 0; i < 1000; i++) await say('/list', { userId: `u${i}` })
    expect(core.trackedUsers).toBe(100)
    // The most recent users are the ones kept, with their counts.
    for (let i = 0; i < 2; i++) await say('/list', { userId: 'u999' })
    expect(await say('/list', { userId: 'u999' })).toContain('Too many commands')
    tick(60_001)
    expect(await say('/list', { userId: 'u999' })).toContain('Markets')
    expect(core.trackedUsers).toBe(1)
  })

  test('durations', () => {
    expect(parseDuration('90s')).toBe(90_000)
    expect(parseDuration('30m')).toBe(1_800_000)
    expect(parseDuration('2 h')).toBe(7_200_000)
    expect(parseDuration('1d')).toBe(86_400_000)
    expect(parseDuration('soon')).toBeUndefined()
  })
})

/** The core over a real database, and a fan-out (no cooldown) reading the core's chats. */
async function setupFanout() {
  const fixture = await setup()
  const { core, options } = fixture
  const fanout = new Fanout({
    chats: () => core.chats(),
    defaultThresholdBps: options.defaultThresholdBps,
    defaultSizeQuote: options.defaultSizeQuote,
    cooldownMs: 0,
    now: options.now,
  })
  return { ...fixture, fanout }
}

/** Hundreds of markets: 300 bases on USDT, every tenth also on USD and USDC, and SOL on three. */
function manyMarkets(): string[] {
  const out = ['SOL/USDT', 'SOL/USD', 'SOL/USDC']
  for (let i = 0; i < 300; i++) {
    const base = `A${String(i).padStart(3, '0')}`
    out.push(`${base}/USDT`)
    if (i % 10 === 0) out.push(`${base}/USD`, `${base}/USDC`)
  }
  return out
}

describe('chat core: hundreds of markets, base assets and all', () => {
  test('/subscribe SOL follows every SOL market, later ones too; /unsubscribe SOL drops them', async () => {
    const { say, repo } = await setup({ symbols: manyMarkets() })
    expect(await say('/subscribe sol')).toBe(
      'Subscribed to SOL (every SOL market, 3 now). You follow: SOL (every SOL market, 3 now).',
    )
    expect(await say('/subscribe A000 a001usdt')).toBe(
      'Subscribed to A000 (every A000 market, 3 now), A001/USDT. You follow: SOL (every SOL market, 3 now), A000 (every A000 market, 3 now), A001/USDT.',
    )
    // Kept as an asset, not as today's list: a SOL market listed tomorrow is covered.
    let [chat] = await repo.loadAll()
    expect([...chat!.symbols].sort()).toEqual(['A000/*', 'A001/USDT', 'SOL/*'])
    expect(follows(chat!.symbols, 'SOL/EUR')).toBe(true)
    expect(follows(chat!.symbols, 'A001/USD')).toBe(false)
    expect(await say('/unsubscribe SOL')).toBe(
      'Unsubscribed. You follow: A000 (every A000 market, 3 now), A001/USDT.',
    )
    ;[chat] = await repo.loadAll()
    expect([...chat!.symbols].sort()).toEqual(['A000/*', 'A001/USDT'])
    expect(await say('/unsubscribe SOL')).toBe(
      'You do not follow SOL markets. You follow: A000 (every A000 market, 3 now), A001/USDT.',
    )
    // One market of a followed asset stays covered by the asset, and the reply says so.
    expect(await say('/subscribe A000USD')).toContain(
      'You follow: A000 (every A000 market, 3 now), A001/USDT, A000/USD.',
    )
    expect(await say('/unsubscribe A000USD')).toBe(
      'Unsubscribed. You follow: A000 (every A000 market, 3 now), A001/USDT. A000/USD is still covered by what you follow.',
    )
    expect(await say('/unsubscribe A000 A001USDT')).toBe('You follow no markets now.')
  })

  test('/subscribe all follows every market, later ones too; replies stay short', async () => {
    const markets = manyMarkets()
    const { say, repo } = await setup({ symbols: markets })
    const reply = await say('/subscribe all')
    expect(reply).toBe(
      `Subscribed to all (every market, ${markets.length} now). You follow: all (every market, ${markets.length} now).`,
    )
    const [chat] = await repo.loadAll()
    expect([...chat!.symbols]).toEqual(['*'])
    expect(follows(chat!.symbols, 'NEW/USDT')).toBe(true)
    const list = await say('/list')
    expect(list).toContain(`Markets: all (every market, ${markets.length} now)`)
    expect(list.length).toBeLessThan(350) // ten short lines, whatever the number of markets
    const help = await say('/help')
    expect(help).toContain(`Markets: ${markets.length} markets (SOL/USDT,`)
    expect(help.length).toBeLessThan(1800) // a line per command, whatever the number of markets
    expect(await say('/unsubscribe all')).toBe('You follow no markets now.')
    expect(await repo.loadAll().then((c) => c[0]!.symbols.size)).toBe(0)
  })

  test('what is not watched is refused with a short hint, never the whole list', async () => {
    const markets = manyMarkets()
    const { say } = await setup({ symbols: markets })
    expect(await say('/subscribe SOL/EUR')).toBe(
      'SOL/EUR is not watched here. SOL is watched as SOL/USDT, SOL/USD, SOL/USDC; /subscribe SOL follows them all.',
    )
    const none = await say('/subscribe DOGE')
    expect(none).toStartWith(
      `No watched market has the base DOGE. ${markets.length} markets are watched, e.g. SOL/USDT, SOL/USD, SOL/USDC;`,
    )
    expect(none.length).toBeLessThan(200)
    expect(await say('/subscribe ZZZ/USDT')).toContain(
      `${markets.length} markets are watched, e.g.`,
    )
    expect(await say('/subscribe all BTC')).toBe('"all" goes on its own, e.g. /subscribe all.')
  })

  test('/status with hundreds of markets: the best ten and a count of the rest', async () => {
    const markets = manyMarkets()
    // Twelve markets have a fresh spread, A000 the best; one is stale and does not count.
    const priced = markets.slice(3, 15)
    const spreads = (size: number) => [
      ...priced.map((symbol, i) => ({ ...status.spreads(size)[0]!, symbol, netBps: 50 - i })),
      { ...status.spreads(size)[0]!, symbol: markets[20]!, fresh: false },
    ]
    const { say } = await setup({ symbols: markets, status: { ...status, spreads } })
    const text = await say('/status')
    const lines = text.split('\n')
    expect(lines[0]).toBe(`Best of your ${markets.length} markets:`)
    expect(lines[1]).toBe(
      `${priced[0]}: best buy binance / sell okx, net 0.500% (gross 0.300%) at 1000`,
    )
    expect(lines[10]).toStartWith(`${priced[9]}: best buy`)
    expect(lines[11]).toBe(
      `…and ${markets.length - 10} more: 2 with a fresh spread, ${markets.length - 12} without two fresh books.`,
    )
    expect(lines.length).toBeLessThan(20)
  })

  test('the markets are read at every command: a market added at run time can be followed', async () => {
    const markets = ['BTC/USDT']
    const { say, core } = await setup({ symbols: () => markets })
    expect(await say('/subscribe ETHUSDT')).toContain('ETH/USDT is not watched here.')
    markets.push('ETH/USDT')
    expect(core.symbols()).toEqual(['BTC/USDT', 'ETH/USDT'])
    expect(await say('/subscribe ETHUSDT')).toBe('Subscribed to ETH/USDT. You follow: ETH/USDT.')
    // A market that left can still be dropped.
    markets.splice(1)
    expect(await say('/unsubscribe ETHUSDT')).toBe('You follow no markets now.')
  })

  test('/status names a venue’s connections when it has several', async () => {
    const { say } = await setup({
      status: {
        ...status,
        venues: () => [
          {
            venue: 'binance',
            state: 'partial',
            liveBooks: 700,
            books: 800,
            connections: 4,
            connected: 3,
          },
        ],
      },
    })
    expect(await say('/status')).toContain(
      'binance: partial, 700/800 books live, 3/4 connections up',
    )
  })
})

describe('chat core: the settings the fan-out reads', () => {
  test('the core’s chats drive the fan-out: threshold, size, mute', async () => {
    const { say, fanout } = await setupFanout()
    await say('/subscribe BTCUSDT', { chatId: 'a' })
    await say('/threshold 0.3', { chatId: 'a' })
    await say('/subscribe BTCUSDT', { chatId: 'b' })
    await say('/threshold 5', { chatId: 'b' })
    await say('/subscribe BTCUSDT', { chatId: 'd' })
    await say('/size 5000', { chatId: 'd' })
    await say('/subscribe BTCUSDT', { chatId: 'e' })
    await say('/mute 1h', { chatId: 'e' })
    expect(fanout.targets(crossAt(40), () => 25)).toEqual([
      { platform: 'telegram', chatId: 'a', netBps: 40, sizeQuote: 1000, thresholdBps: 30 },
      { platform: 'telegram', chatId: 'd', netBps: 25, sizeQuote: 5000, thresholdBps: 10 },
    ])
  })

  test('a paused chat gets nothing until /unmute', async () => {
    const { core, say, fanout } = await setupFanout()
    await say('/subscribe BTCUSDT')
    await core.pause('telegram', '100', 'bot was blocked by the user')
    expect(fanout.targets(crossAt(40), () => 40)).toEqual([])
    expect(await say('/list')).toContain('paused (bot was blocked by the user)')
    await say('/unmute')
    expect(fanout.targets(crossAt(40), () => 40)).toHaveLength(1)
  })
})

describe('/digest, /stop and the alert buttons', () => {
  const ref = { platform: 'telegram' as const, chatId: '100', userId: '7' }
  const H = 3_600_000

  test('/digest 1h is kept and shown in /list with the next digest; off goes back; bad periods are refused', async () => {
    const { say, repo, fanout, tick } = await setupFanout()
    await say('/subscribe BTCUSDT')
    expect(await say('/list')).toContain('Digest: off (single alerts)')
    tick(20 * 60_000) // 00:36:40 UTC, 1 January 1970
    expect(await say('/digest 1h')).toBe(
      'One digest every 1 h instead of single alerts; the next at 1970-01-01 01:00 UTC. /digest off: single alerts again.',
    )
    expect((await repo.loadAll())[0]!.digestMs).toBe(H)
    expect(await say('/list')).toContain('Digest: every 1 h, the next at 1970-01-01 01:00 UTC')
    // The fan-out writes this chat's alert as waiting for that digest.
    const [row] = fanout.deliveries(crossAt(40), 2_200_000, () => 40, 1)
    expect(row).toMatchObject({ status: 'digest', nextAttemptAtMs: H })
    for (const bad of ['7x', 'soon', '1 week']) {
      expect(await say(`/digest ${bad}`)).toBe(
        'Give a period like 30m, 1h or 1d (from 10 minutes to 1 day), e.g. /digest 1h, or /digest off for single alerts.',
      )
    }
    expect(await say('/digest 0')).toBe(
      'Give the period with its unit, from 10m to 1d, e.g. /digest 1h, or /digest off for single alerts.',
    )
    expect(await say('/digest 5m')).toContain('from 10 minutes to 1 day (that is shorter)')
    expect(await say('/digest 2d')).toContain('from 10 minutes to 1 day (that is longer)')
    expect(await say('/digest')).toContain('Give a period like 30m')
    expect((await repo.loadAll())[0]!.digestMs).toBe(H)
    expect(await say('/digest off')).toStartWith('Single alerts again.')
    expect((await repo.loadAll())[0]!.digestMs).toBeNull()
    expect(fanout.deliveries(crossAt(40), 2_300_000, () => 40, 2)[0]!.status).toBe('pending')
  })

  test('/stop stops alerts until /unmute, keeping the markets', async () => {
    const { say, fanout } = await setupFanout()
    await say('/subscribe BTCUSDT')
    expect(await say('/stop')).toBe(
      'Alerts stopped here until /unmute; your markets and settings are kept.',
    )
    expect(await say('/list')).toContain('Alerts: muted until /unmute')
    expect(fanout.targets(crossAt(40), () => 40)).toEqual([])
    await say('/unmute')
    expect(fanout.targets(crossAt(40), () => 40)).toHaveLength(1)
  })

  test('the mute button silences that market in that chat for an hour: kept, in /list, read by the fan-out, expiring', async () => {
    const { core, say, repo, fanout, tick } = await setupFanout()
    await say('/subscribe BTCUSDT ETHUSDT')
    await say('/subscribe BTCUSDT', { chatId: '200' })
    const answer = await core.press(ref, 'aw1:m:BTC/USDT')
    expect(answer).toEqual({
      notice:
        'No alerts about BTC/USDT here until 1970-01-01 01:16 UTC (/unmute to hear it again).',
      private: false,
    })
    expect((await repo.loadAll()).find((c) => c.chatId === '100')!.mutedMarkets).toEqual({
      'BTC/USDT': 1_000_000 + H,
    })
    expect(await say('/list')).toContain('Muted markets: BTC/USDT until 1970-01-01 01:16 UTC')
    expect(fanout.targets(crossAt(40), () => 40).map((t) => t.chatId)).toEqual(['200'])
    expect(fanout.targets(crossAt(40, 'ETH/USDT'), () => 40).map((t) => t.chatId)).toEqual(['100'])
    tick(H)
    expect(await say('/list')).toContain('Muted markets: none')
    expect(fanout.targets(crossAt(40), () => 40).map((t) => t.chatId)).toEqual(['100', '200'])
    // /unmute also forgets the markets muted by the button.
    await core.press(ref, 'aw1:m:ETH/USDT')
    await say('/unmute')
    expect((await repo.loadAll()).find((c) => c.chatId === '100')!.mutedMarkets).toEqual({})
  })

  test('the details button answers with the /explain view of that alert; another chat’s alert or an unknown one says so', async () => {
    const explained: string[] = []
    const explain = async (id: string) => {
      explained.push(id)
      return id === 'gone' ? undefined : [`The arithmetic of ${id}`]
    }
    const { core, handle } = await setup({ status: { ...status, explain } })
    const store = new Store({ db: handle.db, log: silent })
    const o = crossAt(40)
    const row = (chatId: string, id = o.id) => ({
      opportunityId: id,
      platform: 'telegram' as const,
      chatId,
      status: 'pending' as const,
      nextAttemptAtMs: 1,
      netBps: 40,
      sizeQuote: 1000,
      createdAtMs: 1,
    })
    store.record({ type: 'opened', opportunity: o, atMs: 1 }, [row('100'), row('200')])
    const gone = { ...crossAt(40, 'ETH/USDT'), id: 'gone' }
    store.record({ type: 'opened', opportunity: gone, atMs: 1 }, [row('100', 'gone')])
    await store.flush()
    const ids = (await handle.db.select().from(deliveries)).map((d) => d.id)
    expect(await core.press(ref, `aw1:d:${ids[0]}`)).toEqual({
      notice: 'The arithmetic of this alert is below.',
      reply: { kind: 'info', lines: [`The arithmetic of ${o.id}`] },
      private: true,
    })
    // Chat 200's delivery, pressed in chat 100 (a forged payload): nothing is shown.
    expect((await core.press(ref, `aw1:d:${ids[1]}`)).notice).toBe(
      'That alert is no longer known here, so its details cannot be shown.',
    )
    expect((await core.press(ref, 'aw1:d:999999')).notice).toBe(
      'That alert is no longer known here, so its details cannot be shown.',
    )
    expect((await core.press(ref, `aw1:d:${ids[2]}`)).notice).toBe(
      'That opportunity is no longer stored.',
    )
    expect(explained).toEqual([o.id, 'gone'])
  })

  test('the stop button does what /stop does; an unknown or outdated button is answered and nothing done', async () => {
    const { core, say, repo } = await setup()
    await say('/subscribe BTCUSDT')
    expect(await core.press(ref, 'aw1:s')).toEqual({
      notice: 'Alerts stopped here until /unmute; your markets and settings are kept.',
      private: false,
    })
    expect(await say('/list')).toContain('Alerts: muted until /unmute')
    for (const data of ['aw0:mute:BTC/USDT', 'nonsense', '']) {
      expect(await core.press(ref, data)).toEqual({
        notice:
          'This button is no longer valid (the bot has changed since it was sent); nothing was done. See /help.',
        private: true,
      })
    }
    const [chat] = await repo.loadAll()
    expect(chat!.mutedMarkets).toEqual({})
    // Buttons count against the same per-user rate limit as commands, and ALLOWED_CHATS holds.
    const { core: closed } = await setup({ allowedChats: new Set(['telegram:1']) })
    expect((await closed.press(ref, 'aw1:s')).notice).toContain(
      'this chat is not on its ALLOWED_CHATS',
    )
  })
})

describe('parseCommand: text to a typed command, no database', () => {
  test('arguments come back typed: markets normalised, percent as bps, durations in ms', () => {
    expect(parseCommand('subscribe', 'btcusdt ETH/USDT, btcusdt', { markets: MARKETS })).toEqual({
      type: 'subscribe',
      pairs: ['BTC/USDT', 'ETH/USDT'],
    })
    expect(parseCommand('unsubscribe', 'ALL')).toEqual({ type: 'unsubscribe', pairs: 'all' })
    expect(parseCommand('subscribe', 'all', { markets: MARKETS })).toEqual({
      type: 'subscribe',
      pairs: 'all',
    })
    // A base asset is kept as such: resolved when run, against the markets of that moment.
    expect(parseCommand('subscribe', 'sol btcusdt', { markets: MARKETS })).toEqual({
      type: 'subscribe',
      pairs: ['BTC/USDT'],
      bases: ['SOL'],
    })
    // /unsubscribe takes markets and bases no longer watched (the chat may still follow them).
    expect(parseCommand('unsubscribe', 'luna doge/usdt', { markets: MARKETS })).toEqual({
      type: 'unsubscribe',
      pairs: ['DOGE/USDT'],
      bases: ['LUNA'],
    })
    expect(parseCommand('threshold', '0.5')).toEqual({ type: 'threshold', thresholdBps: 50 })
    expect(parseCommand('threshold', '0.07%')).toEqual({ type: 'threshold', thresholdBps: 7 })
    expect(parseCommand('Size', ' 2500 ')).toEqual({ type: 'size', sizeQuote: 2500 })
    expect(parseCommand('mute', '2h')).toEqual({ type: 'mute', durationMs: 7_200_000 })
    expect(parseCommand('mute', '')).toEqual({ type: 'mute', durationMs: null })
    expect(parseCommand('list', 'ignored')).toEqual({ type: 'list' })
  })

  test('/threshold abc is a failure that says what is accepted', () => {
    expect(parseCommand('threshold', 'abc')).toEqual({
      type: 'invalid',
      name: 'threshold',
      reason: 'bad-argument',
      message: 'The threshold is a net spread in percent between 0.01 and 50, e.g. /threshold 0.5.',
    })
    expect(parseCommand('frobnicate', '')).toMatchObject({
      type: 'invalid',
      reason: 'unknown-command',
      message: 'Unknown command /frobnicate. See /help.',
    })
  })

  test('every bound in the definitions is enforced exactly: the bound passes, just outside fails', () => {
    for (const spec of COMMANDS) {
      const arg = commandSpec(spec.name)!.arg
      if (!arg || (arg.type !== 'percent' && arg.type !== 'amount')) continue
      const { min, max } = arg
      expect(min).toBeDefined()
      expect(max).toBeDefined()
      for (const ok of [min!, max!])
        expect(parseCommand(spec.name, String(ok)).type).toBe(spec.name)
      for (const bad of [min! / 2, max! + 0.01]) {
        const r = parseCommand(spec.name, String(bad))
        expect(r.type).toBe('invalid')
        if (r.type === 'invalid') expect(r.message).toContain(`between ${min} and ${max}`)
      }
    }
    // Durations: the longest mute is the definition's max.
    const mute = commandSpec('mute')!.arg!
    expect(parseCommand('mute', `${mute.max! / 86_400_000}d`).type).toBe('mute')
    expect(parseCommand('mute', `${mute.max! / 86_400_000 + 1}d`)).toMatchObject({
      type: 'invalid',
      message: expect.stringContaining('at most 30d'),
    })
  })

  test('too many markets, or too long an argument, is refused by the definition', () => {
    const max = commandSpec('subscribe')!.arg!.max!
    expect(
      parseCommand(
        'subscribe',
        Array(max + 1)
          .fill('BTCUSDT')
          .join(' '),
      ),
    ).toMatchObject({
      message: `At most ${max} markets at a time.`,
    })
    expect(parseCommand('mute', '1'.repeat(21))).toMatchObject({
      message: 'That is too long (at most 20 characters).',
    })
  })
})

/** A repo that fails the test if the core touches it. */
const noDatabase: ChatSettingsRepo = {
  loadAll: async () => [],
  save: () => Promise.reject(new Error('the database was used')),
  subscribe: () => Promise.reject(new Error('the database was used')),
  unsubscribe: () => Promise.reject(new Error('the database was used')),
  failChat: () => Promise.reject(new Error('the database was used')),
  delivery: () => Promise.reject(new Error('the database was used')),
}

describe('runCommand and the core, without a database', () => {
  test('/threshold abc is answered as an error and nothing is written', async () => {
    const core = new ChatCore({
      repo: noDatabase,
      symbols: MARKETS,
      defaultThresholdBps: 10,
      defaultSizeQuote: 1000,
      status,
      log: silent,
    })
    await core.load()
    const ref = { platform: 'telegram' as const, chatId: '1', userId: '1' }
    expect(await core.handle(ref, 'threshold', 'abc')).toEqual({
      kind: 'error',
      reason: 'bad-argument',
      lines: ['The threshold is a net spread in percent between 0.1 and 50, e.g. /threshold 0.5.'],
    })
    expect(await core.handle(ref, 'threshold', '50.01')).toMatchObject({
      kind: 'error',
      reason: 'bad-argument',
    })
    expect((await core.handle(ref, 'list', '')).kind).toBe('list')
    // A database failure is an internal error; the settings are unchanged.
    expect(await core.handle(ref, 'threshold', '0.5')).toMatchObject({
      kind: 'error',
      reason: 'internal',
    })
    expect(replyText(await core.handle(ref, 'list', ''))).toContain('Threshold: 0.1% net')
  })

  test('runCommand changes settings through its deps and says what it did', async () => {
    let chat: ChatSettings | undefined
    const patches: unknown[] = []
    const deps: CommandDeps = {
      markets: MARKETS,
      defaultThresholdBps: 10,
      defaultSizeQuote: 1000,
      status,
      nowMs: Date.UTC(2030, 0, 1),
      chat: () => chat,
      save: async (patch) => void patches.push(patch),
      subscribe: async (pairs) => {
        chat = {
          platform: 'discord',
          chatId: '9',
          active: true,
          pausedReason: null,
          thresholdBps: null,
          sizeQuote: null,
          mutedUntilMs: null,
          transferMode: 'any',
          ignoredAssets: [],
          venues: null,
          minLifetimeMs: null,
          digestMs: null,
          mutedMarkets: {},
          symbols: new Set(pairs),
        }
      },
      unsubscribe: async () => {},
    }
    expect(await runCommand({ type: 'threshold', thresholdBps: 50 }, deps)).toEqual({
      kind: 'ok',
      lines: ['Alerts from a net spread of 0.5% after fees.'],
    })
    expect(await runCommand({ type: 'mute', durationMs: 3_600_000 }, deps)).toEqual({
      kind: 'ok',
      lines: ['Muted until 2030-01-01T01:00:00.000Z.'],
    })
    expect(patches).toEqual([{ thresholdBps: 50 }, { mutedUntilMs: Date.UTC(2030, 0, 1, 1) }])
    expect(await runCommand({ type: 'subscribe', pairs: ['ETH/USDT'] }, deps)).toMatchObject({
      kind: 'ok',
      lines: ['Subscribed to ETH/USDT. You follow: ETH/USDT.'],
    })
    const start = await runCommand({ type: 'start' }, deps)
    expect(start.kind).toBe('info')
    expect(replyText(start)).toContain('arbwatch watches Binance and Kraken')
    expect((await runCommand({ type: 'status' }, deps)).kind).toBe('status')
  })
})

describe('/explain', () => {
  const ID = 'cross:BTC/USDT:binance>kraken:1795307804603'

  test('parses one word of text as the id; nothing, several words or too long is refused', () => {
    expect(parseCommand('explain', `  ${ID} `)).toEqual({ type: 'explain', id: ID })
    for (const bad of ['', 'two words', 'x'.repeat(121)]) {
      expect(parseCommand('explain', bad)).toMatchObject({
        type: 'invalid',
        reason: 'bad-argument',
      })
    }
    expect(commandSpec('explain')).toMatchObject({
      readOnly: true,
      arg: { name: 'id', type: 'text', required: true, maxLength: 120 },
    })
  })

  test('answers with the stored opportunity’s lines; an unknown id, or no history, says so', async () => {
    const asked: string[] = []
    const explain = async (id: string) => {
      asked.push(id)
      return id === ID
        ? ['1. buy BTC/USDT on binance …', 'Net: … = +0.30% (+29.89 bps).']
        : undefined
    }
    const { say } = await setup({ status: { ...status, explain } })
    expect(await say(`/explain ${ID}`)).toBe(
      '1. buy BTC/USDT on binance …\nNet: … = +0.30% (+29.89 bps).',
    )
    const unknown = await say('/explain cross:BTC/USDT:binance>okx:1')
    expect(unknown).toStartWith('No stored opportunity has that id.')
    expect(asked).toEqual([ID, 'cross:BTC/USDT:binance>okx:1'])
    expect(await say('/explain')).toContain('Give the id of an opportunity')
    const without = await setup()
    expect(await without.say(`/explain ${ID}`)).toBe('No history is kept here.')
  })
})
