/**
 * @module
 * Queries for chat settings, subscriptions and alert deliveries. The chat core and the dispatcher
 * read and write through here, each typed by the few calls it makes (`ChatSettingsRepo`,
 * `DeliveryRepo`); deliveries come with their opportunity as the one `OpportunityRecord`.
 */
import { and, asc, eq, gte, inArray, isNotNull, lte, or, sql } from 'drizzle-orm'
import { alias } from 'drizzle-orm/sqlite-core'
import type { OpportunityRecord } from '../detector/record.ts'
import type { Db } from './client.ts'
import type { TransferMode } from '../transfers/types.ts'
import {
  chats,
  deliveries,
  opportunities,
  subscriptions,
  type DeliveryRow,
  type OpportunityRow,
  type Platform,
} from './schema.ts'
import { fromRow } from './store.ts'

/** A delivery with the current record of its opportunity. */
export interface DueDelivery {
  readonly delivery: DeliveryRow
  readonly opportunity: OpportunityRecord
}

/** A chat's settings with its subscriptions, as the chat core caches them. */
export interface ChatSettings {
  platform: Platform
  chatId: string
  active: boolean
  pausedReason: string | null
  thresholdBps: number | null
  sizeQuote: number | null
  mutedUntilMs: number | null
  /** `/transfer`: `only` transferable routes, `any` (default), or `off` (no transfer line). */
  transferMode: TransferMode
  /** `/ignore`: base assets this chat hears nothing about. */
  ignoredAssets: string[]
  /** `/venues`: only routes between these venues (null: every venue). */
  venues: string[] | null
  /** `/lifetime`: alert only once an opportunity has lasted this long (null: at once). */
  minLifetimeMs: number | null
  /** `/digest`: one summary per this many ms instead of single alerts (null: single alerts). */
  digestMs: number | null
  /** Markets muted by an alert's button: market → until when (ms); expired ones mean nothing. */
  mutedMarkets: Record<string, number>
  symbols: Set<string>
}

export type ChatPatch = Partial<
  Pick<
    ChatSettings,
    | 'active'
    | 'pausedReason'
    | 'thresholdBps'
    | 'sizeQuote'
    | 'mutedUntilMs'
    | 'transferMode'
    | 'ignoredAssets'
    | 'venues'
    | 'minLifetimeMs'
    | 'digestMs'
    | 'mutedMarkets'
  >
>

/** Which chat a delivery was for, and about which opportunity (what an alert's button names). */
export interface DeliveryRef {
  readonly id: number
  readonly opportunityId: string
  readonly platform: Platform
  readonly chatId: string
}

/** A chat whose digest is due: its deliveries waiting as `digest` until `dueAtMs`. */
export interface DueDigest {
  readonly platform: Platform
  readonly chatId: string
  readonly dueAtMs: number
}

export class ChatRepo {
  readonly #db: Db

  constructor(db: Db) {
    this.#db = db
  }

  /** Every chat with its subscriptions. */
  async loadAll(): Promise<ChatSettings[]> {
    const rows = await this.#db.select().from(chats)
    const subs = await this.#db.select().from(subscriptions)
    const byKey = new Map<string, ChatSettings>()
    for (const r of rows) {
      byKey.set(`${r.platform}:${r.chatId}`, {
        platform: r.platform,
        chatId: r.chatId,
        active: r.active,
        pausedReason: r.pausedReason,
        thresholdBps: r.thresholdBps,
        sizeQuote: r.sizeQuote,
        mutedUntilMs: r.mutedUntilMs,
        transferMode: r.transferMode,
        ignoredAssets: r.ignoredAssets,
        venues: r.venues,
        minLifetimeMs: r.minLifetimeMs,
        digestMs: r.digestMs,
        mutedMarkets: r.mutedMarkets,
        symbols: new Set(),
      })
    }
    for (const s of subs) byKey.get(`${s.platform}:${s.chatId}`)?.symbols.add(s.symbol)
    return [...byKey.values()]
  }

  /** Creates the chat if new, then applies the patch. */
  async save(platform: Platform, chatId: string, patch: ChatPatch, nowMs: number): Promise<void> {
    await this.#db
      .insert(chats)
      .values({ platform, chatId, createdAtMs: nowMs, updatedAtMs: nowMs, ...patch })
      .onConflictDoUpdate({
        target: [chats.platform, chats.chatId],
        set: { ...patch, updatedAtMs: nowMs },
      })
  }

  async subscribe(
    platform: Platform,
    chatId: string,
    symbols: readonly string[],
    nowMs: number,
  ): Promise<void> {
    await this.save(platform, chatId, {}, nowMs)
    if (symbols.length === 0) return
    await this.#db
      .insert(subscriptions)
      .values(symbols.map((symbol) => ({ platform, chatId, symbol, createdAtMs: nowMs })))
      .onConflictDoNothing()
  }

  async unsubscribe(
    platform: Platform,
    chatId: string,
    symbols: readonly string[] | 'all',
  ): Promise<void> {
    const chat = and(eq(subscriptions.platform, platform), eq(subscriptions.chatId, chatId))
    await this.#db
      .delete(subscriptions)
      .where(symbols === 'all' ? chat : and(chat, inArray(subscriptions.symbol, [...symbols])))
  }

  // ---- deliveries -------------------------------------------------------------------------

  /**
   * The head of each chat's queue when it is due now: per chat, its pending delivery with the
   * earliest `nextAttemptAtMs` (then the lowest id), if that is due; oldest first, one per chat.
   * A chat's deliveries go out one at a time, and one chat's backlog never hides another chat.
   */
  async due(nowMs: number, limit = 200): Promise<DueDelivery[]> {
    const head = alias(deliveries, 'head')
    const headId = this.#db
      .select({ id: head.id })
      .from(head)
      .where(
        and(
          eq(head.platform, deliveries.platform),
          eq(head.chatId, deliveries.chatId),
          eq(head.status, 'pending'),
        ),
      )
      .orderBy(asc(head.nextAttemptAtMs), asc(head.id))
      .limit(1)
    const rows = await this.#withOpportunity()
      .where(
        and(
          eq(deliveries.status, 'pending'),
          lte(deliveries.nextAttemptAtMs, nowMs),
          eq(deliveries.id, sql`(${headId})`),
        ),
      )
      .orderBy(asc(deliveries.nextAttemptAtMs), asc(deliveries.id))
      .limit(limit)
    return rows.map(toDue)
  }

  /**
   * When each chat was last alerted per cooldown key, from the alerts written since `sinceMs`:
   * `platform:chatId|cooldownKey` → ms. The fan-out loads its cooldowns from here at start-up.
   */
  async lastAlerts(sinceMs: number): Promise<Map<string, number>> {
    const rows = await this.#db
      .select({
        platform: deliveries.platform,
        chatId: deliveries.chatId,
        cooldownKey: deliveries.cooldownKey,
        atMs: sql<number>`max(${deliveries.createdAtMs})`,
      })
      .from(deliveries)
      .where(and(gte(deliveries.createdAtMs, sinceMs), isNotNull(deliveries.cooldownKey)))
      .groupBy(deliveries.platform, deliveries.chatId, deliveries.cooldownKey)
    return new Map(rows.map((r) => [`${r.platform}:${r.chatId}|${r.cooldownKey}`, Number(r.atMs)]))
  }

  /**
   * Sent alerts whose message should be edited: the opportunity closed and the message does not
   * say so yet, or it was updated at least `everyMs` after the last edit.
   */
  async toEdit(everyMs: number, limit = 50): Promise<DueDelivery[]> {
    const rows = await this.#withOpportunity()
      .where(
        and(
          eq(deliveries.status, 'sent'),
          eq(deliveries.closedShown, false),
          isNotNull(deliveries.messageId),
          or(
            isNotNull(opportunities.closedAtMs),
            sql`${opportunities.updatedAtMs} >= coalesce(${deliveries.editedAtMs}, ${deliveries.sentAtMs}) + ${everyMs}`,
          ),
        ),
      )
      .orderBy(asc(deliveries.id))
      .limit(limit)
    return rows.map(toDue)
  }

  /** Deliveries joined with their opportunity (the rows `due` and `toEdit` filter). */
  #withOpportunity() {
    return this.#db
      .select({ delivery: deliveries, opportunity: opportunities })
      .from(deliveries)
      .innerJoin(opportunities, eq(opportunities.id, deliveries.opportunityId))
  }

  /**
   * The other deliveries of `d`'s chat that share its group key (its detector pass and asset),
   * pending and due now, `d` among them while it is pending; oldest first.
   */
  async groupOf(d: DeliveryRow, nowMs: number): Promise<DueDelivery[]> {
    if (d.groupKey === null) return []
    const rows = await this.#withOpportunity()
      .where(
        and(
          eq(deliveries.platform, d.platform),
          eq(deliveries.chatId, d.chatId),
          eq(deliveries.status, 'pending'),
          eq(deliveries.groupKey, d.groupKey),
          lte(deliveries.nextAttemptAtMs, nowMs),
        ),
      )
      .orderBy(asc(deliveries.id))
    return rows.map(toDue)
  }

  /** The sent deliveries posted as one message (a grouped alert's members), oldest first. */
  async messageOf(platform: Platform, chatId: string, messageId: string): Promise<DueDelivery[]> {
    const rows = await this.#withOpportunity()
      .where(
        and(
          eq(deliveries.platform, platform),
          eq(deliveries.chatId, chatId),
          eq(deliveries.messageId, messageId),
          eq(deliveries.status, 'sent'),
        ),
      )
      .orderBy(asc(deliveries.id))
    return rows.map(toDue)
  }

  /** Which chat and opportunity a delivery is about (an alert's button names its delivery). */
  async delivery(id: number): Promise<DeliveryRef | undefined> {
    const [row] = await this.#db
      .select({
        id: deliveries.id,
        opportunityId: deliveries.opportunityId,
        platform: deliveries.platform,
        chatId: deliveries.chatId,
      })
      .from(deliveries)
      .where(eq(deliveries.id, id))
    return row
  }

  /** Claims a delivery before sending it (pending → sending); false when someone else has. */
  async claim(id: number): Promise<boolean> {
    return (await this.claimAll([id])).length === 1
  }

  /**
   * Claims deliveries before sending them as one message (pending → sending, in one statement);
   * returns the ids claimed (those still pending).
   */
  async claimAll(ids: readonly number[]): Promise<number[]> {
    const claimed: number[] = []
    for (const part of chunks(ids)) {
      const res = await this.#db
        .update(deliveries)
        .set({ status: 'sending', attempts: sql`${deliveries.attempts} + 1` })
        .where(and(inArray(deliveries.id, part), eq(deliveries.status, 'pending')))
        .returning({ id: deliveries.id })
      claimed.push(...res.map((r) => r.id))
    }
    return claimed
  }

  async markSent(id: Ids, messageId: string, nowMs: number): Promise<void> {
    await this.#set(id, { status: 'sent', messageId, sentAtMs: nowMs, lastError: null })
  }

  async retryLater(id: Ids, atMs: number, error: string): Promise<void> {
    await this.#set(id, { status: 'pending', nextAttemptAtMs: atMs, lastError: error })
  }

  async markFailed(id: Ids, error: string): Promise<void> {
    await this.#set(id, { status: 'failed', lastError: error })
  }

  async markEdited(id: Ids, nowMs: number, closedShown: boolean): Promise<void> {
    await this.#set(id, { editedAtMs: nowMs, closedShown })
  }

  // ---- digests ----------------------------------------------------------------------------

  /**
   * The chats with a digest due now: per chat, the earliest end of a period its `digest`
   * deliveries wait for, if it has passed (a digest due while the process was down is due at
   * once after the restart); earliest first.
   */
  async dueDigests(nowMs: number, limit = 200): Promise<DueDigest[]> {
    const rows = await this.#db
      .select({
        platform: deliveries.platform,
        chatId: deliveries.chatId,
        dueAtMs: sql<number>`min(${deliveries.nextAttemptAtMs})`,
      })
      .from(deliveries)
      .where(and(eq(deliveries.status, 'digest'), lte(deliveries.nextAttemptAtMs, nowMs)))
      .groupBy(deliveries.platform, deliveries.chatId)
      .orderBy(sql`3`)
      .limit(limit)
    return rows.map((r) => ({ ...r, dueAtMs: Number(r.dueAtMs) }))
  }

  /**
   * Claims one chat's digest before sending it (digest → digesting, in one statement): the
   * deliveries waiting for `dueAtMs`, with their opportunities as they are now. Empty when
   * someone else has claimed them.
   */
  async claimDigest(platform: Platform, chatId: string, dueAtMs: number): Promise<DueDelivery[]> {
    const chat = and(eq(deliveries.platform, platform), eq(deliveries.chatId, chatId))
    const claimed = await this.#db
      .update(deliveries)
      .set({ status: 'digesting', attempts: sql`${deliveries.attempts} + 1` })
      .where(and(chat, eq(deliveries.status, 'digest'), eq(deliveries.nextAttemptAtMs, dueAtMs)))
      .returning({ id: deliveries.id })
    if (claimed.length === 0) return []
    // One digest per chat is in flight at a time, and none survives a restart as `digesting`.
    const rows = await this.#withOpportunity()
      .where(and(chat, eq(deliveries.status, 'digesting')))
      .orderBy(asc(deliveries.id))
    return rows.map(toDue)
  }

  /** A digest was posted: its deliveries are accounted for by that message. */
  async markDigested(id: Ids, messageId: string, nowMs: number): Promise<void> {
    await this.#set(id, { status: 'digested', messageId, sentAtMs: nowMs, lastError: null })
  }

  /** A digest send failed and will be tried again at `atMs`. */
  async retryDigest(id: Ids, atMs: number, error: string): Promise<void> {
    await this.#set(id, { status: 'digest', nextAttemptAtMs: atMs, lastError: error })
  }

  /** Deliveries left out of a digest (e.g. closed before the chat's `/lifetime`). */
  async markDropped(id: Ids, error: string): Promise<void> {
    await this.#set(id, { status: 'dropped', lastError: error })
  }

  /** Fails every delivery of a chat still waiting to be sent or digested (it blocked the bot / lost permission). */
  async failChat(platform: Platform, chatId: string, error: string): Promise<void> {
    await this.#db
      .update(deliveries)
      .set({ status: 'failed', lastError: error })
      .where(
        and(
          eq(deliveries.platform, platform),
          eq(deliveries.chatId, chatId),
          inArray(deliveries.status, ['pending', 'digest']),
        ),
      )
  }

  /**
   * After a crash, a delivery left `sending` (or a digest left `digesting`) may or may not have
   * reached the chat. It is marked `unknown` (visible, counted) rather than sent again, so an
   * alert is never sent twice, and never recorded as failed when it may have been delivered.
   */
  async markInterrupted(): Promise<number> {
    const res = await this.#db
      .update(deliveries)
      .set({
        status: 'unknown',
        lastError:
          'interrupted while sending: the platform may have delivered it; not sent again, ' +
          'because neither Telegram nor Discord lets a retry be made safe',
      })
      .where(inArray(deliveries.status, ['sending', 'digesting']))
      .returning({ id: deliveries.id })
    return res.length
  }

  /** Sets `patch` on one delivery or several. */
  async #set(id: Ids, patch: Partial<DeliveryRow>): Promise<void> {
    for (const part of chunks(typeof id === 'number' ? [id] : id)) {
      await this.#db.update(deliveries).set(patch).where(inArray(deliveries.id, part))
    }
  }

  /** Counts by status (for status and metrics). */
  async counts(): Promise<Record<string, number>> {
    const rows = await this.#db
      .select({ status: deliveries.status, n: sql<number>`count(*)` })
      .from(deliveries)
      .groupBy(deliveries.status)
    return Object.fromEntries(rows.map((r) => [r.status, Number(r.n)]))
  }
}

/** One delivery id, or several (the members of one message). */
type Ids = number | readonly number[]

/** Ids a statement at a time, under SQLite's limit on bound parameters. */
function chunks(ids: readonly number[], size = 500): number[][] {
  const out: number[][] = []
  for (let i = 0; i < ids.length; i += size) out.push(ids.slice(i, i + size))
  return out
}

const toDue = ({
  delivery,
  opportunity,
}: {
  delivery: DeliveryRow
  opportunity: OpportunityRow
}): DueDelivery => ({
  delivery,
  opportunity: fromRow(opportunity),
})
