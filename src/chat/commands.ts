/**
 * @module
 * The chat command core, platform-free. `commandDefinitions` defines every command and the range
 * of its argument (the threshold's floor is the process's MIN_SPREAD_PCT); `parseCommand` turns
 * text into a typed `Command` (or says what is wrong) against that table; `runCommand` answers it
 * with a typed `Reply`. `ChatCore` adds who may talk, rate limits and the settings cache. Telegram
 * and Discord only translate messages into `handle()` calls and render the reply; Discord's
 * option schema is built from the core's table. The watched markets may be hundreds and change at
 * run time: a chat names markets, base assets (every market of that base) or `all`, and replies
 * name a count and a few examples rather than every market.
 */
import { chatAllowed } from '../alerts/fanout.ts'
import { ASSET_ALIASES, VENUE_IDS, venueName } from '../venues/index.ts'
import type { ChatPatch, ChatRepo, ChatSettings } from '../db/chats.ts'
import type { Platform } from '../db/schema.ts'
import type { SpreadView } from '../detector/detector.ts'
import type { Logger } from '../log.ts'
import {
  EVERY_MARKET,
  everyMarketOf,
  follows,
  normalizeAsset,
  normalizePair,
  splitPair,
  SymbolError,
} from '../symbols.ts'
import type { Pair } from '../types.ts'
import { TRANSFER_MODES, type TransferMode } from '../transfers/types.ts'
import type { BacktestResult } from '../alerts/backtest.ts'
import { MARKET_MUTE_MS, parseButton } from '../alerts/buttons.ts'
import { digestDueMs } from '../alerts/digest.ts'
import { duration, utcMinute } from '../alerts/format.ts'

/** Who is talking: the chat (a Telegram chat, a Discord channel) and the user in it. */
export interface ChatRef {
  readonly platform: Platform
  readonly chatId: string
  readonly userId: string
}

// ---- the definitions ---------------------------------------------------------------------------

export type ArgType =
  | 'symbols'
  | 'symbols-or-all'
  | 'percent'
  | 'amount'
  | 'duration'
  | 'choice'
  | 'assets'
  | 'venues'
  /** One word of free text (an opportunity id), checked by the command. */
  | 'text'

/** A command's argument: what it is, and the one place its accepted range is written down. */
export interface ArgSpec {
  readonly name: string
  readonly description: string
  readonly type: ArgType
  readonly required: boolean
  /** Inclusive bounds in `unit`: the value (percent, amount), ms (duration), or how many markets. */
  readonly min?: number
  readonly max?: number
  readonly unit?: '%' | 'quote' | 'ms' | 'markets'
  /** Longest argument text accepted, in characters. */
  readonly maxLength: number
  /** `choice`: the words accepted (Discord offers them as choices). */
  readonly choices?: readonly string[]
}

export interface CommandSpec {
  readonly name: string
  readonly description: string
  /** Changes nothing (Discord answers it to the asker only). */
  readonly readOnly: boolean
  /** At most one argument (Telegram passes the rest of the line; Discord a typed option). */
  readonly arg?: ArgSpec
}

const DAY_MS = 86_400_000
/** The shortest `/digest` period. */
const DIGEST_MIN_MS = 600_000
/** Longest argument text for any command (one without an argument ignores it). */
const MAX_ARG_CHARS = 200
/** Longest opportunity id `/explain` takes (ids are `kind:symbol:buy>sell:openedAtMs`). */
const EXPLAIN_ID_CHARS = 120

/** What the definitions depend on in this process's configuration. */
export interface CommandConfig {
  /**
   * The lowest threshold a chat may set, in percent: the detector's MIN_SPREAD_PCT, below which
   * nothing is ever detected, so nothing could be alerted (default 0.01).
   */
  readonly minThresholdPct?: number
}

/** What /ignore and /unignore take. */
const ASSETS_ARG = {
  name: 'assets',
  description: 'Asset codes, e.g. DOGE PEPE',
  type: 'assets',
  required: true,
  min: 1,
  max: 20,
  unit: 'markets',
  maxLength: MAX_ARG_CHARS,
} as const

/** What /subscribe and /unsubscribe take. */
const MARKETS_ARG = {
  name: 'symbols',
  description: 'Markets (BTCUSDT), base assets (SOL) or "all"',
  type: 'symbols-or-all',
  required: true,
  min: 1,
  max: 10,
  unit: 'markets',
  maxLength: MAX_ARG_CHARS,
} as const

/**
 * Every command, its argument and that argument's range, for one configuration (built once at
 * start-up; parsing and Discord's option schema read the same table).
 *
 * @param config the floor of `/threshold` (MIN_SPREAD_PCT)
 * @returns the definitions, in /help order
 * @example
 * ```ts
 * commandDefinitions({ minThresholdPct: 0.1 }).find((c) => c.name === 'threshold')!.arg!.min // 0.1
 * ```
 */
export function commandDefinitions({ minThresholdPct = 0.01 }: CommandConfig = {}) {
  // A net spread in percent: /threshold sets it, /backtest tries it.
  const percent = {
    name: 'percent',
    description: 'Net spread in percent, e.g. 0.5',
    type: 'percent',
    required: true,
    min: minThresholdPct,
    max: Math.max(50, minThresholdPct),
    unit: '%',
    maxLength: 20,
  } as const
  return [
    { name: 'start', description: 'What this bot does and how to use it', readOnly: true },
    { name: 'help', description: 'The commands and what they accept', readOnly: true },
    {
      name: 'subscribe',
      description:
        'Follow markets, a base asset (all its markets) or all, e.g. /subscribe BTCUSDT SOL',
      readOnly: false,
      arg: MARKETS_ARG,
    },
    {
      name: 'unsubscribe',
      description: 'Stop following markets, a base asset (all its markets) or all',
      readOnly: false,
      arg: MARKETS_ARG,
    },
    {
      name: 'threshold',
      description: 'Minimum net spread for alerts, in percent, e.g. /threshold 0.5',
      readOnly: false,
      arg: percent,
    },
    {
      name: 'size',
      description: 'Trade size net spreads are computed at, e.g. /size 2500',
      readOnly: false,
      arg: {
        name: 'amount',
        description: 'Amount of the quote currency, e.g. 2500',
        type: 'amount',
        required: true,
        min: 1,
        max: 10_000_000,
        unit: 'quote',
        maxLength: 20,
      },
    },
    { name: 'list', description: 'This chat’s markets and settings', readOnly: true },
    {
      name: 'status',
      description: 'Best current spreads for your markets and venue health',
      readOnly: true,
    },
    {
      name: 'mute',
      description: 'Pause alerts, e.g. /mute 2h (no duration: until /unmute)',
      readOnly: false,
      arg: {
        name: 'duration',
        description: 'e.g. 30m, 2h, 1d',
        type: 'duration',
        required: false,
        min: 1,
        max: 30 * DAY_MS,
        unit: 'ms',
        maxLength: 20,
      },
    },
    {
      name: 'unmute',
      description: 'Resume alerts (markets muted with an alert’s button too)',
      readOnly: false,
    },
    {
      name: 'stop',
      description: 'Stop alerts here until /unmute (markets and settings are kept)',
      readOnly: false,
    },
    {
      name: 'backtest',
      description:
        'Alerts a threshold would have given over the last day and week at your /size, e.g. /backtest 0.5',
      readOnly: true,
      arg: percent,
    },
    {
      name: 'explain',
      description:
        'The arithmetic of an opportunity’s opening net: the book levels walked, the fees, the net',
      readOnly: true,
      arg: {
        name: 'id',
        description: 'The opportunity id, e.g. cross:BTC/USDT:binance>kraken:1795307804603',
        type: 'text',
        required: true,
        maxLength: EXPLAIN_ID_CHARS,
      },
    },
    {
      name: 'lifetime',
      description:
        'Alert only once an opportunity has lasted this long, e.g. /lifetime 3s (off: at once)',
      readOnly: false,
      arg: {
        name: 'duration',
        description: 'e.g. 3s, 1m, or off',
        type: 'duration',
        required: true,
        min: 1000,
        max: 3_600_000,
        unit: 'ms',
        maxLength: 20,
      },
    },
    {
      name: 'digest',
      description:
        'One summary per period instead of single alerts, e.g. /digest 1h (off: single alerts)',
      readOnly: false,
      arg: {
        name: 'period',
        description: 'e.g. 30m, 1h, 1d, or off',
        type: 'duration',
        required: true,
        min: DIGEST_MIN_MS,
        max: DAY_MS,
        unit: 'ms',
        maxLength: 20,
      },
    },
    {
      name: 'ignore',
      description: 'Hear nothing about these assets, e.g. /ignore DOGE PEPE',
      readOnly: false,
      arg: ASSETS_ARG,
    },
    {
      name: 'unignore',
      description: 'Hear about these assets again (all: every one)',
      readOnly: false,
      arg: { ...ASSETS_ARG, description: 'Assets (DOGE) or "all"' },
    },
    {
      name: 'venues',
      description: 'Only routes between these venues, e.g. /venues binance,kraken (all: every one)',
      readOnly: false,
      arg: {
        name: 'venues',
        description: 'Venue ids, comma-separated, or "all"',
        type: 'venues',
        required: true,
        choices: VENUE_IDS,
        maxLength: MAX_ARG_CHARS,
      },
    },
    {
      name: 'transfer',
      description:
        'Whether coins can move: only (alert transferable routes only), any (default), off (hide)',
      readOnly: false,
      arg: {
        name: 'mode',
        description: 'only, any or off',
        type: 'choice',
        required: true,
        choices: TRANSFER_MODES,
        maxLength: 10,
      },
    },
  ] as const satisfies readonly CommandSpec[]
}

/** The definitions with the default floor: names and descriptions (the ranges come from config). */
export const COMMANDS = commandDefinitions()

export type CommandName = (typeof COMMANDS)[number]['name']

/**
 * The definition of a command in `commands` (default `COMMANDS`), or undefined for a name that is
 * none.
 */
export const commandSpec = (
  name: string,
  commands: readonly CommandSpec[] = COMMANDS,
): CommandSpec | undefined => commands.find((c) => c.name === name.toLowerCase())

// ---- parsing -----------------------------------------------------------------------------------

/** A command with its argument parsed and within range; `type` is the command's name. */
export type Command =
  | { readonly type: 'start' }
  | { readonly type: 'help' }
  /**
   * Markets, plus every market of each of `bases` (resolved when run: against the markets watched
   * then for /subscribe, the chat's own for /unsubscribe), or `all` of them.
   */
  | {
      readonly type: 'subscribe'
      readonly pairs: readonly Pair[] | 'all'
      readonly bases?: readonly string[]
    }
  | {
      readonly type: 'unsubscribe'
      readonly pairs: readonly Pair[] | 'all'
      readonly bases?: readonly string[]
    }
  /** The percent typed, as basis points (0.5 % → 50). */
  | { readonly type: 'threshold'; readonly thresholdBps: number }
  | { readonly type: 'size'; readonly sizeQuote: number }
  | { readonly type: 'list' }
  | { readonly type: 'status' }
  /** null: until /unmute. */
  | { readonly type: 'mute'; readonly durationMs: number | null }
  | { readonly type: 'unmute' }
  /** Alerts off until /unmute (what an alert's stop button does too). */
  | { readonly type: 'stop' }
  /** null: single alerts. */
  | { readonly type: 'digest'; readonly periodMs: number | null }
  | { readonly type: 'transfer'; readonly mode: TransferMode }
  | { readonly type: 'ignore'; readonly assets: readonly string[] }
  /** null: alert at once. */
  | { readonly type: 'lifetime'; readonly minLifetimeMs: number | null }
  | { readonly type: 'backtest'; readonly thresholdBps: number }
  /** An opportunity's id, as typed (one word). */
  | { readonly type: 'explain'; readonly id: string }
  | { readonly type: 'unignore'; readonly assets: readonly string[] | 'all' }
  /** null: every venue. */
  | { readonly type: 'venues'; readonly venues: readonly string[] | null }

// Every defined command parses to a Command of the same name, and no Command lacks a definition.
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false
const commandsMatchDefinitions: Same<Command['type'], CommandName> = true
void commandsMatchDefinitions

/** Text that is no valid command; `message` tells the user what would be. */
export interface ParseFailure {
  readonly type: 'invalid'
  readonly name: string
  readonly reason: 'unknown-command' | 'bad-argument'
  readonly message: string
}

export interface ParseOptions {
  /**
   * When given, /subscribe accepts only these markets and the bases among them (the watched
   * markets); /unsubscribe accepts any market, so a chat can drop one that is no longer watched.
   */
  readonly markets?: readonly Pair[]
  /** The definitions to parse against (default `COMMANDS`; the core passes its configured ones). */
  readonly commands?: readonly CommandSpec[]
}

/**
 * Parses one command against `COMMANDS`: the argument is checked against its definition's type,
 * range and length, and comes back typed (markets normalised, percent as bps, durations in ms).
 * Pure; never throws for bad input.
 *
 * @param name the command without its slash (any case)
 * @param argText the rest of the line (Telegram) or the option's value as text (Discord)
 * @param options `markets`: the markets that may be named
 * @returns the command, or a `ParseFailure` whose message says what is accepted
 * @example
 * ```ts
 * parseCommand('threshold', '0.5') // { type: 'threshold', thresholdBps: 50 }
 * parseCommand('threshold', 'abc').type // 'invalid'
 * parseCommand('subscribe', 'btcusdt eth-usdt') // { type: 'subscribe', pairs: ['BTC/USDT', 'ETH/USDT'] }
 * parseCommand('subscribe', 'sol', { markets: ['SOL/USDT'] }) // { …, pairs: [], bases: ['SOL'] }
 * ```
 */
export function parseCommand(
  name: string,
  argText: string,
  options: ParseOptions = {},
): Command | ParseFailure {
  const lower = name.toLowerCase()
  const spec = commandSpec(lower, options.commands)
  if (spec === undefined) {
    return {
      type: 'invalid',
      name: lower,
      reason: 'unknown-command',
      message: `Unknown command /${lower}. See /help.`,
    }
  }
  const args = argText.trim()
  const maxLength = spec.arg?.maxLength ?? MAX_ARG_CHARS
  const bad = (message: string): ParseFailure => ({
    type: 'invalid',
    name: lower,
    reason: 'bad-argument',
    message,
  })
  if (args.length > maxLength) return bad(`That is too long (at most ${maxLength} characters).`)
  const cmd = lower as CommandName
  switch (cmd) {
    case 'start':
    case 'help':
    case 'list':
    case 'status':
    case 'unmute':
    case 'stop':
      return { type: cmd }
    case 'subscribe':
    case 'unsubscribe': {
      const r = parseSelection(args, spec.arg!, options.markets, cmd === 'unsubscribe')
      if ('error' in r) return bad(r.error)
      if (r.pairs === 'all' || r.bases.length === 0) return { type: cmd, pairs: r.pairs }
      return { type: cmd, pairs: r.pairs, bases: r.bases }
    }
    case 'threshold': {
      const arg = spec.arg!
      const typed = decimal(args)
      const example = Math.min(Math.max(0.5, arg.min!), arg.max!)
      if (typed !== undefined && typed < arg.min!) {
        return bad(
          `Alerts here start at a net spread of ${arg.min}% (the bot's MIN_SPREAD_PCT): nothing below it is ever detected, so a lower threshold could never alert. Give one between ${arg.min} and ${arg.max}, e.g. /threshold ${example}.`,
        )
      }
      const percent = inRange(typed, arg)
      if (percent === undefined) {
        return bad(
          `The threshold is a net spread in percent between ${arg.min} and ${arg.max}, e.g. /threshold ${example}.`,
        )
      }
      // Rounded to a millionth of a bp, so 0.07 % is 7 bps, not 7.000000000000001.
      return { type: 'threshold', thresholdBps: Math.round(percent * 100 * 1e6) / 1e6 }
    }
    case 'size': {
      const arg = spec.arg!
      const sizeQuote = inRange(decimal(args), arg)
      if (sizeQuote === undefined) {
        return bad(
          `The size is an amount of the quote currency between ${arg.min} and ${arg.max}, e.g. /size 2500.`,
        )
      }
      return { type: 'size', sizeQuote }
    }
    case 'backtest': {
      const arg = spec.arg!
      const percent = inRange(decimal(args), arg)
      if (percent === undefined) {
        return bad(
          `Give a net spread in percent between ${arg.min} and ${arg.max}, e.g. /backtest 0.5.`,
        )
      }
      return { type: 'backtest', thresholdBps: Math.round(percent * 100 * 1e6) / 1e6 }
    }
    case 'explain': {
      if (!/^\S+$/.test(args)) {
        return bad(
          'Give the id of an opportunity, e.g. /explain cross:BTC/USDT:binance>kraken:1795307804603 (GET /api/opportunities lists them).',
        )
      }
      return { type: 'explain', id: args }
    }
    case 'lifetime': {
      if (args.toLowerCase() === 'off' || args === '0')
        return { type: 'lifetime', minLifetimeMs: null }
      const arg = spec.arg!
      const ms = inRange(parseDuration(args), arg)
      if (ms === undefined) {
        return bad(
          `Give how long an opportunity must last before it is alerted, from 1s to 1h, e.g. /lifetime 3s, or /lifetime off.`,
        )
      }
      return { type: 'lifetime', minLifetimeMs: ms }
    }
    case 'digest': {
      if (args.toLowerCase() === 'off') return { type: 'digest', periodMs: null }
      const arg = spec.arg!
      const ms = parseDuration(args)
      if (ms === undefined) {
        return bad(
          /^\d+(\.\d+)?$/.test(args)
            ? 'Give the period with its unit, from 10m to 1d, e.g. /digest 1h, or /digest off for single alerts.'
            : 'Give a period like 30m, 1h or 1d (from 10 minutes to 1 day), e.g. /digest 1h, or /digest off for single alerts.',
        )
      }
      if (ms < arg.min! || ms > arg.max!) {
        return bad(
          `A digest period is from 10 minutes to 1 day (${ms < arg.min! ? 'that is shorter' : 'that is longer'}), e.g. /digest 1h, or /digest off for single alerts.`,
        )
      }
      return { type: 'digest', periodMs: ms }
    }
    case 'ignore':
    case 'unignore': {
      const words = args.split(/[\s,]+/).filter(Boolean)
      if (cmd === 'unignore' && words.length === 1 && words[0]!.toLowerCase() === 'all') {
        return { type: 'unignore', assets: 'all' }
      }
      const arg = spec.arg!
      const assets = [...new Set(words.map((w) => normalizeAsset(w, ASSET_ALIASES)))]
      if (
        assets.length === 0 ||
        assets.length > arg.max! ||
        assets.some((a) => !ASSET_CODE.test(a))
      ) {
        return bad(
          `Give 1 to ${arg.max} asset codes, e.g. /${cmd} DOGE PEPE${cmd === 'unignore' ? ', or /unignore all' : ''}.`,
        )
      }
      return { type: cmd, assets }
    }
    case 'venues': {
      const words = args
        .toLowerCase()
        .split(/[\s,]+/)
        .filter(Boolean)
      if (words.length === 1 && words[0] === 'all') return { type: 'venues', venues: null }
      const unknown = words.filter((w) => !VENUE_IDS.includes(w))
      if (words.length < 2 || unknown.length > 0) {
        return bad(
          `${unknown.length > 0 ? `Unknown venue ${unknown.join(', ')}. ` : ''}Name two or more of ${VENUE_IDS.join(', ')}, e.g. /venues binance,kraken, or /venues all.`,
        )
      }
      return { type: 'venues', venues: [...new Set(words)] }
    }
    case 'transfer': {
      const mode = args.toLowerCase()
      if (!(TRANSFER_MODES as readonly string[]).includes(mode)) {
        return bad(
          'Say /transfer only (alert only routes whose coins can move), /transfer any (alert all, with the status shown) or /transfer off (hide the transfer line).',
        )
      }
      return { type: 'transfer', mode: mode as TransferMode }
    }
    case 'mute': {
      if (args === '') return { type: 'mute', durationMs: null }
      const arg = spec.arg!
      const durationMs = inRange(parseDuration(args), arg)
      if (durationMs === undefined) {
        return bad(
          `Mute for a duration like 30m, 2h or 1d (at most ${arg.max! / DAY_MS}d), or give none to mute until /unmute.`,
        )
      }
      return { type: 'mute', durationMs }
    }
    default: {
      const never: never = cmd
      throw new Error(`no parser for /${String(never)}`)
    }
  }
}

/** An asset code as users type it (`sol`, `1INCH`). */
const ASSET_CODE = /^[A-Z0-9]{1,20}$/

/**
 * Markets and base assets, 'all', or the message saying what is wrong. A word is a base asset
 * when a watched market has it as base, else a market when it reads as one (`BTCUSDT`), else a
 * base asset when it looks like one and there is no list to check it against (or it is for
 * /unsubscribe, checked against the chat's markets when run).
 */
function parseSelection(
  args: string,
  arg: ArgSpec,
  markets: readonly Pair[] | undefined,
  dropping: boolean,
): { pairs: Pair[] | 'all'; bases: string[] } | { error: string } {
  const available = markets ? ` ${availableText(markets)}` : ''
  if (args === '') {
    return { error: `Name markets (BTCUSDT), base assets (SOL) or all.${available}` }
  }
  const parts = args.split(/[\s,]+/).filter(Boolean)
  if (parts.some((p) => p.toLowerCase() === 'all')) {
    if (parts.length > 1) return { error: '"all" goes on its own, e.g. /subscribe all.' }
    return { pairs: 'all', bases: [] }
  }
  if (arg.max !== undefined && parts.length > arg.max)
    return { error: `At most ${arg.max} markets at a time.` }
  const bases = markets === undefined ? undefined : baseAssets(markets)
  const pairs: Pair[] = []
  const named: string[] = []
  for (const part of parts) {
    const asset = normalizeAsset(part, ASSET_ALIASES)
    if (bases?.has(asset)) {
      if (!named.includes(asset)) named.push(asset)
      continue
    }
    let pair: Pair
    try {
      pair = normalizePair(part, ASSET_ALIASES)
    } catch (err) {
      if (!(err instanceof SymbolError)) throw err
      if (ASSET_CODE.test(asset) && (bases === undefined || dropping)) {
        if (!named.includes(asset)) named.push(asset)
        continue
      }
      if (ASSET_CODE.test(asset)) {
        return { error: `No watched market has the base ${asset}.${available}` }
      }
      return { error: `${err.message}.${available}` }
    }
    if (markets && !dropping && !markets.includes(pair)) {
      return { error: `${pair} is not watched here.${sameBase(pair, markets) ?? available}` }
    }
    if (!pairs.includes(pair)) pairs.push(pair)
  }
  return { pairs, bases: named }
}

/** The base assets of `markets`, each with how many markets it has. */
function baseAssets(markets: readonly Pair[]): Map<string, number> {
  const out = new Map<string, number>()
  for (const m of markets) {
    const { base } = splitPair(m)
    out.set(base, (out.get(base) ?? 0) + 1)
  }
  return out
}

/** ` SOL is watched as SOL/USD, SOL/USDC.` for a market not watched whose base is. */
function sameBase(pair: Pair, markets: readonly Pair[]): string | undefined {
  const { base } = splitPair(pair)
  const others = markets.filter((m) => splitPair(m).base === base)
  if (others.length === 0) return undefined
  return ` ${base} is watched as ${brief(others)}; /subscribe ${base} follows ${others.length === 1 ? 'it' : 'them all'}.`
}

/** What may be named: every market when few, else a count and examples. */
function availableText(markets: readonly Pair[]): string {
  if (markets.length === 0) return 'No markets are watched right now.'
  if (markets.length <= BRIEF_MAX) return `Available: ${markets.join(', ')}.`
  return `${markets.length} markets are watched, e.g. ${markets.slice(0, BRIEF_EXAMPLES).join(', ')}; /subscribe ${splitPair(markets[0]!).base} follows every ${splitPair(markets[0]!).base} market.`
}

/** Lists of markets longer than this are shown as a count and a few examples. */
const BRIEF_MAX = 10
const BRIEF_EXAMPLES = 3

/**
 * Markets as a reply shows them: all of them when few, else a count and a few examples.
 *
 * @example
 * ```ts
 * brief(['BTC/USDT', 'ETH/USDT']) // 'BTC/USDT, ETH/USDT'
 * brief(hundreds) // '845 markets (BTC/USDT, ETH/USDT, SOL/USDT and 842 more)'
 * ```
 */
export function brief(markets: readonly Pair[]): string {
  if (markets.length <= BRIEF_MAX) return markets.join(', ')
  const shown = markets.slice(0, BRIEF_EXAMPLES).join(', ')
  return `${markets.length} markets (${shown} and ${markets.length - BRIEF_EXAMPLES} more)`
}

/** The value when it lies within the argument's bounds (inclusive), else undefined. */
function inRange(value: number | undefined, arg: ArgSpec): number | undefined {
  if (value === undefined || !Number.isFinite(value)) return undefined
  if (arg.min !== undefined && !(value >= arg.min)) return undefined
  if (arg.max !== undefined && !(value <= arg.max)) return undefined
  return value
}

/** A plain non-negative decimal ("0.5", "2500", "0.5%"); anything else is undefined. */
function decimal(text: string): number | undefined {
  const t = text.replace(/%$/, '').trim()
  if (!/^\d+(\.\d+)?$/.test(t)) return undefined
  return Number(t)
}

/**
 * A duration as users write it, in ms.
 *
 * @example
 * ```ts
 * parseDuration('90s') // 90_000; also '30m', '2 h', '45min', '1d'; 'soon' → undefined
 * ```
 */
export function parseDuration(text: string): number | undefined {
  const m = /^(\d+(?:\.\d+)?)\s*(s|sec|secs|m|min|mins|h|hr|hrs|d|day|days)$/i.exec(text.trim())
  if (!m) return undefined
  const unit = m[2]!.toLowerCase()[0]!
  const mult = unit === 's' ? 1000 : unit === 'm' ? 60_000 : unit === 'h' ? 3_600_000 : DAY_MS
  return Math.round(Number(m[1]) * mult)
}

// ---- answering ---------------------------------------------------------------------------------

/**
 * What the core answers, platform-free; the platforms render `lines`. `ok`: a setting changed;
 * `info`: /start, /help; `list`, `status`: those commands; `error`: nothing changed, the lines say
 * why and `reason` classifies it.
 */
export type Reply =
  | { readonly kind: 'ok' | 'info' | 'list' | 'status'; readonly lines: readonly string[] }
  | {
      readonly kind: 'error'
      readonly reason:
        | ParseFailure['reason']
        | 'not-allowed'
        | 'rate-limited'
        /** Our side failed (the database); settings are unchanged. */
        | 'internal'
      readonly lines: readonly string[]
    }

/** A reply as plain text, one line each. */
export const replyText = (reply: Reply): string => reply.lines.join('\n')

/** The live state `/status` reports. */
export interface StatusSource {
  /**
   * Each venue's state over its connections and how many of its books are live; `connections`
   * and `connected` when it has several.
   */
  venues(): {
    venue: string
    state: string
    liveBooks: number
    books: number
    connections?: number
    connected?: number
  }[]
  /** Current spreads at a size (the detector's view). */
  spreads(sizeQuote: number): SpreadView[]
  /**
   * One line per asset on whether its coins can move on each venue (withdrawals and deposits open,
   * suspended, or unknown and why); absent when no transfer facts are kept.
   */
  transfers?(asset: string): string
  /**
   * What a threshold would have given from stored history at a trade size (the chat's), with how
   * many openings could not be evaluated at it (absent: no history kept).
   */
  backtest?(thresholdBps: number, sizeQuote: number): Promise<BacktestResult>
  /**
   * `/explain`: the lines of a stored opportunity's opening arithmetic (`explain` of its record),
   * undefined when no opportunity has that id (absent: no history kept).
   */
  explain?(id: string): Promise<string[] | undefined>
}

/** What `runCommand` reads and changes: one chat's settings, the defaults and the live state. */
export interface CommandDeps {
  /** Markets users may subscribe to: those watched now. */
  readonly markets: readonly Pair[]
  readonly defaultThresholdBps: number
  readonly defaultSizeQuote: number
  readonly status: StatusSource
  readonly nowMs: number
  /** The chat's settings; undefined while it has set nothing. */
  chat(): Readonly<ChatSettings> | undefined
  save(patch: ChatPatch): Promise<void>
  subscribe(pairs: readonly Pair[]): Promise<void>
  unsubscribe(pairs: readonly Pair[] | 'all'): Promise<void>
}

/** `muted_until` of a chat muted until /unmute (a valid date: 9999-12-31). */
const FOREVER = Date.UTC(9999, 11, 31)

/**
 * Answers a parsed command. Throws only when `deps` does (the database failed).
 *
 * @param cmd what `parseCommand` returned
 * @param deps the chat's settings and how to change them, the defaults and the live state
 * @returns the reply to render
 * @example
 * ```ts
 * const cmd = parseCommand('size', '2500')
 * if (cmd.type !== 'invalid') render(await runCommand(cmd, deps)) // 'Net spreads … of 2500.'
 * ```
 */
export async function runCommand(cmd: Command, deps: CommandDeps): Promise<Reply> {
  switch (cmd.type) {
    case 'start': {
      const venues = deps.status.venues().map((v) => venueName(v.venue))
      const names =
        venues.length > 1 ? `${venues.slice(0, -1).join(', ')} and ${venues.at(-1)}` : venues[0]
      return info([
        `arbwatch watches ${names ?? 'crypto exchanges'} and alerts this chat when a market can be`,
        'bought on one exchange and sold on another for a profit after taker fees, at a real',
        'trade size, from fresh order books only.',
        '',
        `Start with /subscribe ${deps.markets[0] ?? 'BTC/USDT'}, then see /help.`,
      ])
    }
    case 'help':
      return info([
        'Commands:',
        ...COMMANDS.map((c: CommandSpec) => {
          const arg = c.arg
            ? ` ${c.arg.required ? c.arg.name.toUpperCase() : `[${c.arg.name.toUpperCase()}]`}`
            : ''
          return `/${c.name}${arg}: ${c.description}`
        }),
        '',
        `Markets: ${brief(deps.markets) || 'none watched right now'}`,
        'Name a market (BTCUSDT), a base asset (SOL: all its markets) or all.',
      ])
    case 'subscribe': {
      // `all` and a base asset are kept as such, so markets the universe adds later are covered.
      const entries =
        cmd.pairs === 'all'
          ? [EVERY_MARKET]
          : [...(cmd.bases ?? []).map(everyMarketOf), ...cmd.pairs]
      await deps.subscribe(entries)
      return ok(
        `Subscribed to ${describe(entries, deps.markets)}. You follow: ${describe(followed(deps), deps.markets)}.`,
      )
    }
    case 'unsubscribe': {
      const before = followed(deps)
      if (cmd.pairs === 'all') {
        await deps.unsubscribe('all')
        return ok('You follow no markets now.')
      }
      const mine = new Set(before)
      const bases = new Set(cmd.bases ?? [])
      // A base drops its `SOL/*` entry and every SOL market named one by one.
      const entries = before.filter(
        (e) =>
          cmd.pairs.includes(e) || bases.has(e.endsWith('/*') ? e.slice(0, -2) : splitPair(e).base),
      )
      if (entries.length === 0) {
        const named = [...cmd.pairs, ...[...bases].map((b) => `${b} markets`)]
        return ok(
          `You do not follow ${named.join(', ')}.${before.length === 0 ? '' : ` You follow: ${describe(before, deps.markets)}.`}`,
        )
      }
      await deps.unsubscribe(entries)
      const left = followed(deps)
      const leftSet = new Set(left)
      const stillCovered = cmd.pairs.filter((p) => mine.has(p) && follows(leftSet, p))
      const note =
        stillCovered.length === 0
          ? ''
          : ` ${brief(stillCovered)} ${stillCovered.length === 1 ? 'is' : 'are'} still covered by what you follow.`
      return ok(
        left.length === 0
          ? 'You follow no markets now.'
          : `Unsubscribed${entries.length > 1 ? ` from ${describe(entries, deps.markets)}` : ''}. You follow: ${describe(left, deps.markets)}.${note}`,
      )
    }
    case 'threshold':
      await deps.save({ thresholdBps: cmd.thresholdBps })
      return ok(`Alerts from a net spread of ${cmd.thresholdBps / 100}% after fees.`)
    case 'size':
      await deps.save({ sizeQuote: cmd.sizeQuote })
      return ok(`Net spreads for this chat are now computed for a trade of ${cmd.sizeQuote}.`)
    case 'list': {
      const chat = deps.chat()
      const threshold = chat?.thresholdBps ?? deps.defaultThresholdBps
      const size = chat?.sizeQuote ?? deps.defaultSizeQuote
      const mutedUntil = chat?.mutedUntilMs ?? null
      const alerts =
        chat && !chat.active
          ? `paused (${chat.pausedReason ?? 'no permission'})`
          : mutedUntil !== null && mutedUntil > deps.nowMs
            ? `muted ${mutedUntil >= FOREVER ? 'until /unmute' : `until ${new Date(mutedUntil).toISOString()}`}`
            : 'on'
      return {
        kind: 'list',
        lines: [
          `Markets: ${chat && chat.symbols.size > 0 ? describe([...chat.symbols], deps.markets) : 'none (use /subscribe)'}`,
          `Threshold: ${threshold / 100}% net after fees`,
          `Trade size: ${size}`,
          `Transfers: ${TRANSFER_LIST[chat?.transferMode ?? 'any']}`,
          `Lifetime: ${chat?.minLifetimeMs ? `after ${chat.minLifetimeMs / 1000} s open` : 'at once'}`,
          `Ignored: ${chat && chat.ignoredAssets.length > 0 ? chat.ignoredAssets.join(', ') : 'none'}`,
          `Venues: ${chat?.venues ? chat.venues.map(venueName).join(', ') : 'all'}`,
          `Digest: ${chat?.digestMs ? `every ${duration(chat.digestMs)}, the next at ${utcMinute(digestDueMs(deps.nowMs, chat.digestMs))}` : 'off (single alerts)'}`,
          `Muted markets: ${mutedMarketsText(chat?.mutedMarkets, deps.nowMs)}`,
          `Alerts: ${alerts}`,
        ],
      }
    }
    case 'status':
      return { kind: 'status', lines: statusLines(deps) }
    case 'mute': {
      const until = cmd.durationMs === null ? FOREVER : deps.nowMs + cmd.durationMs
      await deps.save({ mutedUntilMs: until })
      return ok(
        cmd.durationMs === null
          ? 'Muted until /unmute.'
          : `Muted until ${new Date(until).toISOString()}.`,
      )
    }
    case 'unmute':
      await deps.save({ mutedUntilMs: null, active: true, pausedReason: null, mutedMarkets: {} })
      return ok('Alerts are on.')
    case 'stop':
      await deps.save({ mutedUntilMs: FOREVER })
      return ok('Alerts stopped here until /unmute; your markets and settings are kept.')
    case 'digest':
      await deps.save({ digestMs: cmd.periodMs })
      return ok(
        cmd.periodMs === null
          ? 'Single alerts again. Openings already waiting for a digest are still summed up when their period ends.'
          : `One digest every ${duration(cmd.periodMs)} instead of single alerts; the next at ${utcMinute(digestDueMs(deps.nowMs, cmd.periodMs))}. /digest off: single alerts again.`,
      )
    case 'transfer':
      await deps.save({ transferMode: cmd.mode })
      return ok(TRANSFER_REPLY[cmd.mode])
    case 'backtest': {
      const run = deps.status.backtest
      if (run === undefined) return { kind: 'info', lines: ['No history is kept here.'] }
      // At the chat's own size, as its alerts are computed.
      const own = deps.chat()?.sizeQuote ?? null
      const r = await run.call(deps.status, cmd.thresholdBps, own ?? deps.defaultSizeQuote)
      const line = (name: string, p: BacktestResult['day']) =>
        p.alerts === 0
          ? `${name}: no alerts`
          : `${name}: ${p.alerts} alert${p.alerts === 1 ? '' : 's'}, lasting ${duration(p.medianDurationMs!)} and netting ${(p.medianNetBps! / 100).toFixed(2)}% at the median`
      const lines = [
        `From ${(cmd.thresholdBps / 100).toFixed(2)}% net at a trade of ${r.sizeQuote} (${own === null ? 'the default size; /size sets this chat’s' : 'this chat’s /size'}):`,
        line('Last day', r.day),
        line('Last week', r.week),
      ]
      if (r.week.unknown > 0 || r.day.unknown > 0) {
        lines.push(
          `Not counted, unknown at ${r.sizeQuote}: ${r.day.unknown} opening${r.day.unknown === 1 ? '' : 's'} in the last day, ${r.week.unknown} in the last week (stored without their book walk, or their walk does not reach that size).`,
        )
      }
      return { kind: 'info', lines }
    }
    case 'explain': {
      const run = deps.status.explain
      if (run === undefined) return { kind: 'info', lines: ['No history is kept here.'] }
      const lines = await run.call(deps.status, cmd.id)
      if (lines === undefined) {
        return {
          kind: 'info',
          lines: [
            'No stored opportunity has that id. Ids look like cross:BTC/USDT:binance>kraken:1795307804603 (GET /api/opportunities lists them).',
          ],
        }
      }
      return { kind: 'info', lines }
    }
    case 'lifetime':
      await deps.save({ minLifetimeMs: cmd.minLifetimeMs })
      return ok(
        cmd.minLifetimeMs === null
          ? 'Alerts as soon as an opportunity opens.'
          : `Alerts only once an opportunity has lasted ${cmd.minLifetimeMs / 1000} s (one that closes sooner is not sent).`,
      )
    case 'ignore': {
      const ignored = [...new Set([...(deps.chat()?.ignoredAssets ?? []), ...cmd.assets])].sort()
      await deps.save({ ignoredAssets: ignored })
      return ok(`Ignoring ${ignored.join(', ')}: no alerts about them here.`)
    }
    case 'unignore': {
      const before = deps.chat()?.ignoredAssets ?? []
      const left = cmd.assets === 'all' ? [] : before.filter((a) => !cmd.assets.includes(a))
      await deps.save({ ignoredAssets: left })
      return ok(left.length === 0 ? 'No assets ignored.' : `Still ignoring ${left.join(', ')}.`)
    }
    case 'venues':
      await deps.save({ venues: cmd.venues === null ? null : [...cmd.venues] })
      return ok(
        cmd.venues === null
          ? 'Routes between every venue.'
          : `Only routes between ${cmd.venues.map(venueName).join(', ')}.`,
      )
    default: {
      const never: never = cmd
      throw new Error(`no answer for ${String((never as Command).type)}`)
    }
  }
}

/** The markets muted by alerts' buttons that are still muted at `nowMs`, as `/list` shows them. */
function mutedMarketsText(
  muted: Readonly<Record<string, number>> | undefined,
  nowMs: number,
): string {
  const live = Object.entries(muted ?? {})
    .filter(([, untilMs]) => untilMs > nowMs)
    .sort(([a], [b]) => (a < b ? -1 : 1))
  if (live.length === 0) return 'none'
  return live.map(([market, untilMs]) => `${market} until ${utcMinute(untilMs)}`).join(', ')
}

/** What `/transfer <mode>` answers, and how `/list` shows the mode. */
const TRANSFER_REPLY: Readonly<Record<TransferMode, string>> = {
  only: 'Alerts only for routes whose coins can move now (withdrawals open on the buy venue, deposits on the sell venue).',
  any: 'Alerts for every route, each saying whether its coins can move.',
  off: 'Alerts for every route, without the transfer line.',
}
const TRANSFER_LIST: Readonly<Record<TransferMode, string>> = {
  only: 'only routes whose coins can move',
  any: 'every route, with its status',
  off: 'not shown',
}

/**
 * Subscription entries as a reply shows them: `all (every market, 845 now)`, `SOL (every SOL
 * market, 3 now)`, markets by name; a count and a few examples when there are many.
 */
function describe(entries: readonly string[], markets: readonly Pair[]): string {
  const words: string[] = []
  const pairs: Pair[] = []
  for (const e of entries) {
    if (e === EVERY_MARKET) words.push(`all (every market, ${markets.length} now)`)
    else if (e.endsWith('/*')) {
      const base = e.slice(0, -2)
      const n = markets.filter((m) => splitPair(m).base === base).length
      words.push(`${base} (every ${base} market, ${n} now)`)
    } else pairs.push(e)
  }
  if (pairs.length > 0) words.push(brief(pairs))
  return words.join(', ')
}

const followed = (deps: CommandDeps): Pair[] => [...(deps.chat()?.symbols ?? [])]

const ok = (line: string): Reply => ({ kind: 'ok', lines: [line] })
const info = (lines: string[]): Reply => ({ kind: 'info', lines })
const refused = (reason: Extract<Reply, { kind: 'error' }>['reason'], line: string): Reply => ({
  kind: 'error',
  reason,
  lines: [line],
})

/** Most markets `/status` gives a line of their own (the best ones); the rest are counted. */
const STATUS_MAX_MARKETS = 10

function statusLines(deps: CommandDeps): string[] {
  const chat = deps.chat()
  const size = chat?.sizeQuote ?? deps.defaultSizeQuote
  const mine =
    chat && chat.symbols.size > 0
      ? [
          ...new Set([
            ...deps.markets.filter((m) => follows(chat.symbols, m)),
            ...[...chat.symbols].filter((e) => e !== EVERY_MARKET && !e.endsWith('/*')),
          ]),
        ]
      : deps.markets
  const wanted = new Set(mine)
  // The best fresh route per market: cross routes, and cross-quote routes by the market bought.
  const best = new Map<Pair, SpreadView>()
  for (const s of deps.status.spreads(size)) {
    if (!s.fresh || s.netBps === null || s.grossBps === null) continue
    const market =
      s.kind === 'cross' ? s.symbol : s.kind === 'cross-quote' ? s.symbol.split('>')[0]! : undefined
    if (market === undefined || !wanted.has(market)) continue
    const held = best.get(market)
    if (held === undefined || s.netBps > held.netBps!) best.set(market, s)
  }
  const line = (symbol: Pair, s: SpreadView | undefined) => {
    if (s === undefined) return `${symbol}: no two fresh books to compare right now`
    const via = s.kind === 'cross-quote' ? ` (sold as ${s.symbol.split('>')[1]})` : ''
    return `${symbol}: best buy ${s.buyVenue} / sell ${s.sellVenue}${via}, net ${(s.netBps! / 100).toFixed(3)}% (gross ${(s.grossBps! / 100).toFixed(3)}%) at ${size}`
  }
  const lines: string[] = []
  if (mine.length <= STATUS_MAX_MARKETS) {
    for (const symbol of mine) lines.push(line(symbol, best.get(symbol)))
  } else {
    const ranked = [...best].sort((a, b) => b[1].netBps! - a[1].netBps!)
    const shown = ranked.slice(0, STATUS_MAX_MARKETS)
    lines.push(`Best of your ${mine.length} markets:`)
    for (const [symbol, s] of shown) lines.push(line(symbol, s))
    const priced = ranked.length - shown.length
    const unpriced = mine.length - ranked.length
    lines.push(
      `…and ${mine.length - shown.length} more: ${priced} with a fresh spread, ${unpriced} without two fresh books.`,
    )
  }
  const transfers = deps.status.transfers
  if (transfers !== undefined && mine.length > 0) {
    const assets = [...new Set(mine.map((m) => splitPair(m).base))]
    lines.push('', 'Transfers:')
    for (const asset of assets.slice(0, STATUS_MAX_MARKETS))
      lines.push(transfers.call(deps.status, asset))
    if (assets.length > STATUS_MAX_MARKETS) {
      lines.push(`…and ${assets.length - STATUS_MAX_MARKETS} more assets (GET /api/transfers).`)
    }
  }
  lines.push('', 'Venues:')
  for (const v of deps.status.venues()) {
    const shards =
      v.connections !== undefined && v.connections > 1
        ? `, ${v.connected ?? 0}/${v.connections} connections up`
        : ''
    lines.push(`${v.venue}: ${v.state}, ${v.liveBooks}/${v.books} books live${shards}`)
  }
  return lines
}

// ---- the core ----------------------------------------------------------------------------------

/** What the platform modules need from the core. */
export interface CommandHandler {
  /** Answers one command; never throws for bad input (the reply says what is wrong). */
  handle(ref: ChatRef, name: string, argText: string): Promise<Reply>
  /** The markets users can subscribe to now (for autocomplete). */
  symbols(): readonly string[]
  /** The definitions `handle` parses against (Discord builds its schema from them); default `COMMANDS`. */
  commands?(): readonly CommandSpec[]
  /**
   * Answers a press of an alert's button (its payload, `alerts/buttons.ts`); never throws for a
   * payload it does not know (the answer says so). Absent: buttons are answered as unknown.
   */
  press?(ref: ChatRef, data: string): Promise<ButtonAnswer>
}

/**
 * What pressing an alert's button answers: a short `notice` (Telegram's callback answer shows at
 * most 200 characters), and `reply` to post for the details; `private`: shown to the presser only
 * (Discord's ephemeral reply), else to the chat.
 */
export interface ButtonAnswer {
  readonly notice: string
  readonly reply?: Reply
  readonly private: boolean
}

/** The settings queries the core uses (`ChatRepo` has them; tests may pass a fake). */
export type ChatSettingsRepo = Pick<
  ChatRepo,
  'loadAll' | 'save' | 'subscribe' | 'unsubscribe' | 'failChat' | 'delivery'
>

export interface ChatCoreOptions {
  readonly repo: ChatSettingsRepo
  /**
   * Markets users may subscribe to: a list (the configured SYMBOLS) or a function of the watched
   * markets, read at every command (the universe changes at run time).
   */
  readonly symbols: readonly Pair[] | (() => readonly Pair[])
  /** Defaults for chats that set nothing: the configured MIN_SPREAD_PCT and TRADE_SIZE. */
  readonly defaultThresholdBps: number
  readonly defaultSizeQuote: number
  /**
   * The lowest threshold a chat may set: the detector's floor (MIN_SPREAD_PCT), below which nothing
   * is ever detected. Default `defaultThresholdBps`, which is that same setting.
   */
  readonly minThresholdBps?: number
  readonly status: StatusSource
  /** When set, only these chats (`telegram:<id>`, `discord:<channel id>`, or a bare id) may use it. */
  readonly allowedChats?: ReadonlySet<string> | undefined
  /** Commands a user may send per minute. */
  readonly commandsPerMinute?: number
  /**
   * Most users whose recent commands are remembered for the rate limit (default 10,000). Users
   * idle for a minute are forgotten anyway; past the bound the least recently active go first.
   */
  readonly maxTrackedUsers?: number
  readonly log: Logger
  readonly now?: () => number
}

/**
 * The stateful side of the core: checks who may talk and how often, keeps every chat's settings
 * in memory (loaded once, written through to the repo), and runs commands.
 *
 * @example
 * ```ts
 * const core = new ChatCore({ repo, symbols, defaultThresholdBps: 10, defaultSizeQuote: 1000, status, log })
 * await core.load()
 * replyText(await core.handle({ platform: 'telegram', chatId: '1', userId: '1' }, 'list', ''))
 * ```
 */
export class ChatCore implements CommandHandler {
  readonly #o: ChatCoreOptions
  readonly #now: () => number
  readonly #chats = new Map<string, ChatSettings>()
  /** User → the times of their commands in the last minute; least recently active first. */
  readonly #usage = new Map<string, number[]>()
  #swept = 0
  readonly #commands: readonly CommandSpec[]

  constructor(options: ChatCoreOptions) {
    this.#o = options
    this.#now = options.now ?? Date.now
    const minBps = options.minThresholdBps ?? options.defaultThresholdBps
    // Rounded so that 7 bps is 0.07 %, not 0.07000000000000001 (which would refuse 0.07).
    this.#commands = commandDefinitions({ minThresholdPct: Math.round(minBps * 1e6) / 1e8 })
  }

  commands(): readonly CommandSpec[] {
    return this.#commands
  }

  /** How many users the rate limit remembers now (bounded by `maxTrackedUsers`). */
  get trackedUsers(): number {
    return this.#usage.size
  }

  /** Loads every chat's settings (call once at start-up). */
  async load(): Promise<void> {
    for (const chat of await this.#o.repo.loadAll())
      this.#chats.set(key(chat.platform, chat.chatId), chat)
  }

  symbols(): readonly Pair[] {
    const { symbols } = this.#o
    return typeof symbols === 'function' ? symbols() : symbols
  }

  /** Every chat's current settings (what the alert fan-out reads). */
  chats(): Iterable<Readonly<ChatSettings>> {
    return this.#chats.values()
  }

  /** One chat's current settings, if it has any. */
  chat(platform: Platform, chatId: string): Readonly<ChatSettings> | undefined {
    return this.#chats.get(key(platform, chatId))
  }

  async handle(ref: ChatRef, name: string, argText: string): Promise<Reply> {
    if (!chatAllowed(this.#o.allowedChats, ref)) {
      return refused(
        'not-allowed',
        'This arbwatch bot is private: this chat is not on its ALLOWED_CHATS list.',
      )
    }
    if (!this.#withinRate(ref))
      return refused('rate-limited', 'Too many commands: wait a minute and try again.')
    // Refused, not stripped: with a direction override the text the user saw is not the text we
    // got, so acting on a cleaned-up version could change something they did not mean. The reply
    // never repeats the input.
    if (UNSAFE_CHARS.test(name) || UNSAFE_CHARS.test(argText)) {
      return refused(
        'bad-argument',
        'That command contains invisible control or text-direction characters; type it again without them.',
      )
    }
    const markets = this.symbols()
    const cmd = parseCommand(name, argText, { markets, commands: this.#commands })
    if (cmd.type === 'invalid') return refused(cmd.reason, cmd.message)
    try {
      return await runCommand(cmd, this.#deps(ref, markets))
    } catch (err) {
      this.#o.log.error({ err, command: cmd.type }, 'chat command failed')
      return refused(
        'internal',
        'Something went wrong on our side; your settings are unchanged. Try again shortly.',
      )
    }
  }

  async press(ref: ChatRef, data: string): Promise<ButtonAnswer> {
    const only = (notice: string): ButtonAnswer => ({ notice, private: true })
    if (!chatAllowed(this.#o.allowedChats, ref)) {
      return only('This arbwatch bot is private: this chat is not on its ALLOWED_CHATS list.')
    }
    if (!this.#withinRate(ref)) return only('Too many commands: wait a minute and try again.')
    const action = parseButton(data)
    if (action === undefined) {
      return only(
        'This button is no longer valid (the bot has changed since it was sent); nothing was done. See /help.',
      )
    }
    try {
      switch (action.kind) {
        case 'mute': {
          const now = this.#now()
          const untilMs = now + MARKET_MUTE_MS
          const kept = Object.entries(this.chat(ref.platform, ref.chatId)?.mutedMarkets ?? {})
          const live = Object.fromEntries(kept.filter(([m, t]) => t > now && m !== action.market))
          await this.#save(ref, { mutedMarkets: { ...live, [action.market]: untilMs } })
          return {
            notice: `No alerts about ${action.market} here until ${utcMinute(untilMs)} (/unmute to hear it again).`,
            private: false,
          }
        }
        case 'details': {
          const d = await this.#o.repo.delivery(action.deliveryId)
          if (d === undefined || d.platform !== ref.platform || d.chatId !== ref.chatId) {
            return only('That alert is no longer known here, so its details cannot be shown.')
          }
          const explain = this.#o.status.explain
          if (explain === undefined) return only('No history is kept here.')
          const lines = await explain.call(this.#o.status, d.opportunityId)
          if (lines === undefined) return only('That opportunity is no longer stored.')
          return {
            notice: 'The arithmetic of this alert is below.',
            reply: info(lines),
            private: true,
          }
        }
        case 'stop': {
          const reply = await runCommand({ type: 'stop' }, this.#deps(ref, this.symbols()))
          return { notice: replyText(reply), private: false }
        }
        default: {
          const never: never = action
          throw new Error(`no answer for ${String((never as { kind: string }).kind)}`)
        }
      }
    } catch (err) {
      this.#o.log.error({ err, button: action.kind }, 'alert button failed')
      return only('Something went wrong on our side; nothing changed. Try again shortly.')
    }
  }

  /** Stops alerts to a chat the platform will not let us post to (blocked, missing permission). */
  async pause(platform: Platform, chatId: string, reason: string): Promise<void> {
    await this.#save({ platform, chatId }, { active: false, pausedReason: reason })
    await this.#o.repo.failChat(platform, chatId, `chat paused: ${reason}`)
  }

  #deps(ref: ChatRef, markets: readonly Pair[]): CommandDeps {
    const { repo } = this.#o
    return {
      markets,
      defaultThresholdBps: this.#o.defaultThresholdBps,
      defaultSizeQuote: this.#o.defaultSizeQuote,
      status: this.#o.status,
      nowMs: this.#now(),
      chat: () => this.#chats.get(key(ref.platform, ref.chatId)),
      save: (patch) => this.#save(ref, patch),
      subscribe: async (pairs) => {
        await repo.subscribe(ref.platform, ref.chatId, pairs, this.#now())
        const chat = this.#chat(ref)
        for (const p of pairs) chat.symbols.add(p)
      },
      unsubscribe: async (pairs) => {
        await repo.unsubscribe(ref.platform, ref.chatId, pairs)
        const chat = this.#chat(ref)
        if (pairs === 'all') chat.symbols.clear()
        else for (const p of pairs) chat.symbols.delete(p)
      },
    }
  }

  /** The cached settings of a chat, created (all defaults) on first use. */
  #chat(ref: { platform: Platform; chatId: string }): ChatSettings {
    const k = key(ref.platform, ref.chatId)
    let chat = this.#chats.get(k)
    if (!chat) {
      chat = {
        platform: ref.platform,
        chatId: ref.chatId,
        active: true,
        pausedReason: null,
        thresholdBps: null,
        sizeQuote: null,
        mutedUntilMs: null,
        transferMode: 'any',
        ignoredAssets: [],
        venues: null,
        minLifetimeMs: null,
        digestMs: null,
        mutedMarkets: {},
        symbols: new Set(),
      }
      this.#chats.set(k, chat)
    }
    return chat
  }

  async #save(ref: { platform: Platform; chatId: string }, patch: ChatPatch): Promise<void> {
    await this.#o.repo.save(ref.platform, ref.chatId, patch, this.#now())
    Object.assign(this.#chat(ref), patch)
  }

  /**
   * A sliding one-minute window per user. Users with nothing in the window are swept out (at most
   * once a window), and past `maxTrackedUsers` the least recently active is forgotten.
   */
  #withinRate(ref: ChatRef): boolean {
    const limit = this.#o.commandsPerMinute ?? 20
    const now = this.#now()
    if (now - this.#swept >= RATE_WINDOW_MS) {
      this.#swept = now
      for (const [k, times] of this.#usage)
        if (!(now - times.at(-1)! < RATE_WINDOW_MS)) this.#usage.delete(k)
    }
    const k = `${ref.platform}:${ref.userId}`
    const times = (this.#usage.get(k) ?? []).filter((t) => now - t < RATE_WINDOW_MS)
    // Re-inserted, so the map stays ordered by last activity.
    this.#usage.delete(k)
    const allowed = times.length < limit
    if (allowed) times.push(now)
    this.#usage.set(k, times)
    const max = this.#o.maxTrackedUsers ?? 10_000
    for (const oldest of this.#usage.keys()) {
      if (this.#usage.size <= max) break
      this.#usage.delete(oldest)
    }
    return allowed
  }
}

const RATE_WINDOW_MS = 60_000

/**
 * C0 controls but tab, newline and carriage return (which separate words), DEL and C1 controls,
 * and the bidirectional marks, embeddings, overrides and isolates (U+061C, U+200E/F,
 * U+202A–U+202E, U+2066–U+2069).
 */
const UNSAFE_CHARS =
  /[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F\u061C\u200E\u200F\u202A-\u202E\u2066-\u2069]/

const key = (platform: Platform, chatId: string) => `${platform}:${chatId}`
