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

/**
 * One side's top 10 at the last checksum: the levels, each one's CRC part (`regs`, `lens`), and
 * the register over the whole side from 0 (`run`, `runLen` bytes).
 */
class SideParts {
  levels: (Level | undefined)[] = new Array<Level | undefined>(TOP).fill(undefined)
  regs = new Int32Array(TOP)
  lens = new Int32Array(TOP)
  run = 0
  runLen = 0
}

/** A book's parts at its last checksum (two sets per side: the last one and a spare). */
interface BookParts {
  asks: SideParts
  bids: SideParts
  spareAsks: SideParts
  spareBids: SideParts
  result: number
}

/** Per book: the parts of its last checksum; the last book's are also kept at hand. */
const memo = new WeakMap<object, BookParts>()
let lastBook: object | undefined
let lastParts: BookParts | undefined

/** How many digits the last `feedDigits` calls fed. */
let fed = 0

/**
 * Feeds Kraken's digits of one number, `text.slice(from, to)`, to register `c`: the text
 * without its first '.', leading zeros dropped while more than one character is left
 * (`0.00100000` is `100000`, `0.0` is `0`).
 */
function feedDigits(c: number, text: string, from: number, to: number): number {
  let i = from
  let dot = false
  let zeros = 0
  for (; i < to; i++) {
    const ch = text.charCodeAt(i)
    if (ch === 48) zeros++
    else if (ch === 46 && !dot) dot = true
    else break
  }
  if (i === to) {
    // Nothing but zeros (and the dot): one zero is left, none of an empty text.
    if (zeros === 0) return c
    fed++
    return feedByte(c, 48)
  }
  for (; i < to; i++) {
    const ch = text.charCodeAt(i)
    if (ch === 46 && !dot) dot = true
    else {
      c = feedByte(c, ch)
      fed++
    }
  }
  return c
}

/** A level's CRC part; its digit count is left in `fed`. */
function partOf(level: Level): number {
  fed = 0
  const { pxText, qtyText } = level
  return feedDigits(feedDigits(0, pxText, 0, pxText.length), qtyText, 0, qtyText.length)
}

/**
 * The parts of `side`'s top 10 into `next`, a level met again in order keeping its part from
 * `last` (one computed anew otherwise). Returns `last` itself when nothing changed.
 */
function updateSide(side: readonly Level[], last: SideParts, next: SideParts): SideParts {
  const n = side.length < TOP ? side.length : TOP // the places the side fills
  const was = last.levels
  let f = 0
  while (f < n && side[f] === was[f]) f++
  if (f === n && (f === TOP || was[f] === undefined)) return last
  let run = 0
  let runLen = 0
  let j = 0 // the next old level not yet met: the same one, the next (one was deleted), or none
  for (let k = 0; k < n; k++) {
    const level = side[k]!
    next.levels[k] = level
    let reg: number
    let len: number
    if (j < TOP && was[j] === level) {
      reg = last.regs[j]!
      len = last.lens[j]!
      j++
    } else if (j + 1 < TOP && was[j + 1] === level) {
      reg = last.regs[j + 1]!
      len = last.lens[j + 1]!
      j += 2
    } else {
      reg = partOf(level)
      len = fed
    }
    next.regs[k] = reg
    next.lens[k] = len
    run = shift(run, len) ^ reg
    runLen += len
  }
  for (let k = n; k < TOP; k++) next.levels[k] = undefined
  next.run = run
  next.runLen = runLen
  return next
}

/**
 * The checksum Kraken sends with every book message. Each level's CRC part is computed once
 * while it stays among the top 10 (crc32.ts) and moved into place by its length; a side whose top
 * 10 did not change is not looked at again.
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
  let m = lastBook === book ? lastParts : memo.get(book)
  if (m === undefined) {
    // An empty book's parts: its checksum is the CRC of nothing.
    const [asks, bids, spareAsks, spareBids] = [0, 1, 2, 3].map(() => new SideParts())
    m = { asks: asks!, bids: bids!, spareAsks: spareAsks!, spareBids: spareBids!, result: 0 }
    memo.set(book, m)
  }
  lastBook = book
  lastParts = m
  const asks = updateSide(book.asks, m.asks, m.spareAsks)
  const bids = updateSide(book.bids, m.bids, m.spareBids)
  if (asks === m.asks && bids === m.bids) return m.result
  if (asks !== m.asks) {
    m.spareAsks = m.asks
    m.asks = asks
  }
  if (bids !== m.bids) {
    m.spareBids = m.bids
    m.bids = bids
  }
  // The asks' parts from the start register, then the bids'.
  const c = shift(shift(START, asks.runLen) ^ asks.run, bids.runLen) ^ bids.run
  m.result = finish(c)
  return m.result
}
