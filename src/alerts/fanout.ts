/**
 * @module
 * Who gets an alert: for an opening, the chats it should reach, each at its own trade size and
 * threshold, with a per-chat cooldown per market and venue pair (kept in the database with the
 * alerts, so a restart keeps it); and the delivery rows the store writes with the opportunity:
 * due at once (or after the chat's `/lifetime`), carrying the group key of their detector pass,
 * or, for a chat on `/digest`, waiting for the end of its digest period.
 */
import { follows } from '../symbols.ts'
import { digestDueMs } from './digest.ts'
import { groupKeyOf } from './group.ts'
import type { ChatRepo } from '../db/chats.ts'
import type { NewDeliveryRow, Platform } from '../db/schema.ts'
import type { MaxSize } from '../detector/spread.ts'
import type { Opportunity } from '../detector/types.ts'
import type { TransferMode } from '../transfers/types.ts'

/** What the fan-out reads of one chat's settings (null: the configured default). */
export interface AlertChat {
  readonly platform: Platform
  readonly chatId: string
  /** False once the platform refused our messages there. */
  readonly active: boolean
  readonly thresholdBps: number | null
  readonly sizeQuote: number | null
  readonly mutedUntilMs: number | null
  /** `/transfer only`: cross-venue routes alert only when their coins can move. */
  readonly transferMode?: TransferMode
  /** `/ignore`: base assets the chat hears nothing about. */
  readonly ignoredAssets?: readonly string[]
  /** `/venues`: every venue of a route must be one of these (null or absent: any). */
  readonly venues?: readonly string[] | null
  /** `/lifetime`: the alert is due this long after the opening (closed sooner: dropped). */
  readonly minLifetimeMs?: number | null
  /** `/digest`: summed up once per this many ms instead of alerted one by one (null: off). */
  readonly digestMs?: number | null
  /** Markets muted by an alert's button: market → until when (ms). */
  readonly mutedMarkets?: Readonly<Record<string, number>>
  readonly symbols: ReadonlySet<string>
}

/** One chat that should get an alert, with its own numbers. */
export interface AlertTarget {
  readonly platform: Platform
  readonly chatId: string
  readonly netBps: number
  readonly sizeQuote: number
  /** The chat's threshold (its `/threshold`, or the configured default), bps. */
  readonly thresholdBps: number
  /** How long after the opening the alert is due (its `/lifetime`; 0: at once). */
  readonly delayMs?: number
  /** The chat's `/digest` period: the alert waits for the digest instead. */
  readonly digestMs?: number
}

/**
 * Whether a route is muted in a chat by an alert's button: its symbol (the market, the cross-quote
 * route, the triangle's cycle) or one of the markets it trades is muted until later than `nowMs`.
 */
export function marketMuted(
  muted: Readonly<Record<string, number>> | undefined,
  names: readonly string[],
  nowMs: number,
): boolean {
  if (muted === undefined) return false
  return names.some((n) => (muted[n] ?? -Infinity) > nowMs)
}

/** Recomputes an opportunity's net spread at another trade size from the live books. */
export type NetAt = (sizeQuote: number) => number | undefined

/**
 * Recomputes an opportunity's largest profitable size (and the profit there) at another threshold
 * from the live books, bps (`Detector.maxSizeAt`); undefined when it cannot.
 */
export type MaxAt = (thresholdBps: number) => MaxSize | undefined

export interface FanoutOptions {
  /** Every chat with its current settings (the chat core keeps them). */
  readonly chats: () => Iterable<AlertChat>
  /**
   * Defaults for chats that set nothing: the configured MIN_SPREAD_PCT (the threshold the
   * opportunity's own largest profitable size is at) and TRADE_SIZE.
   */
  readonly defaultThresholdBps: number
  readonly defaultSizeQuote: number
  /** When set, only these chats get alerts (see `chatAllowed`). */
  readonly allowedChats?: ReadonlySet<string> | undefined
  /** Time between alerts to one chat for the same market and venue pair (default 60 s). */
  readonly cooldownMs?: number
  /** Where the alerts already written are read back from by `load()` (`ChatRepo` has it). */
  readonly repo?: Pick<ChatRepo, 'lastAlerts'>
  readonly now?: () => number
}

/** Cooldowns that ran out are forgotten once more than this many are kept. */
const PRUNE_ABOVE = 10_000

/** What a chat's cooldown is per: the kind, market and venue pair, e.g. `cross|BTC/USDT|a>b`. */
export const cooldownKeyOf = (o: Opportunity): string =>
  `${o.kind}|${o.symbol}|${o.buyVenue}>${o.sellVenue}`

/**
 * Whether ALLOWED_CHATS lets a chat use the bot: listed as `<platform>:<id>` or as a bare id.
 *
 * @example
 * ```ts
 * chatAllowed(new Set(['telegram:100', '555']), { platform: 'discord', chatId: '555' }) // true
 * ```
 */
export function chatAllowed(
  allowed: ReadonlySet<string> | undefined,
  chat: { readonly platform: Platform; readonly chatId: string },
): boolean {
  return (
    allowed === undefined ||
    allowed.has(`${chat.platform}:${chat.chatId}`) ||
    allowed.has(chat.chatId)
  )
}

/**
 * Decides which chats an opening alerts. It owns the cooldowns, so one instance serves the
 * process. Each delivery row carries its cooldown key, so the cooldown is written in the same
 * transaction as the alert; `load()` reads the recent ones back after a restart.
 *
 * @example
 * ```ts
 * const fanout = new Fanout({ chats: () => core.chats(), defaultThresholdBps: 10, defaultSizeQuote: 1000, repo })
 * await fanout.load()
 * store.record(event, fanout.deliveries(event.opportunity, event.atMs, netAt, event.pass, maxAt))
 * ```
 */
export class Fanout {
  readonly #o: FanoutOptions
  readonly #now: () => number
  /** `chat|kind|symbol|buy>sell` → when it was last alerted. */
  readonly #lastAlertMs = new Map<string, number>()

  constructor(options: FanoutOptions) {
    this.#o = options
    this.#now = options.now ?? Date.now
  }

  /**
   * Loads the cooldowns still running from the alerts in the database (call it before the first
   * opening, e.g. at start-up). Without a `repo` it does nothing.
   */
  async load(): Promise<void> {
    if (this.#o.repo === undefined) return
    const since = this.#now() - (this.#o.cooldownMs ?? 60_000)
    for (const [key, atMs] of await this.#o.repo.lastAlerts(since)) {
      if (atMs > (this.#lastAlertMs.get(key) ?? -Infinity)) this.#lastAlertMs.set(key, atMs)
    }
  }

  /**
   * The chats an opening should alert: subscribed to the market (for a triangle, to any market
   * it trades; for a cross-quote route, to either market it buys or sells), net spread at the chat's own size at or above its threshold, not muted or
   * paused, allowed, and not alerted for the same market and venue pair within the cooldown.
   * Anomalies alert nobody. Each chat returned starts its cooldown.
   *
   * @param o the opportunity that opened
   * @param netAt the net spread at another size (asked once per distinct size)
   */
  targets(o: Opportunity, netAt: NetAt): AlertTarget[] {
    if (o.anomaly) return []
    const now = this.#now()
    // A cross-quote route trades its two markets; its conversion leg (USDT/USD) is not a market a
    // chat follows to hear about BTC.
    const legs = o.open.legs ?? []
    const markets =
      o.kind === 'cross'
        ? [o.symbol]
        : (o.kind === 'cross-quote' ? legs.slice(0, 2) : legs).map((l) => l.market)
    // What /ignore and /venues judge by: the assets traded (not a conversion leg's quotes) and
    // every venue the route touches.
    const assets = [...new Set(markets.map((m) => m.slice(0, m.indexOf('/'))))]
    const routeVenues = [...new Set([o.buyVenue, o.sellVenue, ...legs.map((l) => l.venue)])]
    const cooldownMs = this.#o.cooldownMs ?? 60_000
    if (this.#lastAlertMs.size > PRUNE_ABOVE) {
      for (const [key, atMs] of this.#lastAlertMs)
        if (now - atMs >= cooldownMs) this.#lastAlertMs.delete(key)
    }
    const targets: AlertTarget[] = []
    const netBySize = new Map<number, number | undefined>()
    for (const chat of this.#o.chats()) {
      if (!chat.active || (chat.mutedUntilMs !== null && chat.mutedUntilMs > now)) continue
      if (!markets.some((m) => follows(chat.symbols, m))) continue
      if (!chatAllowed(this.#o.allowedChats, chat)) continue
      if (chat.ignoredAssets !== undefined && chat.ignoredAssets.length > 0) {
        if (assets.some((a) => chat.ignoredAssets!.includes(a))) continue
      }
      if (chat.venues != null && !routeVenues.every((v) => chat.venues!.includes(v))) continue
      if (marketMuted(chat.mutedMarkets, [o.symbol, ...markets], now)) continue
      if (chat.transferMode === 'only' && o.kind !== 'triangle') {
        if (o.transfer?.status !== 'transferable') continue
      }
      const size = chat.sizeQuote ?? this.#o.defaultSizeQuote
      if (!netBySize.has(size))
        netBySize.set(size, size === o.open.sizeQuote ? o.open.netBps : netAt(size))
      const net = netBySize.get(size)
      const thresholdBps = chat.thresholdBps ?? this.#o.defaultThresholdBps
      if (net === undefined || !(net >= thresholdBps)) continue
      const cooldownKey = `${chat.platform}:${chat.chatId}|${cooldownKeyOf(o)}`
      const last = this.#lastAlertMs.get(cooldownKey)
      if (last !== undefined && now - last < cooldownMs) continue
      this.#lastAlertMs.set(cooldownKey, now)
      const target: AlertTarget = {
        platform: chat.platform,
        chatId: chat.chatId,
        netBps: net,
        sizeQuote: size,
        thresholdBps,
      }
      targets.push(
        chat.digestMs
          ? { ...target, digestMs: chat.digestMs }
          : chat.minLifetimeMs
            ? { ...target, delayMs: chat.minLifetimeMs }
            : target,
      )
    }
    return targets
  }

  /**
   * The delivery rows for an opening, one per target; the store writes them in the same
   * transaction as the opportunity. Each is pending, due at once (or after the chat's
   * `/lifetime`) and carries the group key of its detector pass (`group.ts`), or, for a chat on
   * `/digest`, waits as `digest` until its period ends. Each carries the chat's threshold and,
   * when that is not MIN_SPREAD_PCT (which the opportunity's own figures are at), the largest
   * profitable size there from the opening's books (asked of `maxAt` once per distinct threshold).
   *
   * @param o the opportunity that opened
   * @param atMs when it opened
   * @param netAt as for `targets`
   * @param pass the detector pass it opened in (the opened event's `pass`)
   * @param maxAt the largest profitable size at another threshold; without it (or when it cannot
   *   say), a chat with its own threshold gets a row without one, and its alert shows the
   *   opportunity's figure at MIN_SPREAD_PCT
   */
  deliveries(
    o: Opportunity,
    atMs: number,
    netAt: NetAt,
    pass?: number,
    maxAt?: MaxAt,
  ): NewDeliveryRow[] {
    const groupKey = groupKeyOf(o, atMs, pass)
    const maxByThreshold = new Map<number, MaxSize | undefined>()
    const largest = (thresholdBps: number): Partial<NewDeliveryRow> => {
      if (thresholdBps === this.#o.defaultThresholdBps) return { thresholdBps }
      if (!maxByThreshold.has(thresholdBps)) maxByThreshold.set(thresholdBps, maxAt?.(thresholdBps))
      const max = maxByThreshold.get(thresholdBps)
      if (max === undefined || !Number.isFinite(max.maxSizeQuote + max.maxProfitQuote)) return {}
      return { thresholdBps, maxSizeQuote: max.maxSizeQuote, maxProfitQuote: max.maxProfitQuote }
    }
    return this.targets(o, netAt).map((t): NewDeliveryRow => {
      const row: NewDeliveryRow = {
        opportunityId: o.id,
        platform: t.platform,
        chatId: t.chatId,
        status: 'pending',
        // An alert for a chat's `/lifetime` waits; the store drops it if the opportunity closes first.
        nextAttemptAtMs: atMs + (t.delayMs ?? 0),
        netBps: t.netBps,
        sizeQuote: t.sizeQuote,
        createdAtMs: atMs,
        cooldownKey: cooldownKeyOf(o),
        ...largest(t.thresholdBps),
      }
      if (t.digestMs !== undefined) {
        return { ...row, status: 'digest', nextAttemptAtMs: digestDueMs(atMs, t.digestMs) }
      }
      return groupKey === undefined ? row : { ...row, groupKey }
    })
  }
}
