/**
 * @module
 * Discord ↔ the chat core, with discord.js: slash commands over the gateway, their option schema
 * (types, bounds, symbol autocomplete) built from the core's command definitions, the core's replies
 * rendered as interaction replies; and a Notifier that posts and edits alert embeds over REST, their
 * buttons as message components whose interactions the core answers, mapping Discord's failures to
 * `NotifierError`.
 */
import {
  ApplicationCommandOptionType,
  ButtonStyle,
  Client,
  Colors,
  ComponentType,
  DiscordAPIError,
  Events,
  GatewayIntentBits,
  HTTPError,
  MessageFlags,
  PermissionFlagsBits,
  REST,
  RateLimitError,
  Routes,
  escapeMarkdown,
  type APIApplicationCommandOption,
  type APIApplicationCommandOptionChoice,
  type APIEmbed,
  type APIMessage,
  type APIActionRowComponent,
  type APIButtonComponentWithCustomId,
  type AutocompleteInteraction,
  type ButtonInteraction,
  type ChatInputCommandInteraction,
  type Interaction,
  type PermissionsBitField,
  type RESTOptions,
  type RateLimitData,
  type RESTPostAPIChatInputApplicationCommandsJSONBody,
} from 'discord.js'
import { NotifierError, type AlertText, type Notifier } from '../alerts/notifier.ts'
import type { Logger } from '../log.ts'
import {
  COMMANDS,
  replyText,
  type ArgSpec,
  type ButtonAnswer,
  type ChatRef,
  type CommandHandler,
  type CommandSpec,
  type Reply,
} from './commands.ts'

export interface DiscordOptions {
  /** The bot token (`DISCORD_TOKEN`). */
  token: string
  core: CommandHandler
  log: Logger
  /** REST base (`DISCORD_API_URL`, default `https://discord.com/api`); the gateway URL comes from it. */
  apiUrl?: string
  /** Register the commands in this guild only (instant; for development), else globally. */
  guildId?: string
  /** Called when a send or edit shows the bot cannot post in a channel any more. */
  onForbidden?: (channelId: string, reason: string) => void
  /**
   * Longest rate-limit wait discord.js may sit out itself before retrying (default 5000 ms).
   * A longer one fails at once as `NotifierError('rate-limited', …, retryAfterMs)`.
   */
  maxRateLimitWaitMs?: number
  /** A command reply slower than this is deferred ("thinking…") and sent later (default 2000 ms). */
  deferAfterMs?: number
  /**
   * `start()` rejects when the gateway is not ready within this (default 30 s); discord.js keeps
   * trying in the background, and the commands are registered once it is ready.
   */
  readyTimeoutMs?: number
  /** `stop()` gives up waiting for the gateway socket to close after this (default 2000 ms). */
  stopTimeoutMs?: number
}

export interface DiscordBot {
  notifier: Notifier
  /**
   * Logs in, waits until the client is ready and the slash commands are registered. Rejects on a
   * refused token, or after `readyTimeoutMs` (the client then keeps trying until `stop()`).
   */
  start(): Promise<void>
  /** Closes the gateway connection (bounded by `stopTimeoutMs`); alerts can still be sent. */
  stop(): Promise<void>
}

/** `start()` could not bring the client up. */
export class DiscordStartError extends Error {
  override name = 'DiscordStartError'
}

/** Discord's limits (characters) on what the bot sends. */
const LIMITS = {
  content: 2000,
  title: 256,
  description: 4096,
  footer: 2048,
  choices: 25,
  choice: 100,
  commandDescription: 100,
  buttonLabel: 80,
  buttonsPerRow: 5,
} as const

/** What the bot needs in a channel to post alerts there, with the names Discord's UI shows. */
const NEEDED_PERMISSIONS = [
  [PermissionFlagsBits.ViewChannel, 'View Channel'],
  [PermissionFlagsBits.SendMessages, 'Send Messages'],
  [PermissionFlagsBits.EmbedLinks, 'Embed Links'],
] as const
const THREAD_SEND: readonly [bigint, string] = [
  PermissionFlagsBits.SendMessagesInThreads,
  'Send Messages in Threads',
]

/** JSON error codes meaning the bot cannot post in that channel. */
const FORBIDDEN_CODES: ReadonlyMap<number, string> = new Map([
  [50013, 'Missing Permissions'],
  [50001, 'Missing Access'],
  [10003, 'Unknown Channel'],
  [50007, 'Cannot send messages to this user'],
])

/**
 * Creates the Discord bot: a discord.js client for the commands and a REST notifier for alerts.
 *
 * @param options - token, core and logger; `apiUrl` points REST (and so the gateway) elsewhere.
 * @returns the notifier and the client's lifecycle.
 * @example
 * ```ts
 * const discord = createDiscord({ token, core, log, guildId, onForbidden: (id) => store.pause(id) })
 * await discord.start()
 * await discord.notifier.send(channelId, { title: 'BTC/USDT', lines: ['…'], tone: 'open' })
 * ```
 */
export function createDiscord({
  token,
  core,
  log,
  apiUrl,
  guildId,
  onForbidden,
  maxRateLimitWaitMs = 5000,
  deferAfterMs = 2000,
  readyTimeoutMs = 30_000,
  stopTimeoutMs = 2000,
}: DiscordOptions): DiscordBot {
  const restOptions: Partial<RESTOptions> = {
    ...(apiUrl ? { api: apiUrl } : {}),
    // Waits up to maxRateLimitWaitMs are sat out by discord.js (it queues per bucket and retries,
    // keeping a channel's alerts in order); longer ones throw RateLimitError at once, so a send
    // never blocks the dispatcher for minutes: it gets 'rate-limited' with the wait and
    // reschedules. This covers both a 429 and a bucket known to be exhausted before sending.
    rejectOnRateLimit: (limit) =>
      Math.max(limit.retryAfter, limit.timeToReset) > maxRateLimitWaitMs,
    // One quick retry for a 5xx or a timed-out request; after that the dispatcher's backoff
    // decides (retrying a POST many times blindly risks duplicate alerts).
    retries: 1,
  }
  const client = new Client({
    intents: [GatewayIntentBits.Guilds],
    allowedMentions: { parse: [] },
    rest: restOptions,
  })
  // Alerts need only REST: their own client works before start(), after stop() and whatever
  // the gateway does (the client's REST loses its token when the client is destroyed).
  const rest = new REST(restOptions).setToken(token)
  // The core's own definitions (their bounds depend on its configuration), so that Discord's
  // schema and the core's parser accept the same values.
  const commands = core.commands?.() ?? COMMANDS
  const specs = new Map<string, CommandSpec>(commands.map((spec) => [spec.name, spec]))

  client.on(Events.Error, (err) => log.error({ err }, 'discord client error'))
  client.on(Events.Warn, (message) => log.warn({ message }, 'discord warning'))
  client.on(Events.ShardDisconnect, (event) =>
    log.warn({ code: event.code }, 'discord gateway disconnected'),
  )
  client.on(Events.ShardReconnecting, () => log.info('discord gateway reconnecting'))
  client.on(Events.Invalidated, () => log.error('discord session invalidated'))
  const onRateLimited = (limit: RateLimitData) => {
    const info = { route: limit.route, retryAfterMs: limit.retryAfter, global: limit.global }
    // Short waits are routine queueing inside discord.js; long ones reach the dispatcher.
    if (limit.retryAfter > maxRateLimitWaitMs) log.warn(info, 'discord rate limit')
    else log.debug(info, 'discord rate limit, waiting')
  }
  rest.on('rateLimited', onRateLimited)
  client.rest.on('rateLimited', onRateLimited)
  client.on(Events.InteractionCreate, (interaction) => void onInteraction(interaction))
  // Ready once per login: registering here also covers a client that got ready after start()
  // had given up waiting.
  let registered: Promise<void> | undefined
  const ready = new Promise<void>((resolve) =>
    client.on(Events.ClientReady, () => {
      log.info({ user: client.user?.tag, guilds: client.guilds.cache.size }, 'discord ready')
      registered = registerCommands()
      resolve()
    }),
  )

  async function onInteraction(interaction: Interaction): Promise<void> {
    try {
      if (interaction.isAutocomplete()) await answerAutocomplete(interaction)
      else if (interaction.isChatInputCommand()) await answerCommand(interaction)
      else if (interaction.isButton()) await answerButton(interaction)
    } catch (err) {
      log.error({ err, interaction: interaction.id }, 'discord interaction failed')
    }
  }

  async function answerCommand(interaction: ChatInputCommandInteraction): Promise<void> {
    const name = interaction.commandName
    const spec = specs.get(name)
    const value = spec?.arg ? interaction.options.get(spec.arg.name)?.value : undefined
    const argText = value === undefined || value === null ? '' : String(value).trim()
    const ref: ChatRef = {
      platform: 'discord',
      chatId: interaction.channelId,
      userId: interaction.user.id,
    }
    // Read-only commands answer only the person who asked (decided before the answer exists, as
    // a deferred reply needs it); changes are visible to the channel.
    const flags = spec?.readOnly ? MessageFlags.Ephemeral : undefined
    const render = (reply: Reply) => {
      const text = replyText(reply)
      const note = name === 'subscribe' ? missingPermissionNote(interaction) : undefined
      return messageContent(note ? `${text}\n\n${note}` : text)
    }
    const answer = (async () => core.handle(ref, name, argText))()
    answer.catch(() => {}) // awaited below; a rejection while deferring is not left unhandled
    try {
      const early = await settleWithin(answer, deferAfterMs)
      if (early) {
        await interaction.reply({ ...render(early.value), flags })
        return
      }
      await interaction.deferReply({ flags })
      await interaction.editReply(render(await answer))
    } catch (err) {
      log.error({ err, command: name, chatId: ref.chatId }, 'discord command failed')
      const sorry = messageContent(`Sorry, /${name} failed. Please try again in a moment.`)
      if (interaction.deferred) await interaction.editReply(sorry)
      else if (!interaction.replied)
        await interaction.reply({ ...sorry, flags: MessageFlags.Ephemeral })
    }
  }

  /**
   * An alert's button: the core answers; the details and anything unknown only to the presser,
   * changes (mute, stop) to the channel. Slow answers are deferred like commands.
   */
  async function answerButton(interaction: ButtonInteraction): Promise<void> {
    const ref: ChatRef = {
      platform: 'discord',
      chatId: interaction.channelId,
      userId: interaction.user.id,
    }
    const press = core.press
    const answer = (async (): Promise<ButtonAnswer> =>
      press === undefined
        ? { notice: 'Buttons are not handled here; use the commands (/help).', private: true }
        : press.call(core, ref, interaction.customId))()
    answer.catch(() => {}) // awaited below
    const render = (a: ButtonAnswer) =>
      messageContent(a.reply === undefined ? a.notice : `${a.notice}\n\n${replyText(a.reply)}`)
    try {
      const early = await settleWithin(answer, deferAfterMs)
      if (early) {
        const flags = early.value.private ? MessageFlags.Ephemeral : undefined
        await interaction.reply({ ...render(early.value), flags })
        return
      }
      // Decided before the answer exists: a deferred reply is private unless it is a change.
      await interaction.deferReply({ flags: MessageFlags.Ephemeral })
      await interaction.editReply(render(await answer))
    } catch (err) {
      log.error({ err, chatId: ref.chatId }, 'discord button failed')
      const sorry = messageContent('Sorry, that button failed. Please try again in a moment.')
      if (interaction.deferred) await interaction.editReply(sorry)
      else if (!interaction.replied)
        await interaction.reply({ ...sorry, flags: MessageFlags.Ephemeral })
    }
  }

  async function answerAutocomplete(interaction: AutocompleteInteraction): Promise<void> {
    const spec = specs.get(interaction.commandName)
    const focused = interaction.options.getFocused(true)
    const arg = spec?.arg
    const choices =
      arg && focused.name === arg.name && (arg.type === 'symbols' || arg.type === 'symbols-or-all')
        ? symbolChoices(core.symbols(), String(focused.value), arg.type === 'symbols-or-all')
        : []
    await interaction.respond(choices)
  }

  async function registerCommands(): Promise<void> {
    try {
      const appId = client.application?.id
      if (!appId) throw new DiscordStartError('READY carried no application id')
      const route = guildId
        ? Routes.applicationGuildCommands(appId, guildId)
        : Routes.applicationCommands(appId)
      await client.rest.put(route, { body: slashCommands(commands) })
      log.info(
        { guildId: guildId ?? 'global', count: commands.length },
        'discord commands registered',
      )
    } catch (err) {
      // Alerts still work without commands; the operator must fix the invite or the guild id.
      log.error(
        { err, guildId },
        'discord command registration failed (is the bot invited with the applications.commands scope?)',
      )
    }
  }

  function failure(err: unknown, channelId: string, action: string): NotifierError {
    const error = toNotifierError(err, `discord ${action} in ${channelId}`)
    if (error.kind === 'forbidden') {
      try {
        onForbidden?.(channelId, error.message)
      } catch (cbErr) {
        log.error({ err: cbErr, channelId }, 'discord onForbidden callback failed')
      }
    }
    return error
  }

  const notifier: Notifier = {
    platform: 'discord',
    async send(channelId, alert) {
      try {
        const message = (await rest.post(Routes.channelMessages(channelId), {
          body: {
            embeds: [alertEmbed(alert)],
            components: alertComponents(alert),
            allowed_mentions: { parse: [] },
          },
        })) as APIMessage
        return { messageId: message.id }
      } catch (err) {
        throw failure(err, channelId, 'send')
      }
    },
    async edit(channelId, messageId, alert) {
      try {
        await rest.patch(Routes.channelMessage(channelId, messageId), {
          body: { embeds: [alertEmbed(alert)], components: alertComponents(alert) },
        })
      } catch (err) {
        throw failure(err, channelId, 'edit')
      }
    },
  }

  return {
    notifier,
    async start() {
      const loggedIn = client.login(token).then(() => ready)
      loggedIn.catch(() => {}) // awaited below; a late rejection after a timeout is not unhandled
      // A refused token rejects here (discord.js has destroyed the client then).
      if (!(await settleWithin(loggedIn, readyTimeoutMs)))
        throw new DiscordStartError(
          `gateway not ready within ${readyTimeoutMs} ms; still trying in the background`,
        )
      await registered
    },
    async stop() {
      // @discordjs/ws 1.2.3 never settles destroy() if it lands while the shard waits for HELLO
      // or READY (it reconnects instead), so do not let shutdown hang on it.
      if (!(await settleWithin(client.destroy(), stopTimeoutMs)))
        log.warn({ stopTimeoutMs }, 'discord gateway did not close in time')
    },
  }
}

/**
 * The slash command definitions for `commands`: one typed option per argument, symbols with
 * autocomplete, numbers with the bounds the core validates against (`ArgSpec.min`/`max`).
 *
 * @example
 * ```ts
 * slashCommands().find((c) => c.name === 'threshold')!.options![0] // { min_value: 0.01, max_value: 50, … }
 * ```
 */
export function slashCommands(
  commands: readonly CommandSpec[] = COMMANDS,
): RESTPostAPIChatInputApplicationCommandsJSONBody[] {
  return commands.map((spec) => ({
    name: spec.name,
    description: truncate(spec.description, LIMITS.commandDescription),
    type: 1,
    options: spec.arg ? [commandOption(spec.arg)] : [],
  }))
}

function commandOption(arg: ArgSpec): APIApplicationCommandOption {
  const base = {
    name: arg.name,
    description: truncate(arg.description, LIMITS.commandDescription),
    required: arg.required,
  }
  switch (arg.type) {
    case 'symbols':
    case 'symbols-or-all':
      return {
        ...base,
        type: ApplicationCommandOptionType.String,
        autocomplete: true,
        max_length: arg.maxLength,
      }
    case 'percent':
    case 'amount':
      return {
        ...base,
        type: ApplicationCommandOptionType.Number,
        ...(arg.min === undefined ? {} : { min_value: arg.min }),
        ...(arg.max === undefined ? {} : { max_value: arg.max }),
      }
    case 'duration':
      // Typed as text ("2h"): its bounds (in ms) are checked by the core.
      return { ...base, type: ApplicationCommandOptionType.String, max_length: arg.maxLength }
    case 'text':
      // Free text (an opportunity id): checked by the core.
      return { ...base, type: ApplicationCommandOptionType.String, max_length: arg.maxLength }
    case 'assets':
    case 'venues':
      // Several words in one option ("doge pepe", "binance,kraken"): checked by the core.
      return { ...base, type: ApplicationCommandOptionType.String, max_length: arg.maxLength }
    case 'choice':
      return {
        ...base,
        type: ApplicationCommandOptionType.String,
        max_length: arg.maxLength,
        choices: (arg.choices ?? []).map((c) => ({ name: c, value: c })),
      }
    default: {
      const never: never = arg.type
      throw new Error(`unknown argument type ${String(never)}`)
    }
  }
}

const compact = (s: string) => s.toUpperCase().replace(/[^A-Z0-9]/g, '')

/**
 * Autocomplete choices for a symbols option over any number of markets (Discord shows at most 25):
 * for the last word typed (ignoring case and separators), `all` first (alone, when allowed), then
 * base assets with more than one market (each stands for all of them; in the order the markets
 * list them), then markets starting with it, then markets containing it; words already typed are
 * kept in front and not offered again.
 *
 * @example
 * ```ts
 * symbolChoices(['BTC/USDT', 'ETH/USDT', 'ETH/BTC'], 'btcusdt eth', false)
 * // [{ name: 'btcusdt ETH (2 markets)', value: 'btcusdt ETH' }, { name: 'btcusdt ETH/USDT', … }, …]
 * ```
 */
export function symbolChoices(
  symbols: readonly string[],
  typed: string,
  withAll: boolean,
): APIApplicationCommandOptionChoice<string>[] {
  const words = typed.split(/[\s,]+/)
  const last = compact(words.pop() ?? '')
  const done = words.filter(Boolean)
  const taken = new Set(done.map(compact))
  const prefix = done.length ? `${done.join(' ')} ` : ''
  const out: { name: string; value: string }[] = []
  const add = (value: string, label = value) => {
    const full = prefix + value
    if (full.length > LIMITS.choice || out.length >= LIMITS.choices) return
    const name = prefix + label
    out.push({ name: name.length <= LIMITS.choice ? name : full, value: full })
  }
  if (withAll && done.length === 0 && 'ALL'.startsWith(last)) add('all')
  const bases = new Map<string, number>()
  for (const s of symbols) {
    const base = compact(s.slice(0, Math.max(0, s.indexOf('/'))))
    if (base !== '') bases.set(base, (bases.get(base) ?? 0) + 1)
  }
  const matchingBases = [...bases].filter(([b, n]) => n > 1 && !taken.has(b) && b.startsWith(last))
  // An exact base first (typing `eth` offers ETH before ETHFI).
  matchingBases.sort(([a], [b]) => Number(b === last) - Number(a === last))
  for (const [base, n] of matchingBases) add(base, `${base} (${n} markets)`)
  const starting: string[] = []
  const containing: string[] = []
  for (const s of symbols) {
    if (out.length + starting.length >= LIMITS.choices) break
    const c = compact(s)
    if (taken.has(c)) continue
    if (c.startsWith(last)) starting.push(s)
    else if (containing.length < LIMITS.choices && c.includes(last)) containing.push(s)
  }
  for (const s of [...starting, ...containing]) add(s)
  return out
}

/** The embed of an alert: title, the lines as description, footer, colour by tone. */
export function alertEmbed(alert: AlertText): APIEmbed {
  const embed: APIEmbed = {
    title: truncate(alert.title, LIMITS.title),
    color: toneColour(alert.tone),
  }
  const description = escapeMarkdown(alert.lines.join('\n'))
  if (description) embed.description = truncate(description, LIMITS.description)
  if (alert.footer) embed.footer = { text: truncate(alert.footer, LIMITS.footer) }
  return embed
}

/**
 * An alert's buttons as Discord message components: action rows of up to five secondary buttons,
 * each button's payload as its `custom_id` (none: no rows).
 */
export function alertComponents(
  alert: AlertText,
): APIActionRowComponent<APIButtonComponentWithCustomId>[] {
  const buttons = (alert.buttons ?? []).map((b): APIButtonComponentWithCustomId => ({
    type: ComponentType.Button,
    style: ButtonStyle.Secondary,
    label: truncate(b.label, LIMITS.buttonLabel),
    custom_id: b.data,
  }))
  const rows: APIActionRowComponent<APIButtonComponentWithCustomId>[] = []
  for (let i = 0; i < buttons.length; i += LIMITS.buttonsPerRow)
    rows.push({
      type: ComponentType.ActionRow,
      components: buttons.slice(i, i + LIMITS.buttonsPerRow),
    })
  return rows
}

function toneColour(tone: AlertText['tone']): number {
  switch (tone) {
    case 'open':
      return Colors.Green
    case 'closed':
      return Colors.Grey
    case 'info':
      return Colors.Blue
    default: {
      const never: never = tone
      throw new Error(`unknown tone ${String(never)}`)
    }
  }
}

/**
 * Maps a discord.js REST failure to what the dispatcher needs to know:
 * 403 / 50013 / 50001 / 10003 → forbidden, 429 → rate-limited, 5xx and network → transient,
 * other 4xx → rejected.
 */
export function toNotifierError(err: unknown, what: string): NotifierError {
  if (err instanceof RateLimitError) {
    const retryAfterMs = Math.ceil(Math.max(err.retryAfter, err.timeToReset, 0))
    return new NotifierError(
      'rate-limited',
      `${what}: rate limited for ${retryAfterMs} ms`,
      retryAfterMs,
      {
        cause: err,
      },
    )
  }
  if (err instanceof DiscordAPIError) {
    const code = typeof err.code === 'number' ? err.code : undefined
    const known = code === undefined ? undefined : FORBIDDEN_CODES.get(code)
    if (known || err.status === 403)
      return new NotifierError(
        'forbidden',
        `${what}: ${known ?? err.message} (${code ?? err.status})`,
        undefined,
        {
          cause: err,
        },
      )
    if (err.status === 429) {
      const raw = err.rawError as { retry_after?: number }
      const retryAfterMs = Math.ceil((raw.retry_after ?? 1) * 1000)
      return new NotifierError('rate-limited', `${what}: rate limited`, retryAfterMs, {
        cause: err,
      })
    }
    if (err.status >= 500)
      return new NotifierError('transient', `${what}: ${err.message}`, undefined, { cause: err })
    return new NotifierError(
      'rejected',
      `${what}: ${err.message} (${code ?? err.status})`,
      undefined,
      {
        cause: err,
      },
    )
  }
  if (err instanceof HTTPError) {
    const kind = err.status >= 500 || err.status === 408 ? 'transient' : 'rejected'
    return new NotifierError(kind, `${what}: HTTP ${err.status} ${err.message}`, undefined, {
      cause: err,
    })
  }
  // fetch failures, timeouts (AbortError), connection resets: the network.
  const message = err instanceof Error ? err.message : String(err)
  return new NotifierError('transient', `${what}: ${message}`, undefined, { cause: err })
}

/** A permission hint for /subscribe when the bot could not post alerts in this channel. */
function missingPermissionNote(interaction: ChatInputCommandInteraction): string | undefined {
  const isThread = interaction.channel?.isThread() ?? false
  const needed = isThread
    ? [
        ...NEEDED_PERMISSIONS.filter(([bit]) => bit !== PermissionFlagsBits.SendMessages),
        THREAD_SEND,
      ]
    : NEEDED_PERMISSIONS
  const missing = missingPermissions(interaction.appPermissions, needed)
  if (missing.length === 0) return undefined
  const list = missing.join(', ')
  return (
    `Note: I can't post alerts in this channel yet: I'm missing the ${list} ` +
    `permission${missing.length > 1 ? 's' : ''} here. ` +
    `Ask a server admin to grant ${missing.length > 1 ? 'them' : 'it'} to my role in this channel.`
  )
}

function missingPermissions(
  have: Readonly<PermissionsBitField>,
  needed: readonly (readonly [bigint, string])[],
): string[] {
  return needed.filter(([bit]) => !have.has(bit)).map(([, label]) => label)
}

/** A reply's content as plain text (markdown escaped, nobody pinged), within Discord's limit. */
function messageContent(text: string): { content: string; allowedMentions: { parse: [] } } {
  return { content: truncate(escapeMarkdown(text), LIMITS.content), allowedMentions: { parse: [] } }
}

function truncate(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`
}

/** Resolves with `{ value }` if `promise` settles within `ms`, else undefined; rejects with it. */
async function settleWithin<T>(promise: Promise<T>, ms: number): Promise<{ value: T } | undefined> {
  let timer: ReturnType<typeof setTimeout> | undefined
  const timeout = new Promise<undefined>((resolve) => {
    timer = setTimeout(() => resolve(undefined), ms)
  })
  const settled = promise.then((value) => ({ value }))
  settled.catch(() => {}) // a rejection after the timeout is the caller's to see, not unhandled
  try {
    return await Promise.race([settled, timeout])
  } finally {
    clearTimeout(timer)
  }
}
