/**
 * @module
 * The process configuration: read once from the environment, validated, frozen, passed down.
 * This is the only module that reads `process.env` (main.ts hands it in).
 */
import { z } from 'zod'
import { normalizeAsset, normalizePair, SymbolError } from './symbols.ts'
import type { Pair, VenueId } from './types.ts'
import type { Credentials } from './transfers/types.ts'
import { ASSET_ALIASES, DEFAULT_VENUE_IDS, VENUE_IDS, VENUES } from './venues/index.ts'

export interface VenueEndpoints {
  readonly wsUrl: string
  readonly restUrl: string
}

export interface Config {
  readonly exchanges: readonly VenueId[]
  /** `auto` (every market common to MIN_VENUES venues), or the markets listed in SYMBOLS. */
  readonly universe: 'auto' | 'list'
  /** The markets listed in SYMBOLS (empty with `auto`). */
  readonly symbols: readonly Pair[]
  /** `auto`: a market is watched when this many enabled venues trade it. */
  readonly minVenues: number
  /** Quote assets markets may have (`auto`), and between which cross-quote routes convert. */
  readonly quotes: readonly string[]
  /** Assets (`DOGE`) and markets (`PEPE/USDT`) never watched. */
  readonly exclude: readonly string[]
  /** `auto`: keep at most this many markets, the most traded first (undefined: all). */
  readonly maxMarkets: number | undefined
  /** How often the venues' instrument lists are read again, seconds. */
  readonly universeRefreshS: number
  readonly port: number
  readonly host: string
  readonly logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent'
  readonly endpoints: Readonly<Record<VenueId, VenueEndpoints>>
  /**
   * Read-only API keys for the venues whose deposit and withdrawal status is behind a signed
   * endpoint (`<VENUE>_API_KEY`, `<VENUE>_API_SECRET`, `<VENUE>_API_PASSPHRASE`). Never logged.
   */
  /** Transfer facts older than this are not relied on: their routes are `unknown`. */
  readonly transferMaxAgeMs: number
  readonly credentials: Readonly<Partial<Record<VenueId, Credentials>>>
  /** Trade size net spreads are computed at, in the quote currency. */
  readonly tradeSize: number
  /** Taker fee per venue, basis points. */
  readonly feeBps: Readonly<Record<VenueId, number>>
  /** An opportunity opens at this net spread (bps) ... */
  readonly minSpreadBps: number
  /** ... and closes below `minSpreadBps - hysteresisBps`. */
  readonly hysteresisBps: number
  /** Spreads above this (bps) are anomalies: recorded, never alerted. */
  readonly maxSpreadBps: number
  /** Quotes older than this never produce a signal. */
  readonly maxQuoteAgeMs: number
  /** Triangular cycles, each as three assets starting from the one the profit is counted in. */
  readonly triangles: readonly (readonly [string, string, string])[]
  readonly databaseUrl: string
  readonly databaseAuthToken: string | undefined
  readonly telegram:
    | {
        readonly token: string
        readonly apiRoot: string | undefined
        readonly webhookUrl: string | undefined
      }
    | undefined
  readonly discord:
    | {
        readonly token: string
        readonly apiUrl: string | undefined
        readonly guildId: string | undefined
      }
    | undefined
  /** Chats allowed to use the bots (`telegram:<id>`, `discord:<channel>` or bare ids); undefined: all. */
  readonly allowedChats: ReadonlySet<string> | undefined
  /** Seconds between two alerts to one chat for the same market and venue pair. */
  readonly alertCooldownS: number
  /** When set, the HTTP API (all but /healthz and /readyz) needs it as a bearer token. */
  readonly apiToken: string | undefined
  /** Where users reach the dashboard (`https://<app>.fly.dev`): alerts link to the opportunity there. */
  readonly publicUrl: string | undefined
  /**
   * `all`: one process does everything (the default). `ingest`: keeps the books of `exchanges` and
   * publishes them to the bus. `core`: rebuilds every venue's books from the bus and does the rest.
   */
  readonly role: 'all' | 'ingest' | 'core'
  /** The Redis Streams bus (`BUS_URL`), required by `ingest` and `core`. */
  readonly bus: BusConfig | undefined
  /**
   * `ingest`: the venues whose instrument lists decide the universe (`UNIVERSE_EXCHANGES`), so
   * every shard picks the markets one process would; default `exchanges`.
   */
  readonly universeExchanges: readonly VenueId[]
}

export interface BusConfig {
  readonly url: string
  /** Stream names start with it (`<prefix>:books:<venue>`, `<prefix>:opportunities`). */
  readonly prefix: string
  /** Approximate cap of every stream, entries (`MAXLEN ~`). */
  readonly maxLen: number
  /** Messages a publisher holds while Redis is away; past it the oldest are dropped and counted. */
  readonly maxBuffered: number
  /** How often an ingest shard publishes each live book whole, ms. */
  readonly snapshotMs: number
  /** The core's consumer group on the book streams. */
  readonly group: string
  /** This process's consumer name in the group. */
  readonly consumer: string
}

/** The venues' public production endpoints (from the registry); `<VENUE>_WS_URL` / `<VENUE>_REST_URL` override them. */
export const DEFAULT_ENDPOINTS: Readonly<Record<VenueId, VenueEndpoints>> = Object.fromEntries(
  VENUES.map((v) => [v.id, v.endpoints]),
)

export const DEFAULT_SYMBOLS = 'BTC/USDT,ETH/USDT,SOL/USDT'
export const DEFAULT_QUOTES = 'USDT,USD,USDC'
export const DEFAULT_TRIANGLES = 'USDT-BTC-ETH'
export const DEFAULT_DATABASE_URL = 'file:data/arbwatch.db'

/** Raised when the environment is invalid; the message names every bad variable. */
export class ConfigError extends Error {
  override name = 'ConfigError'
  constructor(readonly problems: readonly string[]) {
    super(`invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`)
  }
}

const list = (text: string) =>
  text
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0)

/** An API key, secret or passphrase: printable, no spaces (a pasted newline is a mistake). */
const secretText = z.string().regex(/^\S{1,512}$/, 'expected the key as issued, without spaces')

const venueList = z.string().transform((text, ctx) => {
  // `all`: every registered venue, the opt-in ones included.
  if (text.trim().toLowerCase() === 'all') return [...VENUE_IDS] as VenueId[]
  const items = list(text.toLowerCase())
  const bad = items.filter((v) => !VENUE_IDS.includes(v))
  if (bad.length > 0 || items.length === 0) {
    ctx.addIssue({
      code: 'custom',
      message: `expected "all" or a comma-separated list of ${VENUE_IDS.join(', ')}${bad.length ? ` (unknown: ${bad.join(', ')})` : ''}`,
    })
    return z.NEVER
  }
  return [...new Set(items)] as VenueId[]
})

const pairList = z.string().transform((text, ctx) => {
  if (text.trim().toLowerCase() === 'auto') return 'auto' as const
  const items = list(text)
  if (items.length === 0) {
    ctx.addIssue({
      code: 'custom',
      message: 'expected "auto" or a comma-separated list of markets like BTC/USDT',
    })
    return z.NEVER
  }
  const pairs: Pair[] = []
  for (const item of items) {
    try {
      pairs.push(normalizePair(item, ASSET_ALIASES))
    } catch (err) {
      if (!(err instanceof SymbolError)) throw err
      ctx.addIssue({ code: 'custom', message: err.message })
    }
  }
  return [...new Set(pairs)]
})

const assetList = z.string().transform((text, ctx) => {
  const items = list(text).map((a) => normalizeAsset(a, ASSET_ALIASES))
  const bad = items.filter((a) => !/^[A-Z0-9]{2,12}$/.test(a))
  if (items.length === 0 || bad.length > 0) {
    ctx.addIssue({
      code: 'custom',
      message: `expected a comma-separated list of assets like USDT,USD,USDC${bad.length ? ` (bad: ${bad.join(', ')})` : ''}`,
    })
    return z.NEVER
  }
  return [...new Set(items)]
})

const excludeList = z.string().transform((text, ctx) => {
  const out: string[] = []
  for (const item of list(text)) {
    if (/^[A-Za-z0-9]{2,12}$/.test(item)) out.push(normalizeAsset(item, ASSET_ALIASES))
    else {
      try {
        out.push(normalizePair(item, ASSET_ALIASES))
      } catch (err) {
        if (!(err instanceof SymbolError)) throw err
        ctx.addIssue({
          code: 'custom',
          message: `"${item}" is neither an asset (DOGE) nor a market (PEPE/USDT)`,
        })
      }
    }
  }
  return [...new Set(out)]
})

const triangleList = z.string().transform((text, ctx) => {
  if (text.trim().toLowerCase() === 'off') return []
  const out: [string, string, string][] = []
  for (const item of list(text)) {
    const assets = item.split(/[-/>]/).map((a) => normalizeAsset(a, ASSET_ALIASES))
    if (
      assets.length !== 3 ||
      new Set(assets).size !== 3 ||
      assets.some((a) => !/^[A-Z0-9]{2,12}$/.test(a))
    ) {
      ctx.addIssue({
        code: 'custom',
        message: `"${item}" is not a cycle of three different assets like USDT-BTC-ETH (or "off")`,
      })
      continue
    }
    out.push(assets as [string, string, string])
  }
  return out
})

const pct = (name: string, def: number, max: number) =>
  z.coerce
    .number({ message: `expected a percentage between 0 and ${max}` })
    .min(0, `expected a percentage between 0 and ${max}`)
    .max(max, `expected a percentage between 0 and ${max}`)
    .default(def)
    .describe(name)

function httpUrlLazy() {
  return z
    .string()
    .refine(
      (s) => /^https?:\/\/[^\s]+$/.test(s) && URL.canParse(s),
      'expected an http:// or https:// URL',
    )
    .optional()
}

const wsUrl = z
  .string()
  .refine((s) => /^wss?:\/\/[^\s]+$/.test(s) && URL.canParse(s), 'expected a ws:// or wss:// URL')
const httpUrl = z
  .string()
  .refine(
    (s) => /^https?:\/\/[^\s]+$/.test(s) && URL.canParse(s),
    'expected an http:// or https:// URL',
  )

const wholeIn = (min: number, max: number, what: string, def: number) =>
  z.coerce
    .number({ message: `expected ${what} (${min}-${max})` })
    .int(`expected whole ${what} (${min}-${max})`)
    .min(min, `expected ${what} (${min}-${max})`)
    .max(max, `expected ${what} (${min}-${max})`)
    .default(def)

const envSchema = z.object({
  EXCHANGES: venueList.prefault(DEFAULT_VENUE_IDS.join(',')),
  ROLE: z
    .enum(['all', 'ingest', 'core'], { message: 'expected all, ingest or core' })
    .default('all'),
  BUS_URL: z
    .string()
    .refine(
      (s) => /^rediss?:\/\/[^\s]+$/.test(s) && URL.canParse(s),
      'expected a redis:// or rediss:// URL',
    )
    .optional(),
  BUS_PREFIX: z
    .string()
    .regex(/^[A-Za-z0-9_.-]{1,40}$/, 'expected letters, digits, _ . or - (at most 40)')
    .default('arbwatch'),
  BUS_MAXLEN: wholeIn(1_000, 10_000_000, 'entries', 100_000),
  BUS_BUFFER: wholeIn(1_000, 10_000_000, 'messages', 200_000),
  BUS_SNAPSHOT_S: wholeIn(1, 3_600, 'seconds', 30),
  BUS_GROUP: z
    .string()
    .regex(/^[A-Za-z0-9_.-]{1,40}$/, 'expected letters, digits, _ . or - (at most 40)')
    .default('core'),
  UNIVERSE_EXCHANGES: venueList.optional(),
  SYMBOLS: pairList.prefault(DEFAULT_SYMBOLS),
  MIN_VENUES: z.coerce
    .number({ message: 'expected a whole number of venues (1-12)' })
    .int('expected a whole number of venues (1-12)')
    .min(1, 'expected a whole number of venues (1-12)')
    .max(12, 'expected a whole number of venues (1-12)')
    .default(2),
  QUOTES: assetList.prefault(DEFAULT_QUOTES),
  EXCLUDE: excludeList.prefault(''),
  MAX_MARKETS: z.coerce
    .number({ message: 'expected a whole number of markets (1-100000)' })
    .int('expected a whole number of markets (1-100000)')
    .min(1, 'expected a whole number of markets (1-100000)')
    .max(100_000, 'expected a whole number of markets (1-100000)')
    .optional(),
  UNIVERSE_REFRESH_S: z.coerce
    .number({ message: 'expected seconds (30-86400)' })
    .int('expected whole seconds (30-86400)')
    .min(30, 'expected seconds (30-86400)')
    .max(86_400, 'expected seconds (30-86400)')
    .default(600),
  PORT: z.coerce
    .number({ message: 'expected a TCP port number (0-65535)' })
    .int('expected a whole TCP port number')
    .min(0, 'expected a TCP port number (0-65535)')
    .max(65535, 'expected a TCP port number (0-65535)')
    .default(8080),
  HOST: z.string().min(1).default('0.0.0.0'),
  LOG_LEVEL: z
    .enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], {
      message: 'expected one of fatal, error, warn, info, debug, trace, silent',
    })
    .default('info'),
  TRADE_SIZE: z.coerce
    .number({ message: 'expected a positive amount of the quote currency, e.g. 1000' })
    .positive('expected a positive amount of the quote currency, e.g. 1000')
    .max(1e9, 'expected an amount below 1e9')
    .default(1000),
  MIN_SPREAD_PCT: pct('MIN_SPREAD_PCT', 0.1, 100),
  HYSTERESIS_PCT: pct('HYSTERESIS_PCT', 0.05, 100),
  MAX_SPREAD_PCT: pct('MAX_SPREAD_PCT', 5, 1000),
  MAX_QUOTE_AGE_MS: z.coerce
    .number({ message: 'expected milliseconds (100-600000)' })
    .int('expected whole milliseconds (100-600000)')
    .min(100, 'expected milliseconds (100-600000)')
    .max(600_000, 'expected milliseconds (100-600000)')
    .default(5000),
  TRANSFER_MAX_AGE_S: z.coerce
    .number({ message: 'expected seconds (60-86400)' })
    .int('expected whole seconds (60-86400)')
    .min(60, 'expected seconds (60-86400)')
    .max(86_400, 'expected seconds (60-86400)')
    .default(3600),
  TRIANGLES: triangleList.prefault(DEFAULT_TRIANGLES),
  DATABASE_URL: z
    .string()
    .refine(
      (s) => /^(file:|libsql:\/\/|https?:\/\/|wss?:\/\/|:memory:$)/.test(s),
      'expected file:<path>, :memory:, or a libsql://, http(s):// or ws(s):// URL',
    )
    .default(DEFAULT_DATABASE_URL),
  DATABASE_AUTH_TOKEN: z.string().optional(),
  TELEGRAM_BOT_TOKEN: z
    .string()
    .regex(
      /^\d+:[A-Za-z0-9_-]{20,}$/,
      'expected a Telegram bot token like 123456:ABC-DEF… from @BotFather',
    )
    .optional(),
  TELEGRAM_API_ROOT: httpUrlLazy(),
  TELEGRAM_WEBHOOK_URL: z
    .string()
    .refine(
      (s) => /^https:\/\/[^\s]+$/.test(s) && URL.canParse(s),
      'expected an https:// URL Telegram can reach',
    )
    .optional(),
  DISCORD_TOKEN: z
    .string()
    .min(20, 'expected a Discord bot token from the developer portal')
    .optional(),
  DISCORD_API_URL: httpUrlLazy(),
  DISCORD_GUILD_ID: z
    .string()
    .regex(/^\d{5,25}$/, 'expected a numeric Discord server (guild) id')
    .optional(),
  ALLOWED_CHATS: z
    .string()
    .transform((text, ctx) => {
      const items = list(text)
      const bad = items.filter((i) => !/^((telegram|discord):)?-?\d{1,25}$/.test(i))
      if (bad.length > 0) {
        ctx.addIssue({
          code: 'custom',
          message: `expected chat ids like telegram:12345, discord:67890 or 12345 (bad: ${bad.join(', ')})`,
        })
        return z.NEVER
      }
      return new Set(items)
    })
    .optional(),
  API_TOKEN: z.string().min(16, 'expected a token of at least 16 characters').optional(),
  PUBLIC_URL: httpUrl.optional(),
  ALERT_COOLDOWN_S: z.coerce
    .number({ message: 'expected seconds (0-86400)' })
    .min(0, 'expected seconds (0-86400)')
    .max(86_400, 'expected seconds (0-86400)')
    .default(60),
  ...Object.fromEntries(
    VENUE_IDS.map((v) => [
      `FEE_BPS_${v.toUpperCase()}`,
      z.coerce
        .number({ message: 'expected a taker fee in basis points (0-1000)' })
        .min(0, 'expected a taker fee in basis points (0-1000)')
        .max(1000, 'expected a taker fee in basis points (0-1000)')
        .optional(),
    ]),
  ),
  ...Object.fromEntries(
    VENUE_IDS.flatMap((v) => [
      [`${v.toUpperCase()}_WS_URL`, wsUrl.optional()],
      [`${v.toUpperCase()}_REST_URL`, httpUrl.optional()],
      [`${v.toUpperCase()}_API_KEY`, secretText.optional()],
      [`${v.toUpperCase()}_API_SECRET`, secretText.optional()],
      [`${v.toUpperCase()}_API_PASSPHRASE`, secretText.optional()],
    ]),
  ),
})

/**
 * Parses and validates the environment. Empty strings count as unset.
 *
 * @example
 * ```ts
 * const config = parseConfig(process.env) // throws ConfigError naming every bad variable
 * ```
 */
export function parseConfig(env: Record<string, string | undefined>): Config {
  const cleaned = Object.fromEntries(
    Object.entries(env).filter(([, v]) => v !== undefined && v.trim() !== ''),
  )
  const result = envSchema.safeParse(cleaned)
  if (!result.success) {
    const problems = result.error.issues.map((issue) => {
      const name = String(issue.path[0] ?? 'environment')
      const shown = /TOKEN|SECRET|_API_KEY|PASSPHRASE|BUS_URL/.test(name)
        ? '(hidden)'
        : JSON.stringify(cleaned[name] ?? '')
      return `${name}=${shown}: ${issue.message}`
    })
    throw new ConfigError(problems)
  }
  const e = result.data as z.infer<typeof envSchema> & Record<string, string | number | undefined>
  if (e.HYSTERESIS_PCT > e.MIN_SPREAD_PCT) {
    throw new ConfigError([
      `HYSTERESIS_PCT=${JSON.stringify(cleaned.HYSTERESIS_PCT ?? String(e.HYSTERESIS_PCT))}: expected at most MIN_SPREAD_PCT (${e.MIN_SPREAD_PCT})`,
    ])
  }
  if (e.ROLE !== 'all' && e.BUS_URL === undefined) {
    throw new ConfigError([
      `ROLE=${e.ROLE}: needs BUS_URL (the Redis the shards and the core share, redis://host:6379)`,
    ])
  }
  if (e.ROLE === 'ingest' && e.UNIVERSE_EXCHANGES !== undefined) {
    const missing = e.EXCHANGES.filter((v: VenueId) => !e.UNIVERSE_EXCHANGES!.includes(v))
    if (missing.length > 0) {
      throw new ConfigError([
        `UNIVERSE_EXCHANGES: expected it to include this shard's EXCHANGES (missing ${missing.join(', ')})`,
      ])
    }
  }
  if (e.MIN_SPREAD_PCT >= e.MAX_SPREAD_PCT) {
    throw new ConfigError([
      `MAX_SPREAD_PCT=${JSON.stringify(cleaned.MAX_SPREAD_PCT ?? String(e.MAX_SPREAD_PCT))}: expected more than MIN_SPREAD_PCT (${e.MIN_SPREAD_PCT})`,
    ])
  }
  const credentials: Partial<Record<VenueId, Credentials>> = {}
  const halves: string[] = []
  for (const v of VENUE_IDS) {
    const up = v.toUpperCase()
    const key = e[`${up}_API_KEY`] as string | undefined
    const secret = e[`${up}_API_SECRET`] as string | undefined
    const passphrase = e[`${up}_API_PASSPHRASE`] as string | undefined
    if ((key === undefined) !== (secret === undefined)) {
      const missing = key === undefined ? `${up}_API_KEY` : `${up}_API_SECRET`
      halves.push(`${missing}: expected it too (a key needs its secret)`)
      continue
    }
    if (key !== undefined && secret !== undefined) {
      credentials[v] = Object.freeze(
        passphrase === undefined ? { key, secret } : { key, secret, passphrase },
      )
    }
  }
  if (halves.length > 0) throw new ConfigError(halves)
  const endpoints = Object.fromEntries(
    VENUE_IDS.map((v) => {
      const up = v.toUpperCase()
      return [
        v,
        Object.freeze({
          wsUrl: trimSlash(
            (e[`${up}_WS_URL`] as string | undefined) ?? DEFAULT_ENDPOINTS[v]!.wsUrl,
          ),
          restUrl: trimSlash(
            (e[`${up}_REST_URL`] as string | undefined) ?? DEFAULT_ENDPOINTS[v]!.restUrl,
          ),
        }),
      ]
    }),
  ) as Record<VenueId, VenueEndpoints>
  return Object.freeze({
    exchanges: Object.freeze(e.EXCHANGES),
    universe: e.SYMBOLS === 'auto' ? 'auto' : 'list',
    symbols: Object.freeze(e.SYMBOLS === 'auto' ? [] : e.SYMBOLS),
    minVenues: e.MIN_VENUES,
    quotes: Object.freeze(e.QUOTES),
    exclude: Object.freeze(e.EXCLUDE),
    maxMarkets: e.MAX_MARKETS,
    universeRefreshS: e.UNIVERSE_REFRESH_S,
    port: e.PORT,
    host: e.HOST,
    logLevel: e.LOG_LEVEL,
    endpoints: Object.freeze(endpoints),
    credentials: Object.freeze(credentials),
    tradeSize: e.TRADE_SIZE,
    feeBps: Object.freeze(
      Object.fromEntries(
        VENUES.map((v) => [
          v.id,
          (e[`FEE_BPS_${v.id.toUpperCase()}`] as number | undefined) ?? v.takerFeeBps,
        ]),
      ) as Record<VenueId, number>,
    ),
    minSpreadBps: e.MIN_SPREAD_PCT * 100,
    hysteresisBps: e.HYSTERESIS_PCT * 100,
    maxSpreadBps: e.MAX_SPREAD_PCT * 100,
    maxQuoteAgeMs: e.MAX_QUOTE_AGE_MS,
    transferMaxAgeMs: e.TRANSFER_MAX_AGE_S * 1000,
    triangles: Object.freeze(e.TRIANGLES.map((t) => Object.freeze(t))),
    databaseUrl: e.DATABASE_URL,
    databaseAuthToken: e.DATABASE_AUTH_TOKEN,
    telegram: e.TELEGRAM_BOT_TOKEN
      ? Object.freeze({
          token: e.TELEGRAM_BOT_TOKEN,
          apiRoot: e.TELEGRAM_API_ROOT === undefined ? undefined : trimSlash(e.TELEGRAM_API_ROOT),
          webhookUrl: e.TELEGRAM_WEBHOOK_URL,
        })
      : undefined,
    discord: e.DISCORD_TOKEN
      ? Object.freeze({
          token: e.DISCORD_TOKEN,
          apiUrl: e.DISCORD_API_URL === undefined ? undefined : trimSlash(e.DISCORD_API_URL),
          guildId: e.DISCORD_GUILD_ID,
        })
      : undefined,
    allowedChats: e.ALLOWED_CHATS,
    alertCooldownS: e.ALERT_COOLDOWN_S,
    apiToken: e.API_TOKEN,
    publicUrl: e.PUBLIC_URL === undefined ? undefined : trimSlash(e.PUBLIC_URL),
    role: e.ROLE,
    bus:
      e.BUS_URL === undefined
        ? undefined
        : Object.freeze({
            url: e.BUS_URL,
            prefix: e.BUS_PREFIX,
            maxLen: e.BUS_MAXLEN,
            maxBuffered: e.BUS_BUFFER,
            snapshotMs: e.BUS_SNAPSHOT_S * 1000,
            group: e.BUS_GROUP,
            consumer: (env.FLY_MACHINE_ID ?? env.HOSTNAME ?? 'core') + `-${process.pid}`,
          }),
    universeExchanges: Object.freeze(e.UNIVERSE_EXCHANGES ?? e.EXCHANGES),
  })
}

const trimSlash = (url: string) => url.replace(/\/+$/, '')
