/**
 * @module
 * The whole bot as its own process (`bun src/main.ts`), for black-box measurements and crash
 * trials: it gets only the environment it is given (plus PATH and HOME), is ready once it logs
 * that it listens, and its log lines are kept (its stdout is always drained, so it never blocks).
 */
import type { Subprocess } from 'bun'
import type { Row } from '../src/venues/sim/book.ts'
import type { SimVenue } from '../src/venues/sim/venue.ts'
import type { FakeTelegramServer } from '../test/fakes/telegram-server.ts'

export interface BotProcess {
  readonly proc: Subprocess<'ignore', 'pipe', 'inherit'>
  /** The port its HTTP API listens on. */
  readonly port: number
  /** Every line it logged so far (pino JSON). */
  readonly lines: readonly string[]
  /** A GET on its API. */
  get(path: string): Promise<Response>
  /** Sends `signal` (default SIGKILL) and resolves once the process is gone. */
  kill(signal?: NodeJS.Signals): Promise<void>
}

const MAIN = `${import.meta.dir}/../src/main.ts`

/**
 * Starts `bun src/main.ts` with `env` and resolves once its API listens.
 *
 * @example
 * ```ts
 * const bot = await spawnBot({ EXCHANGES: 'binance,bybit', PORT: '0', ...venues.env })
 * await bot.get('/readyz')
 * await bot.kill()
 * ```
 */
export async function spawnBot(
  env: Record<string, string>,
  timeoutMs = 15_000,
): Promise<BotProcess> {
  const proc = Bun.spawn(['bun', MAIN], {
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', LOG_LEVEL: 'info', ...env },
    stdin: 'ignore',
    stdout: 'pipe',
    stderr: 'inherit',
  })
  const lines: string[] = []
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => {
      proc.kill('SIGKILL')
      reject(new Error(`the bot did not listen within ${timeoutMs} ms:\n${lines.join('\n')}`))
    }, timeoutMs)
    void (async () => {
      const decoder = new TextDecoder()
      let buf = ''
      for await (const chunk of proc.stdout) {
        buf += decoder.decode(chunk, { stream: true })
        for (let i = buf.indexOf('\n'); i !== -1; i = buf.indexOf('\n')) {
          const line = buf.slice(0, i)
          buf = buf.slice(i + 1)
          lines.push(line)
          if (line.includes('arbwatch listening')) {
            clearTimeout(timer)
            resolve((JSON.parse(line) as { port: number }).port)
          }
        }
      }
      clearTimeout(timer)
      reject(
        new Error(`the bot exited (${await proc.exited}) before listening:\n${lines.join('\n')}`),
      )
    })()
  })
  return {
    proc,
    port,
    lines,
    get: (path) => fetch(`http://127.0.0.1:${port}${path}`),
    async kill(signal = 'SIGKILL') {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill(signal)
      await proc.exited
    },
  }
}

/**
 * The environment of a bot watching BTC/USDT on the simulated Binance and Bybit of `venues`
 * (`simulateBinanceAndBybit().env`), alerting through the fake Bot API, on the database at `url`.
 * Quotes stay fresh for 10 minutes: only Bybit moves while the dislocations come and go.
 */
export function botEnv(
  venues: Record<string, string>,
  telegram: FakeTelegramServer,
  databaseUrl: string,
): Record<string, string> {
  return {
    EXCHANGES: 'binance,bybit',
    SYMBOLS: 'BTC/USDT',
    TRIANGLES: 'off',
    PORT: '0',
    HOST: '127.0.0.1',
    DATABASE_URL: databaseUrl,
    MAX_QUOTE_AGE_MS: '600000',
    TELEGRAM_BOT_TOKEN: telegram.token,
    TELEGRAM_API_ROOT: telegram.apiRoot,
    ...venues,
  }
}

/** A user in `chatId` follows BTC/USDT from `thresholdPct` with real commands. */
export async function subscribe(
  telegram: FakeTelegramServer,
  chatId: number,
  thresholdPct = '0.3',
): Promise<void> {
  await telegram.userSays(chatId, 7, '/subscribe BTCUSDT')
  await telegram.waitForReply(chatId, 10_000)
  await telegram.userSays(chatId, 7, `/threshold ${thresholdPct}`)
  await telegram.waitForReply(chatId, 10_000)
}

/**
 * Resolves once the bot says it is ready (both venues' books live). Binance's first update
 * triggers its REST snapshot, so an update is pushed each time `/readyz` still says no.
 */
export async function ready(bot: BotProcess, binance: SimVenue, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    if ((await bot.get('/readyz')).status === 200) return
    if (Date.now() > deadline) throw new Error(`the bot was not ready within ${timeoutMs} ms`)
    binance.update('BTC/USDT', [['59999.95', '1.00000000']], [])
    await Bun.sleep(5)
  }
}

/**
 * Bybit's whole BTC/USDT book jumps up in one frame: its bid 60,400 is above Binance's best ask
 * 60,000.10, a net spread of about 0.47 % after fees.
 */
export function dislocate(bybit: SimVenue): void {
  const asksGone: Row[] = bybit
    .book('BTC/USDT')
    .topAsks()
    .map(([p]) => [p, '0'])
  bybit.update('BTC/USDT', [['60400.00', '1.00000000']], [...asksGone, ['60500.00', '1.00000000']])
}

/** Undoes `dislocate` in one frame (Bybit's best ask goes back to 60,000.50). */
export function heal(bybit: SimVenue): void {
  bybit.update('BTC/USDT', [['60400.00', '0']], [['60000.50', '1.00000000']])
}
