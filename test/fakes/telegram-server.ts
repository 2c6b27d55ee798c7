/**
 * @module
 * A fake Telegram Bot API on 127.0.0.1 (port 0) speaking the real wire protocol: `POST
 * /bot<token>/<method>` with JSON, urlencoded or multipart bodies, answering `{ok, result}` or
 * `{ok:false, error_code, description, parameters?}`. It long-polls `getUpdates` like Telegram
 * (holds the request up to `timeout` s, wakes on a new update or a client abort, honours
 * `offset`/`limit`), parses `parse_mode: 'HTML'` into plain text + entities as Telegram does (and
 * rejects bad markup), delivers updates to a webhook with the secret header, records what the bot
 * sent, and injects faults (429 with `retry_after`, 403, 500, ...), for every chat or for one, and
 * holds chosen calls unanswered until released (a slow Bot API). Inline keyboards
 * (`reply_markup.inline_keyboard` on `sendMessage` and `editMessageText`) are checked as Telegram
 * checks them and kept with the message; a user pressing a button arrives as a `callback_query`
 * update, which `answerCallbackQuery` must answer once. `getUpdates` delivers only the update types
 * its last `allowed_updates` named, as Telegram does.
 */
import type { Server } from 'bun'
import type {
  CallbackQuery,
  InlineKeyboardMarkup,
  Message,
  MessageEntity,
  Update,
  UserFromGetMe,
} from 'grammy/types'

/** A fault the next call of a method answers with, instead of doing its work. */
export interface Fault {
  readonly error_code: number
  readonly description?: string
  /** Seconds; sent as `parameters.retry_after` (Telegram's 429). */
  readonly retry_after?: number
}

/** One Bot API call as the fake received it. */
export interface ApiCall {
  readonly method: string
  readonly payload: Record<string, unknown>
  /** `performance.now()` when the request arrived. */
  readonly atMs: number
}

/** A message the bot posted (sendMessage) or replaced (editMessageText). */
export interface Posted {
  readonly chatId: number
  readonly messageId: number
  /** The text exactly as the bot sent it (with markup, if any). */
  readonly raw: string
  readonly parseMode: string | undefined
  /** What the user sees: plain text (markup parsed away)... */
  readonly text: string
  /** ...and its formatting. */
  readonly entities: readonly MessageEntity[]
  /** The inline keyboard under it, if any. */
  readonly replyMarkup: InlineKeyboardMarkup | undefined
  readonly atMs: number
}

/** An `answerCallbackQuery` the bot made. */
export interface CallbackAnswer {
  readonly queryId: string
  readonly text: string | undefined
  readonly showAlert: boolean
  readonly atMs: number
}

export interface FakeTelegramOptions {
  token?: string
  username?: string
}

interface Poll {
  readonly wake: () => void
}

const API_ERRORS: Record<number, string> = {
  400: 'Bad Request: chat not found',
  401: 'Unauthorized',
  403: 'Forbidden: bot was blocked by the user',
  404: 'Not Found',
  409: 'Conflict: terminated by other getUpdates request',
  500: 'Internal Server Error',
  502: 'Bad Gateway',
}

/** Form fields that Telegram reads as numbers; every other form value is a string or JSON. */
const NUMERIC_FIELDS = new Set(['chat_id', 'message_id', 'offset', 'limit', 'timeout'])

export class FakeTelegramServer {
  readonly token: string
  readonly me: UserFromGetMe
  readonly server: Server<undefined>
  /** Every call, in order of arrival (including failed and faulted ones). */
  readonly calls: ApiCall[] = []
  /** Messages the bot sent, in order. */
  readonly sent: Posted[] = []
  /** Successful edits, in order. */
  readonly edits: Posted[] = []
  /** Every `setMyCommands` payload. */
  readonly commandSets: Record<string, unknown>[] = []
  /** The webhook set by `setWebhook`, cleared by `deleteWebhook`. */
  webhook: { url: string; secretToken: string | undefined } | undefined
  /** `getUpdates` requests being held open right now. */
  openPolls = 0
  /** Every callback query answered, in order. */
  readonly answers: CallbackAnswer[] = []
  /** The update types `getUpdates` delivers (its last `allowed_updates`); undefined: all. */
  allowedUpdates: string[] | undefined
  /** Callback queries sent to the bot: id → answered yet. */
  readonly #queries = new Map<string, boolean>()
  #nextQueryId = 1

  readonly #faults = new Map<
    string,
    { fault: Fault; match?: (payload: ApiCall['payload']) => boolean }[]
  >()
  readonly #holds = new Set<{ match: (call: ApiCall) => boolean; released: Promise<void> }>()
  /** Calls being held unanswered right now (see `hold`). */
  held = 0
  readonly #queue: Update[] = []
  readonly #polls = new Set<Poll>()
  readonly #messages = new Map<string, Posted>()
  readonly #readCursor = new Map<number, number>()
  readonly #waiters: { check: () => boolean; resolve: () => void }[] = []
  #nextUpdateId = 1
  #nextMessageId = 1

  constructor({
    token = '123456:TEST-token',
    username = 'ArbwatchTestBot',
  }: FakeTelegramOptions = {}) {
    this.token = token
    this.me = {
      id: Number(token.split(':')[0]),
      is_bot: true,
      first_name: 'Arbwatch',
      username,
      can_join_groups: true,
      can_read_all_group_messages: false,
      supports_inline_queries: false,
      can_connect_to_business: false,
      has_main_web_app: false,
      has_topics_enabled: false,
      allows_users_to_create_topics: false,
      can_manage_bots: false,
      supports_join_request_queries: false,
    }
    this.server = Bun.serve({
      hostname: '127.0.0.1',
      port: 0,
      idleTimeout: 0,
      fetch: (req) => this.#serve(req),
    })
  }

  /** The `apiRoot` to give grammY. */
  get apiRoot(): string {
    return `http://127.0.0.1:${this.server.port}`
  }

  /** Calls of one method, in order. */
  callsOf(method: string): ApiCall[] {
    return this.calls.filter((c) => c.method === method)
  }

  /**
   * Makes the next call of `method` (whose payload `match`es, if given, e.g. one chat's) fail
   * with `fault`; faults queue up, one per call.
   */
  failNext(method: string, fault: Fault, match?: (payload: ApiCall['payload']) => boolean): void {
    const list = this.#faults.get(method) ?? []
    list.push({ fault, match })
    this.#faults.set(method, list)
  }

  /**
   * Holds every call that `match`es unanswered (recorded in `calls`, not yet done) until the
   * returned function is called: a Bot API that is slow for those calls.
   */
  hold(match: (call: ApiCall) => boolean): () => void {
    let release!: () => void
    const hold = { match, released: new Promise<void>((resolve) => (release = resolve)) }
    this.#holds.add(hold)
    return () => {
      this.#holds.delete(hold)
      release()
    }
  }

  /** A user message as Telegram delivers it, with a `bot_command` entity for a leading /command. */
  message(
    chatId: number,
    userId: number,
    text: string,
    chatType: 'private' | 'group' | 'supergroup' = chatId < 0 ? 'group' : 'private',
  ): Update {
    const from = { id: userId, is_bot: false, first_name: `User${userId}` }
    const chat =
      chatType === 'private'
        ? { id: chatId, type: 'private' as const, first_name: from.first_name }
        : { id: chatId, type: chatType, title: `Chat ${chatId}` }
    const message: Message.TextMessage = {
      message_id: this.#nextMessageId++,
      date: Math.floor(Date.now() / 1000),
      from,
      chat,
      text,
    }
    const command = /^\/[A-Za-z0-9_]+(@[A-Za-z0-9_]+)?/.exec(text)
    if (command) message.entities = [{ type: 'bot_command', offset: 0, length: command[0].length }]
    return { update_id: this.#nextUpdateId++, message: message as NonNullable<Update['message']> }
  }

  /**
   * A user writes `text` in a chat: queued for `getUpdates`, or, while a webhook is set, POSTed
   * to it with its secret header (resolves with the webhook's HTTP status).
   */
  async userSays(
    chatId: number,
    userId: number,
    text: string,
    chatType?: 'private' | 'group' | 'supergroup',
  ): Promise<{ update: Update; webhookStatus?: number }> {
    const update = this.message(chatId, userId, text, chatType)
    const webhookStatus = await this.#deliver(update)
    return webhookStatus === undefined ? { update } : { update, webhookStatus }
  }

  /** The message the bot posted as `messageId` in `chatId`, as it is now (after any edit). */
  posted(chatId: number, messageId: number): Posted | undefined {
    return this.#messages.get(`${chatId}:${messageId}`)
  }

  /**
   * A user presses the button labelled (or carrying the payload) `button` under the bot's
   * message, as its current keyboard has it (throws when there is no such button): a
   * `callback_query` update, delivered like a message. Resolves with the query's id.
   */
  async pressButton(
    chatId: number,
    messageId: number,
    userId: number,
    button: string,
  ): Promise<string> {
    const posted = this.#messages.get(`${chatId}:${messageId}`)
    if (!posted) throw new Error(`fake Telegram: no message ${messageId} in ${chatId}`)
    const buttons = (posted.replyMarkup?.inline_keyboard ?? []).flat()
    const found = buttons.find(
      (b) => b.text === button || ('callback_data' in b && b.callback_data === button),
    )
    if (!found || !('callback_data' in found))
      throw new Error(`fake Telegram: no button ${button} under message ${messageId}`)
    return this.callbackQuery(chatId, messageId, userId, found.callback_data!)
  }

  /**
   * A `callback_query` with any payload on the bot's message, as a client still showing an old
   * keyboard sends it (a button the bot no longer makes). Resolves with the query's id.
   */
  async callbackQuery(
    chatId: number,
    messageId: number,
    userId: number,
    data: string,
  ): Promise<string> {
    const posted = this.#messages.get(`${chatId}:${messageId}`)
    if (!posted) throw new Error(`fake Telegram: no message ${messageId} in ${chatId}`)
    const id = `${this.me.id}${String(this.#nextQueryId++).padStart(6, '0')}`
    this.#queries.set(id, false)
    const query: CallbackQuery = {
      id,
      from: { id: userId, is_bot: false, first_name: `User${userId}` },
      message: this.#asMessage(posted) as CallbackQuery['message'],
      chat_instance: String(-chatId),
      data,
    }
    await this.#deliver({ update_id: this.#nextUpdateId++, callback_query: query })
    return id
  }

  /** Queues an update for `getUpdates`, or POSTs it to the webhook while one is set. */
  async #deliver(update: Update): Promise<number | undefined> {
    if (!this.webhook) {
      this.#queue.push(update)
      for (const poll of this.#polls) poll.wake()
      return undefined
    }
    return (await this.postToWebhook(update, this.webhook.secretToken, this.webhook.url)).status
  }

  /** POSTs an update to a webhook as Telegram does; `secret` undefined sends no secret header. */
  async postToWebhook(update: Update, secret: string | undefined, url?: string): Promise<Response> {
    const target = url ?? this.webhook?.url
    if (!target) throw new Error('no webhook set')
    const headers: Record<string, string> = { 'content-type': 'application/json' }
    if (secret !== undefined) headers['x-telegram-bot-api-secret-token'] = secret
    const res = await fetch(target, { method: 'POST', headers, body: JSON.stringify(update) })
    await res.arrayBuffer()
    return res
  }

  /**
   * The next message the bot sent to `chatId` that no earlier call returned (each call takes the
   * next one, in order); waits for it up to `timeoutMs`.
   */
  async waitForReply(chatId: number, timeoutMs = 5000): Promise<Posted> {
    const cursor = this.#readCursor.get(chatId) ?? 0
    const inChat = () => this.sent.filter((m) => m.chatId === chatId)
    await this.waitFor(
      () => inChat().length > cursor,
      timeoutMs,
      `reply #${cursor + 1} in ${chatId}`,
    )
    this.#readCursor.set(chatId, cursor + 1)
    return inChat()[cursor]!
  }

  /** Resolves once `check()` holds (re-checked after every request); rejects after `timeoutMs`. */
  waitFor(check: () => boolean, timeoutMs = 5000, what = 'condition'): Promise<void> {
    if (check()) return Promise.resolve()
    return new Promise((resolve, reject) => {
      const waiter = {
        check,
        resolve: () => {
          clearTimeout(timer)
          resolve()
        },
      }
      const timer = setTimeout(() => {
        this.#waiters.splice(this.#waiters.indexOf(waiter), 1)
        reject(new Error(`fake Telegram: timed out after ${timeoutMs} ms waiting for ${what}`))
      }, timeoutMs)
      this.#waiters.push(waiter)
    })
  }

  /** Closes the server; held polls are answered first. */
  async stop(): Promise<void> {
    for (const poll of this.#polls) poll.wake()
    await this.server.stop(true)
  }

  #notify(): void {
    for (const waiter of [...this.#waiters]) {
      if (waiter.check()) {
        this.#waiters.splice(this.#waiters.indexOf(waiter), 1)
        waiter.resolve()
      }
    }
  }

  async #serve(req: Request): Promise<Response> {
    const url = new URL(req.url)
    const route = /^\/bot([^/]+)\/([A-Za-z]+)$/.exec(url.pathname)
    if (!route) return fail(404)
    if (route[1] !== this.token) return fail(401)
    const method = route[2]!
    let payload: Record<string, unknown>
    try {
      payload = await readPayload(req, url)
    } catch {
      return fail(400, "Bad Request: can't parse request body")
    }
    const call = { method, payload, atMs: performance.now() }
    this.calls.push(call)
    try {
      for (const hold of this.#holds) {
        if (!hold.match(call)) continue
        this.held++
        this.#notify()
        await hold.released
        this.held--
      }
      const faults = this.#faults.get(method) ?? []
      const i = faults.findIndex((f) => f.match === undefined || f.match(payload))
      const fault = i === -1 ? undefined : faults.splice(i, 1)[0]!.fault
      if (fault) return fail(fault.error_code, fault.description, fault.retry_after)
      return await this.#call(method, payload, req.signal)
    } finally {
      this.#notify()
    }
  }

  async #call(method: string, p: Record<string, unknown>, signal: AbortSignal): Promise<Response> {
    switch (method) {
      case 'getMe':
        return ok(this.me)
      case 'deleteWebhook':
        this.webhook = undefined
        if (p.drop_pending_updates === true) this.#queue.length = 0
        return ok(true)
      case 'setWebhook': {
        if (typeof p.url !== 'string') return fail(400, 'Bad Request: bad webhook: URL is empty')
        const secret = p.secret_token
        if (
          secret !== undefined &&
          (typeof secret !== 'string' || !/^[A-Za-z0-9_-]{1,256}$/.test(secret))
        )
          return fail(400, 'Bad Request: secret token contains unallowed characters')
        this.webhook = { url: p.url, secretToken: secret }
        return ok(true)
      }
      case 'getWebhookInfo':
        return ok({
          url: this.webhook?.url ?? '',
          has_custom_certificate: false,
          pending_update_count: this.#queue.length,
        })
      case 'setMyCommands': {
        const commands = p.commands
        if (!Array.isArray(commands)) return fail(400, 'Bad Request: commands must be an array')
        for (const c of commands as { command?: unknown; description?: unknown }[]) {
          if (typeof c.command !== 'string' || !/^[a-z0-9_]{1,32}$/.test(c.command))
            return fail(400, 'Bad Request: BOT_COMMAND_INVALID')
          if (
            typeof c.description !== 'string' ||
            c.description.length < 1 ||
            c.description.length > 256
          )
            return fail(400, 'Bad Request: BOT_COMMAND_DESCRIPTION_INVALID')
        }
        this.commandSets.push(p)
        return ok(true)
      }
      case 'getUpdates':
        return this.#getUpdates(p, signal)
      case 'sendMessage':
        return this.#sendMessage(p)
      case 'editMessageText':
        return this.#editMessageText(p)
      case 'answerCallbackQuery':
        return this.#answerCallbackQuery(p)
      default:
        return fail(404)
    }
  }

  async #getUpdates(p: Record<string, unknown>, signal: AbortSignal): Promise<Response> {
    if (this.webhook)
      return fail(
        409,
        "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete the webhook first",
      )
    const offset = typeof p.offset === 'number' ? p.offset : 0
    const limit = Math.min(100, Math.max(1, typeof p.limit === 'number' ? p.limit : 100))
    const timeoutS = typeof p.timeout === 'number' ? p.timeout : 0
    // The types asked for stay in force until a later call names others (an empty list: all).
    if (Array.isArray(p.allowed_updates))
      this.allowedUpdates =
        p.allowed_updates.length === 0 ? undefined : p.allowed_updates.map(String)
    // Telegram forgets updates below the offset (they were confirmed) and never delivers the
    // types the bot did not ask for.
    const allowed = this.allowedUpdates
    for (let i = this.#queue.length - 1; i >= 0; i--) {
      const u = this.#queue[i]!
      const type = Object.keys(u).find((k) => k !== 'update_id')!
      if (u.update_id < offset || (allowed !== undefined && !allowed.includes(type)))
        this.#queue.splice(i, 1)
    }
    if (this.#queue.length === 0 && timeoutS > 0 && !signal.aborted) {
      this.openPolls++
      this.#notify()
      await new Promise<void>((resolve) => {
        const poll: Poll = { wake: () => done() }
        const timer = setTimeout(() => done(), timeoutS * 1000)
        const done = () => {
          clearTimeout(timer)
          signal.removeEventListener('abort', done)
          this.#polls.delete(poll)
          resolve()
        }
        signal.addEventListener('abort', done)
        this.#polls.add(poll)
      })
      this.openPolls--
    }
    return ok(this.#queue.slice(0, limit))
  }

  #sendMessage(p: Record<string, unknown>): Response {
    const chatId = p.chat_id
    if (typeof chatId !== 'number' && typeof chatId !== 'string')
      return fail(400, 'Bad Request: chat_id is empty')
    const posted = this.#render(Number(chatId), this.#nextMessageId++, p)
    if (posted instanceof Response) return posted
    this.sent.push(posted)
    this.#messages.set(`${posted.chatId}:${posted.messageId}`, posted)
    return ok(this.#asMessage(posted))
  }

  #editMessageText(p: Record<string, unknown>): Response {
    const key = `${Number(p.chat_id)}:${Number(p.message_id)}`
    const old = this.#messages.get(key)
    if (!old) return fail(400, 'Bad Request: message to edit not found')
    const posted = this.#render(old.chatId, old.messageId, p)
    if (posted instanceof Response) return posted
    if (
      posted.text === old.text &&
      JSON.stringify(posted.entities) === JSON.stringify(old.entities) &&
      JSON.stringify(posted.replyMarkup) === JSON.stringify(old.replyMarkup)
    )
      return fail(
        400,
        'Bad Request: message is not modified: specified new message content and reply markup are exactly the same as a current content and reply markup of the message',
      )
    this.edits.push(posted)
    this.#messages.set(key, posted)
    return ok({ ...this.#asMessage(posted), edit_date: Math.floor(Date.now() / 1000) })
  }

  #render(chatId: number, messageId: number, p: Record<string, unknown>): Posted | Response {
    const raw = p.text
    if (typeof raw !== 'string' || raw.trim() === '')
      return fail(400, 'Bad Request: message text is empty')
    const parseMode = typeof p.parse_mode === 'string' ? p.parse_mode : undefined
    let parsed: { text: string; entities: MessageEntity[] }
    if (parseMode === undefined) parsed = { text: raw, entities: [] }
    else if (parseMode === 'HTML') {
      try {
        parsed = parseHtml(raw)
      } catch (err) {
        return fail(400, `Bad Request: can't parse entities: ${(err as Error).message}`)
      }
    } else return fail(400, 'Bad Request: unsupported parse_mode')
    if (parsed.text.length > 4096) return fail(400, 'Bad Request: message is too long')
    const markup = readInlineKeyboard(p.reply_markup)
    if (typeof markup === 'string') return fail(400, `Bad Request: ${markup}`)
    return {
      chatId,
      messageId,
      raw,
      parseMode,
      ...parsed,
      replyMarkup: markup,
      atMs: performance.now(),
    }
  }

  #answerCallbackQuery(p: Record<string, unknown>): Response {
    const id = p.callback_query_id
    if (typeof id !== 'string' || this.#queries.get(id) !== false)
      return fail(
        400,
        'Bad Request: query is too old and response timeout expired or query ID is invalid',
      )
    const text = p.text
    if (text !== undefined && (typeof text !== 'string' || text.length > 200))
      return fail(400, 'Bad Request: MESSAGE_TOO_LONG')
    this.#queries.set(id, true)
    this.answers.push({
      queryId: id,
      text: text as string | undefined,
      showAlert: p.show_alert === true,
      atMs: performance.now(),
    })
    return ok(true)
  }

  #asMessage(posted: Posted): Message {
    return {
      message_id: posted.messageId,
      date: Math.floor(Date.now() / 1000),
      from: {
        id: this.me.id,
        is_bot: true,
        first_name: this.me.first_name,
        username: this.me.username,
      },
      chat:
        posted.chatId < 0
          ? { id: posted.chatId, type: 'group', title: `Chat ${posted.chatId}` }
          : { id: posted.chatId, type: 'private', first_name: `User${posted.chatId}` },
      text: posted.text,
      ...(posted.entities.length > 0 ? { entities: [...posted.entities] } : {}),
      ...(posted.replyMarkup ? { reply_markup: posted.replyMarkup } : {}),
    } as Message
  }
}

/**
 * `reply_markup` as Telegram reads it for an inline keyboard: absent, or rows of buttons, each
 * with a text and exactly one action (here `callback_data` of 1-64 bytes, or `url`). Returns the
 * keyboard, or Telegram's description of what is wrong.
 */
function readInlineKeyboard(markup: unknown): InlineKeyboardMarkup | undefined | string {
  if (markup === undefined) return undefined
  const value = typeof markup === 'string' ? safeJson(markup) : markup
  const rows = (value as { inline_keyboard?: unknown } | null)?.inline_keyboard
  if (!Array.isArray(rows) || !rows.every(Array.isArray))
    return "can't parse reply keyboard markup JSON object"
  for (const row of rows as unknown[][]) {
    for (const b of row as Record<string, unknown>[]) {
      if (typeof b?.text !== 'string' || b.text === '')
        return 'inline keyboard button text is empty'
      const data = b.callback_data
      if (data === undefined && typeof b.url !== 'string')
        return 'text buttons are unallowed in the inline keyboard'
      if (data !== undefined) {
        const bytes = typeof data === 'string' ? new TextEncoder().encode(data).length : 0
        if (bytes < 1 || bytes > 64) return 'BUTTON_DATA_INVALID'
      }
    }
  }
  return value as InlineKeyboardMarkup
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text)
  } catch {
    return undefined
  }
}

function ok(result: unknown): Response {
  return Response.json({ ok: true, result })
}

function fail(code: number, description?: string, retryAfter?: number): Response {
  const body: Record<string, unknown> = {
    ok: false,
    error_code: code,
    description:
      description ??
      (retryAfter !== undefined
        ? `Too Many Requests: retry after ${retryAfter}`
        : (API_ERRORS[code] ?? `Error ${code}`)),
  }
  if (retryAfter !== undefined) body.parameters = { retry_after: retryAfter }
  return Response.json(body, { status: code })
}

async function readPayload(req: Request, url: URL): Promise<Record<string, unknown>> {
  const type = req.headers.get('content-type') ?? ''
  if (type.includes('application/json')) {
    const text = await req.text()
    return text === '' ? {} : (JSON.parse(text) as Record<string, unknown>)
  }
  let entries: [string, unknown][] = [...url.searchParams]
  if (type.includes('application/x-www-form-urlencoded'))
    entries = [...new URLSearchParams(await req.text())]
  else if (type.includes('multipart/form-data')) entries = [...(await req.formData())]
  const payload: Record<string, unknown> = {}
  for (const [key, value] of entries) {
    if (typeof value !== 'string') continue
    if (NUMERIC_FIELDS.has(key) && /^-?\d+$/.test(value)) payload[key] = Number(value)
    else if (/^[[{]/.test(value) || value === 'true' || value === 'false')
      payload[key] = JSON.parse(value)
    else payload[key] = value
  }
  return payload
}

const TAGS: Record<string, MessageEntity['type']> = {
  b: 'bold',
  strong: 'bold',
  i: 'italic',
  em: 'italic',
  u: 'underline',
  ins: 'underline',
  s: 'strikethrough',
  strike: 'strikethrough',
  del: 'strikethrough',
  code: 'code',
  pre: 'pre',
  'tg-spoiler': 'spoiler',
  blockquote: 'blockquote',
}

const NAMED_ENTITIES: Record<string, string> = { lt: '<', gt: '>', amp: '&', quot: '"' }

/**
 * Telegram's HTML parse mode, strictly: the supported tags, the four named entities and numeric
 * ones; anything else (a bare `<`, an unknown tag or entity, a tag left open) is an error, as it
 * is for the real API. Offsets and lengths are in UTF-16 code units, as Telegram counts them.
 */
export function parseHtml(html: string): { text: string; entities: MessageEntity[] } {
  let text = ''
  const entities: MessageEntity[] = []
  const open: { tag: string; offset: number; url?: string }[] = []
  let i = 0
  while (i < html.length) {
    const ch = html[i]!
    if (ch === '<') {
      const end = html.indexOf('>', i)
      if (end === -1) throw new Error(`Unclosed start tag at byte offset ${i}`)
      const body = html.slice(i + 1, end).trim()
      if (body.startsWith('/')) {
        const name = body.slice(1).trim().toLowerCase()
        const top = open.pop()
        if (!top || top.tag !== name)
          throw new Error(
            `Unmatched end tag at byte offset ${i}, expected "</${top?.tag ?? ''}>", found "</${name}>"`,
          )
        const length = text.length - top.offset
        const type = top.tag === 'a' ? 'text_link' : TAGS[top.tag]!
        if (length > 0)
          entities.push(
            type === 'text_link'
              ? { type, offset: top.offset, length, url: top.url ?? '' }
              : ({ type, offset: top.offset, length } as MessageEntity),
          )
      } else {
        const name = /^[a-z-]+/i.exec(body)?.[0].toLowerCase() ?? ''
        if (name === 'a') {
          const href = /href\s*=\s*"([^"]*)"/.exec(body)?.[1]
          open.push({ tag: 'a', offset: text.length, url: href ?? '' })
        } else if (name in TAGS) open.push({ tag: name, offset: text.length })
        else throw new Error(`Unsupported start tag "${name}" at byte offset ${i}`)
      }
      i = end + 1
    } else if (ch === '&') {
      const m = /^&(#x[0-9a-f]+|#[0-9]+|[a-z]+);/i.exec(html.slice(i, i + 12))
      const name = m?.[1]
      if (!name) throw new Error(`Character entity expected at byte offset ${i}`)
      if (name.startsWith('#x')) text += String.fromCodePoint(parseInt(name.slice(2), 16))
      else if (name.startsWith('#')) text += String.fromCodePoint(Number(name.slice(1)))
      else if (name.toLowerCase() in NAMED_ENTITIES) text += NAMED_ENTITIES[name.toLowerCase()]
      else throw new Error(`Unsupported HTML entity "&${name};" at byte offset ${i}`)
      i += m![0].length
    } else {
      text += ch
      i++
    }
  }
  if (open.length > 0)
    throw new Error(`Can't find end tag corresponding to start tag "${open.at(-1)!.tag}"`)
  entities.sort((a, b) => a.offset - b.offset)
  return { text, entities }
}
