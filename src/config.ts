/**
 * @module
 * The process configuration: read once from the environment, validated, frozen, passed down.
 * This is the only module that reads `process.env` (main.ts hands it in).
 */
import { z } from 'zod'
import { normalizePair, SymbolError } from './symbols.ts'
import { VENUES, type Pair, type VenueId } from './types.ts'

export interface VenueEndpoints {
  readonly wsUrl: string
  readonly restUrl: string
}

export interface Config {
  readonly exchanges: readonly VenueId[]
  readonly symbols: readonly Pair[]
  readonly port: number
  readonly host: string
  readonly logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent'
  readonly endpoints: Readonly<Record<VenueId, VenueEndpoints>>
}

/** The venues' public production endpoints; `<VENUE>_WS_URL` / `<VENUE>_REST_URL` override them. */
export const DEFAULT_ENDPOINTS: Readonly<Record<VenueId, VenueEndpoints>> = {
  binance: { wsUrl: 'wss://stream.binance.com:9443', restUrl: 'https://api.binance.com' },
  kraken: { wsUrl: 'wss://ws.kraken.com/v2', restUrl: 'https://api.kraken.com' },
  coinbase: {
    wsUrl: 'wss://advanced-trade-ws.coinbase.com',
    restUrl: 'https://api.coinbase.com',
  },
  bitstamp: { wsUrl: 'wss://ws.bitstamp.net', restUrl: 'https://www.bitstamp.net' },
  okx: { wsUrl: 'wss://ws.okx.com:8443/ws/v5/public', restUrl: 'https://www.okx.com' },
  bybit: { wsUrl: 'wss://stream.bybit.com/v5/public/spot', restUrl: 'https://api.bybit.com' },
}

export const DEFAULT_SYMBOLS = 'BTC/USDT,ETH/USDT,SOL/USDT'

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

const venueList = z.string().transform((text, ctx) => {
  const items = list(text.toLowerCase())
  const bad = items.filter((v) => !(VENUES as readonly string[]).includes(v))
  if (bad.length > 0 || items.length === 0) {
    ctx.addIssue({
      code: 'custom',
      message: `expected a comma-separated list of ${VENUES.join(', ')}${bad.length ? ` (unknown: ${bad.join(', ')})` : ''}`,
    })
    return z.NEVER
  }
  return [...new Set(items)] as VenueId[]
})

const pairList = z.string().transform((text, ctx) => {
  const items = list(text)
  if (items.length === 0) {
    ctx.addIssue({
      code: 'custom',
      message: 'expected a comma-separated list of markets like BTC/USDT',
    })
    return z.NEVER
  }
  const pairs: Pair[] = []
  for (const item of items) {
    try {
      pairs.push(normalizePair(item))
    } catch (err) {
      if (!(err instanceof SymbolError)) throw err
      ctx.addIssue({ code: 'custom', message: err.message })
    }
  }
  return [...new Set(pairs)]
})

const wsUrl = z
  .string()
  .refine((s) => /^wss?:\/\/[^\s]+$/.test(s) && URL.canParse(s), 'expected a ws:// or wss:// URL')
const httpUrl = z
  .string()
  .refine(
    (s) => /^https?:\/\/[^\s]+$/.test(s) && URL.canParse(s),
    'expected an http:// or https:// URL',
  )

const envSchema = z.object({
  EXCHANGES: venueList.prefault(VENUES.join(',')),
  SYMBOLS: pairList.prefault(DEFAULT_SYMBOLS),
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
  ...Object.fromEntries(
    VENUES.flatMap((v) => [
      [`${v.toUpperCase()}_WS_URL`, wsUrl.optional()],
      [`${v.toUpperCase()}_REST_URL`, httpUrl.optional()],
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
      return `${name}=${JSON.stringify(cleaned[name] ?? '')}: ${issue.message}`
    })
    throw new ConfigError(problems)
  }
  const e = result.data as z.infer<typeof envSchema> & Record<string, string | undefined>
  const endpoints = Object.fromEntries(
    VENUES.map((v) => {
      const up = v.toUpperCase()
      return [
        v,
        Object.freeze({
          wsUrl: trimSlash(e[`${up}_WS_URL`] ?? DEFAULT_ENDPOINTS[v].wsUrl),
          restUrl: trimSlash(e[`${up}_REST_URL`] ?? DEFAULT_ENDPOINTS[v].restUrl),
        }),
      ]
    }),
  ) as Record<VenueId, VenueEndpoints>
  return Object.freeze({
    exchanges: Object.freeze(e.EXCHANGES),
    symbols: Object.freeze(e.SYMBOLS),
    port: e.PORT,
    host: e.HOST,
    logLevel: e.LOG_LEVEL,
    endpoints: Object.freeze(endpoints),
  })
}

const trimSlash = (url: string) => url.replace(/\/+$/, '')
