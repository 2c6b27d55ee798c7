/**
 * @module
 * What the venues' fast paths share. A fast path accepts a frame only when one regular expression
 * built from the pieces here matches the whole of it: compact JSON (no whitespace) of the shape
 * the venue sends for its hot messages, strings without escapes or control characters, numbers in
 * the forms named below. Everything such a frame holds is then known, so a `Cursor` reads the
 * values straight from the text (levels built in place, keys never cut out) and yields exactly
 * what `JSON.parse` and the venue's checks would. Any other frame goes to `JSON.parse`.
 *
 * Every piece below accepts only text `JSON.parse` accepts, with the value noted.
 */
import type { Level } from '../types.ts'

/** A string without escapes or control characters (its value is its text). */
export const STRING = String.raw`"[^"\\\x00-\x1f]*"`
/** A non-negative integer of at most 15 digits, no leading zero (exact as a double). */
export const UINT = String.raw`(?:0|[1-9]\d{0,14})`
/** An integer of at most 15 digits, maybe negative. */
export const INT = `-?${UINT}`
/** Digits with at most one inner '.': the form `isDecimalText` accepts (its length aside). */
export const DECIMAL = String.raw`\d+(?:\.\d+)?`
/** `DECIMAL` in quotes: a JSON string whose text is a decimal. */
export const QUOTED_DECIMAL = `"${DECIMAL}"`

/** A JSON array of `item`s. */
export const list = (item: string): string => String.raw`\[(?:${item}(?:,${item})*)?\]`

/** Level rows `[["price","qty",...],...]`: two quoted decimals, then any strings. */
export const ROWS = list(String.raw`\[${QUOTED_DECIMAL},${QUOTED_DECIMAL}(?:,${STRING})*\]`)

/** A pattern matching exactly the whole text of `source`. */
export const wholeFrame = (source: string): RegExp => new RegExp(`^${source}$`)

/** Exact powers of ten: m / 10^k is correctly rounded for m < 2^53 and k <= 22. */
const POW10 = Array.from({ length: 23 }, (_, k) => 10 ** k)

/** Longest decimal text venues may send (`isDecimalText`). */
const MAX_DECIMAL = 40

/**
 * Reads values at known places of a frame a pattern has matched. Each reader takes the index
 * where its value starts and leaves `at` just after it.
 *
 * @example
 * ```ts
 * const c = new Cursor()
 * c.text = '["1.5","2"]'
 * c.decimal(2) // 1.5, and c.at is 5
 * ```
 */
export class Cursor {
  text = ''
  at = 0

  /**
   * The decimal whose digits start at `i`, converted exactly as `Number()` converts its text;
   * NaN when the text is longer than `isDecimalText` allows.
   */
  decimal(i: number): number {
    const t = this.text
    const start = i
    let mant = 0
    let c = t.charCodeAt(i)
    while (c >= 48 && c <= 57) {
      mant = mant * 10 + (c - 48)
      c = t.charCodeAt(++i)
    }
    let frac = 0
    if (c === 46) {
      const from = ++i
      c = t.charCodeAt(i)
      while (c >= 48 && c <= 57) {
        mant = mant * 10 + (c - 48)
        c = t.charCodeAt(++i)
      }
      frac = i - from
    }
    this.at = i
    // Up to 15 digits the mantissa is exact (below 2^53), and so is the division.
    const len = i - start
    if (len > 16 || (len === 16 && frac === 0)) {
      return len > MAX_DECIMAL ? NaN : +t.slice(start, i)
    }
    return frac > 0 ? mant / POW10[frac]! : mant
  }

  /** The integer (`UINT` or `INT`) starting at `i`. */
  integer(i: number): number {
    const t = this.text
    const negative = t.charCodeAt(i) === 45
    if (negative) i++
    let n = 0
    for (let c = t.charCodeAt(i); c >= 48 && c <= 57; c = t.charCodeAt(++i)) n = n * 10 + (c - 48)
    this.at = i
    return negative ? -n : n
  }

  /** Where the string whose first character is at `i` ends (its closing quote); `at` after it. */
  stringEnd(i: number): number {
    const end = this.text.indexOf('"', i)
    this.at = end + 1
    return end
  }

  /** The text of the string whose first character is at `i`. */
  string(i: number): string {
    const end = this.stringEnd(i)
    return this.text.slice(i, end)
  }

  /**
   * The `ROWS` at `i` (the '[') as levels, or undefined when a price is not positive or a text is
   * too long (what `toLevels` rejects).
   */
  rows(i: number): Level[] | undefined {
    const t = this.text
    const out: Level[] = []
    if (t.charCodeAt(i + 1) === 93) {
      this.at = i + 2
      return out
    }
    i += 3 // [["
    for (;;) {
      const px = this.decimal(i)
      const pxEnd = this.at
      const qty = this.decimal(pxEnd + 3) // ","
      const qtyEnd = this.at
      if (!(px > 0) || qty !== qty) return undefined
      out.push({ px, qty, pxText: t.slice(i, pxEnd), qtyText: t.slice(pxEnd + 3, qtyEnd) })
      // After the closing quote: further members (strings, no quotes inside), then the ']'.
      let j = qtyEnd + 1
      while (t.charCodeAt(j) === 44) j = t.indexOf('"', j + 2) + 1
      if (t.charCodeAt(j + 1) === 93) {
        this.at = j + 2
        return out
      }
      i = j + 4 // ],["
    }
  }

  /**
   * The first row of the `ROWS` at `i` (the '['): its level, undefined for an empty list, null
   * when `toLevel` would reject it. `at` is not moved.
   */
  firstRow(i: number): Level | undefined | null {
    const t = this.text
    if (t.charCodeAt(i + 1) === 93) return undefined
    const at = this.at
    const px = this.decimal(i + 3) // [["
    const pxEnd = this.at
    const qty = this.decimal(pxEnd + 3) // ","
    const qtyEnd = this.at
    this.at = at
    if (!(px > 0) || qty !== qty) return null
    return { px, qty, pxText: t.slice(i + 3, pxEnd), qtyText: t.slice(pxEnd + 3, qtyEnd) }
  }
}

/**
 * A connection's markets by native name, looked up straight from a frame's text (no string is
 * cut out of it for a lookup).
 *
 * @example
 * ```ts
 * const symbols = new SymbolTable(new Map([['BTCUSDT', 'BTC/USDT']]))
 * symbols.get(frame, from, to) // 'BTC/USDT' when frame.slice(from, to) is 'BTCUSDT'
 * ```
 */
export class SymbolTable<V> {
  readonly #byHash = new Map<number, { name: string; value: V }[]>()

  constructor(entries: Iterable<readonly [string, V]>) {
    for (const [name, value] of entries) {
      const h = hashOf(name, 0, name.length)
      const bucket = this.#byHash.get(h)
      if (bucket === undefined) this.#byHash.set(h, [{ name, value }])
      else bucket.push({ name, value })
    }
  }

  /** The value of the name `text.slice(from, to)`, or undefined. */
  get(text: string, from: number, to: number): V | undefined {
    const bucket = this.#byHash.get(hashOf(text, from, to))
    if (bucket === undefined) return undefined
    const n = to - from
    for (let b = 0; b < bucket.length; b++) {
      const { name, value } = bucket[b]!
      if (name.length !== n) continue
      let k = 0
      while (k < n && name.charCodeAt(k) === text.charCodeAt(from + k)) k++
      if (k === n) return value
    }
    return undefined
  }
}

/** A cheap hash of a name: its length and up to four of its characters (the table compares). */
function hashOf(text: string, from: number, to: number): number {
  const n = to - from
  if (n === 0) return 0
  const a = text.charCodeAt(from)
  const b = text.charCodeAt(to - 1)
  const c = text.charCodeAt(from + (n >> 1))
  const d = text.charCodeAt(from + (n >> 2))
  return (((n * 31 + a) * 31 + b) * 31 + c) * 31 + d
}

/** An RFC 3339 UTC time with up to 9 fractional digits, as the venues send it. */
export const UTC_TIME = String.raw`"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d{1,9})?Z"`

/** Days in each month of a common year. */
const MONTH_DAYS = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]

/**
 * `Date.parse` of the `UTC_TIME`s of a stream, fast: the whole second is parsed by `Date.parse`
 * once and kept, the fraction added as `Date.parse` reads it (its first three digits, the rest
 * dropped). A second that is not a valid date and time is left to `Date.parse`.
 *
 * @example
 * ```ts
 * const clock = new UtcClock()
 * clock.at(frame, i) === Date.parse(frame.slice(i, frame.indexOf('"', i)))
 * ```
 */
export class UtcClock {
  #second = ''
  #ms = NaN

  /** `Date.parse` of the `UTC_TIME` whose text (after its quote) starts at `i`. */
  at(text: string, i: number): number {
    if (!text.startsWith(this.#second, i) || this.#second === '') {
      const second = text.slice(i, i + 19)
      const ms = wholeSecond(second)
      if (Number.isNaN(ms)) return Date.parse(text.slice(i, text.indexOf('"', i)))
      this.#second = second
      this.#ms = ms
    }
    // `.ddd...Z` or `Z`: the first three digits are the milliseconds, fewer are scaled up.
    if (text.charCodeAt(i + 19) !== 46) return this.#ms
    let ms = 0
    let scale = 100
    for (let k = i + 20; scale >= 1; k++, scale /= 10) {
      const c = text.charCodeAt(k)
      if (c < 48 || c > 57) break
      ms += (c - 48) * scale
    }
    return this.#ms + ms
  }
}

/** `Date.parse` of `YYYY-MM-DDTHH:MM:SS` as UTC, or NaN unless it is a valid date and time. */
function wholeSecond(t: string): number {
  const num = (i: number) => (t.charCodeAt(i) - 48) * 10 + (t.charCodeAt(i + 1) - 48)
  const year = num(0) * 100 + num(2)
  const month = num(5)
  const day = num(8)
  const leap = year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0)
  const days = MONTH_DAYS[month - 1]! + (month === 2 && leap ? 1 : 0)
  if (month < 1 || month > 12 || day < 1 || day > days) return NaN
  if (num(11) > 23 || num(14) > 59 || num(17) > 59) return NaN
  return Date.parse(`${t}Z`)
}
