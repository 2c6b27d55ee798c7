/**
 * The Discord bot against a local Discord (REST + gateway): ready, command registration,
 * interactions reaching the core and the replies the user sees, autocomplete, alert embeds, and
 * how REST failures reach the dispatcher.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import pino from 'pino'
import {
  ChatCore,
  COMMANDS,
  parseCommand,
  type ButtonAnswer,
  type ChatSettingsRepo,
  type ChatRef,
  type CommandHandler,
  type CommandSpec,
  type Reply,
} from '../../src/chat/commands.ts'
import {
  createDiscord,
  slashCommands,
  symbolChoices,
  type DiscordBot,
  type DiscordOptions,
} from '../../src/chat/discord.ts'
import { NotifierError, type AlertText } from '../../src/alerts/notifier.ts'
import {
  DiscordServer,
  FAULTS,
  PERMISSIONS,
  type DiscordFakeOptions,
} from '../fakes/discord-server.ts'
import { ChatRepo } from '../../src/db/chats.ts'
import { openMemoryDb, silent, stopAfterEach, until } from '../support.ts'

const SYMBOLS = ['BTC/USDT', 'ETH/USDT', 'SOL/USDT', 'ETH/BTC']
const GREEN = 0x57f287
const GREY = 0x95a5a6
const BLUE = 0x3498db

interface Call {
  ref: ChatRef
  name: string
  argText: string
}

/** A core that echoes `name:argText`, records calls, and can be told to stall or fail a command. */
function recordingCore() {
  const calls: Call[] = []
  const stalls = new Map<string, Promise<void>>()
  const failures = new Set<string>()
  const handler: CommandHandler = {
    async handle(ref, name, argText): Promise<Reply> {
      calls.push({ ref, name, argText })
      await stalls.get(name)
      if (failures.has(name)) throw new Error(`core broke on ${name}`)
      return { kind: 'ok', lines: [`${name}:${argText}`] }
    },
    symbols: () => SYMBOLS,
  }
  return { calls, stalls, failures, handler }
}

/** A logger whose error lines the test can read. */
function capturingLogger() {
  const lines: { level: number; msg: string }[] = []
  const log = pino(
    { level: 'warn' },
    { write: (line: string) => void lines.push(JSON.parse(line)) },
  )
  return { lines, log }
}

const alert = (tone: AlertText['tone'], title = 'BTC/USDT 0.42 %'): AlertText => ({
  title,
  lines: ['buy binance 60000.1', 'sell kraken 60252.3'],
  footer: 'arbwatch',
  tone,
})

async function notifierError(p: Promise<unknown>): Promise<NotifierError> {
  try {
    await p
  } catch (err) {
    if (err instanceof NotifierError) return err
    throw err
  }
  throw new Error('expected a NotifierError')
}

describe('discord bot in a guild', () => {
  const [main, second, throttled, briefly, broken, invalid] = [
    '1290000000000000200',
    '1290000000000000201',
    '1290000000000000202',
    '1290000000000000203',
    '1290000000000000204',
    '1290000000000000205',
  ]
  let fake: DiscordServer
  let bot: DiscordBot
  const core = recordingCore()
  const logs = capturingLogger()
  const forbidden: { channelId: string; reason: string }[] = []

  beforeAll(async () => {
    fake = new DiscordServer({ channelIds: [main, second, throttled, briefly, broken, invalid] })
    bot = createDiscord({
      token: fake.token,
      core: core.handler,
      log: logs.log,
      apiUrl: fake.apiUrl,
      guildId: fake.guildId,
      onForbidden: (channelId, reason) => forbidden.push({ channelId, reason }),
      deferAfterMs: 200,
    })
    await bot.start()
  })
  afterAll(async () => {
    await bot.stop()
    fake.stop()
  })

  test('becomes ready over the gateway with the Guilds intent only', () => {
    expect(fake.readySockets).toBe(1)
    const identify = fake.received.find((p) => p.op === 2)?.d as { token: string; intents: number }
    expect(identify.token).toBe(fake.token)
    expect(identify.intents).toBe(1)
  })

  test('registers the commands for the guild with typed options', () => {
    expect(fake.registrations).toHaveLength(1)
    const [registration] = fake.registrations
    expect(registration!.guildId).toBe(fake.guildId)
    const put = fake.requests.find((r) => r.method === 'PUT')!
    expect(put.path).toBe(`/api/v10/applications/${fake.appId}/guilds/${fake.guildId}/commands`)
    expect(put.auth).toBe(`Bot ${fake.token}`)
    const byName = new Map(registration!.commands.map((c) => [c.name as string, c]))
    expect([...byName.keys()]).toEqual(COMMANDS.map((c) => c.name))
    const option = (name: string) => (byName.get(name)!.options as Record<string, unknown>[])[0]
    expect(option('subscribe')).toMatchObject({
      name: 'symbols',
      type: 3,
      autocomplete: true,
      required: true,
    })
    expect(option('unsubscribe')).toMatchObject({ type: 3, autocomplete: true, required: true })
    expect(option('threshold')).toMatchObject({
      name: 'percent',
      type: 10,
      min_value: 0.01,
      max_value: 50,
      required: true,
    })
    expect(option('size')).toMatchObject({
      name: 'amount',
      type: 10,
      min_value: 1,
      max_value: 10_000_000,
      required: true,
    })
    expect(option('mute')).toMatchObject({ name: 'duration', type: 3, required: false })
    expect(option('mute')!.autocomplete).toBeUndefined()
    expect(byName.get('help')!.options).toEqual([])
    expect(byName.get('threshold')!.description).toBe(
      COMMANDS.find((c) => c.name === 'threshold')!.description,
    )
  })

  test('the registered options are the core’s definitions, and the core refuses just outside them', () => {
    const [registration] = fake.registrations
    const byName = new Map(registration!.commands.map((c) => [c.name as string, c]))
    let numeric = 0
    for (const spec of COMMANDS as readonly CommandSpec[]) {
      const options = byName.get(spec.name)!.options as Record<string, unknown>[]
      const arg = spec.arg
      if (!arg) {
        expect(options).toEqual([])
        continue
      }
      const option = options[0]!
      expect(option).toMatchObject({
        name: arg.name,
        description: arg.description,
        required: arg.required,
      })
      if (arg.type === 'percent' || arg.type === 'amount') {
        numeric++
        expect(option.min_value).toBe(arg.min!)
        expect(option.max_value).toBe(arg.max!)
        for (const outside of [arg.min! - 0.001, arg.max! + 0.001]) {
          const parsed = parseCommand(spec.name, String(outside))
          expect(parsed).toMatchObject({ type: 'invalid', reason: 'bad-argument' })
          if (parsed.type === 'invalid')
            expect(parsed.message).toContain(`between ${arg.min} and ${arg.max}`)
        }
        for (const inside of [arg.min!, arg.max!])
          expect<string>(parseCommand(spec.name, String(inside)).type).toBe(spec.name)
      } else {
        expect(option.max_length).toBe(arg.maxLength)
      }
    }
    expect(numeric).toBe(3) // /threshold, /size, /backtest
    expect(registration!.commands).toEqual(JSON.parse(JSON.stringify(slashCommands())))
  })

  test('a /threshold 0.5 reaches the core as "0.5" and its reply is the interaction callback', async () => {
    const id = fake.chatInput('threshold', [{ name: 'percent', type: 10, value: 0.5 }], {
      userId: '777',
    })
    await until(() => fake.callbackFor(id) !== undefined, 3000, 'threshold reply')
    expect(core.calls.at(-1)).toEqual({
      ref: { platform: 'discord', chatId: main, userId: '777' },
      name: 'threshold',
      argText: '0.5',
    })
    const callback = fake.callbackFor(id)!
    expect(callback.type).toBe(4)
    expect(callback.data!.content).toBe('threshold:0.5')
    expect(callback.data!.flags).toBeUndefined() // a change: visible to the channel
    expect(callback.data!.allowed_mentions).toEqual({ parse: [] })
  })

  test('/size passes the amount; /mute without a duration passes an empty argument', async () => {
    const size = fake.chatInput('size', [{ name: 'amount', type: 10, value: 2500 }], {
      channelId: second,
    })
    const mute = fake.chatInput('mute')
    await until(() => !!fake.callbackFor(size) && !!fake.callbackFor(mute), 3000, 'replies')
    expect(fake.callbackFor(size)!.data!.content).toBe('size:2500')
    expect(core.calls.find((c) => c.name === 'size')!.ref.chatId).toBe(second)
    expect(fake.callbackFor(mute)!.data!.content).toBe('mute:')
  })

  test('read-only commands are answered to the asker only (ephemeral flag)', async () => {
    const id = fake.chatInput('help')
    await until(() => fake.callbackFor(id) !== undefined, 3000, 'help reply')
    expect(fake.callbackFor(id)!.data).toMatchObject({ content: 'help:', flags: 64 })
  })

  test('reply text is shown as plain text and cut to 2000 characters', async () => {
    const id = fake.chatInput('subscribe', [{ name: 'symbols', type: 3, value: '*BTC*' }])
    const long = fake.chatInput('subscribe', [
      { name: 'symbols', type: 3, value: 'x'.repeat(3000) },
    ])
    await until(() => !!fake.callbackFor(id) && !!fake.callbackFor(long), 3000, 'replies')
    expect(fake.callbackFor(id)!.data!.content).toBe('subscribe:\\*BTC\\*')
    const content = fake.callbackFor(long)!.data!.content as string
    expect(content).toHaveLength(2000)
    expect(content.endsWith('…')).toBe(true)
  })

  test('autocomplete offers the markets matching what was typed', async () => {
    const eth = fake.autocomplete('subscribe', [
      { name: 'symbols', type: 3, value: 'eth', focused: true },
    ])
    const more = fake.autocomplete('subscribe', [
      { name: 'symbols', type: 3, value: 'btcusdt so', focused: true },
    ])
    const all = fake.autocomplete('unsubscribe', [
      { name: 'symbols', type: 3, value: '', focused: true },
    ])
    await until(() => [eth, more, all].every((id) => fake.callbackFor(id)), 3000, 'choices')
    expect(fake.callbackFor(eth)!.type).toBe(8)
    // A base asset with several markets comes first: it stands for all of them.
    expect(fake.callbackFor(eth)!.data!.choices).toEqual([
      { name: 'ETH (2 markets)', value: 'ETH' },
      { name: 'ETH/USDT', value: 'ETH/USDT' },
      { name: 'ETH/BTC', value: 'ETH/BTC' },
    ])
    expect(fake.callbackFor(more)!.data!.choices).toEqual([
      { name: 'btcusdt SOL/USDT', value: 'btcusdt SOL/USDT' },
    ])
    const names = (fake.callbackFor(all)!.data!.choices as { name: string }[]).map((c) => c.name)
    expect(names).toEqual(['all', 'ETH (2 markets)', ...SYMBOLS])
  })

  test('a /subscribe where the bot cannot post says which permission is missing', async () => {
    const id = fake.chatInput('subscribe', [{ name: 'symbols', type: 3, value: 'BTCUSDT' }], {
      appPermissions: PERMISSIONS.ViewChannel | PERMISSIONS.SendMessages,
    })
    const fine = fake.chatInput('subscribe', [{ name: 'symbols', type: 3, value: 'ETHUSDT' }])
    await until(() => !!fake.callbackFor(id) && !!fake.callbackFor(fine), 3000, 'replies')
    expect(fake.callbackFor(id)!.data!.content).toBe(
      "subscribe:BTCUSDT\n\nNote: I can't post alerts in this channel yet: I'm missing the " +
        'Embed Links permission here. Ask a server admin to grant it to my role in this channel.',
    )
    expect(fake.callbackFor(fine)!.data!.content).toBe('subscribe:ETHUSDT')

    const none = fake.chatInput('subscribe', [{ name: 'symbols', type: 3, value: 'SOLUSDT' }], {
      appPermissions: 0n,
    })
    await until(() => fake.callbackFor(none) !== undefined, 3000, 'reply')
    expect(fake.callbackFor(none)!.data!.content).toContain(
      'missing the View Channel, Send Messages, Embed Links permissions here',
    )
  })

  test('a slow answer is deferred, then edited in', async () => {
    let release!: () => void
    core.stalls.set('status', new Promise<void>((resolve) => (release = resolve)))
    const id = fake.chatInput('status')
    await until(() => fake.callbackFor(id) !== undefined, 3000, 'deferred reply')
    expect(fake.callbackFor(id)!.type).toBe(5)
    expect(fake.callbackFor(id)!.data!.flags).toBe(64)
    release()
    const token = fake.callbackFor(id)!.token
    await until(() => fake.replyEdits.some((e) => e.token === token), 3000, 'edited reply')
    expect(fake.replyEdits.find((e) => e.token === token)!.body.content).toBe('status:')
    core.stalls.delete('status')
  })

  test('a failing core gets an apology, is logged, and the bot keeps answering', async () => {
    core.failures.add('list')
    const id = fake.chatInput('list')
    await until(() => fake.callbackFor(id) !== undefined, 3000, 'apology')
    expect(fake.callbackFor(id)!.data).toMatchObject({
      content: 'Sorry, /list failed. Please try again in a moment.',
      flags: 64,
    })
    expect(logs.lines.some((l) => l.msg === 'discord command failed')).toBe(true)
    core.failures.delete('list')
    const next = fake.chatInput('list')
    await until(() => fake.callbackFor(next) !== undefined, 3000, 'next reply')
    expect(fake.callbackFor(next)!.data!.content).toBe('list:')
  })

  test('a reply that Discord refuses is logged, not thrown', async () => {
    const before = logs.lines.length
    fake.failNext(
      'callback',
      { status: 400, code: 40060, message: 'Interaction has already been acknowledged.' },
      { times: 2 },
    )
    const id = fake.chatInput('unmute')
    await until(
      () => logs.lines.slice(before).some((l) => l.msg === 'discord interaction failed'),
      3000,
      'log',
    )
    expect(fake.callbackFor(id)).toBeUndefined()
    const next = fake.chatInput('unmute')
    await until(() => fake.callbackFor(next) !== undefined, 3000, 'next reply')
  })

  test('send posts the alert as an embed; edit replaces it', async () => {
    const { messageId } = await bot.notifier.send(main, alert('open'))
    const message = fake.messages.find((m) => m.id === messageId)!
    expect(message.channelId).toBe(main)
    expect(message.body.embeds).toEqual([
      {
        title: 'BTC/USDT 0.42 %',
        description: 'buy binance 60000.1\nsell kraken 60252.3',
        color: GREEN,
        footer: { text: 'arbwatch' },
      },
    ])
    expect(message.body.allowed_mentions).toEqual({ parse: [] })

    await bot.notifier.edit(main, messageId, alert('closed', 'BTC/USDT closed'))
    expect(message.edits).toHaveLength(1)
    expect(message.edits[0]!.embeds).toEqual([
      {
        title: 'BTC/USDT closed',
        description: 'buy binance 60000.1\nsell kraken 60252.3',
        color: GREY,
        footer: { text: 'arbwatch' },
      },
    ])
    const info = await bot.notifier.send(main, { title: 'hello', lines: [], tone: 'info' })
    expect(fake.messages.find((m) => m.id === info.messageId)!.body.embeds).toEqual([
      { title: 'hello', color: BLUE },
    ])
    expect(bot.notifier.platform).toBe('discord')
  })

  test('Missing Permissions (50013) is forbidden and reported through onForbidden', async () => {
    fake.failNext('send', FAULTS.missingPermissions, { channelId: second })
    const err = await notifierError(bot.notifier.send(second, alert('open')))
    expect(err.kind).toBe('forbidden')
    expect(err.message).toContain('Missing Permissions (50013)')
    expect(forbidden.at(-1)).toEqual({ channelId: second, reason: err.message })

    const { messageId } = await bot.notifier.send(second, alert('open'))
    fake.failNext('edit', FAULTS.missingAccess, { channelId: second })
    const editErr = await notifierError(bot.notifier.edit(second, messageId, alert('closed')))
    expect(editErr.kind).toBe('forbidden')
    expect(forbidden.at(-1)!.reason).toContain('Missing Access (50001)')

    const gone = await notifierError(bot.notifier.send('1290000000000000999', alert('open')))
    expect(gone.kind).toBe('forbidden')
    expect(gone.message).toContain('Unknown Channel (10003)')
    expect(forbidden.at(-1)!.channelId).toBe('1290000000000000999')
  })

  test('a long 429 fails at once as rate-limited with the wait, without blocking', async () => {
    await bot.notifier.send(throttled, alert('open')) // discord.js learns the channel's bucket
    fake.failNext('send', FAULTS.rateLimited(30), { channelId: throttled })
    const started = Date.now()
    const err = await notifierError(bot.notifier.send(throttled, alert('open')))
    expect(Date.now() - started).toBeLessThan(5000)
    expect(err.kind).toBe('rate-limited')
    expect(err.retryAfterMs).toBeGreaterThanOrEqual(30_000)
    expect(err.retryAfterMs).toBeLessThan(31_000)

    // discord.js now knows the bucket is exhausted: the next send is refused before it is sent.
    const posts = () => fake.requests.filter((r) => r.path.includes(`/channels/${throttled}/`))
    const sentBefore = posts().length
    const again = await notifierError(bot.notifier.send(throttled, alert('open')))
    expect(again.kind).toBe('rate-limited')
    expect(again.retryAfterMs).toBeGreaterThan(25_000)
    expect(posts()).toHaveLength(sentBefore)
  })

  test('a short 429 is waited out and retried by discord.js', async () => {
    fake.failNext('send', FAULTS.rateLimited(0.2), { channelId: briefly })
    const { messageId } = await bot.notifier.send(briefly, alert('open'))
    expect(fake.messages.find((m) => m.id === messageId)!.channelId).toBe(briefly)
    const posts = fake.requests.filter((r) => r.path === `/api/v10/channels/${briefly}/messages`)
    expect(posts).toHaveLength(2)
  })

  test('a 500 is retried once, then transient; a 400 is rejected', async () => {
    fake.failNext('send', FAULTS.serverError, { channelId: broken, times: 2 })
    const err = await notifierError(bot.notifier.send(broken, alert('open')))
    expect(err.kind).toBe('transient')
    expect(
      fake.requests.filter((r) => r.path === `/api/v10/channels/${broken}/messages`),
    ).toHaveLength(2)

    fake.failNext(
      'send',
      { status: 400, code: 50035, message: 'Invalid Form Body' },
      { channelId: invalid },
    )
    const bad = await notifierError(bot.notifier.send(invalid, alert('open')))
    expect(bad.kind).toBe('rejected')
    expect(bad.message).toContain('50035')
  })
})

describe('discord alert buttons', () => {
  const track = stopAfterEach()
  const buttons = [
    { label: 'Mute BTC/USDT 1 h', data: 'aw1:m:BTC/USDT' },
    { label: 'Details', data: 'aw1:d:7' },
    { label: 'Stop alerts', data: 'aw1:s' },
  ]
  const withButtons = (tone: AlertText['tone']): AlertText => ({ ...alert(tone), buttons })

  /** A local Discord and a bot whose core answers presses as `answer` says, recording them. */
  async function pressing(answer?: (data: string) => ButtonAnswer | Promise<ButtonAnswer>) {
    const fake = track(new DiscordServer())
    const presses: { ref: ChatRef; data: string }[] = []
    const handler: CommandHandler = {
      ...recordingCore().handler,
      ...(answer === undefined
        ? {}
        : {
            press: async (ref: ChatRef, data: string) => {
              presses.push({ ref, data })
              return answer(data)
            },
          }),
    }
    const bot = createDiscord({
      token: fake.token,
      core: handler,
      log: silent,
      apiUrl: fake.apiUrl,
      deferAfterMs: 200,
    })
    track(bot)
    await bot.start()
    return { fake, bot, presses }
  }

  test('an alert’s buttons are an action row of message components, kept through edits', async () => {
    const { fake, bot } = await pressing()
    const channel = fake.channelIds[0]!
    const { messageId } = await bot.notifier.send(channel, withButtons('open'))
    const message = fake.messages.find((m) => m.id === messageId)!
    const row = {
      type: 1,
      components: buttons.map((b) => ({ type: 2, style: 2, label: b.label, custom_id: b.data })),
    }
    expect(message.body.components).toEqual([row])
    await bot.notifier.edit(channel, messageId, withButtons('closed'))
    expect(message.edits[0]!.components).toEqual([row])
    expect(fake.buttonsOf(message).map((b) => b.customId)).toEqual(buttons.map((b) => b.data))
    // Discord refuses a custom_id over 100 characters: the send is rejected.
    const bad = { ...alert('open'), buttons: [{ label: 'x', data: 'x'.repeat(101) }] }
    expect((await notifierError(bot.notifier.send(channel, bad))).kind).toBe('rejected')
  })

  test('a pressed button reaches the core; the details answer the presser only, a mute the channel', async () => {
    const { fake, bot, presses } = await pressing((data) =>
      data === 'aw1:d:7'
        ? {
            notice: 'The arithmetic of this alert is below.',
            reply: { kind: 'info', lines: ['1. buy BTC/USDT on Binance'] },
            private: true,
          }
        : { notice: 'No alerts about BTC/USDT here until 15:04 UTC.', private: false },
    )
    const channel = fake.channelIds[1]!
    const { messageId } = await bot.notifier.send(channel, withButtons('open'))
    const details = fake.pressButton(messageId, 'Details', { userId: '4242' })
    const mute = fake.pressButton(messageId, 'Mute BTC/USDT 1 h')
    await until(() => !!fake.callbackFor(details) && !!fake.callbackFor(mute), 3000, 'answers')
    expect(presses).toContainEqual({
      ref: { platform: 'discord', chatId: channel, userId: '4242' },
      data: 'aw1:d:7',
    })
    expect(fake.callbackFor(details)).toMatchObject({
      type: 4,
      data: {
        content: 'The arithmetic of this alert is below.\n\n1. buy BTC/USDT on Binance',
        flags: 64,
      },
    })
    const muted = fake.callbackFor(mute)!
    expect(muted.type).toBe(4)
    expect(muted.data!.content).toBe('No alerts about BTC/USDT here until 15:04 UTC.')
    expect(muted.data!.flags).toBeUndefined()
  })

  test('an unknown button, a failing core, or a bot without buttons: answered to the presser, no crash', async () => {
    const { fake, bot } = await pressing((data) => {
      if (data === 'boom') throw new Error('core broke')
      return { notice: `unknown ${data}`, private: true }
    })
    const channel = fake.channelIds[0]!
    const { messageId } = await bot.notifier.send(channel, withButtons('open'))
    const message = fake.messages.find((m) => m.id === messageId)!
    const old = fake.componentInteraction(message, 'aw0:old')
    const boom = fake.componentInteraction(message, 'boom')
    await until(() => !!fake.callbackFor(old) && !!fake.callbackFor(boom), 3000, 'answers')
    expect(fake.callbackFor(old)!.data).toMatchObject({ content: 'unknown aw0:old', flags: 64 })
    expect(fake.callbackFor(boom)!.data).toMatchObject({
      content: 'Sorry, that button failed. Please try again in a moment.',
      flags: 64,
    })
    const plain = await pressing()
    const sent = await plain.bot.notifier.send(plain.fake.channelIds[0]!, withButtons('open'))
    const id = plain.fake.pressButton(sent.messageId, 'Stop alerts')
    await until(() => !!plain.fake.callbackFor(id), 3000, 'the answer')
    expect(plain.fake.callbackFor(id)!.data).toMatchObject({
      content: 'Buttons are not handled here; use the commands (/help).',
      flags: 64,
    })
  })
})

describe('discord bot lifecycle', () => {
  const track = stopAfterEach()

  /** A local Discord (stopped after the test) and a bot on it that echoes commands. */
  function lone(fakeOptions: DiscordFakeOptions = {}, options: Partial<DiscordOptions> = {}) {
    const fake = track(new DiscordServer(fakeOptions))
    const bot = createDiscord({
      token: fake.token,
      core: recordingCore().handler,
      log: silent,
      apiUrl: fake.apiUrl,
      ...options,
    })
    return { fake, bot }
  }

  test('registers globally without a guild id, and stop() closes the gateway socket', async () => {
    const { fake, bot } = lone()
    await bot.start()
    expect(fake.sockets.size).toBe(1)
    expect(fake.registrations).toHaveLength(1)
    expect(fake.registrations[0]!.guildId).toBeNull()
    expect(
      fake.requests.some((r) => r.path === `/api/v10/applications/${fake.appId}/commands`),
    ).toBe(true)
    await until(() => fake.heartbeats > 0, 3000, 'a heartbeat')
    await bot.stop()
    await until(() => fake.sockets.size === 0, 3000, 'gateway socket closed')
    expect(fake.closes).toEqual([1000])
    // Alerts only need REST; they still go out while the process shuts down.
    await bot.notifier.send(fake.channelIds[0]!, alert('info'))
    expect(fake.messages).toHaveLength(1)
  })

  test('the registered bounds are the core’s configured ones: /threshold starts at its MIN_SPREAD_PCT', async () => {
    const core = new ChatCore({
      repo: {} as ChatSettingsRepo,
      symbols: SYMBOLS,
      defaultThresholdBps: 10,
      minThresholdBps: 25,
      defaultSizeQuote: 1000,
      status: { venues: () => [], spreads: () => [] },
      log: silent,
    })
    const { fake, bot } = lone({}, { core })
    await bot.start()
    const [registration] = fake.registrations
    const threshold = registration!.commands.find((c) => c.name === 'threshold')!
    expect((threshold.options as Record<string, unknown>[])[0]).toMatchObject({
      min_value: 0.25,
      max_value: 50,
    })
    expect(registration!.commands).toEqual(
      JSON.parse(JSON.stringify(slashCommands(core.commands()))),
    )
    await bot.stop()
  })

  test('with the real core over hundreds of markets: base assets, all, and short replies', async () => {
    const markets = [...HUNDREDS]
    const handle = await openMemoryDb(track)
    const core = new ChatCore({
      repo: new ChatRepo(handle.db),
      symbols: () => markets,
      defaultThresholdBps: 10,
      defaultSizeQuote: 1000,
      status: { venues: () => [], spreads: () => [] },
      log: silent,
    })
    await core.load()
    const { fake, bot } = lone({}, { core })
    await bot.start()
    const typed = fake.autocomplete('subscribe', [
      { name: 'symbols', type: 3, value: 'so', focused: true },
    ])
    const sol = fake.chatInput('subscribe', [{ name: 'symbols', type: 3, value: 'SOL' }])
    await until(() => !!fake.callbackFor(typed) && !!fake.callbackFor(sol), 3000, 'answers')
    expect(
      (fake.callbackFor(typed)!.data!.choices as { name: string; value: string }[])[0],
    ).toEqual({
      name: 'SOL (3 markets)',
      value: 'SOL',
    })
    expect(fake.callbackFor(sol)!.data!.content).toBe(
      'Subscribed to SOL (every SOL market, 3 now). You follow: SOL (every SOL market, 3 now).',
    )
    // A market that joins the universe is offered and can be followed at once.
    markets.push('NEW/USDT')
    const added = fake.autocomplete('subscribe', [
      { name: 'symbols', type: 3, value: 'new', focused: true },
    ])
    const all = fake.chatInput('subscribe', [{ name: 'symbols', type: 3, value: 'all' }])
    await until(() => !!fake.callbackFor(added) && !!fake.callbackFor(all), 3000, 'answers')
    expect(fake.callbackFor(added)!.data!.choices).toEqual([
      { name: 'NEW/USDT', value: 'NEW/USDT' },
    ])
    const content = fake.callbackFor(all)!.data!.content as string
    expect(content).toStartWith(`Subscribed to all (every market, ${markets.length} now).`)
    expect(content.length).toBeLessThan(300)
    await bot.stop()
  })

  test('start() rejects when Discord refuses the token', async () => {
    const { fake, bot } = lone({}, { token: 'wrong' })
    await expect(bot.start()).rejects.toThrow()
    await until(() => fake.requests.length > 0, 3000, 'the login attempt')
    expect(fake.sockets.size).toBe(0)
  })

  test('start() stops waiting for a gateway that hangs; the bot comes up when it answers', async () => {
    const { fake, bot } = lone({ withholdReady: true }, { readyTimeoutMs: 300 })
    await expect(bot.start()).rejects.toThrow('gateway not ready within 300 ms')
    expect(fake.identifies).toBe(1)
    expect(fake.registrations).toHaveLength(0)
    fake.releaseReady()
    await until(() => fake.registrations.length === 1, 3000, 'commands registered')
    const id = fake.chatInput('help')
    await until(() => fake.callbackFor(id) !== undefined, 3000, 'help reply')
    await bot.stop()
    await until(() => fake.sockets.size === 0, 3000, 'gateway socket closed')
  })

  test('stop() returns even while the gateway is still connecting', async () => {
    const logs = capturingLogger()
    const { fake, bot } = lone(
      { withholdReady: true },
      { log: logs.log, readyTimeoutMs: 200, stopTimeoutMs: 300 },
    )
    await expect(bot.start()).rejects.toThrow('gateway not ready')
    await bot.stop()
    if (logs.lines.some((l) => l.msg === 'discord gateway did not close in time')) {
      // @discordjs/ws reconnects after such a destroy; a refused session ends it for good.
      fake.kick(4004)
      await until(() => fake.closes.includes(4004), 3000, 'the leftover session refused')
    }
    await until(() => fake.sockets.size === 0, 3000, 'gateway socket closed')
    await bot.notifier.send(fake.channelIds[0]!, alert('info'))
    expect(fake.messages).toHaveLength(1)
  })
})

/** 900 markets: 300 bases on USDT, USD and USDC, ETHFI among them beside ETH. */
const HUNDREDS = (() => {
  const bases = ['BTC', 'ETH', 'ETHFI', 'SOL', ...Array.from({ length: 296 }, (_, i) => `T${i}`)]
  return bases.flatMap((b) => [`${b}/USDT`, `${b}/USD`, `${b}/USDC`])
})()

describe('symbolChoices over hundreds of markets', () => {
  test('nothing typed: all, then base assets, at most 25', () => {
    const choices = symbolChoices(HUNDREDS, '', true)
    expect(choices).toHaveLength(25)
    expect(choices.slice(0, 4).map((c) => c.value)).toEqual(['all', 'BTC', 'ETH', 'ETHFI'])
    expect(choices[1]).toEqual({ name: 'BTC (3 markets)', value: 'BTC' })
  })

  test('filtered by what is typed: the exact base first, then other bases, then markets', () => {
    expect(symbolChoices(HUNDREDS, 'eth', true).map((c) => c.value)).toEqual([
      'ETH',
      'ETHFI',
      'ETH/USDT',
      'ETH/USD',
      'ETH/USDC',
      'ETHFI/USDT',
      'ETHFI/USD',
      'ETHFI/USDC',
    ])
    expect(symbolChoices(HUNDREDS, 'sol/usd', false).map((c) => c.value)).toEqual([
      'SOL/USDT',
      'SOL/USD',
      'SOL/USDC',
    ])
    // Containing matches come after prefix ones, and the list still stops at 25.
    const usdc = symbolChoices(HUNDREDS, 'usdc', false)
    expect(usdc).toHaveLength(25)
    expect(usdc[0]!.value).toBe('BTC/USDC')
  })

  test('after a first word: no "all", bases and markets after the words typed, all within 100 characters', () => {
    const choices = symbolChoices(HUNDREDS, 'btc t12', true)
    expect(choices.map((c) => c.value).slice(0, 3)).toEqual(['btc T12', 'btc T120', 'btc T121'])
    expect(choices.some((c) => c.value.endsWith(' all'))).toBe(false)
    const long = symbolChoices(HUNDREDS, `${'x'.repeat(95)} sol`, false)
    for (const c of long) {
      expect(c.name.length).toBeLessThanOrEqual(100)
      expect(c.value.length).toBeLessThanOrEqual(100)
    }
  })
})

describe('symbolChoices', () => {
  test('caps at 25 and skips markets already typed', () => {
    const many = Array.from({ length: 40 }, (_, i) => `C${i}/USDT`)
    expect(symbolChoices(many, '', false)).toHaveLength(25)
    expect(symbolChoices(SYMBOLS, 'eth/usdt e', false).map((c) => c.value)).toEqual([
      'eth/usdt ETH',
      'eth/usdt ETH/BTC',
    ])
    expect(symbolChoices(SYMBOLS, 'usdt', true).map((c) => c.value)).toEqual([
      'BTC/USDT',
      'ETH/USDT',
      'SOL/USDT',
    ])
  })
})
