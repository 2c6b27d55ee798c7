/**
 * @module
 * Kraken's book checksum (v1 and v2), over the venue's own decimal strings: top 10 asks ascending
 * then top 10 bids descending, each price then quantity with the decimal point removed and leading
 * zeros stripped, CRC-32 compared unsigned. Source: docs.kraken.com "Spot WebSocket v2 book
 * checksum"; vectors in test/fixtures/vectors/kraken-checksum.json.
 */
import type { Level } from '../../types.ts'
import { finish, feedByte, shift, START } from '../crc32.ts'

/** Levels per side the checksum covers. */
const TOP = 10

/** What each of the 20 places (asks 0-9, then bids 0-9) held last time, and its CRC part. */
interface Parts {
  levels: (Level | undefined)[]
  regs: Int32Array
  lens: Int32Array
}

const newParts = (): Parts => ({
  levels: new Array<Level | undefined>(2 * TOP).fill(undefined),
  regs: new Int32Array(2 * TOP),
  lens: new Int32Array(2 * TOP),
})

/** Per book: the parts of its last checksum, and a spare set to write the next one into. */
const memo = new WeakMap<object, { last: Parts; spare: Parts }>()

/** How many digits the last `feedDigits` calls fed. */
let fed = 0

/**
 * Feeds Kraken's digits of one number to register `c`: the text without its first '.', leading
 * zeros dropped while more than one character is left (`0.00100000` is `100000`, `0.0` is `0`).
 */
function feedDigits(c: number, text: string): number {
  const n = text.length
  const dot = text.indexOf('.')
  let left = dot >= 0 ? n - 1 : n
  let i = 0
  for (; i < n; i++) {
    if (i === dot) continue
    if (left <= 1 || text.charCodeAt(i) !== 48) break
    left--
  }
  fed += left
  for (; i < n; i++) if (i !== dot) c = feedByte(c, text.charCodeAt(i))
  return c
}

/**
 * The checksum Kraken sends with every book message. Each level's CRC part is computed once
 * while it stays among the top 10 (crc32.ts), so a message pays only for the levels it changed.
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
  let m = memo.get(book)
  if (m === undefined) {
    m = { last: newParts(), spare: newParts() }
    memo.set(book, m)
  }
  const last = m.last
  const next = m.spare
  let c = START
  for (let slot = 0; slot < 2 * TOP; slot++) {
    const level = slot < TOP ? book.asks[slot] : book.bids[slot - TOP]
    next.levels[slot] = level
    if (level === undefined) continue
    // A level still in the top 10 sits where it was, or one place up or down.
    let from = -1
    if (last.levels[slot] === level) from = slot
    else if (slot > 0 && last.levels[slot - 1] === level) from = slot - 1
    else if (slot < 2 * TOP - 1 && last.levels[slot + 1] === level) from = slot + 1
    let reg: number
    let len: number
    if (from >= 0) {
      reg = last.regs[from]!
      len = last.lens[from]!
    } else {
      fed = 0
      reg = feedDigits(feedDigits(0, level.pxText), level.qtyText)
      len = fed
    }
    next.regs[slot] = reg
    next.lens[slot] = len
    c = shift(c, len) ^ reg
  }
  m.last = next
  m.spare = last
  return finish(c)
}
