/**
 * @module
 * OKX's book checksum: up to 25 levels per side interleaved `bidPx:bidSz:askPx:askSz:…` (a side
 * that runs out is skipped), the venue's own strings, CRC-32 as a signed 32-bit integer. Retired
 * in production on 2026-06-23 (the field stays, always 0), but still verified when non-zero.
 * Source: OKX API v5 docs "Checksum"; vectors in test/fixtures/vectors/okx-checksum.json.
 */
import type { Level } from '../../types.ts'
import { feedByte, feedText, shift, START } from '../crc32.ts'

/** Levels per side the checksum covers. */
const TOP = 25
/** Places in checksum order: bid 0, ask 0, bid 1, ask 1, ... */
const PLACES = 2 * TOP
const COLON = 58

/**
 * A book's 50 places at its last checksum: the level in each, its CRC part (`px:qty` from a zero
 * register, `lens` bytes), and the register before it (`before`; `after` says whether a level
 * came before, so a ':' goes first).
 */
class Parts {
  levels: (Level | undefined)[] = new Array<Level | undefined>(PLACES).fill(undefined)
  regs = new Int32Array(PLACES)
  lens = new Int32Array(PLACES)
  before = new Int32Array(PLACES + 1).fill(START)
  after = new Uint8Array(PLACES + 1)
}

/** Per book: its parts at the last checksum, and a spare set for the next. */
const memo = new WeakMap<object, { last: Parts; spare: Parts }>()

/** A level's part: the CRC of `px:qty` from a zero register; its length is `partLength`. */
function partOf(level: Level): number {
  return feedText(feedByte(feedText(0, level.pxText), COLON), level.qtyText)
}
const partLength = (level: Level) => level.pxText.length + 1 + level.qtyText.length

/**
 * The checksum OKX sent with a `books` message. Each level's part is computed once while it
 * stays among the top 25, and the register is resumed after the places that did not change.
 *
 * @example
 * ```ts
 * okxChecksum(book) === data.checksum
 * ```
 */
export function okxChecksum(book: {
  readonly bids: readonly Level[]
  readonly asks: readonly Level[]
}): number {
  let m = memo.get(book)
  if (m === undefined) {
    m = { last: new Parts(), spare: new Parts() }
    memo.set(book, m)
  }
  const { bids, asks } = book
  const nb = bids.length < TOP ? bids.length : TOP
  const na = asks.length < TOP ? asks.length : TOP
  const at = (p: number): Level | undefined => {
    const i = p >> 1
    return p & 1 ? (i < na ? asks[i] : undefined) : i < nb ? bids[i] : undefined
  }
  const last = m.last
  let f = 0
  while (f < PLACES && at(f) === last.levels[f]) f++
  if (f < PLACES) {
    const next = m.spare
    for (let p = 0; p < f; p++) {
      next.levels[p] = last.levels[p]
      next.regs[p] = last.regs[p]!
      next.lens[p] = last.lens[p]!
      next.before[p] = last.before[p]!
      next.after[p] = last.after[p]!
    }
    let c = last.before[f]!
    let after = last.after[f]!
    for (let p = f; p < PLACES; p++) {
      const level = at(p)
      next.levels[p] = level
      next.before[p] = c
      next.after[p] = after
      if (level === undefined) continue
      // A level still among the top 25 sits where it was or a place or two (one per side) away.
      const was = last.levels
      let from = -1
      if (was[p] === level) from = p
      else if (p + 2 < PLACES && was[p + 2] === level) from = p + 2
      else if (p >= 2 && was[p - 2] === level) from = p - 2
      else for (let q = 0; q < PLACES && from < 0; q++) if (was[q] === level) from = q
      const reg = from >= 0 ? last.regs[from]! : partOf(level)
      const len = from >= 0 ? last.lens[from]! : partLength(level)
      next.regs[p] = reg
      next.lens[p] = len
      if (after) c = feedByte(c, COLON)
      c = shift(c, len) ^ reg
      after = 1
    }
    next.before[PLACES] = c
    next.after[PLACES] = after
    m.last = next
    m.spare = last
  }
  return (m.last.before[PLACES]! ^ -1) | 0
}
