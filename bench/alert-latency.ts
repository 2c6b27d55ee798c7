/**
 * @module
 * Frame to alert sent, black-box: the whole bot (`bun src/main.ts`, its own process, a file
 * database) against a simulated Binance and Bybit and the fake Telegram Bot API, both in this
 * process, so both ends are timed on one clock. A chat follows BTC/USDT from 0.3 %; each of
 * `openings` dislocations is opened by one Bybit frame (timed as it leaves the simulated venue)
 * and ends at the `sendMessage` request reaching the fake; it is closed again (and its closing
 * edit awaited) before the next one.
 *   bun bench/alert-latency.ts [openings]
 * Prints one JSON line: `{ openings, p50Ms, maxMs, samplesMs }`.
 */
import { FakeTelegramServer } from '../test/fakes/telegram-server.ts'
import { simulateBinanceAndBybit } from '../test/support.ts'
import { botEnv, dislocate, heal, ready, spawnBot, subscribe } from './bot-process.ts'

const OPENINGS = Number(process.argv[2] ?? 30)
/** Openings before the measured ones (connections opened, code paths warm). */
const WARMUP = 3
const CHAT = 4242

const dir = `${import.meta.dir}/../data/bench-alert-latency-${process.pid}`
const venues = simulateBinanceAndBybit()
const telegram = new FakeTelegramServer({ token: '110201543:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw' })
const env = botEnv(venues.env, telegram, `file:${dir}/arbwatch.db`)
// Every opening alerts, however soon after the last one.
const bot = await spawnBot({ ...env, ALERT_COOLDOWN_S: '0' })
const samplesMs: number[] = []
try {
  await subscribe(telegram, CHAT)
  await ready(bot, venues.binance)
  for (let i = 0; i < WARMUP + OPENINGS; i++) {
    const sends = telegram.callsOf('sendMessage').length
    const edits = telegram.edits.length
    dislocate(venues.bybit)
    const leftMs = performance.now()
    await telegram.waitFor(
      () => telegram.callsOf('sendMessage').length > sends,
      5000,
      `alert ${i + 1}`,
    )
    const call = telegram.callsOf('sendMessage')[sends]!
    if (call.payload.chat_id !== CHAT || !String(call.payload.text).includes('buy Binance'))
      throw new Error(`unexpected sendMessage: ${JSON.stringify(call.payload)}`)
    if (i >= WARMUP) samplesMs.push(call.atMs - leftMs)
    heal(venues.bybit)
    await telegram.waitFor(() => telegram.edits.length > edits, 5000, `closing edit ${i + 1}`)
  }
} finally {
  await bot.kill('SIGTERM')
  venues.stop()
  await telegram.stop()
  await Bun.$`rm -rf ${dir}`.quiet()
}
const sorted = [...samplesMs].sort((a, b) => a - b)
console.log(
  JSON.stringify({
    openings: sorted.length,
    p50Ms: sorted[Math.floor((sorted.length - 1) / 2)]!,
    maxMs: sorted.at(-1)!,
    samplesMs: samplesMs.map((ms) => Number(ms.toFixed(2))),
  }),
)
