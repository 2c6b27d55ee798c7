/**
 * @module
 * The chat command core, platform-free: the command list, parsing and answering. Telegram and
 * Discord only translate messages into `handle(ref, name, argText)` calls and render the `Reply`.
 */
import type { ChatPatch, ChatRepo, ChatSettings } from '../db/chats.ts'
import type { SpreadView } from '../detector/detector.ts'
import type { Opportunity } from '../detector/types.ts'
import type { Logger } from '../log.ts'
import { normalizePair, SymbolError } from '../symbols.ts'
import type { Pair } from '../types.ts'
import type { Platform } from './notifier.ts'

/** Who is talking: the chat (a Telegram chat, a Discord channel) and the user in it. */
export interface ChatRef {
  readonly platform: Platform
  readonly chatId: string
  readonly userId: string
}

/** A plain-text answer (several lines). */
export interface Reply {
  readonly text: string
}

export type ArgType = 'symbols' | 'symbols-or-all' | 'percent' | 'amount' | 'duration'

export interface CommandSpec {
  readonly name: string
  readonly description: string
  /** At most one argument (Telegram passes the rest of the line; Discord a typed option). */
  readonly arg?: {
    readonly name: string
    readonly description: string
    readonly type: ArgType
    readonly required: boolean
  }
}

export const COMMANDS: readonly CommandSpec[] = [
  { name: 'start', description: 'What this bot does and how to use it' },
  { name: 'help', description: 'The commands and what they accept' },
  {
    name: 'subscribe',
    description: 'Follow markets, e.g. /subscribe BTCUSDT ETH/USDT',
    arg: {
      name: 'symbols',
      description: 'One or more markets, e.g. BTCUSDT',
      type: 'symbols',
      required: true,
    },
  },
  {
    name: 'unsubscribe',
    description: 'Stop following markets, or all',
    arg: {
      name: 'symbols',
      description: 'Markets to drop, or "all"',
      type: 'symbols-or-all',
      required: true,
    },
  },
  {
    name: 'threshold',
    description: 'Minimum net spread for alerts, in percent, e.g. /threshold 0.5',
    arg: {
      name: 'percent',
      description: 'Net spread in percent, e.g. 0.5',
      type: 'percent',
      required: true,
    },
  },
  {
    name: 'size',
    description: 'Trade size net spreads are computed at, e.g. /size 2500',
    arg: {
      name: 'amount',
      description: 'Amount of the quote currency, e.g. 2500',
      type: 'amount',
      required: true,
    },
  },
  { name: 'list', description: 'This chat’s markets and settings' },
  { name: 'status', description: 'Best current spreads for your markets and venue health' },
  {
    name: 'mute',
    description: 'Pause alerts, e.g. /mute 2h (no duration: until /unmute)',
    arg: { name: 'duration', description: 'e.g. 30m, 2h, 1d', type: 'duration', required: false },
  },
  { name: 'unmute', description: 'Resume alerts' },
]

/** What the platform modules need from the core. */
export interface CommandHandler {
  /** Answers one command; never throws for bad input (the reply says what is wrong). */
  handle(ref: ChatRef, name: string, argText: string): Promise<Reply>
  /** The markets users can subscribe to (for autocomplete). */
  symbols(): readonly string[]
}

// ---- the core ---------------------------------------------------------------------------------

/** The live state `/status` reports. */
export interface StatusSource {
  /** Each venue's connection state and how many of its books are live. */
  venues(): { venue: string; state: string; liveBooks: number; books: number }[]
  /** Current spreads at a size (the detector's view). */
  spreads(sizeQuote: number): SpreadView[]
}

export interface ChatCoreOptions {
  readonly repo: ChatRepo
  /** Markets users may subscribe to (the configured SYMBOLS). */
  readonly symbols: readonly Pair[]
  /** Defaults for chats that set nothing: the configured MIN_SPREAD_PCT and TRADE_SIZE. */
  readonly defaultThresholdBps: number
  readonly defaultSizeQuote: number
  readonly status: StatusSource
  /** When set, only these chats (`telegram:<id>`, `discord:<channel id>`, or a bare id) may use it. */
  readonly allowedChats?: ReadonlySet<string>
  /** Commands a user may send per minute. */
  readonly commandsPerMinute?: number
  /** Seconds between alerts for the same chat, market and venue pair. */
  readonly cooldownS?: number
  readonly log: Logger
  readonly now?: () => number
}

/** One chat that should get an alert, with its own numbers. */
export interface AlertTarget {
  readonly platform: Platform
  readonly chatId: string
  readonly netBps: number
  readonly sizeQuote: number
}

const MAX_SYMBOLS_PER_COMMAND = 10
const MAX_ARG_CHARS = 200
const MAX_MUTE_MS = 30 * 24 * 3600 * 1000
/** `muted_until` of a chat muted until /unmute (a valid date: 9999-12-31). */
const FOREVER = Date.UTC(9999, 11, 31)

/** Thrown inside the core for bad input; becomes the reply text. */
class InputError extends Error {
  override name = 'InputError'
}

export class ChatCore implements CommandHandler {
  readonly #o: ChatCoreOptions
  readonly #now: () => number
  readonly #chats = new Map<string, ChatSettings>()
  readonly #usage = new Map<string, number[]>()
  readonly #lastAlertMs = new Map<string, number>()

  constructor(options: ChatCoreOptions) {
    this.#o = options
    this.#now = options.now ?? Date.now
  }

  /** Loads every chat's settings (call once at start-up). */
  async load(): Promise<void> {
    for (const chat of await this.#o.repo.loadAll())
      this.#chats.set(key(chat.platform, chat.chatId), chat)
  }

  symbols(): readonly string[] {
    return this.#o.symbols
  }

  async handle(ref: ChatRef, name: string, argText: string): Promise<Reply> {
    if (this.#o.allowedChats && !this.#allowed(ref)) {
      return { text: 'This arbwatch bot is private: this chat is not on its ALLOWED_CHATS list.' }
    }
    if (!this.#withinRate(ref)) {
      return { text: 'Too many commands: wait a minute and try again.' }
    }
    const args = argText.trim()
    try {
      if (args.length > MAX_ARG_CHARS)
        throw new InputError(`That is too long (at most ${MAX_ARG_CHARS} characters).`)
      return { text: await this.#run(ref, name.toLowerCase(), args) }
    } catch (err) {
      if (err instanceof InputError) return { text: err.message }
      this.#o.log.error({ err, command: name }, 'chat command failed')
      return {
        text: 'Something went wrong on our side; your settings are unchanged. Try again shortly.',
      }
    }
  }

  async #run(ref: ChatRef, name: string, args: string): Promise<string> {
    switch (name) {
      case 'start':
        return [
          'arbwatch watches Binance, Kraken, Coinbase, Bitstamp, OKX and Bybit and alerts this chat when a',
          'market can be bought on one exchange and sold on another for a profit after taker fees, at a',
          'real trade size, from fresh order books only.',
          '',
          `Start with /subscribe ${this.#o.symbols[0] ?? 'BTC/USDT'}, then see /help.`,
        ].join('\n')
      case 'help':
        return [
          'Commands:',
          ...COMMANDS.map(
            (c) =>
              `/${c.name}${c.arg ? ` ${c.arg.required ? c.arg.name.toUpperCase() : `[${c.arg.name.toUpperCase()}]`}` : ''}: ${c.description}`,
          ),
          '',
          `Markets: ${this.#o.symbols.join(', ')}`,
        ].join('\n')
      case 'subscribe': {
        const symbols = this.#symbols(args, false)
        if (symbols === 'all')
          throw new InputError('Name the markets to follow, e.g. /subscribe BTCUSDT.')
        const chat = this.#chat(ref)
        await this.#o.repo.subscribe(ref.platform, ref.chatId, symbols, this.#now())
        for (const s of symbols) chat.symbols.add(s)
        return `Subscribed to ${symbols.join(', ')}. You follow: ${[...chat.symbols].join(', ')}.`
      }
      case 'unsubscribe': {
        const symbols = this.#symbols(args, true)
        const chat = this.#chat(ref)
        await this.#o.repo.unsubscribe(ref.platform, ref.chatId, symbols)
        if (symbols === 'all') chat.symbols.clear()
        else for (const s of symbols) chat.symbols.delete(s)
        return chat.symbols.size === 0
          ? 'You follow no markets now.'
          : `Unsubscribed. You follow: ${[...chat.symbols].join(', ')}.`
      }
      case 'threshold': {
        const value = number(args)
        if (value === undefined || !(value >= 0.01 && value <= 50)) {
          throw new InputError(
            'The threshold is a net spread in percent between 0.01 and 50, e.g. /threshold 0.5.',
          )
        }
        await this.#save(ref, { thresholdBps: value * 100 })
        return `Alerts from a net spread of ${value}% after fees.`
      }
      case 'size': {
        const value = number(args)
        if (value === undefined || !(value >= 1 && value <= 10_000_000)) {
          throw new InputError(
            'The size is an amount of the quote currency between 1 and 10000000, e.g. /size 2500.',
          )
        }
        await this.#save(ref, { sizeQuote: value })
        return `Net spreads for this chat are now computed for a trade of ${value}.`
      }
      case 'list': {
        const chat = this.#chats.get(key(ref.platform, ref.chatId))
        const threshold = chat?.thresholdBps ?? this.#o.defaultThresholdBps
        const size = chat?.sizeQuote ?? this.#o.defaultSizeQuote
        const muted = chat?.mutedUntilMs != null && chat.mutedUntilMs > this.#now()
        return [
          `Markets: ${chat && chat.symbols.size > 0 ? [...chat.symbols].join(', ') : 'none (use /subscribe)'}`,
          `Threshold: ${threshold / 100}% net after fees`,
          `Trade size: ${size}`,
          `Alerts: ${chat && !chat.active ? `paused (${chat.pausedReason ?? 'no permission'})` : muted ? `muted ${chat!.mutedUntilMs! >= FOREVER ? 'until /unmute' : `until ${new Date(chat!.mutedUntilMs!).toISOString()}`}` : 'on'}`,
        ].join('\n')
      }
      case 'status':
        return this.#status(ref)
      case 'mute': {
        let until = FOREVER
        if (args !== '') {
          const ms = parseDuration(args)
          if (ms === undefined || ms <= 0 || ms > MAX_MUTE_MS) {
            throw new InputError(
              'Mute for a duration like 30m, 2h or 1d (at most 30d), or give none to mute until /unmute.',
            )
          }
          until = this.#now() + ms
        }
        await this.#save(ref, { mutedUntilMs: until })
        return args === ''
          ? 'Muted until /unmute.'
          : `Muted until ${new Date(until).toISOString()}.`
      }
      case 'unmute':
        await this.#save(ref, { mutedUntilMs: null, active: true, pausedReason: null })
        return 'Alerts are on.'
      default:
        throw new InputError(`Unknown command /${name}. See /help.`)
    }
  }

  #status(ref: ChatRef): string {
    const chat = this.#chats.get(key(ref.platform, ref.chatId))
    const size = chat?.sizeQuote ?? this.#o.defaultSizeQuote
    const mine = chat && chat.symbols.size > 0 ? chat.symbols : new Set(this.#o.symbols)
    const lines: string[] = []
    for (const symbol of mine) {
      const best = this.#o.status
        .spreads(size)
        .filter((s) => s.kind === 'cross' && s.symbol === symbol && s.fresh && s.netBps !== null)
        .sort((a, b) => b.netBps! - a.netBps!)[0]
      lines.push(
        best
          ? `${symbol}: best buy ${best.buyVenue} / sell ${best.sellVenue}, net ${(best.netBps! / 100).toFixed(3)}% (gross ${(best.grossBps! / 100).toFixed(3)}%) at ${size}`
          : `${symbol}: no two fresh books to compare right now`,
      )
    }
    lines.push('', 'Venues:')
    for (const v of this.#o.status.venues())
      lines.push(`${v.venue}: ${v.state}, ${v.liveBooks}/${v.books} books live`)
    return lines.join('\n')
  }

  /** Parses a symbol list; every symbol must be one of the configured markets. */
  #symbols(args: string, allowAll: boolean): Pair[] | 'all' {
    if (args === '')
      throw new InputError(
        `Name one or more markets, e.g. BTCUSDT. Available: ${this.#o.symbols.join(', ')}.`,
      )
    if (allowAll && args.toLowerCase() === 'all') return 'all'
    const parts = args.split(/[\s,]+/).filter(Boolean)
    if (parts.length > MAX_SYMBOLS_PER_COMMAND) {
      throw new InputError(`At most ${MAX_SYMBOLS_PER_COMMAND} markets at a time.`)
    }
    const out: Pair[] = []
    for (const part of parts) {
      let pair: Pair
      try {
        pair = normalizePair(part)
      } catch (err) {
        if (!(err instanceof SymbolError)) throw err
        throw new InputError(`${err.message}. Available: ${this.#o.symbols.join(', ')}.`)
      }
      if (!this.#o.symbols.includes(pair)) {
        throw new InputError(
          `${pair} is not watched here. Available: ${this.#o.symbols.join(', ')}.`,
        )
      }
      if (!out.includes(pair)) out.push(pair)
    }
    return out
  }

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

  /** Stops alerts to a chat the platform will not let us post to (blocked, missing permission). */
  async pause(platform: Platform, chatId: string, reason: string): Promise<void> {
    await this.#save({ platform, chatId }, { active: false, pausedReason: reason })
    await this.#o.repo.failChat(platform, chatId, `chat paused: ${reason}`)
  }

  /**
   * The chats an opening should alert: subscribed to the market (for a triangle, to any market it
   * trades), net spread at the chat's own size at or above its threshold, not muted or paused, and
   * not alerted for the same market and venue pair within the cooldown. `netAt(size)` recomputes
   * the net spread at a size from the live books. Anomalies alert nobody.
   */
  alertTargets(o: Opportunity, netAt: (sizeQuote: number) => number | undefined): AlertTarget[] {
    if (o.anomaly) return []
    const now = this.#now()
    const markets = o.kind === 'cross' ? [o.symbol] : (o.open.legs ?? []).map((l) => l.market)
    const cooldownMs = (this.#o.cooldownS ?? 60) * 1000
    const targets: AlertTarget[] = []
    const netBySize = new Map<number, number | undefined>()
    for (const chat of this.#chats.values()) {
      if (!chat.active || (chat.mutedUntilMs !== null && chat.mutedUntilMs > now)) continue
      if (!markets.some((m) => chat.symbols.has(m))) continue
      if (this.#o.allowedChats && !this.#allowed(chat)) continue
      const size = chat.sizeQuote ?? this.#o.defaultSizeQuote
      if (!netBySize.has(size))
        netBySize.set(size, size === o.open.sizeQuote ? o.open.netBps : netAt(size))
      const net = netBySize.get(size)
      if (net === undefined || !(net >= (chat.thresholdBps ?? this.#o.defaultThresholdBps)))
        continue
      const cooldownKey = `${key(chat.platform, chat.chatId)}|${o.kind}|${o.symbol}|${o.buyVenue}>${o.sellVenue}`
      const last = this.#lastAlertMs.get(cooldownKey)
      if (last !== undefined && now - last < cooldownMs) continue
      this.#lastAlertMs.set(cooldownKey, now)
      targets.push({ platform: chat.platform, chatId: chat.chatId, netBps: net, sizeQuote: size })
    }
    return targets
  }

  #allowed(ref: { platform: Platform; chatId: string }): boolean {
    const list = this.#o.allowedChats!
    return list.has(key(ref.platform, ref.chatId)) || list.has(ref.chatId)
  }

  /** A sliding one-minute window per user. */
  #withinRate(ref: ChatRef): boolean {
    const limit = this.#o.commandsPerMinute ?? 20
    const now = this.#now()
    const k = `${ref.platform}:${ref.userId}`
    const times = (this.#usage.get(k) ?? []).filter((t) => now - t < 60_000)
    if (times.length >= limit) {
      this.#usage.set(k, times)
      return false
    }
    times.push(now)
    this.#usage.set(k, times)
    return true
  }
}

const key = (platform: Platform, chatId: string) => `${platform}:${chatId}`

/** A plain positive decimal ("0.5", "2500"); anything else is undefined. */
function number(text: string): number | undefined {
  const t = text.replace(/%$/, '').trim()
  if (!/^\d+(\.\d+)?$/.test(t)) return undefined
  return Number(t)
}

/** "90s", "30m", "2h", "1d" (also "2 h", "45min") → ms. */
export function parseDuration(text: string): number | undefined {
  const m = /^(\d+(?:\.\d+)?)\s*(s|sec|secs|m|min|mins|h|hr|hrs|d|day|days)$/i.exec(text.trim())
  if (!m) return undefined
  const unit = m[2]!.toLowerCase()[0]!
  const mult = unit === 's' ? 1000 : unit === 'm' ? 60_000 : unit === 'h' ? 3_600_000 : 86_400_000
  return Math.round(Number(m[1]) * mult)
}
