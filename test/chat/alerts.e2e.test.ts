/**
 * End to end: fake venues → real adapters and detector → libSQL → dispatcher → the real grammY
 * client → a fake Telegram Bot API (and discord.js → a fake Discord). The chats configure
 * themselves with real commands, and press the buttons under their alerts.
 */
import { afterEach, describe, expect, test } from 'bun:test'
import { deliveries } from '../../src/db/schema.ts'
import { startApp, type App } from '../../src/main.ts'
import { SimBinance } from '../../src/venues/binance/sim.ts'
import { SimBybit } from '../../src/venues/bybit/sim.ts'
import { SimOkx } from '../../src/venues/okx/sim.ts'
import { makeBook, type Row } from '../../src/venues/sim/book.ts'
import { DiscordServer } from '../fakes/discord-server.ts'
import { FakeTelegramServer } from '../fakes/telegram-server.ts'
import { silent, until } from '../support.ts'

const dir = `${import.meta.dir}/../../data/test-e2e-${process.pid}`
let app: App | undefined
const stops: (() => unknown)[] = []
afterEach(async () => {
  await app?.stop()
  app = undefined
  for (const s of stops.splice(0)) await s()
  await Bun.$`rm -rf ${dir}`.quiet()
})

function venues() {
  const binance = new SimBinance([{ base: 'BTC', quote: 'USDT', book: makeBook(60000, 20, 0.1) }])
  const bybit = new SimBybit([{ base: 'BTC', quote: 'USDT', book: makeBook(60000, 20, 0.1) }])
  const telegram = new FakeTelegramServer({ token: '110201543:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw' })
  stops.push(
    () => binance.stop(),
    () => bybit.stop(),
    () => telegram.stop(),
  )
  const env = {
    EXCHANGES: 'binance,bybit',
    SYMBOLS: 'BTC/USDT',
    PORT: '0',
    HOST: '127.0.0.1',
    TRIANGLES: 'off',
    DATABASE_URL: `file:${dir}/arbwatch.db`,
    ALERT_COOLDOWN_S: '0',
    BINANCE_WS_URL: binance.wsUrl,
    BINANCE_REST_URL: binance.restUrl,
    BYBIT_WS_URL: bybit.wsUrl,
    BYBIT_REST_URL: bybit.restUrl,
    TELEGRAM_BOT_TOKEN: telegram.token,
    TELEGRAM_API_ROOT: telegram.apiRoot,
  }
  return { binance, bybit, telegram, env }
}

async function live(a: App, binance: SimBinance) {
  await until(
    () => {
      binance.update('BTC/USDT', [['59999.95', '1.00000000']], [])
      return [...a.books.venues()].every((v) =>
        [...a.books.ofVenue(v)].every((e) => e.state === 'live'),
      )
    },
    5000,
    'books live',
  )
}

/** Bybit's whole book jumps up: its bid `bid` is above Binance's ask 60,000.10. */
function dislocate(bybit: SimBybit, bid: string) {
  const asksGone: Row[] = bybit
    .book('BTC/USDT')
    .topAsks()
    .map(([p]) => [p, '0'])
  bybit.update('BTC/USDT', [[bid, '1.00000000']], [...asksGone, ['60500.00', '1.00000000']])
}
function heal(bybit: SimBybit, bid: string) {
  bybit.update('BTC/USDT', [[bid, '0']], [['60000.50', '1.00000000']])
}

/**
 * Worked out here from the simulated books, apart from the detector's maths: the net of buying
 * with `size` USDT on `asks` and selling on `bids` (0.1 % taker on each venue, as configured),
 * and the largest size whose net is still `thresholdPct`, by bisection (the net only falls as the
 * size grows: each level is worse than the one before).
 */
function largestAt(asks: Row[], bids: Row[], thresholdPct: number) {
  const proceeds = (size: number): number | undefined => {
    let left = size
    let base = 0
    for (const [p, q] of asks) {
      const cost = Math.min(left, Number(p) * Number(q))
      base += cost / Number(p)
      left -= cost
      if (left <= 0) break
    }
    if (left > 1e-9) return undefined
    let sell = base * 0.999
    let quote = 0
    for (const [p, q] of bids) {
      const taken = Math.min(sell, Number(q))
      quote += taken * Number(p)
      sell -= taken
      if (sell <= 0) break
    }
    return sell > 1e-12 ? undefined : quote * 0.999
  }
  const reaches = (size: number) => {
    const out = proceeds(size)
    return out !== undefined && out / size - 1 >= thresholdPct / 100
  }
  let lo = 1
  let hi = asks.reduce((s, [p, q]) => s + Number(p) * Number(q), 0)
  expect(reaches(lo)).toBe(true)
  expect(reaches(hi)).toBe(false)
  for (let i = 0; i < 200; i++) {
    const mid = (lo + hi) / 2
    if (reaches(mid)) lo = mid
    else hi = mid
  }
  return { size: lo, profit: proceeds(lo)! - lo }
}

/** The amounts of `Largest profitable size …: 12,345.67 USDT (est. 61.23 USDT…)`. */
function amountsOf(line: string): [number, number] {
  const m = /: ([\d,.]+) USDT \(est\. ([\d,.]+) USDT/.exec(line)!
  return [Number(m[1]!.replaceAll(',', '')), Number(m[2]!.replaceAll(',', ''))]
}

describe('alerts end to end (Telegram)', () => {
  test('/threshold 0.3 gets exactly one alert with the right numbers, edited when it closes; /threshold 5 gets nothing; a 429 waits for retry_after', async () => {
    const { binance, bybit, telegram, env } = venues()
    app = await startApp(env, silent)
    await telegram.waitFor(() => telegram.callsOf('getUpdates').length > 0, 5000, 'polling')
    for (const [chat, threshold] of [
      [1001, '0.3'],
      [1002, '5'],
    ] as const) {
      await telegram.userSays(chat, 7, '/subscribe BTCUSDT')
      expect((await telegram.waitForReply(chat)).text).toBe(
        'Subscribed to BTC/USDT. You follow: BTC/USDT.',
      )
      await telegram.userSays(chat, 7, `/threshold ${threshold}`)
      expect((await telegram.waitForReply(chat)).text).toBe(
        `Alerts from a net spread of ${threshold}% after fees.`,
      )
    }
    await live(app, binance)

    telegram.failNext('sendMessage', {
      error_code: 429,
      description: 'Too Many Requests: retry after 1',
      retry_after: 1,
    })
    dislocate(bybit, '60400.00')
    await until(
      () => telegram.sent.some((m) => m.chatId === 1001 && m.text.includes('buy Binance')),
      10_000,
      'the alert',
    )
    const alerts = telegram.sent.filter((m) => m.chatId === 1001 && m.text.includes('buy Binance'))
    expect(alerts).toHaveLength(1)
    // The 429 came first; the message went through no sooner than its retry_after.
    const refused = telegram.callsOf('sendMessage').find((c) => c.payload.chat_id === 1001)!
    expect(alerts[0]!.atMs - refused.atMs).toBeGreaterThanOrEqual(1000)

    const net = ((60400 / 60000.1) * 0.999 * 0.999 - 1) * 100
    const gross = ((60400 - 60000.1) / 60000.1) * 100
    const text = alerts[0]!.text
    expect(text).toContain(`BTC/USDT: buy Binance, sell Bybit, net ${net.toFixed(2)}%`)
    expect(text).toContain('Buy on Binance at 60,000.10')
    expect(text).toContain('Sell on Bybit at 60,400.00')
    expect(text).toContain(`gross ${gross.toFixed(2)}%`)
    expect(text).toContain('(0.20% taker in total)')
    expect(text).toContain(`Size 1,000.00 USDT: est. profit ${(net * 10).toFixed(2)} USDT`)
    // The largest size still at this chat's 0.3 % (not MIN_SPREAD_PCT's 0.1 %), from the books as
    // the venues simulate them: Binance's asks, Bybit's bids with the new one on top.
    const largest = largestAt(
      binance.book('BTC/USDT').topAsks(),
      bybit.book('BTC/USDT').topBids(),
      0.3,
    )
    const line = text.split('\n').find((l) => l.startsWith('Largest profitable size'))!
    expect(line).toStartWith('Largest profitable size at your 0.30% threshold: ')
    const [size, profit] = amountsOf(line)
    expect(Math.abs(size - largest.size)).toBeLessThan(0.01)
    expect(Math.abs(profit - largest.profit)).toBeLessThan(0.01)
    // Not the figure at MIN_SPREAD_PCT (0.1 %): that one is larger.
    expect(largest.size).toBeLessThan(
      largestAt(binance.book('BTC/USDT').topAsks(), bybit.book('BTC/USDT').topBids(), 0.1).size,
    )

    heal(bybit, '60400.00')
    await until(
      () => telegram.edits.some((e) => e.chatId === 1001 && e.text.includes('Closed after')),
      10_000,
      'the closing edit',
    )
    const closing = telegram.edits.find(
      (e) => e.chatId === 1001 && e.text.includes('Closed after'),
    )!
    expect(closing.messageId).toBe(alerts[0]!.messageId)
    expect(closing.text).toMatch(new RegExp(`Closed after \\d+ s, peak ${net.toFixed(2)}%`))
    // Closed, the chat's own figure is the opening's, and says so.
    expect(closing.text).toContain(`${line.slice(0, -1)}, as it opened)`)
    expect(
      telegram.sent.filter((m) => m.chatId === 1002 && m.text.includes('Binance')),
    ).toHaveLength(0)
    expect(
      telegram.sent.filter((m) => m.chatId === 1001 && m.text.includes('buy Binance')),
    ).toHaveLength(1)
  }, 30_000)

  test('a delivery still pending at a restart is sent exactly once by the next process', async () => {
    const { binance, bybit, telegram, env } = venues()
    app = await startApp(env, silent)
    await telegram.waitFor(() => telegram.callsOf('getUpdates').length > 0, 5000, 'polling')
    await telegram.userSays(2001, 7, '/subscribe BTCUSDT')
    await telegram.waitForReply(2001)
    await live(app, binance)
    // Telegram is down (5xx): the delivery stays pending, retried with backoff.
    for (let i = 0; i < 3; i++)
      telegram.failNext('sendMessage', { error_code: 502, description: 'Bad Gateway' })
    dislocate(bybit, '60400.00')
    const rows = () => app!.db.db.select().from(deliveries)
    await until(
      () => telegram.callsOf('sendMessage').filter((c) => c.payload.chat_id === 2001).length >= 2,
      10_000,
      'a failed try',
    )
    await app.stop()
    app = undefined
    const pending = await (await import('../../src/db/client.ts')).openDb({ url: env.DATABASE_URL })
    const [row] = await pending.db.select().from(deliveries)
    pending.close()
    expect(row).toMatchObject({ status: 'pending', chatId: '2001' })
    const triesBefore = row!.attempts

    app = await startApp(env, silent)
    // The first try after the restart needs a round trip to Telegram: listening now is in time.
    const sent = await app.dispatcher.events.next(
      'delivery-sent',
      (e) => e.chatId === '2001',
      10_000,
    )
    expect(sent.attempts).toBeGreaterThan(triesBefore)
    expect(telegram.sent.some((m) => m.chatId === 2001 && m.text.includes('buy Binance'))).toBe(
      true,
    )
    const after = (await rows())[0]
    expect(after).toMatchObject({ status: 'sent', chatId: '2001' })
    expect(after!.attempts).toBeGreaterThan(triesBefore)
    expect(
      telegram.sent.filter((m) => m.chatId === 2001 && m.text.includes('buy Binance')),
    ).toHaveLength(1)
  }, 40_000)
})

describe('grouped alerts and buttons end to end (Telegram)', () => {
  test('one venue moving opens two routes in one pass: one message lists both, best first, and is closed as one', async () => {
    const { binance, bybit, telegram, env } = venues()
    const okx = new SimOkx([{ base: 'BTC', quote: 'USDT', book: makeBook(60000, 20, 0.1) }])
    stops.push(() => okx.stop())
    app = await startApp(
      {
        ...env,
        EXCHANGES: 'binance,bybit,okx',
        OKX_WS_URL: okx.wsUrl,
        OKX_REST_URL: okx.restUrl,
      },
      silent,
    )
    await telegram.waitFor(() => telegram.callsOf('getUpdates').length > 0, 5000, 'polling')
    await telegram.userSays(4001, 7, '/subscribe BTCUSDT')
    await telegram.waitForReply(4001)
    await until(
      () => {
        binance.update('BTC/USDT', [['59999.95', '1.00000000']], [])
        okx.update('BTC/USDT', [['59999.95', '1.00000000']], [])
        return [...app!.books.venues()].every((v) =>
          [...app!.books.ofVenue(v)].every((e) => e.state === 'live'),
        )
      },
      5000,
      'books live',
    )
    // Bybit's bid jumps above both other asks: buy Binance or OKX, sell Bybit.
    const sent: number[] = []
    app.dispatcher.events.on((e) => void (e.type === 'delivery-sent' && sent.push(e.deliveryId)))
    const both = app.dispatcher.events.next('delivery-sent', () => sent.length === 2, 10_000)
    dislocate(bybit, '60400.00')
    const alert = await telegram.waitForReply(4001, 10_000)
    const net = ((60400 / 60000.1) * 0.999 * 0.999 - 1) * 100
    expect(alert.text).toStartWith(
      `BTC/USDT: sell Bybit, buy on Binance and OKX, best net ${net.toFixed(2)}%`,
    )
    expect(alert.text).toContain(`1. Buy on Binance at 60,000.10: net ${net.toFixed(2)}%`)
    expect(alert.text).toContain(`2. Buy on OKX at 60,000.10: net ${net.toFixed(2)}%`)
    expect(alert.text).toContain('Sell on Bybit at 60,400.00')
    // Two opportunities, two deliveries, one message.
    await both
    const rows = await app.db.db.select().from(deliveries)
    expect(rows.map((r) => [r.status, r.messageId])).toEqual([
      ['sent', String(alert.messageId)],
      ['sent', String(alert.messageId)],
    ])
    heal(bybit, '60400.00')
    await until(
      () => telegram.edits.some((e) => e.chatId === 4001 && e.text.startsWith('Closed: ')),
      10_000,
      'the closing edit',
    )
    const closing = telegram.edits.findLast((e) => e.chatId === 4001)!
    expect(closing.messageId).toBe(alert.messageId)
    expect(closing.text).toContain('closed after')
    expect(telegram.sent.filter((m) => m.chatId === 4001 && m.text.includes('Bybit'))).toHaveLength(
      1,
    )
  }, 40_000)

  test('the buttons: details answer with /explain, mute silences the market for that chat only, stop stops it', async () => {
    const { binance, bybit, telegram, env } = venues()
    app = await startApp(env, silent)
    await telegram.waitFor(() => telegram.callsOf('getUpdates').length > 0, 5000, 'polling')
    for (const chat of [5001, 5002]) {
      await telegram.userSays(chat, 7, '/subscribe BTCUSDT')
      await telegram.waitForReply(chat)
    }
    await live(app, binance)
    dislocate(bybit, '60400.00')
    const first = await telegram.waitForReply(5001, 10_000)
    await telegram.waitForReply(5002, 10_000)
    expect(first.replyMarkup!.inline_keyboard[0]!.map((b) => b.text)).toEqual([
      'Mute BTC/USDT 1 h',
      'Details',
      'Stop alerts',
    ])
    const details = await telegram.pressButton(5001, first.messageId, 7, 'Details')
    const explained = await telegram.waitForReply(5001)
    const { items } = await app.store.listOpportunities()
    expect(explained.text).toContain('Net')
    expect(explained.text).toContain('buy BTC/USDT on binance')
    expect(telegram.answers.find((a) => a.queryId === details)!.text).toBe(
      'The arithmetic of this alert is below.',
    )
    const mute = await telegram.pressButton(5001, first.messageId, 7, 'Mute BTC/USDT 1 h')
    await telegram.waitFor(() => telegram.answers.some((a) => a.queryId === mute), 5000, 'mute')
    expect(telegram.answers.find((a) => a.queryId === mute)!.text).toStartWith(
      'No alerts about BTC/USDT here until ',
    )
    await telegram.userSays(5001, 7, '/list')
    expect((await telegram.waitForReply(5001)).text).toContain('Muted markets: BTC/USDT until ')
    // The next dislocation reaches chat 5002 only.
    heal(bybit, '60400.00')
    await until(
      () => telegram.edits.some((e) => e.chatId === 5002 && e.text.includes('Closed after')),
      10_000,
      'the closing edit',
    )
    dislocate(bybit, '60400.00')
    const second = await telegram.waitForReply(5002, 10_000)
    expect(second.text).toContain('buy Binance')
    expect(
      telegram.sent.filter((m) => m.chatId === 5001 && m.text.includes('buy Binance')),
    ).toEqual([first])
    // Stop, pressed in chat 5002: what /stop does.
    const stop = await telegram.pressButton(5002, second.messageId, 8, 'Stop alerts')
    await telegram.waitFor(() => telegram.answers.some((a) => a.queryId === stop), 5000, 'stop')
    await telegram.userSays(5002, 8, '/list')
    expect((await telegram.waitForReply(5002)).text).toContain('Alerts: muted until /unmute')
    // A button from an older version of the bot is answered; nothing changes.
    const stale = await telegram.callbackQuery(5002, second.messageId, 8, 'v0:whatever')
    await telegram.waitFor(() => telegram.answers.some((a) => a.queryId === stale), 5000, 'stale')
    expect(telegram.answers.find((a) => a.queryId === stale)!.text).toContain('no longer valid')
    expect(items).toHaveLength(1)
    expect(explained.text).toContain(items[0]!.symbol)
  }, 40_000)
})

describe('alerts end to end (Discord)', () => {
  test('slash commands configure a channel; its alert arrives as an embed and is edited when it closes', async () => {
    const { binance, bybit, telegram, env } = venues()
    const discord = new DiscordServer({ token: 'x'.repeat(24) + '.fake.discord-token' })
    stops.push(() => discord.stop())
    const { TELEGRAM_BOT_TOKEN: _t, TELEGRAM_API_ROOT: _r, ...rest } = env
    void telegram
    app = await startApp(
      {
        ...rest,
        DISCORD_TOKEN: discord.token,
        DISCORD_API_URL: discord.apiUrl,
        DISCORD_GUILD_ID: discord.guildId,
      },
      silent,
    )
    await until(() => discord.registrations.length > 0, 10_000, 'commands registered')
    expect(discord.registrations[0]).toMatchObject({ guildId: discord.guildId })
    const channel = discord.channelIds[0]!
    const sub = discord.chatInput('subscribe', [{ name: 'symbols', type: 3, value: 'BTCUSDT' }], {
      channelId: channel,
    })
    await until(() => discord.callbackFor(sub) !== undefined, 5000, 'subscribe reply')
    expect(JSON.stringify(discord.callbackFor(sub)!.data)).toContain('Subscribed to BTC/USDT')
    const thr = discord.chatInput('threshold', [{ name: 'percent', type: 10, value: 0.3 }], {
      channelId: channel,
    })
    await until(() => discord.callbackFor(thr) !== undefined, 5000, 'threshold reply')
    expect(JSON.stringify(discord.callbackFor(thr)!.data)).toContain('0.3%')

    await live(app, binance)
    dislocate(bybit, '60400.00')
    await until(() => discord.messages.some((m) => m.channelId === channel), 10_000, 'the embed')
    const [message] = discord.messages.filter((m) => m.channelId === channel)
    const embed = (
      message!.body as { embeds: { title: string; description: string; color: number }[] }
    ).embeds[0]!
    const net = ((60400 / 60000.1) * 0.999 * 0.999 - 1) * 100
    expect(embed.title).toBe(`BTC/USDT: buy Binance, sell Bybit, net ${net.toFixed(2)}%`)
    expect(embed.description).toContain('Sell on Bybit at 60,400.00')
    // Its buttons: the details to the presser only, the mute for this channel.
    expect(discord.buttonsOf(message!).map((b) => b.label)).toEqual([
      'Mute BTC/USDT 1 h',
      'Details',
      'Stop alerts',
    ])
    const details = discord.pressButton(message!.id, 'Details', { channelId: channel })
    const mute = discord.pressButton(message!.id, 'Mute BTC/USDT 1 h', { channelId: channel })
    await until(
      () => !!discord.callbackFor(details) && !!discord.callbackFor(mute),
      5000,
      'the button answers',
    )
    expect(discord.callbackFor(details)!.data).toMatchObject({ flags: 64 })
    expect(String(discord.callbackFor(details)!.data!.content)).toContain('Net')
    expect(String(discord.callbackFor(mute)!.data!.content)).toStartWith(
      'No alerts about BTC/USDT here until ',
    )
    expect(app.core.chat('discord', channel)!.mutedMarkets['BTC/USDT']).toBeGreaterThan(Date.now())
    heal(bybit, '60400.00')
    await until(
      () => message!.edits.some((e) => JSON.stringify(e).includes('Closed after')),
      10_000,
      'the closing edit',
    )
    expect(discord.messages.filter((m) => m.channelId === channel)).toHaveLength(1)
  }, 40_000)
})
