/**
 * @module
 * The database schema, the source of truth for `migrations/` (run `bun run db:generate` after a
 * change; never edit a generated migration). SQL names are snake_case, TypeScript names camelCase
 * with their units; times are integer milliseconds since the epoch, spreads basis points.
 */
import { sql } from 'drizzle-orm'
import {
  check,
  index,
  integer,
  primaryKey,
  real,
  sqliteTable,
  text,
  uniqueIndex,
} from 'drizzle-orm/sqlite-core'
import { OPPORTUNITY_KINDS } from '../detector/types.ts'
import { ROUTE_STATUSES, TRANSFER_MODES } from '../transfers/types.ts'
import type { VenueId } from '../types.ts'

/** The chat platforms alerts go to: one constant for every column and type that names one. */
export const PLATFORMS = ['telegram', 'discord'] as const
export type Platform = (typeof PLATFORMS)[number]

/**
 * One row per opportunity, upserted on `id` as it opens, updates and closes: the numbers it opened
 * with (`*Open`), the latest ones, and the best net spread seen.
 */
export const opportunities = sqliteTable(
  'opportunities',
  {
    id: text('id').primaryKey(),
    kind: text('kind', { enum: OPPORTUNITY_KINDS }).notNull(),
    /**
     * The market (cross), the cycle, e.g. `USDT>BTC>ETH>USDT` (triangle), or the bought and sold
     * markets, e.g. `BTC/USDT>BTC/USD` (cross-quote).
     */
    symbol: text('symbol').notNull(),
    buyVenue: text('buy_venue').$type<VenueId>().notNull(),
    sellVenue: text('sell_venue').$type<VenueId>().notNull(),
    /** Above MAX_SPREAD_PCT: kept for inspection, hidden from listings unless asked for. */
    anomaly: integer('anomaly', { mode: 'boolean' }).notNull(),
    openedAtMs: integer('opened_at').notNull(),
    updatedAtMs: integer('updated_at').notNull(),
    closedAtMs: integer('closed_at'),
    closeReason: text('close_reason'),
    /** Trade size the spreads are computed at, quote currency. */
    sizeQuote: real('size_quote').notNull(),
    grossBpsOpen: real('gross_bps_open').notNull(),
    netBpsOpen: real('net_bps_open').notNull(),
    grossBps: real('gross_bps').notNull(),
    netBps: real('net_bps').notNull(),
    profitQuote: real('profit_quote').notNull(),
    maxSizeQuote: real('max_size_quote').notNull(),
    maxProfitQuote: real('max_profit_quote').notNull(),
    buyPrice: real('buy_price').notNull(),
    sellPrice: real('sell_price').notNull(),
    feeBps: real('fee_bps').notNull(),
    buyAgeMs: real('buy_age_ms').notNull(),
    sellAgeMs: real('sell_age_ms').notNull(),
    peakNetBps: real('peak_net_bps').notNull(),
    /**
     * Triangles and cross-quote routes: the three legs as JSON text (`RouteLeg[]`: venue, market,
     * side, price), serialised when recorded. Triangle legs written before 0003 have no venue.
     */
    legs: text('legs'),
    /** Cross-venue routes: whether the coins can move (null: triangle, or no transfer facts). */
    transferStatus: text('transfer_status', { enum: ROUTE_STATUSES }),
    /** The whole `RouteTransfer` as JSON text (line, network, fee, net after fee, sources). */
    transfer: text('transfer'),
    /**
     * The book levels the opening quote walked, with each leg's fee and amounts, as JSON text
     * (`OpeningWalk`): written when it opens, never changed by updates (null before 0007).
     */
    walk: text('walk'),
  },
  (t) => [
    // Every listing is newest first with (opened_at, id) as the keyset cursor, so each index used
    // for a filter ends with those two columns.
    index('opportunities_opened_at_idx').on(t.openedAtMs, t.id),
    index('opportunities_symbol_opened_at_idx').on(t.symbol, t.openedAtMs, t.id),
    index('opportunities_buy_venue_opened_at_idx').on(t.buyVenue, t.openedAtMs, t.id),
    index('opportunities_sell_venue_opened_at_idx').on(t.sellVenue, t.openedAtMs, t.id),
    index('opportunities_kind_opened_at_idx').on(t.kind, t.openedAtMs, t.id),
    index('opportunities_transfer_status_opened_at_idx').on(t.transferStatus, t.openedAtMs, t.id),
    check(
      'opportunities_kind_check',
      sql`${t.kind} in (${sql.raw(OPPORTUNITY_KINDS.map((k) => `'${k}'`).join(', '))})`,
    ),
  ],
)

export type OpportunityRow = typeof opportunities.$inferSelect
export type NewOpportunityRow = typeof opportunities.$inferInsert

/** A Telegram chat or Discord channel using the bot, with its own settings. */
export const chats = sqliteTable(
  'chats',
  {
    platform: text('platform', { enum: PLATFORMS }).notNull(),
    chatId: text('chat_id').notNull(),
    /** False once the platform said we may not post there (blocked, missing permission). */
    active: integer('active', { mode: 'boolean' }).notNull().default(true),
    /** Why alerts are paused (set with active = false). */
    pausedReason: text('paused_reason'),
    /** Minimum net spread for this chat's alerts, bps; null: the configured MIN_SPREAD_PCT. */
    thresholdBps: real('threshold_bps'),
    /** Trade size this chat's net spreads are computed at; null: the configured TRADE_SIZE. */
    sizeQuote: real('size_quote'),
    mutedUntilMs: integer('muted_until'),
    /** `/transfer`: alert only transferable routes (`only`), any (`any`), or hide the line (`off`). */
    transferMode: text('transfer_mode', { enum: TRANSFER_MODES }).notNull().default('any'),
    /** `/ignore`: base assets this chat hears nothing about (JSON array of codes). */
    ignoredAssets: text('ignored_assets', { mode: 'json' }).$type<string[]>().notNull().default([]),
    /** `/venues`: routes must trade only on these venues (JSON array of ids); null: every venue. */
    venues: text('venues', { mode: 'json' }).$type<string[]>(),
    /** `/lifetime`: alert only once an opportunity has lasted this long, ms (null: at once). */
    minLifetimeMs: integer('min_lifetime_ms'),
    /**
     * `/digest`: one summary message per this many ms instead of single alerts (null: single
     * alerts). Periods are counted from 00:00 UTC (a 1 h digest is due on the hour).
     */
    digestMs: integer('digest_ms'),
    /**
     * Markets muted here by an alert's button: market (as the alert's title names it) → until
     * when, ms. Expired entries are ignored, and dropped at the chat's next change.
     */
    mutedMarkets: text('muted_markets', { mode: 'json' })
      .$type<Record<string, number>>()
      .notNull()
      .default({}),
    createdAtMs: integer('created_at').notNull(),
    updatedAtMs: integer('updated_at').notNull(),
  },
  (t) => [primaryKey({ columns: [t.platform, t.chatId] })],
)

/** The markets a chat follows. */
export const subscriptions = sqliteTable(
  'subscriptions',
  {
    platform: text('platform', { enum: PLATFORMS }).notNull(),
    chatId: text('chat_id').notNull(),
    symbol: text('symbol').notNull(),
    createdAtMs: integer('created_at').notNull(),
  },
  (t) => [primaryKey({ columns: [t.platform, t.chatId, t.symbol] })],
)

/**
 * What became of a delivery: pending → sending → sent | failed, or pending → dropped when the
 * opportunity closed before the alert could be sent (the store does this in the transaction that
 * writes the close); `unknown` when a crash caught it mid-send. A chat on `/digest` gets its
 * deliveries as digest → digesting → digested (summed up in one digest message) | failed, or
 * dropped when its `/lifetime` was not reached.
 */
export const DELIVERY_STATUSES = [
  'pending',
  'sending',
  'sent',
  'failed',
  'dropped',
  'unknown',
  'digest',
  'digesting',
  'digested',
] as const
export type DeliveryStatus = (typeof DELIVERY_STATUSES)[number]

/**
 * One alert for one chat about one opportunity: written in the same transaction as the
 * opportunity, then sent (and later edited in place) by the dispatcher, alone or in one message
 * with the related openings of its detector pass (same `groupKey`), or summed up in a digest.
 */
export const deliveries = sqliteTable(
  'deliveries',
  {
    id: integer('id').primaryKey({ autoIncrement: true }),
    opportunityId: text('opportunity_id').notNull(),
    platform: text('platform', { enum: PLATFORMS }).notNull(),
    chatId: text('chat_id').notNull(),
    status: text('status', { enum: DELIVERY_STATUSES }).notNull(),
    attempts: integer('attempts').notNull().default(0),
    nextAttemptAtMs: integer('next_attempt_at').notNull(),
    lastError: text('last_error'),
    /** The platform's id of the posted message, to edit it. */
    messageId: text('message_id'),
    /** Net spread and size at this chat's size when the opportunity opened. */
    netBps: real('net_bps').notNull(),
    sizeQuote: real('size_quote').notNull(),
    createdAtMs: integer('created_at').notNull(),
    sentAtMs: integer('sent_at'),
    /** Last edit made to the message: when, and whether it showed the opportunity closed. */
    editedAtMs: integer('edited_at'),
    closedShown: integer('closed_shown', { mode: 'boolean' }).notNull().default(false),
    /**
     * What the chat's alert cooldown is per: `kind|symbol|buy>sell`. With `createdAtMs` it is the
     * time the chat was last alerted for it, written in the same transaction as the alert, so a
     * restart keeps the cooldown (null on rows written before it existed).
     */
    cooldownKey: text('cooldown_key'),
    /**
     * The openings of one detector pass for one asset share it (`<atMs>.<pass>|<asset>`): the
     * dispatcher sends those of a chat that share a moving venue as one message, every member
     * row holding its `messageId`. Null: a message of its own (triangles, digests, older rows).
     */
    groupKey: text('group_key'),
    /**
     * The chat's threshold when the opportunity opened, bps: the one its alert's largest
     * profitable size is at (null on rows written before 0011).
     */
    thresholdBps: real('threshold_bps'),
    /**
     * The largest profitable size at `thresholdBps` and the profit there, from the books the
     * opportunity opened on (the opportunity's own `max_size_quote` is at MIN_SPREAD_PCT). Null
     * when `thresholdBps` is MIN_SPREAD_PCT: the opportunity's figures are this chat's, and its
     * updates keep them current; null on rows written before 0011 too.
     */
    maxSizeQuote: real('max_size_quote'),
    maxProfitQuote: real('max_profit_quote'),
  },
  (t) => [
    uniqueIndex('deliveries_opportunity_chat_idx').on(t.opportunityId, t.platform, t.chatId),
    index('deliveries_status_next_idx').on(t.status, t.nextAttemptAtMs),
    // The head of each chat's queue (the dispatcher sends one delivery per chat at a time).
    index('deliveries_chat_queue_idx').on(t.platform, t.chatId, t.status, t.nextAttemptAtMs),
    // Recent alerts per chat and cooldown key, read at start-up.
    index('deliveries_created_cooldown_idx').on(t.createdAtMs, t.cooldownKey),
    // The members of one posted message (a grouped alert is edited as one).
    index('deliveries_message_idx').on(t.platform, t.chatId, t.messageId),
  ],
)

export type ChatRow = typeof chats.$inferSelect
export type DeliveryRow = typeof deliveries.$inferSelect
export type NewDeliveryRow = typeof deliveries.$inferInsert

/**
 * The latest transfer facts per venue, asset and network (`TransferFact`), as the venue's last
 * successful fetch gave them: saved after each fetch, read at start to warm `TransferFacts` with
 * their ages. A flag or amount the venue did not give is null, never a guess.
 */
export const transferFacts = sqliteTable(
  'transfer_facts',
  {
    venue: text('venue').$type<VenueId>().notNull(),
    asset: text('asset').notNull(),
    /** The shared network id (`networks.ts`), or `*` where the venue gives no network. */
    network: text('network').notNull(),
    venueNetwork: text('venue_network').notNull(),
    depositEnabled: integer('deposit_enabled', { mode: 'boolean' }),
    withdrawEnabled: integer('withdraw_enabled', { mode: 'boolean' }),
    /** In units of the asset. */
    withdrawFee: real('withdraw_fee'),
    withdrawMin: real('withdraw_min'),
    contract: text('contract'),
    fetchedAtMs: integer('fetched_at_ms').notNull(),
    /** The endpoint that said so (`GET /api/v3/currencies`). */
    source: text('source').notNull(),
  },
  (t) => [primaryKey({ columns: [t.venue, t.asset, t.network] })],
)

/** Each venue's last transfer fetch: when it last succeeded, and its last error since. */
export const transferFetches = sqliteTable('transfer_fetches', {
  venue: text('venue').$type<VenueId>().primaryKey(),
  okAtMs: integer('ok_at_ms'),
  error: text('error'),
  errorAtMs: integer('error_at_ms'),
})

export type TransferFactRow = typeof transferFacts.$inferSelect
