/**
 * Telegram through grammY (with the runner, auto-retry and throttler plugins) against a fake Bot
 * API on 127.0.0.1: commands reach the core and the answers reach the chat, alerts are posted and
 * edited, failures map to NotifierError kinds, webhook mode checks its secret, stop() stops.
 */
import { afterEach, describe, expect, test } from 'bun:test'
import pino from 'pino'
import {
  COMMANDS,
  type ChatRef,
  type CommandHandler,
  type CommandSpec,
  type Reply,
} from '../../src/chat/commands.ts'
import { NotifierError, type AlertText } from '../../src/alerts/notifier.ts'
import {
  createTelegram,
  deriveWebhookSecret,
  renderAlertHtml,
  splitText,
  type TelegramBot,
  type TelegramOptions,
} from '../../src/chat/telegram.ts'
import { FakeTelegramServer, parseHtml } from '../fakes/telegram-server.ts'
import { silent, until } from '../support.ts'

interface RecordingCore extends CommandHandler {
  readonly calls: { ref: ChatRef; name: string; argText: string }[]
  answer: (name: string, argText: string) => Reply | Promise<Reply>
}

/** Answers `name:argText` and records every call. */
function recordingCore(): RecordingCore {
  const core: RecordingCore = {
    calls: [],
    answer: (name, argText) => ({ kind: 'ok', lines: [`${name}:${argText}`] }),
    async handle(ref, name, argText) {
      core.calls.push({ ref, name, argText })
      return core.answer(name, argText)
    },
    symbols: () => ['BTC/USDT', 'ETH/USDT'],
  }
  return core
}

/** A logger whose JSON lines land in `lines`. */
function capturingLog() {
  const lines: { msg?: string; level: number }[] = []
  const log = pino({ level: 'debug' }, { write: (s: string) => lines.push(JSON.parse(s)) })
  return { log, lines }
}

const cleanups: (() => Promise<void>)[] = []
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
})

function setup(options: Partial<TelegramOptions> = {}) {
  const fake = new FakeTelegramServer()
  const core = recordingCore()
  const telegram = createTelegram({
    token: fake.token,
    core,
    log: silent,
    apiRoot: fake.apiRoot,
    ...options,
  })
  cleanups.push(async () => {
    await telegram.stop()
    await fake.stop()
  })
  return { fake, core, telegram }
}

async function polling(options: Partial<TelegramOptions> = {}) {
  const s = setup(options)
  await s.telegram.start()
  await s.fake.waitFor(() => s.fake.openPolls > 0, 5000, 'a long poll')
  return s
}

const alert = (title: string, lines: string[], footer?: string): AlertText => ({
  title,
  lines,
  ...(footer === undefined ? {} : { footer }),
  tone: 'open',
})

async function rejection(promise: Promise<unknown>): Promise<NotifierError> {
  try {
    await promise
  } catch (err) {
    expect(err).toBeInstanceOf(NotifierError)
    return err as NotifierError
  }
  throw new Error('expected a NotifierError')
}

describe('commands over long polling', () => {
  test('every command reaches the core with the chat, user and argument; the answer arrives', async () => {
    const { fake, core } = await polling()
    expect(fake.callsOf('getMe')).toHaveLength(1)
    expect(fake.callsOf('deleteWebhook')).toHaveLength(1)
    // One chat per command: the throttler spaces messages to one chat by a second.
    await Promise.all(
      COMMANDS.map((c: CommandSpec, i) =>
        fake.userSays(1000 + i, 42, c.arg ? `/${c.name} some arg` : `/${c.name}`),
      ),
    )
    for (const [i, c] of (COMMANDS as readonly CommandSpec[]).entries()) {
      const reply = await fake.waitForReply(1000 + i)
      expect(reply.text).toBe(c.arg ? `${c.name}:some arg` : `${c.name}:`)
      expect(reply.entities).toEqual([])
    }
    for (const [i, c] of COMMANDS.entries()) {
      const call = core.calls.find((x) => x.name === c.name)!
      expect(call.ref).toEqual({ platform: 'telegram', chatId: String(1000 + i), userId: '42' })
    }
  })

  test('/subscribe@Bot in a group reaches the core; a command for another bot is ignored', async () => {
    const { fake, core } = await polling()
    await fake.userSays(-100777, 7, '/subscribe@ArbwatchTestBot BTCUSDT  ETH/USDT')
    expect((await fake.waitForReply(-100777)).text).toBe('subscribe:BTCUSDT  ETH/USDT')
    expect(core.calls[0]).toEqual({
      ref: { platform: 'telegram', chatId: '-100777', userId: '7' },
      name: 'subscribe',
      argText: 'BTCUSDT  ETH/USDT',
    })
    await fake.userSays(-100778, 7, '/subscribe@OtherBot BTCUSDT')
    await fake.userSays(-100778, 7, '/frobnicate')
    await fake.userSays(-100778, 7, '/list@arbwatchtestbot')
    // Handled in order per chat: the next reply in that chat is the one to /list.
    expect((await fake.waitForReply(-100778)).text).toBe('list:')
    expect(core.calls.map((c) => c.name)).toEqual(['subscribe', 'list'])
  })

  test('unknown commands and plain text in a private chat get a pointer to /help', async () => {
    const { fake, core } = await polling()
    await fake.userSays(501, 5, '/frobnicate now')
    expect((await fake.waitForReply(501)).text).toBe(
      'Unknown command /frobnicate. Send /help to see what I understand.',
    )
    await fake.userSays(502, 5, 'hello?')
    expect((await fake.waitForReply(502)).text).toBe('I answer commands. Send /help to see them.')
    await fake.userSays(-100503, 5, '/frobnicate@ArbwatchTestBot')
    expect((await fake.waitForReply(-100503)).text).toContain('Unknown command /frobnicate.')
    expect(core.calls).toEqual([])
  })

  test('setMyCommands registers every command with its description', async () => {
    const { fake } = await polling()
    expect(fake.commandSets).toHaveLength(1)
    expect(fake.commandSets[0]!.commands).toEqual(
      COMMANDS.map((c) => ({ command: c.name, description: c.description })),
    )
  })

  test('a long answer is split into messages that fit Telegram’s limit', async () => {
    const { fake, core } = await polling()
    const lines = Array.from({ length: 200 }, (_, i) => `line ${i} ${'x'.repeat(20)}`)
    core.answer = () => ({ kind: 'status', lines })
    await fake.userSays(601, 6, '/status')
    const first = await fake.waitForReply(601)
    const second = await fake.waitForReply(601)
    expect(first.text.length).toBeLessThanOrEqual(4096)
    expect(second.text.length).toBeLessThanOrEqual(4096)
    expect(`${first.text}\n${second.text}`).toBe(lines.join('\n'))
  })

  test('a failing core gets an apology; a failing reply is logged; the bot keeps answering', async () => {
    const { log, lines } = capturingLog()
    const { fake, core } = await polling({ log })
    core.answer = (name) => {
      if (name === 'status') throw new Error('db is gone')
      return { kind: 'ok', lines: [`${name}:`] }
    }
    await fake.userSays(701, 7, '/status')
    expect((await fake.waitForReply(701)).text).toBe(
      'Sorry, something went wrong. Please try again in a minute.',
    )
    fake.failNext('sendMessage', { error_code: 403 })
    await fake.userSays(702, 7, '/list')
    await until(() => lines.filter((l) => l.msg === 'telegram handler failed').length === 2)
    await fake.userSays(703, 7, '/list')
    expect((await fake.waitForReply(703)).text).toBe('list:')
  })

  test('start retries a 5xx and goes on when setMyCommands is refused', async () => {
    const fake = new FakeTelegramServer()
    const core = recordingCore()
    fake.failNext('setMyCommands', { error_code: 400, description: 'Bad Request: nope' })
    fake.failNext('deleteWebhook', { error_code: 502 })
    const telegram = createTelegram({ token: fake.token, core, log: silent, apiRoot: fake.apiRoot })
    cleanups.push(async () => {
      await telegram.stop()
      await fake.stop()
    })
    await telegram.start()
    expect(fake.callsOf('deleteWebhook')).toHaveLength(2)
    await fake.userSays(801, 8, '/help')
    expect((await fake.waitForReply(801)).text).toBe('help:')
  })

  test('stop() ends long polling: the open poll is dropped and no getUpdates follows', async () => {
    const { fake, core, telegram } = await polling()
    await fake.userSays(901, 9, '/start')
    await fake.waitForReply(901)
    await fake.waitFor(() => fake.openPolls > 0)
    await telegram.stop()
    expect(fake.openPolls).toBe(0)
    const polls = fake.callsOf('getUpdates').length
    await fake.userSays(901, 9, '/help')
    await Bun.sleep(300)
    expect(fake.callsOf('getUpdates')).toHaveLength(polls)
    expect(core.calls.map((c) => c.name)).toEqual(['start'])
  })
})

describe('notifier', () => {
  test('send posts HTML: bold title, escaped lines, italic footer; returns the message id', async () => {
    const { fake, telegram } = setup()
    const { messageId } = await telegram.notifier.send(
      '1101',
      alert('BTC/USDT <buy> & sell', ['kraken → binance: 0.42% > 0.3%', 'a<b>c</b>'], 'R&D'),
    )
    const posted = fake.sent[0]!
    expect(messageId).toBe(String(posted.messageId))
    expect(posted.parseMode).toBe('HTML')
    expect(posted.text).toBe(
      'BTC/USDT <buy> & sell\nkraken → binance: 0.42% > 0.3%\na<b>c</b>\n\nR&D',
    )
    expect(posted.entities).toEqual([
      { type: 'bold', offset: 0, length: 'BTC/USDT <buy> & sell'.length },
      { type: 'italic', offset: posted.text.length - 3, length: 3 },
    ])
  })

  test('a 429 is retried after its retry_after and delivered once', async () => {
    const { fake, telegram } = setup()
    fake.failNext('sendMessage', { error_code: 429, retry_after: 1 })
    await telegram.notifier.send('1201', alert('spread', ['line']))
    const [first, second] = fake.callsOf('sendMessage')
    expect(second!.atMs - first!.atMs).toBeGreaterThanOrEqual(1000)
    expect(fake.sent.map((m) => m.text)).toEqual(['spread\nline'])
  })

  test('a 429 that outlives auto-retry is rate-limited with retryAfterMs', async () => {
    const { fake, telegram } = setup()
    fake.failNext('sendMessage', { error_code: 429, retry_after: 120 })
    const err = await rejection(telegram.notifier.send('1301', alert('t', [])))
    expect(err.kind).toBe('rate-limited')
    expect(err.retryAfterMs).toBe(120_000)
    expect(fake.sent).toEqual([])
  })

  test('403 and "chat not found" are forbidden; 5xx and network errors transient; other 400s rejected', async () => {
    const { fake, telegram } = setup()
    fake.failNext('sendMessage', {
      error_code: 403,
      description: 'Forbidden: bot was blocked by the user',
    })
    expect((await rejection(telegram.notifier.send('1401', alert('t', [])))).kind).toBe('forbidden')
    fake.failNext('sendMessage', { error_code: 400, description: 'Bad Request: chat not found' })
    expect((await rejection(telegram.notifier.send('1402', alert('t', [])))).kind).toBe('forbidden')
    fake.failNext('sendMessage', { error_code: 500 })
    const before = fake.callsOf('sendMessage').length
    expect((await rejection(telegram.notifier.send('1403', alert('t', [])))).kind).toBe('transient')
    expect(fake.callsOf('sendMessage')).toHaveLength(before + 1)
    fake.failNext('sendMessage', {
      error_code: 400,
      description: 'Bad Request: message is too long',
    })
    expect((await rejection(telegram.notifier.send('1404', alert('t', [])))).kind).toBe('rejected')
    await fake.stop()
    expect((await rejection(telegram.notifier.send('1405', alert('t', [])))).kind).toBe('transient')
  })

  test('edit replaces the text; "message is not modified" counts as success', async () => {
    const { fake, telegram } = setup()
    const { messageId } = await telegram.notifier.send('1501', alert('open', ['0.40%']))
    await telegram.notifier.edit('1501', messageId, alert('closed', ['peak 0.52%']))
    expect(fake.edits.map((e) => [e.messageId, e.text])).toEqual([
      [Number(messageId), 'closed\npeak 0.52%'],
    ])
    // The throttler keeps one message per second per chat.
    expect(fake.edits[0]!.atMs - fake.sent[0]!.atMs).toBeGreaterThanOrEqual(900)
    await telegram.notifier.edit('1501', messageId, alert('closed', ['peak 0.52%']))
    expect(fake.callsOf('editMessageText')).toHaveLength(2)
    expect(fake.edits).toHaveLength(1)
    const err = await rejection(telegram.notifier.edit('1502', '999', alert('x', [])))
    expect(err.kind).toBe('rejected')
  })
})

describe('webhook mode', () => {
  function webhookSetup(options: Partial<TelegramOptions> = {}) {
    let bot: TelegramBot | undefined
    const server = Bun.serve({
      hostname: '127.0.0.1',
      port: 0,
      fetch: (req) =>
        bot?.handleWebhook && new URL(req.url).pathname === bot.webhookPath
          ? bot.handleWebhook(req)
          : new Response('not found', { status: 404 }),
    })
    cleanups.push(async () => {
      await server.stop(true)
    })
    const s = setup({ webhookUrl: `http://127.0.0.1:${server.port}/telegram/hook`, ...options })
    bot = s.telegram
    return s
  }

  test('setWebhook with a derived secret; updates with it are answered; wrong or missing is 401', async () => {
    const { fake, core, telegram } = webhookSetup()
    expect(telegram.webhookPath).toBe('/telegram/hook')
    await telegram.start()
    const secret = deriveWebhookSecret(fake.token)
    expect(secret).toMatch(/^[0-9a-f]{64}$/)
    expect(fake.callsOf('setWebhook')[0]!.payload).toMatchObject({
      url: fake.webhook!.url,
      secret_token: secret,
      allowed_updates: ['message'],
    })
    const { webhookStatus } = await fake.userSays(1601, 16, '/threshold 0.5')
    expect(webhookStatus).toBe(200)
    expect((await fake.waitForReply(1601)).text).toBe('threshold:0.5')
    expect((await fake.postToWebhook(fake.message(1602, 16, '/list'), 'wrong')).status).toBe(401)
    expect((await fake.postToWebhook(fake.message(1602, 16, '/list'), undefined)).status).toBe(401)
    expect(core.calls.map((c) => c.name)).toEqual(['threshold'])
    expect(fake.callsOf('getUpdates')).toEqual([])
  })

  test('a configured secret is used as is', async () => {
    const { fake, telegram } = webhookSetup({ webhookSecret: 'my_Secret-1' })
    await telegram.start()
    expect(fake.webhook?.secretToken).toBe('my_Secret-1')
    expect((await fake.userSays(1701, 17, '/mute 2h')).webhookStatus).toBe(200)
    expect((await fake.waitForReply(1701)).text).toBe('mute:2h')
  })

  test('a secret Telegram would refuse is rejected at creation', () => {
    expect(() => setup({ webhookUrl: 'https://x.test/hook', webhookSecret: 'no spaces' })).toThrow(
      RangeError,
    )
  })
})

describe('rendering', () => {
  test('splitText keeps short text whole, cuts at line breaks, and gives nothing for empty text', () => {
    expect(splitText('hello')).toEqual(['hello'])
    expect(splitText('   ')).toEqual([])
    expect(splitText('aaaa\nbbbb\ncccc', 10)).toEqual(['aaaa\nbbbb', 'cccc'])
    const emoji = '😀'.repeat(10) // 20 UTF-16 units, no break points
    for (const part of splitText(emoji, 7))
      expect(part).not.toMatch(/^[\uDC00-\uDFFF]|[\uD800-\uDBFF]$/)
    expect(splitText(emoji, 7).join('')).toBe(emoji)
  })

  test('an oversized alert is cut to fit one message and stays valid HTML', () => {
    const html = renderAlertHtml(
      alert(
        '<big>',
        Array.from({ length: 500 }, () => 'a & b < c'.repeat(2)),
        'end',
      ),
    )
    const { text } = parseHtml(html)
    expect(text.length).toBeLessThanOrEqual(4096)
    expect(text.startsWith('<big>\n')).toBe(true)
    expect(text.endsWith('…\n\nend')).toBe(true)
  })
})
