/**
 * Who gets an alert, from plain chat settings (no chat core); and its cooldowns, kept in the
 * database with the alerts, across a restart.
 */
import { afterEach, describe, expect, test } from 'bun:test'
import { chatAllowed, Fanout, type AlertChat, type FanoutOptions } from '../../src/alerts/fanout.ts'
import { ChatRepo } from '../../src/db/chats.ts'
import { openDb, runMigrations } from '../../src/db/client.ts'
import { deliveries } from '../../src/db/schema.ts'
import { Store } from '../../src/db/store.ts'
import type { Opportunity } from '../../src/detector/types.ts'
import { crossAt, silent } from '../support.ts'

const chat = (chatId: string, symbols: string[], extra: Partial<AlertChat> = {}): AlertChat => ({
  platform: 'telegram',
  chatId,
  active: true,
  thresholdBps: null,
  sizeQuote: null,
  mutedUntilMs: null,
  symbols: new Set(symbols),
  ...extra,
})

function setup(chats: AlertChat[], extra: Partial<FanoutOptions> = {}) {
  let now = 1_000_000
  const fanout = new Fanout({
    chats: () => chats,
    defaultThresholdBps: 10,
    defaultSizeQuote: 1000,
    cooldownMs: 60_000,
    now: () => now,
    ...extra,
  })
  return { fanout, tick: (ms: number) => (now += ms) }
}

describe('fan-out', () => {
  test('subscribed, at or above the chat’s threshold at its own size, not muted, not in cooldown', () => {
    const { fanout, tick } = setup([
      chat('a', ['BTC/USDT'], { thresholdBps: 30 }),
      chat('b', ['BTC/USDT'], { thresholdBps: 500 }),
      chat('c', ['ETH/USDT']),
      chat('d', ['BTC/USDT'], { sizeQuote: 5000 }),
      chat('e', ['BTC/USDT'], { mutedUntilMs: 1_000_000 + 3_600_000 }),
      chat('f', ['BTC/USDT'], { active: false }),
    ])
    const sizes: number[] = []
    const targets = fanout.targets(crossAt(40), (size) => (sizes.push(size), 25))
    expect(targets).toEqual([
      { platform: 'telegram', chatId: 'a', netBps: 40, sizeQuote: 1000, thresholdBps: 30 },
      { platform: 'telegram', chatId: 'd', netBps: 25, sizeQuote: 5000, thresholdBps: 10 },
    ])
    expect(sizes).toEqual([5000])
    // The same market and venue pair opening again within the cooldown alerts nobody.
    expect(fanout.targets(crossAt(40), () => 25)).toEqual([])
    tick(61_000)
    expect(fanout.targets(crossAt(40), () => 25).map((t) => t.chatId)).toEqual(['a', 'd'])
    tick(61_000)
    expect(fanout.targets(crossAt(40, 'BTC/USDT', true), () => 25)).toEqual([])
  })

  test('/lifetime: that chat’s delivery is due that long after the opening, the others at once', () => {
    const { fanout } = setup([
      chat('now', ['BTC/USDT']),
      chat('later', ['BTC/USDT'], { minLifetimeMs: 3000 }),
    ])
    const rows = fanout.deliveries(crossAt(40), 1_000_000, () => 40)
    expect(rows.map((r) => [r.chatId, r.nextAttemptAtMs])).toEqual([
      ['now', 1_000_000],
      ['later', 1_003_000],
    ])
  })

  test('/ignore skips routes trading an ignored asset; /venues keeps routes inside its venues', () => {
    const { fanout, tick } = setup([
      chat('plain', ['BTC/USDT']),
      chat('no-btc', ['BTC/USDT'], { ignoredAssets: ['BTC'] }),
      chat('bk', ['BTC/USDT'], { venues: ['binance', 'kraken'] }),
      chat('bo', ['BTC/USDT'], { venues: ['binance', 'okx'] }),
    ])
    // crossAt: buy Binance, sell Kraken.
    expect(fanout.targets(crossAt(40), () => 40).map((t) => t.chatId)).toEqual(['plain', 'bk'])
    tick(61_000)
    expect(fanout.targets(crossAt(40, 'ETH/USDT'), () => 40).map((t) => t.chatId)).toEqual([])
  })

  test('/transfer only: a chat hears of a cross route only when its coins can move', () => {
    const { fanout, tick } = setup([
      chat('only', ['BTC/USDT'], { transferMode: 'only' }),
      chat('any', ['BTC/USDT'], { transferMode: 'any' }),
      chat('off', ['BTC/USDT'], { transferMode: 'off' }),
    ])
    const status = (s: 'transferable' | 'blocked' | 'unknown') => ({
      ...crossAt(40),
      transfer: { status: s, line: s, collision: false, sources: [] },
    })
    expect(fanout.targets(status('blocked'), () => 40).map((t) => t.chatId)).toEqual(['any', 'off'])
    tick(61_000)
    expect(fanout.targets(status('unknown'), () => 40).map((t) => t.chatId)).toEqual(['any', 'off'])
    tick(61_000)
    expect(fanout.targets(status('transferable'), () => 40).map((t) => t.chatId)).toEqual([
      'only',
      'any',
      'off',
    ])
    tick(61_000)
    // No facts wired at all is not "transferable" either.
    expect(fanout.targets(crossAt(40), () => 40).map((t) => t.chatId)).toEqual(['any', 'off'])
  })

  test('a chat whose size cannot be priced on the live books is skipped', () => {
    const { fanout } = setup([
      chat('a', ['BTC/USDT'], { sizeQuote: 9000 }),
      chat('b', ['BTC/USDT']),
    ])
    expect(fanout.targets(crossAt(40), () => undefined).map((t) => t.chatId)).toEqual(['b'])
  })

  test('a triangle reaches chats following any market it trades', () => {
    const { fanout } = setup([chat('a', ['ETH/BTC']), chat('b', ['SOL/USDT'])])
    const o = crossAt(40, 'USDT>BTC>ETH>USDT')
    const legs = [
      { venue: 'binance', market: 'BTC/USDT', side: 'buy' as const, price: 1 },
      { venue: 'binance', market: 'ETH/BTC', side: 'buy' as const, price: 1 },
      { venue: 'binance', market: 'ETH/USDT', side: 'sell' as const, price: 1 },
    ]
    const triangle: Opportunity = { ...o, kind: 'triangle', open: { ...o.open, legs } }
    expect(fanout.targets(triangle, () => 40).map((t) => t.chatId)).toEqual(['a'])
  })

  test('a cross-quote route reaches chats following either market it trades, not its conversion book', () => {
    const { fanout } = setup([
      chat('usdt', ['BTC/USDT']),
      chat('usd', ['BTC/USD']),
      chat('conversion', ['USDT/USD']),
    ])
    const o = crossAt(40, 'BTC/USDT>BTC/USD')
    const legs = [
      { venue: 'binance', market: 'BTC/USDT', side: 'buy' as const, price: 60000 },
      { venue: 'kraken', market: 'BTC/USD', side: 'sell' as const, price: 60300 },
      { venue: 'kraken', market: 'USDT/USD', side: 'buy' as const, price: 1.001 },
    ]
    const route: Opportunity = { ...o, kind: 'cross-quote', open: { ...o.open, legs } }
    expect(
      fanout
        .targets(route, () => 40)
        .map((t) => t.chatId)
        .sort(),
    ).toEqual(['usd', 'usdt'])
  })

  test('ALLOWED_CHATS limits who gets alerts, by platform:id or bare id', () => {
    const chats = [
      chat('100', ['BTC/USDT']),
      chat('101', ['BTC/USDT']),
      chat('555', ['BTC/USDT'], { platform: 'discord' }),
    ]
    const { fanout } = setup(chats, { allowedChats: new Set(['telegram:100', '555']) })
    expect(fanout.targets(crossAt(40), () => 40).map((t) => t.chatId)).toEqual(['100', '555'])
    expect(chatAllowed(undefined, chats[1]!)).toBe(true)
  })

  test('deliveries are pending rows due when the opportunity opened', () => {
    const { fanout } = setup([chat('a', ['BTC/USDT'])])
    expect(fanout.deliveries(crossAt(40), 1234, () => 40)).toEqual([
      {
        opportunityId: 'cross:BTC/USDT:binance>kraken:1',
        platform: 'telegram',
        chatId: 'a',
        status: 'pending',
        nextAttemptAtMs: 1234,
        netBps: 40,
        sizeQuote: 1000,
        createdAtMs: 1234,
        cooldownKey: 'cross|BTC/USDT|binance>kraken',
        thresholdBps: 10,
      },
    ])
  })

  test('each delivery keeps the largest profitable size at its chat’s own threshold', () => {
    const { fanout } = setup([
      chat('default', ['BTC/USDT']),
      chat('low', ['BTC/USDT'], { thresholdBps: 20 }),
      chat('high', ['BTC/USDT'], { thresholdBps: 35 }),
      chat('high too', ['BTC/USDT'], { thresholdBps: 35 }),
      chat('too high', ['BTC/USDT'], { thresholdBps: 45 }),
    ])
    // The live books' answer per threshold: the lower the threshold, the larger the size.
    const asked: number[] = []
    const maxAt = (thresholdBps: number) => {
      asked.push(thresholdBps)
      return { maxSizeQuote: 100_000 / thresholdBps, maxProfitQuote: 1000 / thresholdBps }
    }
    const rows = fanout.deliveries(crossAt(40), 1234, () => 40, 1, maxAt)
    expect(rows.map((r) => [r.chatId, r.thresholdBps, r.maxSizeQuote, r.maxProfitQuote])).toEqual([
      // MIN_SPREAD_PCT: the opportunity's own figures are this chat's (and its updates keep them).
      ['default', 10, undefined, undefined],
      ['low', 20, 5000, 50],
      ['high', 35, 100_000 / 35, 1000 / 35],
      ['high too', 35, 100_000 / 35, 1000 / 35],
    ])
    // Once per distinct threshold, never for MIN_SPREAD_PCT nor for a chat not alerted.
    expect(asked).toEqual([20, 35])
  })

  test('without the live books’ answer a chat’s own threshold is not claimed', () => {
    const { fanout, tick } = setup([
      chat('default', ['BTC/USDT']),
      chat('own', ['BTC/USDT'], { thresholdBps: 20 }),
    ])
    const rows = fanout.deliveries(crossAt(40), 1234, () => 40, 1)
    expect(rows.map((r) => [r.chatId, r.thresholdBps, r.maxSizeQuote])).toEqual([
      ['default', 10, undefined],
      ['own', undefined, undefined],
    ])
    tick(61_000)
    const gone = fanout.deliveries(
      crossAt(40),
      1234,
      () => 40,
      2,
      () => undefined,
    )
    expect(gone.map((r) => [r.chatId, r.thresholdBps, r.maxSizeQuote])).toEqual([
      ['default', 10, undefined],
      ['own', undefined, undefined],
    ])
  })
})

describe('fan-out: grouping, digests and muted markets', () => {
  test('the deliveries of one pass carry its group key, per asset; per-chat filters apply per route', () => {
    const { fanout } = setup([
      chat('all', ['BTC/USDT']),
      chat('bk', ['BTC/USDT'], { venues: ['binance', 'kraken'] }),
    ])
    const toKraken = crossAt(40) // buy Binance, sell Kraken
    const toOkx = { ...crossAt(40), id: 'cross:BTC/USDT:binance>okx:1', sellVenue: 'okx' }
    const a = fanout.deliveries(toKraken, 1234, () => 40, 7)
    const b = fanout.deliveries(toOkx, 1234, () => 40, 7)
    expect(a.map((r) => [r.chatId, r.groupKey])).toEqual([
      ['all', '1234.7|BTC'],
      ['bk', '1234.7|BTC'],
    ])
    // /venues binance,kraken keeps the Kraken route only: the OKX one is not written for it.
    expect(b.map((r) => [r.chatId, r.groupKey])).toEqual([['all', '1234.7|BTC']])
    // A triangle is its own message.
    const t = crossAt(40, 'USDT>BTC>ETH>USDT')
    const legs = [
      { venue: 'binance', market: 'BTC/USDT', side: 'buy' as const, price: 1 },
      { venue: 'binance', market: 'ETH/BTC', side: 'buy' as const, price: 1 },
      { venue: 'binance', market: 'ETH/USDT', side: 'sell' as const, price: 1 },
    ]
    const triangle: Opportunity = { ...t, kind: 'triangle', open: { ...t.open, legs } }
    const { fanout: other } = setup([chat('t', ['ETH/BTC'])])
    expect(other.deliveries(triangle, 1234, () => 40, 7)[0]!.groupKey).toBeUndefined()
  })

  test('a /digest chat’s delivery waits as digest for the end of its period; the others are sent', () => {
    const { fanout } = setup([
      chat('single', ['BTC/USDT']),
      chat('hourly', ['BTC/USDT'], { digestMs: 3_600_000, minLifetimeMs: 3000 }),
    ])
    const at = Date.UTC(2030, 0, 1, 14, 20)
    const rows = fanout.deliveries(crossAt(40), at, () => 40, 1)
    expect(rows.map((r) => [r.chatId, r.status, r.nextAttemptAtMs, r.groupKey])).toEqual([
      ['single', 'pending', at, `${at}.1|BTC`],
      ['hourly', 'digest', Date.UTC(2030, 0, 1, 15), undefined],
    ])
  })

  test('a market muted by the button hears nothing until the mute runs out, in that chat only', () => {
    const { fanout, tick } = setup([
      chat('muted', ['BTC/USDT', 'ETH/USDT'], {
        mutedMarkets: { 'BTC/USDT': 1_000_000 + 3_600_000 },
      }),
      chat('other', ['BTC/USDT']),
    ])
    expect(fanout.targets(crossAt(40), () => 40).map((t) => t.chatId)).toEqual(['other'])
    expect(fanout.targets(crossAt(40, 'ETH/USDT'), () => 40).map((t) => t.chatId)).toEqual([
      'muted',
    ])
    // A cross-quote route trading the muted market is muted too.
    const o = crossAt(40, 'BTC/USDT>BTC/USD')
    const legs = [
      { venue: 'binance', market: 'BTC/USDT', side: 'buy' as const, price: 60000 },
      { venue: 'kraken', market: 'BTC/USD', side: 'sell' as const, price: 60300 },
      { venue: 'kraken', market: 'USDT/USD', side: 'buy' as const, price: 1.001 },
    ]
    const route: Opportunity = { ...o, kind: 'cross-quote', open: { ...o.open, legs } }
    expect(fanout.targets(route, () => 40).map((t) => t.chatId)).toEqual(['other'])
    tick(3_600_000)
    expect(fanout.targets(crossAt(40), () => 40).map((t) => t.chatId)).toEqual(['muted', 'other'])
  })
})

describe('cooldowns across a restart', () => {
  const dir = `${import.meta.dir}/../../data/test-cooldown-${process.pid}`
  afterEach(async () => void (await Bun.$`rm -rf ${dir}`.quiet()))

  /** One process: the database opened, migrated, the fan-out loaded, its alerts stored. */
  async function processAt(nowMs: number, chats: AlertChat[]) {
    const handle = await openDb({ url: `file:${dir}/arbwatch.db` })
    await runMigrations(handle.db)
    const repo = new ChatRepo(handle.db)
    const store = new Store({ db: handle.db, log: silent })
    let now = nowMs
    const fanout = new Fanout({
      chats: () => chats,
      defaultThresholdBps: 10,
      defaultSizeQuote: 1000,
      cooldownMs: 60_000,
      repo,
      now: () => now,
    })
    await fanout.load()
    /** The same dislocation detected as a new opportunity; its deliveries written. */
    const open = async (n: number) => {
      const o = { ...crossAt(40), id: `cross:BTC/USDT:binance>kraken:${n}`, openedAtMs: now }
      const rows = fanout.deliveries(o, now, () => 40)
      store.record({ type: 'opened', opportunity: o, atMs: now }, rows)
      await store.flush()
      return rows.map((r) => r.chatId)
    }
    const stop = async () => {
      await store.stop()
      handle.close()
    }
    return { open, stop, handle, tick: (ms: number) => (now += ms) }
  }

  test('a restart within the cooldown alerts nobody again; after it, the chat is alerted', async () => {
    const chats = [chat('a', ['BTC/USDT']), chat('b', ['BTC/USDT'])]
    const start = Date.now()
    const first = await processAt(start, chats)
    expect(await first.open(1)).toEqual(['a', 'b'])
    await first.stop()

    // Restarted 20 s later: the dislocation is still there and is detected again.
    const second = await processAt(start + 20_000, chats)
    expect(await second.open(2)).toEqual([])
    second.tick(41_000) // 61 s after the alert
    expect(await second.open(3)).toEqual(['a', 'b'])
    const rows = await second.handle.db.select().from(deliveries)
    expect(rows.map((r) => [r.opportunityId.split(':').at(-1), r.chatId])).toEqual([
      ['1', 'a'],
      ['1', 'b'],
      ['3', 'a'],
      ['3', 'b'],
    ])
    await second.stop()

    // And the cooldown that the second process started holds for a third one.
    const third = await processAt(start + 61_000 + 30_000, chats)
    expect(await third.open(4)).toEqual([])
    await third.stop()
  })
})

describe('subscriptions to an asset or to all', () => {
  test('cover markets the universe adds after the chat subscribed', () => {
    const { fanout } = setup([
      chat('asset', ['NEW/*']),
      chat('all', ['*']),
      chat('other', ['OLD/USDT']),
    ])
    const o = crossAt(40, 'NEW/USDT')
    expect(
      fanout
        .targets(o, () => 40)
        .map((t) => t.chatId)
        .sort(),
    ).toEqual(['all', 'asset'])
  })
})
