/**
 * @module
 * Bitget's `books` checksum (API v2 "Checksum"; the same rule as OKX's): the best 25 bids and 25
 * asks interleaved `bidPx:bidSz:askPx:askSz:…` (a side that runs out is skipped, the other goes
 * on), the venue's own strings (`"3.040"` stays `"3.040"`), CRC-32 (zlib) compared as a signed
 * 32-bit integer. v2 snapshots carry 0 ("absent", never compared); every update carries a real
 * value. Worked examples from the docs in test/venues/bitget.test.ts.
 */
import type { Level } from '../../types.ts'
import { feedByte, feedText, START } from '../crc32.ts'

/** Levels per side the checksum covers. */
export const BITGET_CHECKSUM_LEVELS = 25
const COLON = 58

/**
 * The checksum Bitget sends with a `books` message, over the book after the message is applied.
 *
 * @example
 * ```ts
 * bitgetChecksum(book) === data.checksum
 * ```
 */
export function bitgetChecksum(book: {
  readonly bids: readonly Level[]
  readonly asks: readonly Level[]
}): number {
  const { bids, asks } = book
  let c = START
  let first = true
  const add = (l: Level) => {
    if (!first) c = feedByte(c, COLON)
    first = false
    c = feedByte(feedText(c, l.pxText), COLON)
    c = feedText(c, l.qtyText)
  }
  for (let i = 0; i < BITGET_CHECKSUM_LEVELS; i++) {
    const bid = bids[i]
    const ask = asks[i]
    if (bid === undefined && ask === undefined) break
    if (bid !== undefined) add(bid)
    if (ask !== undefined) add(ask)
  }
  return (c ^ -1) | 0
}
