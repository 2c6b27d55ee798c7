/**
 * @module
 * Kraken's book checksum (v1 and v2), over the venue's own decimal strings: top 10 asks ascending
 * then top 10 bids descending, each price then quantity with the decimal point removed and leading
 * zeros stripped, CRC-32 compared unsigned. Source: docs.kraken.com "Spot WebSocket v2 book
 * checksum"; vectors in test/fixtures/vectors/kraken-checksum.json.
 */
import type { Level } from '../../types.ts'

/** Kraken's digits for one number: the decimal point removed, leading zeros stripped. */
function krakenDigits(text: string): string {
  const digits = text.replace('.', '')
  let i = 0
  while (i < digits.length - 1 && digits.charCodeAt(i) === 48) i++
  return digits.slice(i)
}

/**
 * The checksum Kraken sends with every book message.
 *
 * @example
 * ```ts
 * krakenChecksum(book) === frame.checksum
 * ```
 */
export function krakenChecksum(book: {
  readonly bids: readonly Level[]
  readonly asks: readonly Level[]
}): number {
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
  return Bun.hash.crc32(s) >>> 0
}
