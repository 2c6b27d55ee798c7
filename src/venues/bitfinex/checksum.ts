/**
 * @module
 * Bitfinex's `book` checksum (WebSocket v2, conf flag 131072): the top 25 levels interleaved,
 * bid price, bid amount, ask price, ask amount (asks negative), joined with `:`, CRC-32 (IEEE)
 * as a signed 32-bit integer, compared with `[chanId, "cs", checksum]`. Sources:
 * docs.bitfinex.com "ws-websocket-checksum"; bitfinexcom/bfx-api-node-models lib/order_book.js
 * `checksum()` (the official client; vectors in test/fixtures/bitfinex/checksum-vectors.json).
 */
import type { Level } from '../../types.ts'
import { feedText, finish, START } from '../crc32.ts'

/** Levels per side the checksum covers. */
const TOP = 25

/** Below this JavaScript prints a number in exponent form (`String(5e-7)` is `'5e-7'`). */
const EXP_BELOW = 1e-6

/**
 * A price as the checksum takes it: the venue's digits, except one JavaScript would print in
 * exponent form, which the official client renders fixed (`1.7e-8` is `0.000000017`:
 * `toFixed(|exponent| + 1)`, bfx-api-node-models "converts exp prices to fixed").
 */
export function checksumPrice(level: Level): string {
  if (!(level.px < EXP_BELOW)) return level.pxText
  const exp = Math.abs(Number(String(level.px).split('e')[1] ?? '0'))
  return level.px.toFixed(Math.min(100, exp + 1))
}

/**
 * An amount as the checksum takes it (negative for asks): the venue's digits, except a tiny one
 * that JavaScript (the official client pushes the JSON number as it is) prints in exponent form.
 */
export function checksumAmount(level: Level, ask: boolean): string {
  const text = level.qty > 0 && level.qty < EXP_BELOW ? String(level.qty) : level.qtyText
  return ask ? `-${text}` : text
}

/** The text the checksum is the CRC of (exported for tests and diagnostics). */
export function checksumText(book: {
  readonly bids: readonly Level[]
  readonly asks: readonly Level[]
}): string {
  const parts: string[] = []
  for (let i = 0; i < TOP; i++) {
    const bid = book.bids[i]
    const ask = book.asks[i]
    if (bid === undefined && ask === undefined) break
    if (bid !== undefined) parts.push(checksumPrice(bid), checksumAmount(bid, false))
    if (ask !== undefined) parts.push(checksumPrice(ask), checksumAmount(ask, true))
  }
  return parts.join(':')
}

/**
 * The checksum Bitfinex sends after book changes, signed as it sends it.
 *
 * @example
 * ```ts
 * bitfinexChecksum(book) === frame[2] // [chanId, 'cs', checksum, seq]
 * ```
 */
export function bitfinexChecksum(book: {
  readonly bids: readonly Level[]
  readonly asks: readonly Level[]
}): number {
  return finish(feedText(START, checksumText(book))) | 0
}
