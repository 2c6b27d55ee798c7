/**
 * @module
 * OKX's book checksum: up to 25 levels per side interleaved `bidPx:bidSz:askPx:askSz:…` (a side
 * that runs out is skipped), the venue's own strings, CRC-32 as a signed 32-bit integer. Retired
 * in production on 2026-06-23 (the field stays, always 0), but still verified when non-zero.
 * Source: OKX API v5 docs "Checksum"; vectors in test/fixtures/vectors/okx-checksum.json.
 */
import type { Level } from '../../types.ts'

export function okxChecksum(book: {
  readonly bids: readonly Level[]
  readonly asks: readonly Level[]
}): number {
  const parts: string[] = []
  for (let i = 0; i < 25; i++) {
    const b = book.bids[i]
    const a = book.asks[i]
    if (b === undefined && a === undefined) break
    if (b !== undefined) parts.push(b.pxText, b.qtyText)
    if (a !== undefined) parts.push(a.pxText, a.qtyText)
  }
  return Bun.hash.crc32(parts.join(':')) | 0
}
