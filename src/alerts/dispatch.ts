/**
 * @module
 * Sends alert deliveries (rows written with their opportunity) to the chat platforms and edits
 * them while the opportunity lasts and when it closes. The deliveries of one chat that one
 * detector pass opened for one asset on one moving venue go out as one message (`group.ts`),
 * edited as its members update and close; a chat on `/digest` gets one summary per period
 * instead (`digest.ts`). Each chat is its own queue: one send or edit at a time per chat, a few
 * chats at once per platform, and a chat that is rate-limited (or slow) holds only itself. Every
 * delivery is claimed in the database before it is sent (a digest's all at once), so none is sent
 * twice, even across a crash; failures are retried with backoff (a 429 after exactly its
 * `retry_after`) and, after a bounded number of tries, marked failed (counted and visible). What
 * happened to each delivery is announced on `events`.
 */
import type { ChatRepo, DueDelivery, DueDigest } from '../db/chats.ts'
import type { DeliveryRow, Platform } from '../db/schema.ts'
import { Emitter } from '../events.ts'
import type { Logger } from '../log.ts'
import { alertButtons } from './buttons.ts'
import { digestDueMs, formatDigest } from './digest.ts'
import { bestFirst, formatAlert, formatGroup, type AlertContext, type ChatQuote } from './format.ts'
import { marketOn, pickGroup, type MovingVenue } from './group.ts'
import { NotifierError, type AlertText, type Notifier } from './notifier.ts'
import type { TransferMode } from '../transfers/types.ts'

/** The delivery queries the dispatcher uses (`ChatRepo` has them). */
export type DeliveryRepo = Pick<
  ChatRepo,
  | 'due'
  | 'toEdit'
  | 'groupOf'
  | 'messageOf'
  | 'claimAll'
  | 'markSent'
  | 'retryLater'
  | 'markFailed'
  | 'markEdited'
  | 'markInterrupted'
  | 'dueDigests'
  | 'claimDigest'
  | 'markDigested'
  | 'retryDigest'
  | 'markDropped'
>

/** `last_error` of a digest delivery left out because it closed before the chat's `/lifetime`. */
export const DIGEST_SHORT = 'dropped: it closed before the chat’s /lifetime'

/** Which delivery an event is about. */
export interface DeliveryRef {
  readonly deliveryId: number
  readonly opportunityId: string
  readonly platform: Platform
  readonly chatId: string
}

/**
 * Which digest an event is about: the chat, and when it was due (the end of the period it sums
 * up; after a failed try, the time of the retry).
 */
export interface DigestRef {
  readonly platform: Platform
  readonly chatId: string
  readonly dueAtMs: number
}

/** What the dispatcher did, as it happens. */
export type DispatchEvent =
  | (DeliveryRef & {
      readonly type: 'delivery-sent'
      readonly messageId: string
      readonly attempts: number
    })
  | (DeliveryRef & {
      readonly type: 'delivery-retrying'
      readonly kind: NotifierError['kind']
      readonly attempts: number
      readonly retryAtMs: number
      readonly error: string
    })
  | (DeliveryRef & {
      readonly type: 'delivery-failed'
      /** `unconfigured`: no notifier for its platform. */
      readonly kind: NotifierError['kind'] | 'unconfigured'
      readonly attempts: number
      readonly error: string
    })
  | (DeliveryRef & { readonly type: 'delivery-edited'; readonly closed: boolean })
  | (DeliveryRef & {
      readonly type: 'delivery-edit-failed'
      readonly kind: NotifierError['kind']
      readonly error: string
    })
  | {
      readonly type: 'chat-paused'
      readonly platform: Platform
      readonly chatId: string
      readonly reason: string
    }
  /** Deliveries found half-sent at start-up, marked failed instead of sent twice. */
  | { readonly type: 'deliveries-interrupted'; readonly count: number }
  /** A chat's digest was posted: `deliveryIds` are accounted for by message `messageId`. */
  | (DigestRef & {
      readonly type: 'digest-sent'
      readonly messageId: string
      readonly deliveryIds: readonly number[]
    })
  | (DigestRef & {
      readonly type: 'digest-retrying'
      readonly kind: NotifierError['kind']
      readonly attempts: number
      readonly retryAtMs: number
      readonly error: string
    })
  | (DigestRef & {
      readonly type: 'digest-failed'
      readonly kind: NotifierError['kind'] | 'unconfigured'
      readonly attempts: number
      readonly error: string
      readonly count: number
    })
  /**
   * One pass over due deliveries and edits finished (also after a database error): what it
   * found is being sent, each chat's in its own queue.
   */
  | { readonly type: 'pass-done' }

export interface DispatcherOptions {
  readonly repo: DeliveryRepo
  readonly notifiers: Partial<Record<Platform, Notifier>>
  /** Called when a platform says we may not post to a chat: pause its alerts. */
  readonly pause: (platform: Platform, chatId: string, reason: string) => Promise<void>
  readonly log: Logger
  /** How often the database is checked for due deliveries and edits (also woken on new ones). */
  readonly pollMs?: number
  /**
   * Sends and edits in flight at once per platform, each to a different chat (default 3: grammY's
   * advice for bulk messages is to send a few at a time, as fast as they go, and to respect every
   * 429, rather than to throttle).
   */
  readonly concurrency?: number
  /** Tries before a delivery is marked failed (429s may take four times as many). */
  readonly maxAttempts?: number
  readonly retryBaseMs?: number
  readonly retryCapMs?: number
  /** At most one in-place edit per message per this many ms while the opportunity is open. */
  readonly editEveryMs?: number
  /** A chat's `/transfer` setting, read when its alert is sent or edited (default: shown). */
  readonly transferModeOf?: (platform: Platform, chatId: string) => TransferMode | undefined
  /**
   * A chat's `/digest` period and `/lifetime`, read when its digest is due: the period names the
   * digest's span, and openings that closed before the lifetime are left out (marked dropped).
   */
  readonly digestOf?: (
    platform: Platform,
    chatId: string,
  ) => { readonly periodMs: number | null; readonly minLifetimeMs: number | null } | undefined
  /** What every alert shares (each venue's taker fee). */
  readonly alertContext?: AlertContext
  /**
   * Messages (sends and edits) one Telegram group gets per minute at most before its edits wait
   * (new alerts never do). Telegram allows a group about 20 a minute; the default, 18, leaves room
   * for them. Private chats (about one a second) and Discord channels are paced by their 429s.
   */
  readonly messagesPerChatPerMinute?: number
  readonly now?: () => number
}

export interface DispatcherStats {
  sent: number
  failed: number
  retried: number
  edited: number
  editFailures: number
  /** Deliveries found half-sent after a restart, marked failed instead of sent twice. */
  interrupted: number
  /** Digest messages posted, and the deliveries they summed up. */
  digests: number
  digested: number
}

export class Dispatcher {
  readonly stats: DispatcherStats = {
    sent: 0,
    failed: 0,
    retried: 0,
    edited: 0,
    editFailures: 0,
    interrupted: 0,
    digests: 0,
    digested: 0,
  }
  /** Every send, retry, failure, edit and pause, as it happens. */
  readonly events: Emitter<DispatchEvent>
  readonly #o: DispatcherOptions
  readonly #now: () => number
  readonly #logged = new Set<string>()
  /** Chats (`platform:chatId`) with a send or edit in flight. */
  readonly #busy = new Set<string>()
  /** Each chat's messages (sends and edits) of the last minute, for its edit budget. */
  readonly #recent = new Map<string, number[]>()
  readonly #inflight = new Map<Platform, number>()
  /** Chats (and `platform:*`, a whole platform) told to wait by a 429, until when. */
  readonly #heldUntil = new Map<string, number>()
  readonly #tasks = new Set<Promise<void>>()
  #timer: ReturnType<typeof setTimeout> | undefined
  #running: Promise<void> | undefined
  #again = false
  #stopped = true

  constructor(options: DispatcherOptions) {
    this.#o = options
    this.#now = options.now ?? Date.now
    this.events = new Emitter((err) =>
      options.log.error({ err }, 'a listener of dispatcher events failed'),
    )
  }

  async start(): Promise<void> {
    if (!this.#stopped) return
    this.#stopped = false
    const interrupted = await this.#o.repo.markInterrupted()
    this.stats.interrupted += interrupted
    if (interrupted > 0) {
      this.#o.log.warn(
        { count: interrupted },
        'deliveries interrupted mid-send are marked unknown (maybe delivered), not re-sent',
      )
      this.events.emit({ type: 'deliveries-interrupted', count: interrupted })
    }
    this.wake()
  }

  /** Runs a pass now (new deliveries were written). */
  wake(): void {
    if (this.#stopped) return
    if (this.#running) {
      this.#again = true
      return
    }
    if (this.#timer !== undefined) clearTimeout(this.#timer)
    this.#timer = undefined
    this.#running = this.#pass().finally(() => {
      this.#running = undefined
      if (this.#stopped) return
      if (this.#again) {
        this.#again = false
        this.wake()
      } else {
        this.#timer = setTimeout(() => this.wake(), this.#o.pollMs ?? 500)
      }
    })
  }

  /** Stops polling; resolves when the pass and the sends in progress (if any) have finished. */
  async stop(): Promise<void> {
    this.#stopped = true
    if (this.#timer !== undefined) clearTimeout(this.#timer)
    this.#timer = undefined
    await this.#running
    await Promise.allSettled([...this.#tasks])
  }

  /** One pass: send what is due, then edit what changed. */
  async #pass(): Promise<void> {
    try {
      await this.#sendAndEdit()
    } catch (err) {
      this.#logOnce('database', 'alert dispatch could not read or update deliveries; retrying', err)
    }
    this.events.emit({ type: 'pass-done' })
  }

  /**
   * Starts the due sends first (the head of each chat's queue, with the related openings of its
   * pass), then the due digests, then edits, in free chats.
   */
  async #sendAndEdit(): Promise<void> {
    for (const head of await this.#o.repo.due(this.#now())) {
      if (this.#stopped) return
      const notifier = this.#o.notifiers[head.delivery.platform]
      if (notifier === undefined) await this.#unconfigured(head.delivery)
      else this.#spawn(head.delivery, () => this.#send(notifier, head))
    }
    for (const digest of await this.#o.repo.dueDigests(this.#now())) {
      if (this.#stopped) return
      const notifier = this.#o.notifiers[digest.platform]
      this.#spawn(digest, () => this.#sendDigest(notifier, digest))
    }
    const editEveryMs = this.#o.editEveryMs ?? 15_000
    for (const { delivery, opportunity } of await this.#o.repo.toEdit(editEveryMs)) {
      if (this.#stopped) return
      const notifier = this.#o.notifiers[delivery.platform]
      // A chat at its minute's message budget gets its edits in a later minute (a closing edit
      // too: it waits rather than be refused by the platform).
      if (isTelegramGroup(delivery) && this.#atBudget(chatKey(delivery))) continue
      if (notifier !== undefined && delivery.messageId !== null)
        this.#spawn(delivery, () => this.#edit(notifier, { delivery, opportunity }))
    }
  }

  /** Counts a message sent or edited in a chat (its minute's budget). */
  #spent(key: string): void {
    const now = this.#now()
    const times = (this.#recent.get(key) ?? []).filter((t) => now - t < 60_000)
    times.push(now)
    this.#recent.set(key, times)
  }

  /** True when the chat had its budget of messages in the last minute. */
  #atBudget(key: string): boolean {
    const now = this.#now()
    const times = this.#recent.get(key)
    if (times === undefined) return false
    const live = times.filter((t) => now - t < 60_000)
    if (live.length === 0) this.#recent.delete(key)
    else this.#recent.set(key, live)
    return live.length >= (this.#o.messagesPerChatPerMinute ?? 18)
  }

  /**
   * Runs a send or edit in its chat's queue, unless the chat is busy or told to wait, or its
   * platform has `concurrency` in flight; then a later pass (woken when one finishes) runs it.
   */
  #spawn(
    d: { readonly platform: Platform; readonly chatId: string },
    job: () => Promise<void>,
  ): void {
    const key = chatKey(d)
    const now = this.#now()
    if (this.#busy.has(key) || this.#held(key, now) || this.#held(`${d.platform}:*`, now)) return
    const inflight = this.#inflight.get(d.platform) ?? 0
    if (inflight >= (this.#o.concurrency ?? 3)) return
    this.#busy.add(key)
    this.#inflight.set(d.platform, inflight + 1)
    const task: Promise<void> = job()
      .catch((err: unknown) =>
        this.#logOnce('database', 'alert dispatch could not update a delivery; retrying', err),
      )
      .finally(() => {
        this.#busy.delete(key)
        this.#inflight.set(d.platform, (this.#inflight.get(d.platform) ?? 1) - 1)
        this.#tasks.delete(task)
        this.wake()
      })
    this.#tasks.add(task)
  }

  #held(key: string, now: number): boolean {
    const until = this.#heldUntil.get(key)
    if (until === undefined) return false
    if (until > now) return true
    this.#heldUntil.delete(key)
    return false
  }

  /**
   * A 429: the chat sends nothing more until `untilMs`. When several chats of a platform are
   * told to wait at once, the limit is the bot's, not the chat's: the whole platform waits.
   */
  #hold(d: { readonly platform: Platform; readonly chatId: string }, untilMs: number): void {
    const now = this.#now()
    const key = chatKey(d)
    this.#heldUntil.set(key, Math.max(untilMs, this.#heldUntil.get(key) ?? 0))
    let held = 0
    for (const k of [...this.#heldUntil.keys()])
      if (k.startsWith(`${d.platform}:`) && !k.endsWith(':*') && this.#held(k, now)) held++
    const platform = `${d.platform}:*`
    if (held >= PLATFORM_HOLD_AT && !this.#held(platform, now)) {
      this.#heldUntil.set(platform, untilMs)
      this.#o.log.warn(
        { platform: d.platform, chats: held, untilMs },
        'several chats are rate-limited at once: all alerts to the platform wait',
      )
    }
    setTimeout(() => this.wake(), Math.max(0, untilMs - now)).unref?.()
  }

  async #unconfigured(d: DeliveryRow): Promise<void> {
    const error = `${d.platform} is not configured`
    await this.#o.repo.markFailed(d.id, error)
    this.stats.failed++
    this.events.emit({
      type: 'delivery-failed',
      ...refOf(d),
      kind: 'unconfigured',
      attempts: d.attempts,
      error,
    })
  }

  /**
   * Sends the head of a chat's queue, with the deliveries of its chat that its detector pass
   * opened for the same asset on the same moving venue (one message for all, each claimed first).
   */
  async #send(notifier: Notifier, head: DueDelivery): Promise<void> {
    let members: DueDelivery[] = [head]
    let moving: MovingVenue | undefined
    if (head.delivery.groupKey !== null) {
      const all = await this.#o.repo.groupOf(head.delivery, this.#now())
      const current = all.find((m) => m.delivery.id === head.delivery.id)
      if (current === undefined) return // no longer pending: claimed or dropped meanwhile
      ;({ members, moving } = pickGroup(current, all))
    }
    const claimed = new Set(await this.#o.repo.claimAll(members.map((m) => m.delivery.id)))
    members = members.filter((m) => claimed.has(m.delivery.id))
    if (members.length === 0) return
    const ids = members.map((m) => m.delivery.id)
    const attempts = Math.max(...members.map((m) => m.delivery.attempts)) + 1
    const events = <E extends DispatchEvent>(extra: (m: DueDelivery) => E) =>
      members.forEach((m) => this.events.emit(extra(m)))
    try {
      const { messageId } = await notifier.send(
        head.delivery.chatId,
        this.#alertText(members, moving),
      )
      this.#spent(chatKey(head.delivery))
      await this.#o.repo.markSent(ids, messageId, this.#now())
      this.stats.sent += members.length
      events((m) => ({
        type: 'delivery-sent',
        ...refOf(m.delivery),
        messageId,
        attempts: m.delivery.attempts + 1,
      }))
    } catch (err) {
      const e = asNotifierError(err)
      const why = `${e.kind}: ${e.message}`
      const failed = (kind: NotifierError['kind']) =>
        events((m) => ({
          type: 'delivery-failed',
          ...refOf(m.delivery),
          kind,
          attempts: m.delivery.attempts + 1,
          error: why,
        }))
      if (e.kind === 'forbidden') {
        await this.#o.repo.markFailed(ids, why)
        this.stats.failed += members.length
        failed(e.kind)
        await this.#pause(head.delivery, e.message)
      } else if (
        e.kind === 'rejected' ||
        attempts >= (this.#o.maxAttempts ?? 5) * (e.kind === 'rate-limited' ? 4 : 1)
      ) {
        await this.#o.repo.markFailed(ids, why)
        this.stats.failed += members.length
        this.#logOnce(`failed:${e.kind}`, `alert delivery failed after ${attempts} tries`, err)
        failed(e.kind)
      } else {
        const retryAtMs = this.#retryAt(e, attempts)
        if (e.kind === 'rate-limited') this.#hold(refOf(head.delivery), retryAtMs)
        await this.#o.repo.retryLater(ids, retryAtMs, why)
        this.stats.retried += members.length
        this.#logOnce(`retry:${e.kind}`, 'alert delivery will be retried', err)
        events((m) => ({
          type: 'delivery-retrying',
          ...refOf(m.delivery),
          kind: e.kind,
          attempts: m.delivery.attempts + 1,
          retryAtMs,
          error: why,
        }))
      }
    }
  }

  /** When a failed send is tried again: a 429 after exactly its retry_after, else with backoff. */
  #retryAt(e: NotifierError, attempts: number): number {
    const base = this.#o.retryBaseMs ?? 1000
    const backoff =
      Math.min(this.#o.retryCapMs ?? 60_000, base * 2 ** (attempts - 1)) *
      (0.5 + Math.random() * 0.5)
    return this.#now() + (e.retryAfterMs !== undefined ? e.retryAfterMs : backoff)
  }

  /**
   * The message of one delivery (its alert), or of a group (`formatGroup`), with the buttons:
   * mute the market its title names, the details of its (best) route, stop.
   */
  #alertText(members: readonly DueDelivery[], moving: MovingVenue | undefined): AlertText {
    const now = this.#now()
    const context = this.#o.alertContext
    if (moving === undefined || members.length < 2) {
      const { delivery, opportunity } = members[0]!
      const text = formatAlert(opportunity, this.#chatQuote(delivery), now, context)
      return { ...text, buttons: alertButtons(delivery.id, opportunity.symbol) }
    }
    const group = members.map((m) => ({
      id: m.delivery.id,
      record: m.opportunity,
      quote: this.#chatQuote(m.delivery),
    }))
    const best = bestFirst(group)[0]!
    return {
      ...formatGroup(group, moving, now, context),
      buttons: alertButtons(best.id, marketOn(best.record, moving.side)),
    }
  }

  /**
   * The delivery's own numbers (its net at its size, its largest profitable size at its
   * threshold), with its chat's current transfer setting.
   */
  #chatQuote(d: DeliveryRow): ChatQuote {
    const transfer = this.#o.transferModeOf?.(d.platform, d.chatId)
    const { netBps, sizeQuote, thresholdBps, maxSizeQuote, maxProfitQuote } = d
    const quote = { netBps, sizeQuote, thresholdBps, maxSizeQuote, maxProfitQuote }
    return transfer === undefined ? quote : { ...quote, transfer }
  }

  /** Edits a posted message: one alert, or a group with all its members as they are now. */
  async #edit(notifier: Notifier, row: DueDelivery): Promise<void> {
    const d = row.delivery
    if (d.messageId === null) return
    let members: DueDelivery[] = [row]
    let moving: MovingVenue | undefined
    if (d.groupKey !== null) {
      const all = await this.#o.repo.messageOf(d.platform, d.chatId, d.messageId)
      if (all.length > 1) {
        members = all
        moving = pickGroup(all.find((m) => m.delivery.id === d.id) ?? all[0]!, all).moving
      }
    }
    const ids = members.map((m) => m.delivery.id)
    const isClosed = (m: DueDelivery) => m.opportunity.closedAtMs !== null
    try {
      await notifier.edit(d.chatId, d.messageId, this.#alertText(members, moving))
      this.#spent(chatKey(d))
      const now = this.#now()
      const closed = members.filter(isClosed).map((m) => m.delivery.id)
      const open = members.filter((m) => !isClosed(m)).map((m) => m.delivery.id)
      if (closed.length > 0) await this.#o.repo.markEdited(closed, now, true)
      if (open.length > 0) await this.#o.repo.markEdited(open, now, false)
      this.stats.edited++
      for (const m of members)
        this.events.emit({ type: 'delivery-edited', ...refOf(m.delivery), closed: isClosed(m) })
    } catch (err) {
      const e = asNotifierError(err)
      this.stats.editFailures++
      if (e.kind === 'rate-limited') {
        this.#hold(refOf(d), this.#now() + (e.retryAfterMs ?? 1000))
      } else if (e.kind === 'forbidden') {
        await this.#o.repo.markEdited(ids, this.#now(), true)
        await this.#pause(d, e.message)
      } else if (e.kind === 'rejected') {
        // The message is gone or cannot change: stop trying to edit it.
        await this.#o.repo.markEdited(ids, this.#now(), true)
      }
      this.#logOnce(`edit:${e.kind}`, 'editing an alert failed', err)
      for (const m of members)
        this.events.emit({
          type: 'delivery-edit-failed',
          ...refOf(m.delivery),
          kind: e.kind,
          error: `${e.kind}: ${e.message}`,
        })
    }
  }

  /**
   * Sends a chat's due digest: claims every delivery waiting for it, leaves out those that closed
   * before the chat's `/lifetime` (marked dropped), posts one summary and records the rest
   * `digested` with its message id. Failures are retried like a send (the deliveries wait as
   * `digest` again); a digest caught mid-send by a crash is marked unknown at the next start.
   */
  async #sendDigest(notifier: Notifier | undefined, due: DueDigest): Promise<void> {
    const claimed = await this.#o.repo.claimDigest(due.platform, due.chatId, due.dueAtMs)
    if (claimed.length === 0) return
    const ref: DigestRef = { platform: due.platform, chatId: due.chatId, dueAtMs: due.dueAtMs }
    const attempts = Math.max(...claimed.map((m) => m.delivery.attempts))
    if (notifier === undefined) {
      const error = `${due.platform} is not configured`
      await this.#o.repo.markFailed(
        claimed.map((m) => m.delivery.id),
        error,
      )
      this.stats.failed += claimed.length
      const count = claimed.length
      this.events.emit({
        type: 'digest-failed',
        ...ref,
        kind: 'unconfigured',
        attempts,
        error,
        count,
      })
      return
    }
    const settings = this.#o.digestOf?.(due.platform, due.chatId)
    const lifetimeMs = settings?.minLifetimeMs ?? null
    const short = (m: DueDelivery) =>
      lifetimeMs !== null &&
      m.opportunity.closedAtMs !== null &&
      m.opportunity.closedAtMs - m.opportunity.openedAtMs < lifetimeMs
    const left = claimed.filter(short).map((m) => m.delivery.id)
    if (left.length > 0) await this.#o.repo.markDropped(left, DIGEST_SHORT)
    const kept = claimed.filter((m) => !short(m))
    if (kept.length === 0) return
    const ids = kept.map((m) => m.delivery.id)
    // The period it sums up: from its start (or its first opening) to its end, which a retry
    // does not move (`dueAtMs` is then the retry's time).
    const created = kept.map((m) => m.delivery.createdAtMs)
    const earliestMs = Math.min(...created)
    const periodMs = settings?.periodMs ?? null
    const toMs =
      periodMs === null
        ? due.dueAtMs
        : Math.min(due.dueAtMs, digestDueMs(Math.max(...created), periodMs))
    const fromMs = periodMs === null ? earliestMs : Math.min(toMs - periodMs, earliestMs)
    const text = formatDigest(
      kept.map((m) => m.opportunity),
      { fromMs, toMs },
      this.#now(),
    )
    try {
      const { messageId } = await notifier.send(due.chatId, text)
      this.#spent(chatKey(due))
      await this.#o.repo.markDigested(ids, messageId, this.#now())
      this.stats.digests++
      this.stats.digested += ids.length
      this.events.emit({ type: 'digest-sent', ...ref, messageId, deliveryIds: ids })
    } catch (err) {
      const e = asNotifierError(err)
      const why = `${e.kind}: ${e.message}`
      if (
        e.kind === 'forbidden' ||
        e.kind === 'rejected' ||
        attempts >= (this.#o.maxAttempts ?? 5) * (e.kind === 'rate-limited' ? 4 : 1)
      ) {
        await this.#o.repo.markFailed(ids, why)
        this.stats.failed += ids.length
        this.#logOnce(`digest:${e.kind}`, `a digest failed after ${attempts} tries`, err)
        const count = ids.length
        this.events.emit({
          type: 'digest-failed',
          ...ref,
          kind: e.kind,
          attempts,
          error: why,
          count,
        })
        if (e.kind === 'forbidden') await this.#pause(due, e.message)
      } else {
        const retryAtMs = this.#retryAt(e, attempts)
        if (e.kind === 'rate-limited') this.#hold(due, retryAtMs)
        await this.#o.repo.retryDigest(ids, retryAtMs, why)
        this.stats.retried += ids.length
        this.#logOnce(`retry:${e.kind}`, 'a digest will be retried', err)
        this.events.emit({
          type: 'digest-retrying',
          ...ref,
          kind: e.kind,
          attempts,
          retryAtMs,
          error: why,
        })
      }
    }
  }

  async #pause(
    d: { readonly platform: Platform; readonly chatId: string },
    reason: string,
  ): Promise<void> {
    await this.#o.pause(d.platform, d.chatId, reason)
    this.#o.log.warn(
      { platform: d.platform, chatId: d.chatId, reason },
      'chat paused: the platform refused our messages',
    )
    this.events.emit({ type: 'chat-paused', platform: d.platform, chatId: d.chatId, reason })
  }

  #logOnce(kind: string, message: string, err: unknown): void {
    if (this.#logged.has(kind)) return
    this.#logged.add(kind)
    this.#o.log.warn({ err, kind }, `${message} (further ${kind} problems are counted, not logged)`)
  }
}

function asNotifierError(err: unknown): NotifierError {
  if (err instanceof NotifierError) return err
  return new NotifierError(
    'transient',
    err instanceof Error ? err.message : String(err),
    undefined,
    { cause: err },
  )
}

/** Rate-limited chats of one platform at once that make the whole platform wait. */
const PLATFORM_HOLD_AT = 3

const chatKey = (d: { readonly platform: Platform; readonly chatId: string }): string =>
  `${d.platform}:${d.chatId}`

const refOf = (d: DeliveryRow): DeliveryRef => ({
  deliveryId: d.id,
  opportunityId: d.opportunityId,
  platform: d.platform,
  chatId: d.chatId,
})

/** A Telegram group, supergroup or channel: their chat ids are negative (private chats positive). */
const isTelegramGroup = (d: { platform: string; chatId: string }): boolean =>
  d.platform === 'telegram' && d.chatId.startsWith('-')
