/**
 * Telegram through grammY (with the runner and auto-retry plugins) against a fake Bot API on
 * 127.0.0.1: commands reach the core and the answers reach the chat, alerts are posted and
 * edited, failures map to NotifierError kinds, webhook mode checks its secret, stop() stops; and,
 * with the dispatcher, each chat's alerts are their own queue, apart from command replies.
 */
import { afterEach, describe, expect, test } from 'bun:test'
import pino from 'pino'
import {
  ChatCore,
  COMMANDS,
  type ButtonAnswer,
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
import { Dispatcher, type DispatchEvent } from '../../src/alerts/dispatch.ts'
import { Fanout } from '../../src/alerts/fanout.ts'
import { ChatRepo } from '../../src/db/chats.ts'
import { deliveries } from '../../src/db/schema.ts'
import { Store } from '../../src/db/store.ts'
import { FakeTelegramServer, parseHtml } from '../fakes/telegram-server.ts'
import { crossAt, openMemoryDb, silent, until, type Track } from '../support.ts'

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

  test('with the real core over hundreds of markets: a base asset, all, and short replies', async () => {
    const track: Track = (it) => (cleanups.push(async () => void (await it.stop())), it)
    const handle = await openMemoryDb(track)
    const markets = ['SOL/USDT', 'SOL/USD']
    for (let i = 0; i < 500; i++) markets.push(`T${i}/USDT`)
    const core = new ChatCore({
      repo: new ChatRepo(handle.db),
      symbols: () => markets,
      defaultThresholdBps: 10,
      defaultSizeQuote: 1000,
      status: { venues: () => [], spreads: () => [] },
      log: silent,
    })
    await core.load()
    const { fake } = await polling({ core })
    await fake.userSays(701, 7, '/subscribe sol')
    expect((await fake.waitForReply(701)).text).toBe(
      'Subscribed to SOL (every SOL market, 2 now). You follow: SOL (every SOL market, 2 now).',
    )
    await fake.userSays(701, 7, '/subscribe all')
    const all = (await fake.waitForReply(701)).text
    expect(all).toStartWith('Subscribed to all (every market, 502 now).')
    await fake.userSays(701, 7, '/list')
    const list = (await fake.waitForReply(701)).text
    expect(list).toContain('Markets: SOL (every SOL market, 2 now), all (every market, 502 now)')
    expect(list.length).toBeLessThan(300)
    await fake.userSays(701, 7, '/unsubscribe SOL')
    expect((await fake.waitForReply(701)).text).toBe(
      'Unsubscribed. You follow: all (every market, 502 now).',
    )
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
    // The poll was aborted; the fake notices when the connection closes.
    await fake.waitFor(() => fake.openPolls === 0, 2000, 'the poll dropped')
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

  test('an alert’s 429 comes back at once as rate-limited with retryAfterMs (the dispatcher waits)', async () => {
    const { fake, telegram } = setup()
    for (const retryAfter of [1, 120]) {
      fake.failNext('sendMessage', { error_code: 429, retry_after: retryAfter })
      const err = await rejection(telegram.notifier.send('1301', alert('t', [])))
      expect(err.kind).toBe('rate-limited')
      expect(err.retryAfterMs).toBe(retryAfter * 1000)
    }
    expect(fake.callsOf('sendMessage')).toHaveLength(2)
    expect(fake.sent).toEqual([])
  })

  test('a command reply that gets a 429 is sent again after its retry_after, once', async () => {
    const { fake } = await polling()
    fake.failNext('sendMessage', { error_code: 429, retry_after: 1 })
    await fake.userSays(1201, 12, '/help')
    expect((await fake.waitForReply(1201, 5000)).text).toBe('help:')
    const [first, second] = fake.callsOf('sendMessage')
    expect(second!.atMs - first!.atMs).toBeGreaterThanOrEqual(1000)
    expect(fake.sent).toHaveLength(1)
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
    await telegram.notifier.edit('1501', messageId, alert('closed', ['peak 0.52%']))
    expect(fake.callsOf('editMessageText')).toHaveLength(2)
    expect(fake.edits).toHaveLength(1)
    const err = await rejection(telegram.notifier.edit('1502', '999', alert('x', [])))
    expect(err.kind).toBe('rejected')
  })
})

describe('alert buttons', () => {
  const buttons = [
    { label: 'Mute BTC/USDT 1 h', data: 'aw1:m:BTC/USDT' },
    { label: 'Details', data: 'aw1:d:7' },
    { label: 'Stop alerts', data: 'aw1:s' },
  ]
  const withButtons = (title: string): AlertText => ({ ...alert(title, ['x']), buttons })

  /** Polling, with a core that answers button presses as `answer` says and records them. */
  async function pressing(answer: (data: string) => ButtonAnswer | Promise<ButtonAnswer>) {
    const s = await polling()
    const presses: { ref: ChatRef; data: string }[] = []
    s.core.press = async (ref, data) => {
      presses.push({ ref, data })
      return answer(data)
    }
    return { ...s, presses }
  }

  test('an alert’s buttons are one row of its inline keyboard, kept through every edit', async () => {
    const { fake, telegram } = setup()
    const { messageId } = await telegram.notifier.send('1701', withButtons('open'))
    const keyboard = {
      inline_keyboard: [buttons.map((b) => ({ text: b.label, callback_data: b.data }))],
    }
    expect(fake.sent[0]!.replyMarkup).toEqual(keyboard)
    await telegram.notifier.edit('1701', messageId, withButtons('closed'))
    expect(fake.edits[0]!.replyMarkup).toEqual(keyboard)
    expect(fake.posted(1701, Number(messageId))!.replyMarkup).toEqual(keyboard)
    // Telegram refuses a payload over 64 bytes; the notifier reports it as rejected.
    const tooLong = { ...alert('t', []), buttons: [{ label: 'x', data: 'x'.repeat(65) }] }
    expect((await rejection(telegram.notifier.send('1702', tooLong))).kind).toBe('rejected')
  })

  test('a pressed button reaches the core with its chat and user; the query is answered; details are posted', async () => {
    const { fake, telegram, presses } = await pressing((data) =>
      data === 'aw1:d:7'
        ? {
            notice: 'The arithmetic of this alert is below.',
            reply: { kind: 'info', lines: ['1. buy BTC/USDT on Binance …'] },
            private: true,
          }
        : { notice: 'No alerts about BTC/USDT here until 15:04 UTC.', private: false },
    )
    const { messageId } = await telegram.notifier.send('-1001', withButtons('open'))
    await fake.waitForReply(-1001) // the alert itself
    const details = await fake.pressButton(-1001, Number(messageId), 33, 'Details')
    expect((await fake.waitForReply(-1001)).text).toBe('1. buy BTC/USDT on Binance …')
    expect(fake.answers).toContainEqual(
      expect.objectContaining({ queryId: details, text: 'The arithmetic of this alert is below.' }),
    )
    const mute = await fake.pressButton(-1001, Number(messageId), 34, 'Mute BTC/USDT 1 h')
    await fake.waitFor(() => fake.answers.some((a) => a.queryId === mute), 5000, 'the answer')
    expect(presses).toEqual([
      { ref: { platform: 'telegram', chatId: '-1001', userId: '33' }, data: 'aw1:d:7' },
      { ref: { platform: 'telegram', chatId: '-1001', userId: '34' }, data: 'aw1:m:BTC/USDT' },
    ])
    // Only the details were posted; the mute was answered with its notice alone.
    expect(fake.sent.filter((m) => m.chatId === -1001)).toHaveLength(2)
    expect(fake.answers.find((a) => a.queryId === mute)!.text).toBe(
      'No alerts about BTC/USDT here until 15:04 UTC.',
    )
  })

  test('an unknown button, a core that fails, or one without buttons: every query is answered, the bot goes on', async () => {
    const { fake, telegram, core } = await pressing((data) => {
      if (data === 'boom') throw new Error('core broke')
      return { notice: `unknown ${data}`, private: true }
    })
    const { messageId } = await telegram.notifier.send('1801', withButtons('open'))
    await fake.waitForReply(1801) // the alert itself
    const id = Number(messageId)
    const q1 = await fake.callbackQuery(1801, id, 18, 'aw0:old')
    const q2 = await fake.callbackQuery(1801, id, 18, 'boom')
    await fake.waitFor(() => fake.answers.length === 2, 5000, 'both answers')
    expect(fake.answers.map((a) => [a.queryId, a.text])).toEqual([
      [q1, 'unknown aw0:old'],
      [q2, 'Sorry, something went wrong. Please try again in a minute.'],
    ])
    core.press = undefined
    const q3 = await fake.callbackQuery(1801, id, 18, 'aw1:s')
    await fake.waitFor(() => fake.answers.length === 3, 5000, 'the third answer')
    expect(fake.answers[2]).toMatchObject({
      queryId: q3,
      text: 'Buttons are not handled here; use the commands (/help).',
    })
    await fake.userSays(1801, 18, '/list')
    expect((await fake.waitForReply(1801)).text).toBe('list:')
  })

  test('the bot asks for callback queries: Telegram delivers only the update types asked for', async () => {
    const { fake } = await polling()
    expect(fake.allowedUpdates).toEqual(['message', 'callback_query'])
  })
})

describe('/digest with the real core, the dispatcher and the bot', () => {
  test('a chat’s openings of the hour arrive as one digest at its end, also when it fell due while the process was down', async () => {
    const s = await polling()
    const track: Track = (it) => (cleanups.push(async () => void (await it.stop())), it)
    const handle = await openMemoryDb(track)
    const repo = new ChatRepo(handle.db)
    const start = Date.UTC(2030, 0, 1, 14, 10)
    let clock = start
    const core = new ChatCore({
      repo,
      symbols: ['BTC/USDT'],
      defaultThresholdBps: 10,
      defaultSizeQuote: 1000,
      status: { venues: () => [], spreads: () => [] },
      log: silent,
      now: () => clock,
    })
    await core.load()
    s.core.handle = (ref, name, argText) => core.handle(ref, name, argText)
    await s.fake.userSays(1901, 19, '/subscribe BTCUSDT')
    await s.fake.waitForReply(1901)
    await s.fake.userSays(1901, 19, '/digest 1h')
    expect((await s.fake.waitForReply(1901)).text).toContain('the next at 2030-01-01 15:00 UTC')
    const fanout = new Fanout({
      chats: () => core.chats(),
      defaultThresholdBps: 10,
      defaultSizeQuote: 1000,
      cooldownMs: 0,
      now: () => clock,
    })
    const store = new Store({ db: handle.db, log: silent })
    for (const [n, minute] of [
      [1, 15],
      [2, 40],
    ] as const) {
      clock = Date.UTC(2030, 0, 1, 14, minute)
      const o = { ...crossAt(40 + n), id: `cross:BTC/USDT:binance>kraken:${n}`, openedAtMs: clock }
      store.record(
        { type: 'opened', opportunity: o, atMs: clock, pass: n },
        fanout.deliveries(o, clock, () => 40, n),
      )
    }
    await store.flush()
    const dispatcher = (now: () => number) =>
      new Dispatcher({
        repo,
        notifiers: { telegram: s.telegram.notifier },
        pause: async () => {},
        log: silent,
        pollMs: 20,
        now,
        digestOf: (platform, chatId) => {
          const chat = core.chat(platform, chatId)
          return chat && { periodMs: chat.digestMs, minLifetimeMs: chat.minLifetimeMs }
        },
      })
    // The process runs until 14:59 and stops: nothing was sent one by one.
    clock = Date.UTC(2030, 0, 1, 14, 59)
    const first = dispatcher(() => clock)
    await first.start()
    for (let i = 0; i < 2; i++) {
      const pass = first.events.next('pass-done', undefined, 3000)
      first.wake()
      await pass
    }
    await first.stop()
    expect(s.fake.sent.filter((m) => m.chatId === 1901)).toHaveLength(2) // the two replies
    // Back at 17:20: the 15:00 digest is sent at once, one message, and only once.
    clock = Date.UTC(2030, 0, 1, 17, 20)
    const second = dispatcher(() => clock)
    cleanups.push(() => second.stop())
    const sent = second.events.next('digest-sent', undefined, 5000)
    await second.start()
    expect((await sent).deliveryIds).toHaveLength(2)
    const digest = await s.fake.waitForReply(1901)
    expect(digest.text).toStartWith('Digest 2030-01-01 14:00–15:00 UTC: 2 openings')
    expect(digest.text).toContain('1. BTC/USDT buy Binance, sell Kraken: peak 0.42%')
    expect(digest.replyMarkup).toBeUndefined()
    for (let i = 0; i < 2; i++) {
      const pass = second.events.next('pass-done', undefined, 3000)
      second.wake()
      await pass
    }
    expect(s.fake.sent.filter((m) => m.chatId === 1901)).toHaveLength(3)
    expect((await handle.db.select().from(deliveries)).map((d) => d.status)).toEqual([
      'digested',
      'digested',
    ])
  })
})

describe('alerts through the dispatcher', () => {
  /** The bot, a database, and the dispatcher sending through the bot's notifier. */
  async function alerting(options: { polling?: boolean } = {}) {
    const s = options.polling ? await polling() : setup()
    const track: Track = (it) => (cleanups.push(async () => void (await it.stop())), it)
    const handle = await openMemoryDb(track)
    const store = new Store({ db: handle.db, log: silent })
    const dispatcher = track(
      new Dispatcher({
        repo: new ChatRepo(handle.db),
        notifiers: { telegram: s.telegram.notifier },
        pause: async () => {},
        log: silent,
        pollMs: 20,
      }),
    )
    store.events.on((e) => e.type === 'deliveries-written' && dispatcher.wake())
    const events: DispatchEvent[] = []
    dispatcher.events.on((e) => void events.push(e))
    let opened = 0
    /** An opening that alerts `chats` (written as the store writes it). */
    const open = async (chats: number[]) => {
      const o = { ...crossAt(40), id: `cross:BTC/USDT:binance>kraken:${++opened}` }
      const now = Date.now()
      store.record(
        { type: 'opened', opportunity: o, atMs: now },
        chats.map((chatId) => ({
          opportunityId: o.id,
          platform: 'telegram' as const,
          chatId: String(chatId),
          status: 'pending' as const,
          nextAttemptAtMs: now,
          netBps: 40,
          sizeQuote: 1000,
          createdAtMs: now,
        })),
      )
      await store.flush()
    }
    const sentTo = (chatId: number) =>
      events.filter((e) => e.type === 'delivery-sent' && e.chatId === String(chatId))
    return { ...s, dispatcher, events, open, sentTo }
  }

  test('one chat’s 429 (retry_after 10 s) delays no other chat: four fast chats get theirs while it waits', async () => {
    const { fake, dispatcher, events, open, sentTo } = await alerting()
    const slow = 7001
    const fast = [7002, 7003, 7004, 7005]
    fake.failNext('sendMessage', { error_code: 429, retry_after: 10 }, (p) => p.chat_id === slow)
    await dispatcher.start()
    const allFast = Promise.all(
      fast.map((c) => dispatcher.events.next('delivery-sent', (e) => e.chatId === String(c), 5000)),
    )
    await open([slow, ...fast]) // the slow chat's delivery is the oldest
    await allFast
    // The slow chat was tried first, refused, and is left alone until its retry_after.
    const calls = fake.callsOf('sendMessage')
    expect(calls[0]!.payload.chat_id).toBe(slow)
    const retry = events.find((e) => e.type === 'delivery-retrying')
    expect(retry).toMatchObject({ chatId: String(slow), kind: 'rate-limited', attempts: 1 })
    // Another alert meanwhile: the fast chat gets it, the waiting chat is not asked again.
    const next = dispatcher.events.next('delivery-sent', (e) => e.chatId === '7002', 5000)
    await open([slow, 7002])
    await next
    const pass = dispatcher.events.next('pass-done', undefined, 3000)
    dispatcher.wake()
    await pass
    expect(fake.callsOf('sendMessage').filter((c) => c.payload.chat_id === slow)).toHaveLength(1)
    expect(sentTo(slow)).toHaveLength(0)
    for (const c of fast) expect(sentTo(c)).toHaveLength(c === 7002 ? 2 : 1)
    expect(fake.sent.filter((m) => m.chatId === slow)).toEqual([])
  })

  test('a flood of commands from 200 users does not queue an alert behind its replies', async () => {
    const { fake, core, dispatcher, open } = await alerting({ polling: true })
    const users = Array.from({ length: 200 }, (_, i) => 8001 + i)
    const flood = new Set(users)
    // The Bot API is slow to answer the flood's replies: they pile up in flight.
    const release = fake.hold(
      (c) => c.method === 'sendMessage' && flood.has(Number(c.payload.chat_id)),
    )
    await dispatcher.start()
    for (const name of ['status', 'list', 'help'])
      for (const user of users) await fake.userSays(user, user, `/${name}`)
    await fake.waitFor(() => fake.held > 0, 5000, 'the first reply of the flood')
    const sent = dispatcher.events.next('delivery-sent', (e) => e.chatId === '4242', 5000)
    await open([4242])
    await sent
    // The alert went out while the flood's replies were still on their way.
    expect(fake.sent.filter((m) => m.chatId === 4242)).toHaveLength(1)
    expect(fake.sent.filter((m) => flood.has(m.chatId))).toHaveLength(0)
    release()
    await fake.waitFor(
      () => fake.sent.filter((m) => flood.has(m.chatId)).length === 600,
      20_000,
      'every reply of the flood',
    )
    expect(core.calls).toHaveLength(600)
    expect(fake.sent.filter((m) => m.chatId === 4242)).toHaveLength(1)
  }, 30_000)
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
      allowed_updates: ['message', 'callback_query'],
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

describe('start-up against an unavailable Bot API', () => {
  /** A port nothing listens on: bound by the OS, then released. */
  async function closedPort(): Promise<number> {
    const server = Bun.serve({ hostname: '127.0.0.1', port: 0, fetch: () => new Response('') })
    const port = server.port!
    await server.stop(true)
    return port
  }

  test('connection refused: one error naming the API root and the cause, retried with backoff, no crash', async () => {
    const apiRoot = `http://127.0.0.1:${await closedPort()}`
    const token = '123456:TEST-token-never-logged'
    const { log, lines } = capturingLog()
    const telegram = createTelegram({ token, core: recordingCore(), log, apiRoot })
    cleanups.push(() => telegram.stop())
    const states: string[] = []
    telegram.events.on((e) => e.type === 'state' && states.push(e.state))
    const first = telegram.events.next('retry', (e) => e.attempt === 1)
    const second = telegram.events.next('retry', (e) => e.attempt === 2, 10_000)
    const started = telegram.start()
    expect(telegram.start()).toBe(started)

    const retry = await first
    expect(retry).toMatchObject({ method: 'getMe', delayMs: 1000 })
    expect(retry.error).toBe(
      `cannot reach the Bot API at ${apiRoot}: connection refused (ECONNREFUSED)`,
    )
    expect(telegram.state).toBe('unreachable')
    expect((await second).delayMs).toBe(2000)
    const errors = lines.filter((l) => l.level >= 50)
    expect(errors.map((l) => l.msg)).toEqual([
      `telegram: cannot reach the Bot API at ${apiRoot}: connection refused (ECONNREFUSED); ` +
        'retrying with backoff, alerts to telegram stay pending',
    ])
    expect(JSON.stringify(lines)).not.toContain(token)

    await telegram.stop()
    expect(await started).toBe(false)
    expect(states).toEqual(['starting', 'unreachable', 'stopped'])
    expect(lines.map((l) => l.msg)).not.toContain('telegram long polling started')
  }, 15_000)

  test('a 502 at getMe is reported once; when it answers, the bot starts and says so', async () => {
    const fake = new FakeTelegramServer()
    const { log, lines } = capturingLog()
    fake.failNext('getMe', { error_code: 502 })
    fake.failNext('getMe', { error_code: 502 })
    const telegram = createTelegram({
      token: fake.token,
      core: recordingCore(),
      log,
      apiRoot: fake.apiRoot,
    })
    cleanups.push(async () => {
      await telegram.stop()
      await fake.stop()
    })
    const running = telegram.events.next('state', (e) => e.state === 'running', 10_000)
    expect(await telegram.start()).toBe(true)
    await running
    expect(fake.callsOf('getMe')).toHaveLength(3)
    const msgs = lines.filter((l) => l.level >= 30).map((l) => `${l.level} ${l.msg}`)
    expect(msgs).toEqual([
      `50 telegram: the Bot API at ${fake.apiRoot} fails: 502 Bad Gateway; retrying with backoff, alerts to telegram stay pending`,
      '30 telegram: the Bot API answers again',
      '30 telegram long polling started',
    ])
  }, 15_000)

  test('stopped while getMe is unanswered: start() resolves false and logs nothing after "telegram stopped"', async () => {
    const fake = new FakeTelegramServer()
    const { log, lines } = capturingLog()
    const release = fake.hold((c) => c.method === 'getMe')
    const telegram = createTelegram({
      token: fake.token,
      core: recordingCore(),
      log,
      apiRoot: fake.apiRoot,
    })
    cleanups.push(async () => {
      release()
      await telegram.stop()
      await fake.stop()
    })
    const started = telegram.start()
    await fake.waitFor(() => fake.held > 0, 5000, 'getMe held')
    await telegram.stop()
    const atStop = lines.length
    expect(lines.at(-1)?.msg).toBe('telegram stopped')
    expect(await started).toBe(false)
    release()
    expect(lines.length).toBe(atStop)
    expect(telegram.state).toBe('stopped')
    expect(fake.callsOf('getUpdates')).toHaveLength(0)
  })
})
