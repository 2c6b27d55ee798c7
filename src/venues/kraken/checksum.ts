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
 * the register over the side's first k parts from 0 (`runs[k]`, `runLens[k]` bytes).
 */
class SideParts {
  levels: (Level | undefined)[] = new Array<Level | undefined>(TOP).fill(undefined)
  regs = new Int32Array(TOP)
  lens = new Int32Array(TOP)
  runs = new Int32Array(TOP + 1)
  runLens = new Int32Array(TOP + 1)
}

/** A book's parts at its last checksum (two sets per side: the last one and a spare). */
interface BookParts {
  asks: SideParts
  bids: SideParts
  spareAsks: SideParts
  spareBids: SideParts
  result: number
}

/** Per book: the parts of its last checksum. */
const memo = new WeakMap<object, BookParts>()

/** How many digits the last `feedDigits` calls fed. */
let fed = 0

/**
 * Feeds Kraken's digits of one number to register `c`: the text without its first '.', leading
 * zeros dropped while more than one character is left (`0.00100000` is `100000`, `0.0` is `0`).
 */
function feedDigits(c: number, text: string): number {
  const n = text.length
  let i = 0
  let dot = false
  let zeros = 0
  for (; i < n; i++) {
    const ch = text.charCodeAt(i)
    if (ch === 48) zeros++
    else if (ch === 46 && !dot) dot = true
    else break
  }
  if (i === n) {
    // Nothing but zeros (and the dot): one zero is left, none of an empty text.
    if (zeros === 0) return c
    fed++
    return feedByte(c, 48)
  }
  for (; i < n; i++) {
    const ch = text.charCodeAt(i)
    if (ch === 46 && !dot) dot = true
    else {
      c = feedByte(c, ch)
      fed++
    }
  }
  return c
}

/**
 * The parts of `side`'s top 10 into `next`, reusing from `last` what did not change: the places
 * before the first changed one keep their runs, and a level still in the top 10 keeps its part.
 * Returns `last` itself when nothing changed.
 */
function updateSide(side: readonly Level[], last: SideParts, next: SideParts): SideParts {
  let f = 0
  while (f < TOP && side[f] === last.levels[f]) f++
  if (f === TOP) return last
  for (let k = 0; k < f; k++) {
    next.levels[k] = last.levels[k]
    next.regs[k] = last.regs[k]!
    next.lens[k] = last.lens[k]!
    next.runs[k] = last.runs[k]!
    next.runLens[k] = last.runLens[k]!
  }
  let run = last.runs[f]!
  let runLen = last.runLens[f]!
  for (let k = f; k < TOP; k++) {
    const level = side[k]
    next.levels[k] = level
    next.runs[k] = run
    next.runLens[k] = runLen
    let reg = 0
    let len = 0
    if (level !== undefined) {
      // Inserts and deletes move levels by a place or two; look there first.
      let from = -1
      if (last.levels[k] === level) from = k
      else if (last.levels[k + 1] === level) from = k + 1
      else if (last.levels[k - 1] === level) from = k - 1
      else for (let j = 0; j < TOP && from < 0; j++) if (last.levels[j] === level) from = j
      if (from >= 0) {
        reg = last.regs[from]!
        len = last.lens[from]!
      } else {
        fed = 0
        reg = feedDigits(feedDigits(0, level.pxText), level.qtyText)
        len = fed
      }
    }
    next.regs[k] = reg
    next.lens[k] = len
    run = shift(run, len) ^ reg
    runLen += len
  }
  next.runs[TOP] = run
  next.runLens[TOP] = runLen
  return next
}

/**
 * The checksum Kraken sends with every book message. Each level's CRC part is computed once
 * while it stays among the top 10 (crc32.ts), and each side resumes after its places that did not
 * change, so a message pays only for what it changed.
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
    const empty = { asks: new SideParts(), bids: new SideParts() }
    m = { ...empty, spareAsks: new SideParts(), spareBids: new SideParts(), result: finish(START) }
    memo.set(book, m)
  }
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
  const c = shift(shift(START, asks.runLens[TOP]!) ^ asks.runs[TOP]!, bids.runLens[TOP]!)
  m.result = finish(c ^ bids.runs[TOP]!)
  return m.result
}
