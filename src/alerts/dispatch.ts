/**
 * @module
 * Sends alert deliveries (rows written with their opportunity) to the chat platforms and edits
 * them while the opportunity lasts and when it closes. Every delivery is claimed in the database
 * before it is sent, so none is sent twice, even across a crash; failures are retried with
 * backoff and, after a bounded number of tries, marked failed (counted and visible).
 */
import type { Notifier, Platform } from '../chat/notifier.ts'
import { NotifierError } from '../chat/notifier.ts'
import type { ChatRepo } from '../db/chats.ts'
import type { DeliveryRow, OpportunityRow } from '../db/schema.ts'
import type { TriangleLeg } from '../detector/types.ts'
import type { Logger } from '../log.ts'
import { formatAlert, type AlertSource } from './format.ts'

export interface DispatcherOptions {
  readonly repo: ChatRepo
  readonly notifiers: Partial<Record<Platform, Notifier>>
  /** Called when a platform says we may not post to a chat: pause its alerts. */
  readonly pause: (platform: Platform, chatId: string, reason: string) => Promise<void>
  readonly log: Logger
  /** How often the database is checked for due deliveries and edits (also woken on new ones). */
  readonly pollMs?: number
  /** Tries before a delivery is marked failed. */
  readonly maxAttempts?: number
  readonly retryBaseMs?: number
  readonly retryCapMs?: number
  /** At most one in-place edit per message per this many ms while the opportunity is open. */
  readonly editEveryMs?: number
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
}

export class Dispatcher {
  readonly stats: DispatcherStats = {
    sent: 0,
    failed: 0,
    retried: 0,
    edited: 0,
    editFailures: 0,
    interrupted: 0,
  }
  readonly #o: DispatcherOptions
  readonly #now: () => number
  readonly #logged = new Set<string>()
  #timer: ReturnType<typeof setTimeout> | undefined
  #running: Promise<void> | undefined
  #again = false
  #stopped = true

  constructor(options: DispatcherOptions) {
    this.#o = options
    this.#now = options.now ?? Date.now
  }

  async start(): Promise<void> {
    if (!this.#stopped) return
    this.#stopped = false
    this.stats.interrupted += await this.#o.repo.failInterrupted()
    if (this.stats.interrupted > 0) {
      this.#o.log.warn(
        { count: this.stats.interrupted },
        'deliveries interrupted mid-send were marked failed, not re-sent',
      )
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

  /** Stops polling; resolves when the pass in progress (if any) has finished. */
  async stop(): Promise<void> {
    this.#stopped = true
    if (this.#timer !== undefined) clearTimeout(this.#timer)
    this.#timer = undefined
    await this.#running
  }

  /** One pass: send what is due, then edit what changed. Exposed for tests. */
  async #pass(): Promise<void> {
    try {
      for (const { delivery, opportunity } of await this.#o.repo.due(this.#now())) {
        if (this.#stopped) return
        await this.#send(delivery, opportunity)
      }
      for (const { delivery, opportunity } of await this.#o.repo.toEdit(
        this.#o.editEveryMs ?? 15_000,
      )) {
        if (this.#stopped) return
        await this.#edit(delivery, opportunity)
      }
    } catch (err) {
      this.#logOnce('database', 'alert dispatch could not read or update deliveries; retrying', err)
    }
  }

  async #send(d: DeliveryRow, o: OpportunityRow): Promise<void> {
    const notifier = this.#o.notifiers[d.platform]
    if (notifier === undefined) {
      await this.#o.repo.markFailed(d.id, `${d.platform} is not configured`)
      this.stats.failed++
      return
    }
    if (!(await this.#o.repo.claim(d.id))) return
    const attempts = d.attempts + 1
    try {
      const { messageId } = await notifier.send(d.chatId, formatAlert(toSource(o), d, this.#now()))
      await this.#o.repo.markSent(d.id, messageId, this.#now())
      this.stats.sent++
    } catch (err) {
      const e = asNotifierError(err)
      const why = `${e.kind}: ${e.message}`
      if (e.kind === 'forbidden') {
        await this.#o.repo.markFailed(d.id, why)
        this.stats.failed++
        await this.#o.pause(d.platform, d.chatId, e.message)
        this.#o.log.warn(
          { platform: d.platform, chatId: d.chatId, reason: e.message },
          'chat paused: the platform refused our messages',
        )
      } else if (e.kind === 'rejected' || attempts >= (this.#o.maxAttempts ?? 5)) {
        await this.#o.repo.markFailed(d.id, why)
        this.stats.failed++
        this.#logOnce(`failed:${e.kind}`, `alert delivery failed after ${attempts} tries`, err)
      } else {
        const base = this.#o.retryBaseMs ?? 1000
        const backoff =
          Math.min(this.#o.retryCapMs ?? 60_000, base * 2 ** (attempts - 1)) *
          (0.5 + Math.random() * 0.5)
        await this.#o.repo.retryLater(
          d.id,
          this.#now() + Math.max(backoff, e.retryAfterMs ?? 0),
          why,
        )
        this.stats.retried++
        this.#logOnce(`retry:${e.kind}`, 'alert delivery will be retried', err)
      }
    }
  }

  async #edit(d: DeliveryRow, o: OpportunityRow): Promise<void> {
    const notifier = this.#o.notifiers[d.platform]
    if (notifier === undefined || d.messageId === null) return
    const closed = o.closedAtMs !== null
    try {
      await notifier.edit(d.chatId, d.messageId, formatAlert(toSource(o), d, this.#now()))
      await this.#o.repo.markEdited(d.id, this.#now(), closed)
      this.stats.edited++
    } catch (err) {
      const e = asNotifierError(err)
      this.stats.editFailures++
      if (e.kind === 'forbidden') {
        await this.#o.repo.markEdited(d.id, this.#now(), true)
        await this.#o.pause(d.platform, d.chatId, e.message)
      } else if (e.kind === 'rejected') {
        // The message is gone or cannot change: stop trying to edit it.
        await this.#o.repo.markEdited(d.id, this.#now(), true)
      }
      this.#logOnce(`edit:${e.kind}`, 'editing an alert failed', err)
    }
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

/** A stored opportunity as the formatter reads it. */
export function toSource(o: OpportunityRow): AlertSource {
  return { ...o, legs: o.legs === null ? null : (JSON.parse(o.legs) as TriangleLeg[]) }
}
