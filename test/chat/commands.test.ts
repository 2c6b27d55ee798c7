import { afterEach, describe, expect, test } from 'bun:test'
import { ChatCore, parseDuration, type ChatRef } from '../../src/chat/commands.ts'
import { ChatRepo } from '../../src/db/chats.ts'
import { openDb, runMigrations, type DbHandle } from '../../src/db/client.ts'
import type { Opportunity, Quote } from '../../src/detector/types.ts'
import { silent } from '../support.ts'

let handle: DbHandle | undefined
afterEach(() => {
  handle?.close()
  handle = undefined
})

async function setup(extra: Partial<ConstructorParameters<typeof ChatCore>[0]> = {}) {
  handle = await openDb({ url: ':memory:' })
  await runMigrations(handle.db)
  let now = 1_000_000
  const repo = new ChatRepo(handle.db)
  const options = {
    repo,
    symbols: ['BTC/USDT', 'ETH/USDT', 'SOL/USDT'],
    defaultThresholdBps: 10,
    defaultSizeQuote: 1000,
    log: silent,
    status: {
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
    },
    now: () => now,
    ...extra,
  }
  const core = new ChatCore(options)
  await core.load()
  const say = (text: string, ref: Partial<ChatRef> = {}) => {
    const [name, ...rest] = text.slice(1).split(' ')
    return core
      .handle({ platform: 'telegram', chatId: '100', userId: '7', ...ref }, name!, rest.join(' '))
      .then((r) => r.text)
  }
  return { core, repo, say, tick: (ms: number) => (now += ms), options }
}

const quote = (netBps: number): Quote => ({
  grossBps: netBps + 20,
  netBps,
  sizeQuote: 1000,
  profitQuote: netBps / 10,
  maxSizeQuote: 5000,
  maxProfitQuote: 1,
  buyPrice: 100,
  sellPrice: 101,
  feeBps: 20,
  buyAgeMs: 1,
  sellAgeMs: 2,
})
const opp = (netBps: number, symbol = 'BTC/USDT', anomaly = false): Opportunity => ({
  id: `cross:${symbol}:binance>kraken:1`,
  kind: 'cross',
  symbol,
  buyVenue: 'binance',
  sellVenue: 'kraken',
  anomaly,
  openedAtMs: 1,
  open: quote(netBps),
  last: quote(netBps),
  peakNetBps: netBps,
  updatedAtMs: 1,
  closedAtMs: undefined,
  closeReason: undefined,
})

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
    for (const bad of ['abc', '-1', '0', '51', '']) {
      expect(await say(`/threshold ${bad}`)).toBe(
        'The threshold is a net spread in percent between 0.01 and 50, e.g. /threshold 0.5.',
      )
    }
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

  test('durations', () => {
    expect(parseDuration('90s')).toBe(90_000)
    expect(parseDuration('30m')).toBe(1_800_000)
    expect(parseDuration('2 h')).toBe(7_200_000)
    expect(parseDuration('1d')).toBe(86_400_000)
    expect(parseDuration('soon')).toBeUndefined()
  })
})

describe('chat core: who gets an alert', () => {
  test('subscribed, at or above the chat’s threshold at its own size, not muted, not in cooldown', async () => {
    const { core, say, tick } = await setup({ cooldownS: 60 })
    await say('/subscribe BTCUSDT', { chatId: 'a' })
    await say('/threshold 0.3', { chatId: 'a' })
    await say('/subscribe BTCUSDT', { chatId: 'b' })
    await say('/threshold 5', { chatId: 'b' })
    await say('/subscribe ETHUSDT', { chatId: 'c' })
    await say('/subscribe BTCUSDT', { chatId: 'd' })
    await say('/size 5000', { chatId: 'd' })
    await say('/subscribe BTCUSDT', { chatId: 'e' })
    await say('/mute 1h', { chatId: 'e' })
    const sizes: number[] = []
    const targets = core.alertTargets(opp(40), (size) => (sizes.push(size), 25))
    expect(targets).toEqual([
      { platform: 'telegram', chatId: 'a', netBps: 40, sizeQuote: 1000 },
      { platform: 'telegram', chatId: 'd', netBps: 25, sizeQuote: 5000 },
    ])
    expect(sizes).toEqual([5000])
    // The same market and venue pair opening again within the cooldown alerts nobody.
    expect(core.alertTargets(opp(40), () => 25)).toEqual([])
    tick(61_000)
    expect(core.alertTargets(opp(40), () => 25).map((t) => t.chatId)).toEqual(['a', 'd'])
    expect(core.alertTargets(opp(40, 'BTC/USDT', true), () => 25)).toEqual([])
  })

  test('a paused chat gets nothing until /unmute', async () => {
    const { core, say } = await setup({ cooldownS: 0 })
    await say('/subscribe BTCUSDT')
    await core.pause('telegram', '100', 'bot was blocked by the user')
    expect(core.alertTargets(opp(40), () => 40)).toEqual([])
    expect(await say('/list')).toContain('paused (bot was blocked by the user)')
    await say('/unmute')
    expect(core.alertTargets(opp(40), () => 40)).toHaveLength(1)
  })
})
