/**
 * @module
 * Telegram through grammY: every command in `COMMANDS` is answered by the core and its `Reply`
 * rendered as plain text; alerts are posted and edited as a `Notifier`, their buttons as an inline
 * keyboard whose callback queries the core answers (every one is answered, unknown ones too). Updates arrive by long
 * polling (`@grammyjs/runner`) or, when a webhook URL is given, by webhook. Telegram's limits are
 * kept as grammY's "Flood Limits" guide says: no throttling, every 429 respected. Replies wait out
 * a 429 with `@grammyjs/auto-retry`; alerts use their own API client, whose 429s go back to the
 * dispatcher, which holds only that chat until `retry_after` (replies and alerts never share a
 * queue).
 */
import { createHash } from 'node:crypto'
import { autoRetry } from '@grammyjs/auto-retry'
import { run, sequentialize, type RunnerHandle } from '@grammyjs/runner'
import {
  Api,
  Bot,
  BotError,
  GrammyError,
  HttpError,
  webhookCallback,
  type Context,
  type Transformer,
} from 'grammy'
import type { UserFromGetMe } from 'grammy/types'
import { Emitter } from '../events.ts'
import type { Logger } from '../log.ts'
import { NotifierError, type AlertText, type Notifier } from '../alerts/notifier.ts'
import {
  COMMANDS,
  replyText,
  type ButtonAnswer,
  type ChatRef,
  type CommandHandler,
} from './commands.ts'

/** Telegram's maximum message length (after markup is parsed), in UTF-16 code units. */
export const TELEGRAM_TEXT_LIMIT = 4096

export interface TelegramOptions {
  /** The bot token from @BotFather. */
  token: string
  core: CommandHandler
  log: Logger
  /** Another Bot API server (a local one, or a fake in tests); default `https://api.telegram.org`. */
  apiRoot?: string
  /** Receive updates by webhook at this public URL instead of long polling. */
  webhookUrl?: string
  /** The `X-Telegram-Bot-Api-Secret-Token` value; default: derived from the token. */
  webhookSecret?: string
  /** The bot's own `getMe` answer, to skip that call (tests). */
  botInfo?: UserFromGetMe
}

/**
 * Where the bot is: `idle` before `start()`, `starting` while it logs in and sets up,
 * `unreachable` while the Bot API cannot be reached or fails with 5xx (retried with backoff),
 * `running` once long polling runs or the webhook is set, `failed` after a permanent refusal,
 * `stopped` after `stop()`.
 */
export type TelegramState = 'idle' | 'starting' | 'unreachable' | 'running' | 'failed' | 'stopped'

export type TelegramEvent =
  | { readonly type: 'state'; readonly state: TelegramState }
  /** One Bot API call of the start-up failed transiently; it is tried again after `delayMs`. */
  | {
      readonly type: 'retry'
      readonly method: string
      readonly attempt: number
      readonly delayMs: number
      /** Why, naming the API root (never the token). */
      readonly error: string
    }

export interface TelegramBot {
  readonly notifier: Notifier
  /**
   * Logs in (`getMe`), registers the command list, then starts long polling or sets the webhook.
   * Network and 5xx failures are retried with backoff until it works or `stop()` is called (the
   * first is logged at error level, naming the API root and the cause, and the state is
   * `unreachable` meanwhile); it rejects only on a permanent refusal (e.g. a revoked token).
   * Resolves `true` once started, `false` when `stop()` came first. Called again, it returns
   * the same promise.
   */
  start(): Promise<boolean>
  /**
   * Stops polling (resolves once no `getUpdates` is open and a pending `start()` has given up)
   * and waits briefly for handlers.
   */
  stop(): Promise<void>
  /** Where the bot is now; `events` announces each change. */
  readonly state: TelegramState
  readonly events: Emitter<TelegramEvent>
  /** The path of `webhookUrl`, where `handleWebhook` must be mounted; undefined when polling. */
  readonly webhookPath: string | undefined
  /** Answers Telegram's webhook POST (401 on a wrong secret); only in webhook mode. */
  readonly handleWebhook?: (req: Request) => Promise<Response>
}

type ApiSignal = Parameters<Bot['api']['getMe']>[0] & AbortSignal

/** Only the updates the bot handles are requested (polling and webhook alike). */
const ALLOWED_UPDATES = ['message', 'callback_query'] as const
/** The most text Telegram shows in a callback query's answer. */
const CALLBACK_TEXT_LIMIT = 200
/** How long `stop()` waits for handlers still answering. */
const DRAIN_MS = 5000
const RETRY_CAP_MS = 60_000
/** 400 descriptions that mean the chat is gone for this bot, like a 403. */
const CHAT_GONE =
  /chat not found|bot was kicked|bot is not a member|not enough rights|have no rights|need administrator rights|CHAT_WRITE_FORBIDDEN|CHAT_RESTRICTED|PEER_ID_INVALID|user is deactivated|group chat was upgraded/i

/**
 * Creates the Telegram side of the bot. Nothing is contacted until `start()` (the notifier works
 * before that too).
 *
 * @param options token, the command core, a logger, and optionally `apiRoot`, `webhookUrl`,
 *   `webhookSecret` and `botInfo`
 * @returns the notifier, `start`/`stop`, and in webhook mode `webhookPath` + `handleWebhook`
 * @example
 * ```ts
 * const telegram = createTelegram({ token, core, log, webhookUrl: config.telegram.webhookUrl })
 * if (telegram.handleWebhook) app.post(telegram.webhookPath!, (c) => telegram.handleWebhook!(c.req.raw))
 * await telegram.start()
 * ```
 */
export function createTelegram({
  token,
  core,
  log: parentLog,
  apiRoot,
  webhookUrl,
  webhookSecret,
  botInfo,
}: TelegramOptions): TelegramBot {
  const log = parentLog.child({ platform: 'telegram' })
  const secret = webhookSecret ?? deriveWebhookSecret(token)
  if (!/^[A-Za-z0-9_-]{1,256}$/.test(secret))
    throw new RangeError('webhookSecret must be 1-256 characters of A-Z, a-z, 0-9, _ and -')
  const webhookPath = webhookUrl === undefined ? undefined : new URL(webhookUrl).pathname

  const client = {
    timeoutSeconds: 75,
    ...(apiRoot ? { apiRoot: apiRoot.replace(/\/+$/, '') } : {}),
  }
  const bot = new Bot(token, { botInfo, client })
  // Command replies (and polling): sent at once, a 429 waited out inside that chat's handler
  // (updates are sequential per chat only), so it delays no other chat. No throttler: grammY
  // advises against it. 5xx and network errors are not retried here (auto-retry would retry
  // network errors without limit).
  bot.api.config.use(
    autoRetry({
      maxRetryAttempts: 3,
      maxDelaySeconds: 30,
      rethrowInternalServerErrors: true,
      rethrowHttpErrors: true,
    }),
  )
  bot.api.config.use(watchPolling(log))

  const inflight = new Set<Promise<void>>()
  const onError = async (err: BotError<Context>): Promise<void> => {
    const ctx = err.ctx
    log.error(
      { err: err.error, updateId: ctx.update.update_id, chatId: ctx.chat?.id },
      'telegram handler failed',
    )
    // The core failed (not Telegram): tell the user instead of staying silent.
    if (ctx.chat && !(err.error instanceof GrammyError) && !(err.error instanceof HttpError)) {
      await ctx
        .reply('Sorry, something went wrong. Please try again in a minute.')
        .catch((replyErr: unknown) => log.warn({ err: replyErr }, 'telegram error reply failed'))
    }
  }
  bot.catch(onError)
  bot.use(async (_ctx, next) => {
    const done = next()
    inflight.add(done)
    try {
      await done
    } finally {
      inflight.delete(done)
    }
  })
  // Updates are handled concurrently, but one chat's commands are answered in order.
  bot.use(sequentialize((ctx: Context) => ctx.chat?.id.toString()))
  const chat = bot.errorBoundary(onError)

  const answer = async (ctx: Context, name: string, argText: string): Promise<void> => {
    const ref: ChatRef = {
      platform: 'telegram',
      chatId: String(ctx.chat!.id),
      userId: String(ctx.from?.id ?? ctx.chat!.id),
    }
    const reply = await core.handle(ref, name, argText)
    for (const part of splitText(replyText(reply)))
      await ctx.reply(part, { link_preview_options: { is_disabled: true } })
  }
  for (const spec of COMMANDS)
    chat.command(spec.name, (ctx) => answer(ctx, spec.name, ctx.match.trim()))
  chat.on('message:entities:bot_command', async (ctx, next) => {
    const command = leadingCommand(ctx.msg.text, ctx.msg.entities)
    if (command === undefined) return next()
    const [name, target] = command.slice(1).split('@')
    // In groups, a bare /foo or /foo@OtherBot may be meant for another bot.
    if (target !== undefined && target.toLowerCase() !== ctx.me.username.toLowerCase()) return
    if (target === undefined && ctx.chat.type !== 'private') return
    await ctx.reply(`Unknown command /${name}. Send /help to see what I understand.`)
  })
  chat
    .chatType('private')
    .on('message:text', (ctx) => ctx.reply('I answer commands. Send /help to see them.'))

  // An alert's buttons: the core answers, the query is always answered (the button stops
  // spinning), and the details are posted in the chat.
  chat.on('callback_query', async (ctx) => {
    const query = ctx.callbackQuery
    const chatId = ctx.chat?.id
    let answer: ButtonAnswer
    if (chatId === undefined || query.data === undefined) {
      answer = { notice: 'This button is not one of mine; nothing was done.', private: true }
    } else if (core.press === undefined) {
      answer = { notice: 'Buttons are not handled here; use the commands (/help).', private: true }
    } else {
      const ref: ChatRef = {
        platform: 'telegram',
        chatId: String(chatId),
        userId: String(query.from.id),
      }
      answer = await core.press(ref, query.data).catch((err: unknown) => {
        log.error({ err, chatId }, 'telegram button failed')
        return {
          notice: 'Sorry, something went wrong. Please try again in a minute.',
          private: true,
        }
      })
    }
    try {
      await ctx.answerCallbackQuery({ text: clip(answer.notice, CALLBACK_TEXT_LIMIT) })
    } catch (err) {
      // Too late (Telegram gives a query about 15 s) or already answered: the reply still goes out.
      log.warn({ err, chatId }, 'telegram: answering a callback query failed')
    }
    if (answer.reply !== undefined && chatId !== undefined) {
      for (const part of splitText(replyText(answer.reply)))
        await ctx.reply(part, { link_preview_options: { is_disabled: true } })
    }
  })

  const shownRoot = (apiRoot ?? 'https://api.telegram.org').replace(/\/+$/, '')
  let state: TelegramState = 'idle'
  const events = new Emitter<TelegramEvent>()
  const setState = (next: TelegramState): void => {
    if (state === next) return
    state = next
    events.emit({ type: 'state', state: next })
  }
  /**
   * A start-up call, retried with backoff while the Bot API is unreachable or fails with 5xx. The
   * first such failure is logged at error level, once until a call gets through again.
   */
  const startCall = async <T>(
    method: string,
    task: () => Promise<T>,
    signal: AbortSignal,
  ): Promise<T> => {
    const result = await retryTransient(task, signal, (err, attempt, delayMs) => {
      const error = unreachableReason(err, shownRoot, token)
      if (error === undefined) return
      if (state !== 'unreachable') {
        log.error(
          { apiRoot: shownRoot, method },
          `telegram: ${error}; retrying with backoff, alerts to telegram stay pending`,
        )
        setState('unreachable')
      }
      events.emit({ type: 'retry', method, attempt, delayMs, error })
    })
    if (state === 'unreachable' && !signal.aborted) {
      log.info({ apiRoot: shownRoot }, 'telegram: the Bot API answers again')
      setState('starting')
    }
    return result
  }

  const registerCommands = async (signal: ApiSignal): Promise<void> => {
    const commands = COMMANDS.filter((c) => {
      const valid = /^[a-z0-9_]{1,32}$/.test(c.name)
      if (!valid) log.warn({ command: c.name }, 'telegram: command name not allowed, skipped')
      return valid
    }).map((c) => ({ command: c.name, description: clip(c.description, 256) }))
    try {
      await startCall('setMyCommands', () => bot.api.setMyCommands(commands, {}, signal), signal)
    } catch (err) {
      if (signal.aborted) throw err
      log.warn({ err }, 'telegram: setMyCommands failed; commands work but are not listed')
    }
  }

  let lifecycle: AbortController | undefined
  let starting: Promise<boolean> | undefined
  let polling: Promise<void> | undefined
  let runner: RunnerHandle | undefined

  const poll = async (signal: AbortSignal): Promise<void> => {
    let delayMs = 1000
    while (!signal.aborted) {
      const startedAt = Date.now()
      runner = run(bot, {
        runner: {
          fetch: { timeout: 30, allowed_updates: ALLOWED_UPDATES },
          retryInterval: 'quadratic',
          silent: true,
        },
      })
      try {
        await runner.task()
      } catch (err) {
        log.error({ err }, 'telegram polling stopped; restarting')
      }
      runner = undefined
      if (signal.aborted) break
      if (Date.now() - startedAt > RETRY_CAP_MS) delayMs = 1000
      await sleep(delayMs, signal).catch(() => undefined)
      delayMs = Math.min(RETRY_CAP_MS, delayMs * 2)
    }
  }

  /** Logs in and sets up; `true` once running, `false` when `stop()` came first. */
  const begin = async (controller: AbortController): Promise<boolean> => {
    // grammY's typings name a ponyfilled AbortSignal; the standard one is what it uses at run time.
    const signal = controller.signal as unknown as ApiSignal
    setState('starting')
    try {
      // getMe through startCall rather than bot.init(), which retries network errors silently.
      if (!bot.isInited()) {
        const me = await startCall('getMe', () => bot.api.getMe(signal), signal)
        if (!bot.isInited()) bot.botInfo = me
      }
      await registerCommands(signal)
      if (signal.aborted) return false
      if (webhookUrl !== undefined) {
        await startCall(
          'setWebhook',
          () =>
            bot.api.setWebhook(
              webhookUrl,
              { secret_token: secret, allowed_updates: ALLOWED_UPDATES },
              signal,
            ),
          signal,
        )
        if (signal.aborted) return false
        setState('running')
        log.info({ username: bot.botInfo.username, path: webhookPath }, 'telegram webhook set')
      } else {
        await startCall('deleteWebhook', () => bot.api.deleteWebhook({}, signal), signal)
        if (signal.aborted) return false
        polling = poll(signal)
        setState('running')
        log.info({ username: bot.botInfo.username }, 'telegram long polling started')
      }
      return true
    } catch (err) {
      if (signal.aborted) return false
      setState('failed')
      throw err
    }
  }

  const callback =
    webhookUrl === undefined
      ? undefined
      : webhookCallback(bot, 'std/http', {
          secretToken: secret,
          // Answer Telegram after 10 s even if a reply (waiting out a 429) is still on its way.
          onTimeout: 'return',
          timeoutMilliseconds: 10_000,
        })

  return {
    // Alerts: a client of their own, without auto-retry, so a 429 comes back to the dispatcher at
    // once (it holds that chat until retry_after) instead of holding a send slot while it sleeps.
    notifier: createNotifier(new Api(token, client)),
    webhookPath,
    get state() {
      return state
    },
    events,
    start() {
      if (!starting) {
        const controller = new AbortController()
        lifecycle = controller
        starting = begin(controller)
      }
      return starting
    },
    async stop() {
      const controller = lifecycle
      if (!controller || controller.signal.aborted) return
      controller.abort()
      // A start still under way gives up (its calls and waits are aborted) before this resolves.
      await starting?.catch(() => false)
      await runner?.stop()
      await polling
      if (inflight.size > 0) {
        let timer: Timer | undefined
        await Promise.race([
          Promise.allSettled([...inflight]),
          new Promise((resolve) => (timer = setTimeout(resolve, DRAIN_MS))),
        ])
        clearTimeout(timer)
      }
      setState('stopped')
      log.info('telegram stopped')
    },
    ...(callback === undefined
      ? {}
      : {
          async handleWebhook(req: Request): Promise<Response> {
            if (lifecycle?.signal.aborted) return new Response('stopping', { status: 503 })
            try {
              return await callback(req)
            } catch (err) {
              if (err instanceof SyntaxError) return new Response('bad update', { status: 400 })
              // Not our handlers (they are inside the error boundary): e.g. getMe failed. Telegram retries.
              log.error({ err }, 'telegram webhook update failed')
              return new Response('error', { status: 500 })
            }
          },
        }),
  }
}

/**
 * An alert's buttons as Telegram's inline keyboard: one row, each button's payload as its
 * `callback_data`; undefined when it has none.
 */
export function inlineKeyboard(
  alert: AlertText,
): { inline_keyboard: { text: string; callback_data: string }[][] } | undefined {
  if (alert.buttons === undefined || alert.buttons.length === 0) return undefined
  return {
    inline_keyboard: [
      alert.buttons.map((b) => ({ text: clip(b.label, 64), callback_data: b.data })),
    ],
  }
}

/** The Notifier over a Bot API client: HTML alerts, failures mapped to `NotifierError`. */
function createNotifier(api: Api): Notifier {
  const base = { parse_mode: 'HTML', link_preview_options: { is_disabled: true } } as const
  const options = (alert: AlertText) => {
    const keyboard = inlineKeyboard(alert)
    return keyboard === undefined ? base : { ...base, reply_markup: keyboard }
  }
  return {
    platform: 'telegram',
    async send(chatId, alert) {
      try {
        const message = await api.sendMessage(
          toChatId(chatId),
          renderAlertHtml(alert),
          options(alert),
        )
        return { messageId: String(message.message_id) }
      } catch (err) {
        throw toNotifierError(err)
      }
    },
    async edit(chatId, messageId, alert) {
      try {
        // The keyboard is sent again with every edit: an edit without one removes it.
        await api.editMessageText(
          toChatId(chatId),
          Number(messageId),
          renderAlertHtml(alert),
          options(alert),
        )
      } catch (err) {
        // Same content as before: the message already shows this alert.
        if (err instanceof GrammyError && /message is not modified/i.test(err.description)) return
        throw toNotifierError(err)
      }
    },
  }
}

/**
 * Maps a grammY failure to what the dispatcher needs: 403 and "chat not found"-like 400s are
 * `forbidden`, a 429 `rate-limited` with its `retry_after`, 5xx and
 * network errors `transient`, other 4xx `rejected`.
 *
 * @param err what a Bot API call threw
 * @returns the NotifierError to throw, with `err` as its cause
 */
export function toNotifierError(err: unknown): NotifierError {
  if (err instanceof GrammyError) {
    const message = `telegram ${err.method}: ${err.error_code} ${err.description}`
    const code = err.error_code
    if (code === 429) {
      const retryAfterS = err.parameters.retry_after ?? 1
      return new NotifierError('rate-limited', message, retryAfterS * 1000, { cause: err })
    }
    if (code === 403 || (code === 400 && CHAT_GONE.test(err.description))) {
      const moved = err.parameters.migrate_to_chat_id
      const note = moved === undefined ? '' : ` (the chat is now ${moved})`
      return new NotifierError('forbidden', message + note, undefined, { cause: err })
    }
    if (code >= 500) return new NotifierError('transient', message, undefined, { cause: err })
    return new NotifierError('rejected', message, undefined, { cause: err })
  }
  const message = err instanceof Error ? `telegram: ${err.message}` : 'telegram: request failed'
  return new NotifierError('transient', message, undefined, { cause: err })
}

/** `&`, `<` and `>` escaped for Telegram's HTML parse mode. */
export const escapeHtml = (text: string): string =>
  text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;')

/**
 * An alert as Telegram HTML: the title in bold, the lines, then the footer in italics after a
 * blank line. Lines are dropped from the end (an ellipsis marks it) until the visible text fits
 * in one message.
 *
 * @example
 * ```ts
 * renderAlertHtml({ title: 'BTC/USDT 0.42%', lines: ['buy <venue>'], tone: 'open' })
 * // '<b>BTC/USDT 0.42%</b>\nbuy &lt;venue&gt;'
 * ```
 */
export function renderAlertHtml(alert: AlertText): string {
  const title = clip(alert.title, 256)
  const footer = alert.footer ? clip(alert.footer, 512) : undefined
  const lines = [...alert.lines]
  const visible = () => [title, ...lines, ...(footer ? ['', footer] : [])].join('\n').length
  if (visible() > TELEGRAM_TEXT_LIMIT) {
    while (lines.length > 0 && visible() + 2 > TELEGRAM_TEXT_LIMIT) lines.pop()
    lines.push('…')
  }
  const parts = [`<b>${escapeHtml(title)}</b>`, ...lines.map(escapeHtml)]
  if (footer) parts.push('', `<i>${escapeHtml(footer)}</i>`)
  return parts.join('\n')
}

/**
 * Splits a plain-text reply into messages of at most `limit` characters, at line breaks where it
 * can, never inside a surrogate pair. Empty text gives no message.
 */
export function splitText(text: string, limit = TELEGRAM_TEXT_LIMIT): string[] {
  const parts: string[] = []
  let rest = text.trim()
  while (rest.length > limit) {
    let cut = rest.lastIndexOf('\n', limit)
    if (cut < limit / 2) cut = rest.lastIndexOf(' ', limit)
    if (cut < limit / 2) cut = limit
    if (isHighSurrogate(rest.charCodeAt(cut - 1))) cut--
    parts.push(rest.slice(0, cut).trimEnd())
    rest = rest.slice(cut).trimStart()
  }
  if (rest !== '') parts.push(rest)
  return parts
}

/** The webhook secret used when none is configured: hex SHA-256 of the token (64 characters). */
export function deriveWebhookSecret(token: string): string {
  return createHash('sha256').update(`arbwatch telegram webhook\n${token}`).digest('hex')
}

/** Logs when long polling starts failing and when it recovers (the runner itself is silent). */
function watchPolling(log: Logger): Transformer {
  let failing = false
  return async (prev, method, payload, signal) => {
    if (method !== 'getUpdates') return prev(method, payload, signal)
    try {
      const res = await prev(method, payload, signal)
      if (!res.ok && !failing) {
        failing = true
        log.warn({ code: res.error_code, description: res.description }, 'telegram polling failing')
      } else if (res.ok && failing) {
        failing = false
        log.info('telegram polling recovered')
      }
      return res
    } catch (err) {
      if (!signal?.aborted && !failing) {
        failing = true
        log.warn({ err }, 'telegram polling failing; retrying')
      }
      throw err
    }
  }
}

/**
 * Runs `task`, retrying network errors, 5xx and 429 with backoff until it works or aborts;
 * `onRetry` hears each failure that is retried, with the wait before the next attempt.
 */
async function retryTransient<T>(
  task: () => Promise<T>,
  signal: AbortSignal,
  onRetry?: (err: unknown, attempt: number, delayMs: number) => void,
): Promise<T> {
  let delayMs = 1000
  for (let attempt = 1; ; attempt++) {
    try {
      return await task()
    } catch (err) {
      if (signal.aborted) throw err
      const retryAfterS = err instanceof GrammyError ? err.parameters.retry_after : undefined
      const transient =
        err instanceof HttpError ||
        (err instanceof GrammyError && (err.error_code >= 500 || err.error_code === 429))
      if (!transient) throw err
      const waitMs = retryAfterS !== undefined ? retryAfterS * 1000 : delayMs
      onRetry?.(err, attempt, waitMs)
      await sleep(waitMs, signal)
      delayMs = Math.min(RETRY_CAP_MS, delayMs * 2)
    }
  }
}

/** What the network layer's codes mean, in words. */
const NETWORK_CODES: Record<string, string> = {
  ECONNREFUSED: 'connection refused',
  ConnectionRefused: 'connection refused',
  ECONNRESET: 'connection reset',
  ENOTFOUND: 'host not found',
  EAI_AGAIN: 'host name lookup failed',
  ETIMEDOUT: 'timed out',
  EHOSTUNREACH: 'host unreachable',
  ENETUNREACH: 'network unreachable',
  CERT_HAS_EXPIRED: 'its TLS certificate has expired',
  DEPTH_ZERO_SELF_SIGNED_CERT: 'its TLS certificate is self-signed',
}

/**
 * Why the Bot API at `root` is unavailable, naming the cause and never the token; undefined for
 * a failure that does not mean that (e.g. a 429).
 */
function unreachableReason(err: unknown, root: string, token: string): string | undefined {
  const scrub = (text: string) => (token === '' ? text : text.split(token).join('***'))
  if (err instanceof GrammyError) {
    if (err.error_code < 500) return undefined
    return scrub(`the Bot API at ${root} fails: ${err.error_code} ${err.description}`)
  }
  if (!(err instanceof HttpError)) return undefined
  const inner = err.error
  const code =
    inner instanceof Error && typeof (inner as { code?: unknown }).code === 'string'
      ? String((inner as { code?: unknown }).code)
      : ''
  const words =
    NETWORK_CODES[code] ??
    (inner instanceof Error && inner.message !== '' ? inner.message : err.message)
  const cause = code !== '' && !words.includes(code) ? `${words} (${code})` : words
  return scrub(`cannot reach the Bot API at ${root}: ${cause}`)
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason)
    const onAbort = () => {
      clearTimeout(timer)
      reject(signal.reason)
    }
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort)
      resolve()
    }, ms)
    signal.addEventListener('abort', onAbort, { once: true })
  })
}

/** The text of the `bot_command` entity at the start of a message, e.g. `/foo@SomeBot`. */
function leadingCommand(
  text: string | undefined,
  entities: readonly { type: string; offset: number; length: number }[] | undefined,
): string | undefined {
  const entity = entities?.find((e) => e.type === 'bot_command' && e.offset === 0)
  return entity && text ? text.slice(0, entity.length) : undefined
}

/** Numeric chat ids as numbers (what Telegram expects); `@channel` names as is. */
const toChatId = (chatId: string): number | string =>
  /^-?\d+$/.test(chatId) ? Number(chatId) : chatId

const isHighSurrogate = (code: number): boolean => code >= 0xd800 && code <= 0xdbff

/** At most `max` characters (an ellipsis marks a cut), never splitting a surrogate pair. */
function clip(text: string, max: number): string {
  if (text.length <= max) return text
  let end = Math.max(0, max - 1)
  if (isHighSurrogate(text.charCodeAt(end - 1))) end--
  return `${text.slice(0, end)}…`
}
