/**
 * @module
 * Venue book checksums, computed over the venue's own decimal strings (never re-printed floats).
 */
import type { ChecksumAlgo } from '../types.ts'
import type { OrderBook } from './book.ts'

export type { ChecksumAlgo } from '../types.ts'

/** CRC-32 (IEEE 802.3, as zlib) of an ASCII string, unsigned. */
export const crc32 = (text: string): number => Bun.hash.crc32(text) >>> 0

/** Kraken's digits for one number: the decimal point removed, leading zeros stripped. */
function krakenDigits(text: string): string {
  const digits = text.replace('.', '')
  let i = 0
  while (i < digits.length - 1 && digits.charCodeAt(i) === 48) i++
  return digits.slice(i)
}

/**
 * Kraken (v1 and v2): top 10 asks ascending then top 10 bids descending, price then quantity,
 * CRC-32 compared unsigned.
 *
 * @example
 * ```ts
 * krakenChecksum(book) === frame.checksum
 * ```
 */
export function krakenChecksum(book: OrderBook): number {
  let s = ''
  const asks = Math.min(10, book.asks.length)
  for (let i = 0; i < asks; i++) {
    const l = book.asks[i]!
    s += krakenDigits(l.pxText) + krakenDigits(l.qtyText)
  }
  const bids = Math.min(10, book.bids.length)
  for (let i = 0; i < bids; i++) {
    const l = book.bids[i]!
    s += krakenDigits(l.pxText) + krakenDigits(l.qtyText)
  }
  return crc32(s)
}

/**
 * OKX: up to 25 levels per side interleaved `bidPx:bidSz:askPx:askSz:…` (a side that runs out is
 * skipped), original strings, CRC-32 as a signed 32-bit integer.
 */
export function okxChecksum(book: OrderBook): number {
  const parts: string[] = []
  for (let i = 0; i < 25; i++) {
    const b = book.bids[i]
    const a = book.asks[i]
    if (b === undefined && a === undefined) break
    if (b !== undefined) parts.push(b.pxText, b.qtyText)
    if (a !== undefined) parts.push(a.pxText, a.qtyText)
  }
  return crc32(parts.join(':')) | 0
}

export function computeChecksum(algo: ChecksumAlgo, book: OrderBook): number {
  switch (algo) {
    case 'kraken':
      return krakenChecksum(book)
    case 'okx':
      return okxChecksum(book)
    default: {
      const never: never = algo
      throw new Error(`unknown checksum ${String(never)}`)
    }
  }
}
