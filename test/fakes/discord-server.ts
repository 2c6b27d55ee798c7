/**
 * @module
 * A local Discord for discord.js: REST under `/api/v10/...` and the gateway WebSocket from one
 * `Bun.serve` on 127.0.0.1 (port 0). It says HELLO, answers IDENTIFY with READY and GUILD_CREATE,
 * ACKs heartbeats, injects interactions, records command registrations, interaction callbacks and
 * channel messages, and injects REST faults (403 with a JSON error code, 429 with the rate-limit
 * headers, 5xx). Message components (action rows of buttons) are checked as Discord checks them
 * and kept with the message; pressing a button is an INTERACTION_CREATE of type 3
 * (MESSAGE_COMPONENT) carrying the message; each interaction takes one callback (a second one, or
 * one for an interaction never sent, is refused as Discord refuses it).
 */
import type { Server, ServerWebSocket } from 'bun'

interface SocketData {
  id: number
  identified: boolean
  /** Identified while READY was withheld. */
  waiting: boolean
}
type Socket = ServerWebSocket<SocketData>

/** A JSON value as the fake records it. */
type Json = Record<string, unknown>

/** A REST failure to inject: a Discord JSON error, a 429 with rate-limit headers, or a 5xx. */
export interface Fault {
  status: number
  /** Discord's JSON error code (50013 Missing Permissions, 10003 Unknown Channel, ...). */
  code?: number
  message?: string
  /** For 429: seconds in `Retry-After`, `X-RateLimit-Reset-After` and the body's `retry_after`. */
  retryAfterS?: number
  /** For 429: a global rate limit (`X-RateLimit-Global`, scope `global`). */
  global?: boolean
}

export const FAULTS = {
  missingPermissions: { status: 403, code: 50013, message: 'Missing Permissions' },
  missingAccess: { status: 403, code: 50001, message: 'Missing Access' },
  unknownChannel: { status: 404, code: 10003, message: 'Unknown Channel' },
  rateLimited: (retryAfterS: number): Fault => ({ status: 429, retryAfterS }),
  serverError: { status: 500, message: '500: Internal Server Error' },
} satisfies Record<string, Fault | ((s: number) => Fault)>

/** The REST calls faults can be injected into. */
export type FaultRoute = 'send' | 'edit' | 'commands' | 'callback'

export interface RecordedRequest {
  method: string
  path: string
  body: unknown
  auth: string | null
}

export interface CommandRegistration {
  /** null for global (`PUT /applications/:app/commands`). */
  guildId: string | null
  commands: Json[]
}

export interface InteractionCallback {
  interactionId: string
  token: string
  /** 4 reply, 5 deferred reply, 6 deferred update, 7 update message, 8 autocomplete result. */
  type: number
  data: Json | undefined
}

/** A button as the fake keeps it from a message's components. */
export interface MessageButton {
  label: string | undefined
  customId: string | undefined
  style: number
}

export interface ChannelMessage {
  id: string
  channelId: string
  /** The body of the POST that created it. */
  body: Json
  /** The body of every PATCH, in order. */
  edits: Json[]
}

/** An option of an injected interaction, as Discord sends it. */
export interface InteractionOption {
  name: string
  /** 3 string, 4 integer, 10 number. */
  type: number
  value: string | number
  focused?: boolean
}

export interface InteractionInput {
  channelId?: string
  userId?: string
  /** The bot's permissions in the channel (a bit set); defaults to everything the bot needs. */
  appPermissions?: bigint
  /** Channel type (0 text, 11 public thread). */
  channelType?: number
}

export interface DiscordFakeOptions {
  token?: string
  /** Gateway heartbeat interval told in HELLO (short, so heartbeats happen during a test). */
  heartbeatIntervalMs?: number
  /** Text channels of the one guild. */
  channelIds?: string[]
  /** Accept IDENTIFY but send no READY until `releaseReady()` (a gateway that hangs). */
  withholdReady?: boolean
}

/** Permission bits the bot needs and a few usual ones. */
export const PERMISSIONS = {
  ViewChannel: 1n << 10n,
  SendMessages: 1n << 11n,
  EmbedLinks: 1n << 14n,
  ReadMessageHistory: 1n << 16n,
  UseApplicationCommands: 1n << 31n,
  SendMessagesInThreads: 1n << 38n,
} as const
/** The rate-limit bucket of channel messages (one per route; discord.js adds the channel id). */
const BUCKET = 'fake-channel-messages-bucket'
const BOT_PERMISSIONS = Object.values(PERMISSIONS).reduce((a, b) => a | b, 0n)

export class DiscordServer {
  readonly token: string
  readonly appId = '1290000000000000001'
  readonly botId = '1290000000000000001'
  readonly guildId = '1290000000000000100'
  readonly roleId = '1290000000000000101'
  readonly channelIds: readonly string[]
  readonly server: Server<SocketData>
  /** Open gateway sockets. */
  readonly sockets = new Set<Socket>()
  /** Every gateway payload clients sent (op, d), in order. */
  readonly received: { op: number; d: unknown }[] = []
  /** Close codes of gateway sockets that closed. */
  readonly closes: number[] = []
  readonly requests: RecordedRequest[] = []
  readonly registrations: CommandRegistration[] = []
  readonly callbacks: InteractionCallback[] = []
  /** Edits of the original interaction response (`editReply` after a deferred reply). */
  readonly replyEdits: { token: string; body: Json }[] = []
  readonly messages: ChannelMessage[] = []
  identifies = 0
  heartbeats = 0
  /** Gateway connections opened so far. */
  connections = 0
  readonly #faults: { route: FaultRoute; channelId?: string; fault: Fault; times: number }[] = []
  /** Interactions sent to the bot: id → its token, and whether it has had its callback. */
  readonly #interactions = new Map<string, { token: string; acknowledged: boolean }>()
  readonly #heartbeatIntervalMs: number
  #withholdReady: boolean
  #kickCode: number | undefined
  #nextSocketId = 0
  #seq = 0
  #snowflake = 1_300_000_000_000_000_000n

  constructor(options: DiscordFakeOptions = {}) {
    this.token = options.token ?? 'fake-bot-token'
    this.#heartbeatIntervalMs = options.heartbeatIntervalMs ?? 500
    this.#withholdReady = options.withholdReady ?? false
    this.channelIds = options.channelIds ?? ['1290000000000000200', '1290000000000000201']
    this.server = Bun.serve<SocketData>({
      hostname: '127.0.0.1',
      port: 0,
      fetch: async (req, server) => {
        const url = new URL(req.url)
        if (url.pathname === '/gateway') {
          const data = { id: ++this.#nextSocketId, identified: false, waiting: false }
          if (server.upgrade(req, { data })) return undefined
          return new Response('upgrade failed', { status: 400 })
        }
        return this.#rest(req, url)
      },
      websocket: {
        open: (ws) => {
          this.connections++
          this.sockets.add(ws)
          if (this.#kickCode !== undefined) {
            ws.close(this.#kickCode, 'Authentication failed.')
            return
          }
          ws.send(JSON.stringify({ op: 10, d: { heartbeat_interval: this.#heartbeatIntervalMs } }))
        },
        message: (ws, message) => this.#onGateway(ws, String(message)),
        close: (ws, code) => {
          this.sockets.delete(ws)
          this.closes.push(code)
        },
      },
    })
  }

  get port(): number {
    return this.server.port!
  }
  /** The REST base for discord.js (`rest.api`); requests go to `${apiUrl}/v10/...`. */
  get apiUrl(): string {
    return `http://127.0.0.1:${this.port}/api`
  }
  get gatewayUrl(): string {
    return `ws://127.0.0.1:${this.port}/gateway`
  }
  /** Sockets that have identified (and got READY). */
  get readySockets(): number {
    return [...this.sockets].filter((s) => s.data.identified).length
  }

  /** Makes the next `times` calls of `route` (to `channelId`, if given) fail with `fault`. */
  failNext(route: FaultRoute, fault: Fault, options: { channelId?: string; times?: number } = {}) {
    this.#faults.push({ route, channelId: options.channelId, fault, times: options.times ?? 1 })
  }

  /** Injects a slash command (INTERACTION_CREATE type 2); returns its id to find the callback. */
  chatInput(name: string, options: InteractionOption[] = [], input: InteractionInput = {}): string {
    return this.#interaction(2, { name, type: 1, options }, input)
  }

  /** Injects an autocomplete request (type 4); `focused` marks the option being typed. */
  autocomplete(name: string, options: InteractionOption[], input: InteractionInput = {}): string {
    return this.#interaction(4, { name, type: 1, options }, input)
  }

  /** The buttons of a message as they are now (after its edits), in order. */
  buttonsOf(message: ChannelMessage): MessageButton[] {
    const rows = (currentBody(message).components ?? []) as { components?: Json[] }[]
    return rows.flatMap((row) =>
      (row.components ?? []).map((b) => ({
        label: b.label as string | undefined,
        customId: b.custom_id as string | undefined,
        style: Number(b.style),
      })),
    )
  }

  /**
   * A user presses the button labelled (or with the `custom_id`) `button` on one of the bot's
   * messages, as its current components have it (throws when there is none): INTERACTION_CREATE
   * type 3 with the message. Returns the interaction's id.
   */
  pressButton(messageId: string, button: string, input: InteractionInput = {}): string {
    const message = this.messages.find((m) => m.id === messageId)
    if (!message) throw new Error(`fake Discord: no message ${messageId}`)
    const found = this.buttonsOf(message).find((b) => b.label === button || b.customId === button)
    if (!found?.customId)
      throw new Error(`fake Discord: no button ${button} on message ${messageId}`)
    return this.componentInteraction(message, found.customId, input)
  }

  /**
   * A MESSAGE_COMPONENT interaction with any `custom_id` on one of the bot's messages, as a
   * client still showing an older version of it sends (a button the bot no longer makes).
   */
  componentInteraction(
    message: ChannelMessage,
    customId: string,
    input: InteractionInput = {},
  ): string {
    return this.#interaction(
      3,
      { custom_id: customId, component_type: 2 },
      { channelId: message.channelId, ...input },
      this.#message(message.id, message.channelId, currentBody(message)),
    )
  }

  /** The callback the bot sent for interaction `id`, if any. */
  callbackFor(id: string): InteractionCallback | undefined {
    return this.callbacks.find((c) => c.interactionId === id)
  }

  /** Stops withholding READY: sockets that identified meanwhile get READY and GUILD_CREATE now. */
  releaseReady(): void {
    this.#withholdReady = false
    for (const ws of this.sockets) if (ws.data.waiting) this.#sendReady(ws)
  }

  /**
   * Closes every gateway socket with `code`, now and on every later connection. 4004
   * (authentication failed) is fatal: discord.js stops reconnecting.
   */
  kick(code = 4004): void {
    this.#kickCode = code
    for (const ws of this.sockets) ws.close(code, 'Authentication failed.')
  }

  stop(): void {
    this.server.stop(true)
  }

  #nextId(): string {
    return String(++this.#snowflake)
  }

  #dispatch(ws: Socket, t: string, d: unknown): void {
    ws.send(JSON.stringify({ op: 0, t, s: ++this.#seq, d }))
  }

  #onGateway(ws: Socket, text: string): void {
    const payload = JSON.parse(text) as { op: number; d: unknown }
    this.received.push(payload)
    switch (payload.op) {
      case 1:
        this.heartbeats++
        ws.send(JSON.stringify({ op: 11 }))
        return
      case 2: {
        const d = payload.d as { token?: string }
        if (d.token !== this.token) {
          ws.close(4004, 'Authentication failed.')
          return
        }
        this.identifies++
        if (this.#withholdReady) ws.data.waiting = true
        else this.#sendReady(ws)
        return
      }
      default:
        return
    }
  }

  #sendReady(ws: Socket): void {
    ws.data.identified = true
    ws.data.waiting = false
    this.#dispatch(ws, 'READY', this.#ready())
    this.#dispatch(ws, 'GUILD_CREATE', this.#guild())
  }

  #botUser(): Json {
    return {
      id: this.botId,
      username: 'arbwatch',
      discriminator: '0',
      global_name: null,
      avatar: null,
      bot: true,
      flags: 0,
      verified: true,
      mfa_enabled: false,
    }
  }

  #ready(): Json {
    return {
      v: 10,
      user: this.#botUser(),
      guilds: [{ id: this.guildId, unavailable: true }],
      session_id: `session-${this.identifies}`,
      resume_gateway_url: this.gatewayUrl,
      shard: [0, 1],
      application: { id: this.appId, flags: 0 },
      private_channels: [],
      relationships: [],
      presences: [],
      geo_ordered_rtc_regions: [],
      guild_join_requests: [],
    }
  }

  #channel(id: string, type = 0): Json {
    return {
      id,
      type,
      guild_id: this.guildId,
      name: `alerts-${id.slice(-3)}`,
      position: this.channelIds.indexOf(id),
      permission_overwrites: [],
      parent_id: null,
      nsfw: false,
      topic: null,
      last_message_id: null,
      rate_limit_per_user: 0,
    }
  }

  #guild(): Json {
    return {
      id: this.guildId,
      name: 'Arbitrage desk',
      icon: null,
      splash: null,
      discovery_splash: null,
      banner: null,
      description: null,
      owner_id: '1290000000000000900',
      afk_channel_id: null,
      afk_timeout: 300,
      verification_level: 0,
      default_message_notifications: 0,
      explicit_content_filter: 0,
      mfa_level: 0,
      nsfw_level: 0,
      premium_tier: 0,
      premium_subscription_count: 0,
      premium_progress_bar_enabled: false,
      preferred_locale: 'en-US',
      system_channel_id: null,
      system_channel_flags: 0,
      rules_channel_id: null,
      public_updates_channel_id: null,
      safety_alerts_channel_id: null,
      application_id: null,
      vanity_url_code: null,
      features: [],
      large: false,
      unavailable: false,
      lazy: true,
      member_count: 2,
      joined_at: '2026-01-01T00:00:00.000000+00:00',
      max_members: 500000,
      max_video_channel_users: 25,
      roles: [
        this.#role(this.guildId, '@everyone', 0, (1n << 10n) | (1n << 11n) | (1n << 16n)),
        {
          ...this.#role(this.roleId, 'arbwatch', 1, BOT_PERMISSIONS),
          managed: true,
          tags: { bot_id: this.botId },
        },
      ],
      channels: this.channelIds.map((id) => this.#channel(id)),
      members: [this.#member(this.#botUser(), [this.roleId], '2026-01-01T00:00:00.000000+00:00')],
      threads: [],
      presences: [],
      voice_states: [],
      emojis: [],
      stickers: [],
      stage_instances: [],
      guild_scheduled_events: [],
      soundboard_sounds: [],
    }
  }

  #member(user: Json, roles: string[], joinedAt: string): Json {
    return {
      user,
      roles,
      joined_at: joinedAt,
      deaf: false,
      mute: false,
      flags: 0,
      nick: null,
      avatar: null,
      premium_since: null,
      pending: false,
      communication_disabled_until: null,
    }
  }

  #role(id: string, name: string, position: number, permissions: bigint): Json {
    return {
      id,
      name,
      color: 0,
      colors: { primary_color: 0, secondary_color: null, tertiary_color: null },
      hoist: false,
      icon: null,
      unicode_emoji: null,
      position,
      permissions: String(permissions),
      managed: false,
      mentionable: false,
      flags: 0,
    }
  }

  #interaction(type: number, data: Json, input: InteractionInput, message?: Json): string {
    const id = this.#nextId()
    const channelId = input.channelId ?? this.channelIds[0]!
    const userId = input.userId ?? '1290000000000000500'
    const token = `interaction-token-${id}`
    this.#interactions.set(id, { token, acknowledged: false })
    const payload = {
      id,
      application_id: this.appId,
      type,
      token,
      version: 1,
      // A command's data names it; a component's carries its custom_id and type.
      data: type === 3 ? data : { id: `cmd-${String(data.name)}`, guild_id: this.guildId, ...data },
      ...(message === undefined ? {} : { message }),
      guild_id: this.guildId,
      channel: this.#channel(channelId, input.channelType ?? 0),
      channel_id: channelId,
      member: {
        ...this.#member(
          {
            id: userId,
            username: 'trader',
            discriminator: '0',
            global_name: 'Trader',
            avatar: null,
          },
          [],
          '2026-01-02T00:00:00.000000+00:00',
        ),
        permissions: String((1n << 10n) | (1n << 11n) | (1n << 31n)),
      },
      app_permissions: String(input.appPermissions ?? BOT_PERMISSIONS),
      locale: 'en-US',
      guild_locale: 'en-US',
      entitlements: [],
      authorizing_integration_owners: { '0': this.guildId },
      context: 0,
      attachment_size_limit: 10_485_760,
    }
    for (const ws of this.sockets)
      if (ws.data.identified) this.#dispatch(ws, 'INTERACTION_CREATE', payload)
    return id
  }

  #takeFault(route: FaultRoute, channelId?: string): Fault | undefined {
    const i = this.#faults.findIndex(
      (f) => f.route === route && (f.channelId === undefined || f.channelId === channelId),
    )
    if (i < 0) return undefined
    const entry = this.#faults[i]!
    if (--entry.times <= 0) this.#faults.splice(i, 1)
    return entry.fault
  }

  #faultResponse(fault: Fault): Response {
    if (fault.status === 429) {
      const retryAfterS = fault.retryAfterS ?? 1
      const headers: Record<string, string> = {
        'content-type': 'application/json',
        'retry-after': String(retryAfterS),
        'x-ratelimit-limit': '5',
        'x-ratelimit-remaining': '0',
        'x-ratelimit-reset': String(Date.now() / 1000 + retryAfterS),
        'x-ratelimit-reset-after': String(retryAfterS),
        'x-ratelimit-bucket': BUCKET,
        'x-ratelimit-scope': fault.global ? 'global' : 'user',
      }
      if (fault.global) headers['x-ratelimit-global'] = 'true'
      const body = {
        message: 'You are being rate limited.',
        retry_after: retryAfterS,
        global: fault.global ?? false,
      }
      return new Response(JSON.stringify(body), { status: 429, headers })
    }
    if (fault.code === undefined)
      return new Response(fault.message ?? 'error', { status: fault.status })
    return Response.json(
      { message: fault.message ?? `${fault.status}`, code: fault.code },
      { status: fault.status },
    )
  }

  async #rest(req: Request, url: URL): Promise<Response> {
    const text = req.method === 'GET' ? '' : await req.text()
    const body: unknown = text ? JSON.parse(text) : undefined
    const path = url.pathname
    const auth = req.headers.get('authorization')
    this.requests.push({ method: req.method, path, body, auth })
    const parts = path.split('/').filter(Boolean)
    if (parts[0] !== 'api' || parts[1] !== 'v10') return notFound()
    const [resource, a, b, c, d] = parts.slice(2)
    const authorized = auth === `Bot ${this.token}`
    const unauthorized = () =>
      Response.json({ message: '401: Unauthorized', code: 0 }, { status: 401 })

    // POST /interactions/:id/:token/callback (no bot token: the interaction token is the auth)
    if (resource === 'interactions' && c === 'callback' && req.method === 'POST') {
      const fault = this.#takeFault('callback')
      if (fault) return this.#faultResponse(fault)
      const known = this.#interactions.get(a!)
      if (known === undefined || known.token !== b)
        return Response.json({ message: 'Unknown interaction', code: 10062 }, { status: 404 })
      if (known.acknowledged)
        return Response.json(
          { message: 'Interaction has already been acknowledged.', code: 40060 },
          { status: 400 },
        )
      known.acknowledged = true
      const cb = body as { type: number; data?: Json }
      this.callbacks.push({ interactionId: a!, token: b!, type: cb.type, data: cb.data })
      return new Response(null, { status: 204 })
    }
    // PATCH /webhooks/:app/:token/messages/@original (editReply)
    if (resource === 'webhooks' && c === 'messages' && req.method === 'PATCH') {
      this.replyEdits.push({ token: b!, body: body as Json })
      return Response.json(this.#message(this.#nextId(), '', body as Json))
    }
    if (!authorized) return unauthorized()

    if (resource === 'gateway' && a === 'bot' && req.method === 'GET') {
      return Response.json({
        url: this.gatewayUrl,
        shards: 1,
        session_start_limit: {
          total: 1000,
          remaining: 999,
          reset_after: 14_400_000,
          max_concurrency: 1,
        },
      })
    }
    // PUT /applications/:app/commands, PUT /applications/:app/guilds/:guild/commands
    if (resource === 'applications' && req.method === 'PUT' && a === this.appId) {
      const guildId =
        b === 'guilds' && d === 'commands' ? c! : b === 'commands' && !c ? null : undefined
      if (guildId === undefined) return notFound()
      const fault = this.#takeFault('commands')
      if (fault) return this.#faultResponse(fault)
      const commands = body as Json[]
      this.registrations.push({ guildId, commands })
      return Response.json(
        commands.map((cmd) => ({
          id: this.#nextId(),
          application_id: this.appId,
          version: this.#nextId(),
          type: 1,
          default_member_permissions: null,
          nsfw: false,
          ...(guildId ? { guild_id: guildId } : {}),
          ...cmd,
        })),
      )
    }
    // POST /channels/:id/messages, PATCH /channels/:id/messages/:mid
    if (resource === 'channels' && b === 'messages' && a) {
      const route: FaultRoute | undefined =
        req.method === 'POST' && !c
          ? 'send'
          : req.method === 'PATCH' && c && !d
            ? 'edit'
            : undefined
      if (!route) return notFound()
      const fault = this.#takeFault(route, a)
      if (fault) return this.#faultResponse(fault)
      if (!this.channelIds.includes(a))
        return Response.json({ message: 'Unknown Channel', code: 10003 }, { status: 404 })
      const invalid = componentErrors((body as Json | undefined)?.components)
      if (invalid !== undefined)
        return Response.json(
          { message: 'Invalid Form Body', code: 50035, errors: { components: invalid } },
          { status: 400 },
        )
      // Discord sends the bucket on every response; discord.js keys its rate-limit state by it.
      const headers = {
        'x-ratelimit-bucket': BUCKET,
        'x-ratelimit-limit': '5',
        'x-ratelimit-remaining': '4',
        'x-ratelimit-reset': String(Date.now() / 1000 + 5),
        'x-ratelimit-reset-after': '5',
      }
      if (route === 'send') {
        const message: ChannelMessage = {
          id: this.#nextId(),
          channelId: a,
          body: body as Json,
          edits: [],
        }
        this.messages.push(message)
        return Response.json(this.#message(message.id, a, message.body), { headers })
      }
      const message = this.messages.find((m) => m.id === c && m.channelId === a)
      if (!message)
        return Response.json({ message: 'Unknown Message', code: 10008 }, { status: 404 })
      message.edits.push(body as Json)
      return Response.json(this.#message(message.id, a, currentBody(message)), { headers })
    }
    return notFound()
  }

  #message(id: string, channelId: string, body: Json): Json {
    return {
      id,
      channel_id: channelId,
      type: 0,
      author: this.#botUser(),
      content: body.content ?? '',
      embeds: body.embeds ?? [],
      attachments: [],
      mentions: [],
      mention_roles: [],
      mention_everyone: false,
      pinned: false,
      tts: false,
      timestamp: new Date().toISOString(),
      edited_timestamp: null,
      flags: 0,
      components: body.components ?? [],
    }
  }
}

/** A message as it is now: the body that created it with each edit's fields laid over it. */
function currentBody(message: ChannelMessage): Json {
  return message.edits.reduce<Json>((body, edit) => ({ ...body, ...edit }), message.body)
}

/**
 * What Discord would refuse in a message's `components`, or undefined when they are valid: at
 * most 5 action rows (type 1), each with 1-5 buttons (type 2); a button has a label of at most 80
 * characters, a style 1-5, and, unless it is a link (style 5, with a `url`), a `custom_id` of
 * 1-100 characters unique in the message.
 */
function componentErrors(components: unknown): Json | undefined {
  if (components === undefined) return undefined
  const fail = (path: string, message: string): Json => ({
    [path]: { _errors: [{ code: 'BASE_TYPE_INVALID', message }] },
  })
  if (!Array.isArray(components) || components.length > 5)
    return fail('_', 'Must be an array of at most 5 action rows')
  const ids = new Set<string>()
  for (const [i, row] of (components as Json[]).entries()) {
    const buttons = row?.components
    if (row?.type !== 1 || !Array.isArray(buttons) || buttons.length < 1 || buttons.length > 5)
      return fail(`${i}`, 'An action row holds 1 to 5 components')
    for (const [j, b] of (buttons as Json[]).entries()) {
      const at = `${i}.components.${j}`
      if (b?.type !== 2) return fail(at, 'Only buttons are faked')
      const style = Number(b.style)
      if (!(style >= 1 && style <= 5)) return fail(`${at}.style`, 'Invalid button style')
      if (b.label !== undefined && (typeof b.label !== 'string' || b.label.length > 80))
        return fail(`${at}.label`, 'Must be 80 or fewer in length.')
      if (style === 5) {
        if (typeof b.url !== 'string') return fail(`${at}.url`, 'A link button needs a url')
        continue
      }
      const id = b.custom_id
      if (typeof id !== 'string' || id.length < 1 || id.length > 100)
        return fail(`${at}.custom_id`, 'Must be between 1 and 100 in length.')
      if (ids.has(id)) return fail(`${at}.custom_id`, 'Component custom id cannot be duplicated')
      ids.add(id)
    }
  }
  return undefined
}

function notFound(): Response {
  return Response.json({ message: '404: Not Found', code: 0 }, { status: 404 })
}
