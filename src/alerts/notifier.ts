/**
 * @module
 * The seam between alert delivery and a chat platform: send a message, edit it later. The
 * platform modules (chat/telegram.ts, chat/discord.ts) implement it; the dispatcher only sees this.
 */
import type { Platform } from '../db/schema.ts'

export type { Platform }

/**
 * A button under an alert: its label, and the payload the platform hands back when it is pressed
 * (Telegram `callback_data`, at most 64 bytes; Discord `custom_id`, at most 100 characters).
 */
export interface AlertButton {
  readonly label: string
  readonly data: string
}

/**
 * Platform-free content of an alert or reply: a title line, body lines, an optional footer, and
 * buttons in one row (Telegram inline keyboard, Discord message components).
 */
export interface AlertText {
  readonly title: string
  readonly lines: readonly string[]
  readonly footer?: string
  /** open: green, closed: grey, info: blue (Discord embed colour; Telegram ignores it). */
  readonly tone: 'open' | 'closed' | 'info'
  readonly buttons?: readonly AlertButton[]
}

export interface Notifier {
  readonly platform: Platform
  /** Posts an alert; resolves with the platform's message id (to edit it later). */
  send(chatId: string, alert: AlertText): Promise<{ messageId: string }>
  /** Replaces an alert already posted. */
  edit(chatId: string, messageId: string, alert: AlertText): Promise<void>
}

/**
 * Why a send or edit failed, as the dispatcher needs to know it:
 * - `rate-limited`: retry after `retryAfterMs` (Telegram 429 `retry_after`, Discord 429);
 * - `forbidden`: the chat blocked the bot / the bot lacks permission there: stop sending to it;
 * - `transient`: 5xx or network: retry with backoff;
 * - `rejected`: the platform refused this message (400): retrying will not help.
 */
export class NotifierError extends Error {
  override name = 'NotifierError'
  constructor(
    readonly kind: 'rate-limited' | 'forbidden' | 'transient' | 'rejected',
    message: string,
    readonly retryAfterMs?: number,
    options?: { cause?: unknown },
  ) {
    super(message, options)
  }
}
