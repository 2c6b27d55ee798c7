/**
 * Crash trials: the real process (`bun src/main.ts`, a file database under data/) against
 * simulated Binance and Bybit and the fake Bot API in this process, SIGKILLed at chosen points of
 * an opening and restarted on the same database. Each trial asserts what the user sees.
 */
import { afterEach, describe, expect, test } from 'bun:test'
import { eq } from 'drizzle-orm'
import { openDb } from '../../src/db/client.ts'
import { deliveries, opportunities } from '../../src/db/schema.ts'
import {
  botEnv,
  dislocate,
  heal,
  ready,
  spawnBot,
  subscribe,
  type BotProcess,
} from '../../bench/bot-process.ts'
import { FakeTelegramServer } from '../fakes/telegram-server.ts'
import { simulateBinanceAndBybit } from '../support.ts'

const CHAT = 5151
const stops: (() => unknown)[] = []
afterEach(async () => {
  for (const stop of stops.splice(0).reverse()) await stop()
})

/** One trial's world: venues, the fake Bot API, a fresh database, and the bot started on it. */
function trial() {
  const dir = `${import.meta.dir}/../../data/test-crash-${process.pid}-${stops.length}`
  const venues = simulateBinanceAndBybit()
  const telegram = new FakeTelegramServer({ token: '110201543:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw' })
  const url = `file:${dir}/arbwatch.db`
  const env = botEnv(venues.env, telegram, url)
  const bots: BotProcess[] = []
  stops.push(
    () => Bun.$`rm -rf ${dir}`.quiet(),
    () => telegram.stop(),
    () => venues.stop(),
    () => Promise.all(bots.map((b) => b.kill())),
  )
  /** What the chat received: alerts sent, and the edits that say closed. */
  const alerts = () =>
    telegram.sent.filter((m) => m.chatId === CHAT && m.text.includes('buy Binance'))
  const closings = () =>
    telegram.edits.filter((m) => m.chatId === CHAT && m.text.startsWith('Closed'))
  return {
    ...venues,
    telegram,
    url,
    alerts,
    closings,
    /** Starts the bot on the trial's database; resolves once its books are live. */
    async start(): Promise<BotProcess> {
      const bot = await spawnBot(env)
      bots.push(bot)
      await ready(bot, venues.binance)
      return bot
    },
    /** Every stored opportunity and the chat's deliveries, read once the bot is stopped. */
    async rows() {
      const handle = await openDb({ url })
      try {
        return {
          opportunities: await handle.db.select().from(opportunities),
          deliveries: await handle.db
            .select()
            .from(deliveries)
            .where(eq(deliveries.chatId, String(CHAT))),
        }
      } finally {
        handle.close()
      }
    },
  }
}

/** Resolves once the bot's metrics show at least `n` alerts recorded as sent. */
async function recordedSent(bot: BotProcess, n = 1, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const text = await (await bot.get('/metrics')).text()
    const sent = Number(/^arbwatch_alerts_sent_total (\d+)/m.exec(text)?.[1] ?? 0)
    if (sent >= n) return
    if (Date.now() > deadline) throw new Error(`no ${n} alerts recorded sent in ${timeoutMs} ms`)
    await Bun.sleep(5)
  }
}

describe('crash trials: SIGKILL, then a restart on the same database', () => {
  test('killed as the opening frame arrives, before any alert went out: exactly one alert after the restart', async () => {
    const t = trial()
    const first = await t.start()
    await subscribe(t.telegram, CHAT)
    dislocate(t.bybit)
    await first.kill()
    expect(t.alerts()).toHaveLength(0)
    await t.start()
    await t.telegram.waitFor(() => t.alerts().length > 0, 10_000, 'the alert')
    heal(t.bybit)
    await t.telegram.waitFor(() => t.closings().length > 0, 10_000, 'the closing edit')
    expect(t.alerts()).toHaveLength(1)
    expect(t.closings()[0]!.messageId).toBe(t.alerts()[0]!.messageId)
  }, 20_000)

  test('killed while the durable alert waited out a 429: exactly one alert after the restart', async () => {
    const t = trial()
    const first = await t.start()
    await subscribe(t.telegram, CHAT)
    t.telegram.failNext(
      'sendMessage',
      { error_code: 429, retry_after: 1 },
      (p) => p.chat_id === CHAT,
    )
    const replies = t.telegram.callsOf('sendMessage').length
    dislocate(t.bybit)
    await t.telegram.waitFor(
      () => t.telegram.callsOf('sendMessage').length > replies,
      10_000,
      'the refused send',
    )
    // The dispatcher logs the retry once the delivery is back to pending (due after retry_after).
    await logged(first, 'alert delivery will be retried')
    await first.kill()
    expect(t.alerts()).toHaveLength(0)
    await t.start()
    await t.telegram.waitFor(() => t.alerts().length > 0, 10_000, 'the alert')
    heal(t.bybit)
    await t.telegram.waitFor(() => t.closings().length > 0, 10_000, 'the closing edit')
    expect(t.alerts()).toHaveLength(1)
  }, 20_000)

  test('killed after the alert was sent: the restart resumes the dislocation, sends no second alert, and closes the message when it ends', async () => {
    const t = trial()
    const first = await t.start()
    await subscribe(t.telegram, CHAT)
    dislocate(t.bybit)
    await t.telegram.waitFor(() => t.alerts().length > 0, 10_000, 'the alert')
    await recordedSent(first)
    const [id] = await openIds(first)
    await first.kill()
    const second = await t.start()
    // The live books confirm the resumed opportunity: the same one is open again.
    expect(await openIds(second)).toEqual([id!])
    heal(t.bybit)
    await t.telegram.waitFor(() => t.closings().length > 0, 10_000, 'the closing edit')
    await second.kill('SIGTERM')
    expect(t.alerts()).toHaveLength(1)
    expect(t.closings()[0]!.messageId).toBe(t.alerts()[0]!.messageId)
    // Not re-detected as a new opportunity (whose alert the cooldown would only have hidden).
    const rows = await t.rows()
    expect(rows.opportunities.map((o) => [o.id, o.closeReason])).toEqual([
      [id!, 'spread fell below the threshold'],
    ])
    expect(rows.deliveries).toMatchObject([{ status: 'sent', closedShown: true }])
  }, 20_000)

  test('killed while open, the dislocation ends during the downtime: closed with reason restart, and the message says closed', async () => {
    const t = trial()
    const first = await t.start()
    await subscribe(t.telegram, CHAT)
    dislocate(t.bybit)
    await t.telegram.waitFor(() => t.alerts().length > 0, 10_000, 'the alert')
    await recordedSent(first)
    await first.kill()
    heal(t.bybit) // venue-side only: no bot is connected
    const second = await t.start()
    await t.telegram.waitFor(() => t.closings().length > 0, 10_000, 'the closing edit')
    await second.kill('SIGTERM')
    expect(t.alerts()).toHaveLength(1)
    expect(t.closings()[0]!.messageId).toBe(t.alerts()[0]!.messageId)
    const rows = await t.rows()
    expect(rows.opportunities.map((o) => o.closeReason)).toEqual(['restart'])
    expect(rows.deliveries).toMatchObject([{ status: 'sent', closedShown: true }])
  }, 20_000)
})

/** Resolves once the bot has logged a line containing `text`. */
async function logged(bot: BotProcess, text: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!bot.lines.some((l) => l.includes(text))) {
    if (Date.now() > deadline) throw new Error(`the bot did not log "${text}" in ${timeoutMs} ms`)
    await Bun.sleep(5)
  }
}

/** Ids of the cross opportunities the running bot holds open, once it holds one. */
async function openIds(bot: BotProcess, timeoutMs = 10_000): Promise<string[]> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const { spreads } = (await (await bot.get('/api/spreads')).json()) as {
      spreads: { fresh: boolean; openId: string | null }[]
    }
    const ids = spreads.filter((s) => s.fresh && s.openId !== null).map((s) => s.openId!)
    if (ids.length > 0) return ids
    if (Date.now() > deadline) throw new Error(`no open opportunity within ${timeoutMs} ms`)
    await Bun.sleep(5)
  }
}
