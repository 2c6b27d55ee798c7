/**
 * @module
 * A strict scanner for the venues' hot frames: compact JSON (no whitespace) read in place, values
 * produced exactly as `JSON.parse` would produce them, and levels built straight from the text.
 * It accepts only a subset of what `JSON.parse` accepts: strings without escapes or control
 * characters, integers of at most 15 digits, plain decimals, and (when skipping) any compact JSON
 * value. On anything else it sets `fail` and the venue falls back to `JSON.parse` and full
 * validation, so a scanned frame always yields the events the `JSON.parse` path would.
 */
import type { Level } from '../types.ts'

/** Exact powers of ten: m / 10^k is correctly rounded for m < 2^53 and k <= 22. */
const POW10 = Array.from({ length: 23 }, (_, k) => 10 ** k)

const QUOTE = 34
const BACKSLASH = 92
const COMMA = 44
const COLON = 58
const DOT = 46
const MINUS = 45
const PLUS = 43
const OPEN_ARRAY = 91
const CLOSE_ARRAY = 93
const OPEN_OBJECT = 123
const CLOSE_OBJECT = 125
const DIGIT_0 = 48
const DIGIT_9 = 57

/** Deepest nesting `skip` follows (deeper values are left to `JSON.parse`). */
const MAX_DEPTH = 32

/**
 * A cursor over one frame. Every reader leaves the cursor after what it read, or sets `fail`
 * (and then what it returns is meaningless). Readers never throw.
 *
 * @example
 * ```ts
 * const s = new Scanner().reset('{"u":5,"b":[["1.5","2"]]}')
 * s.expect(123)
 * s.key() // 'u'
 * ```
 */
export class Scanner {
  text = ''
  i = 0
  fail = false
  /** Where the text of the last `decimal()` starts and ends. */
  from = 0
  to = 0

  reset(text: string): this {
    this.text = text
    this.i = 0
    this.fail = false
    return this
  }

  /** True when nothing failed and the whole text was read. */
  get done(): boolean {
    return !this.fail && this.i === this.text.length
  }

  peek(): number {
    return this.text.charCodeAt(this.i)
  }

  /** Consumes `c` (a char code) or fails. */
  expect(c: number): void {
    if (this.text.charCodeAt(this.i) === c) this.i++
    else this.fail = true
  }

  /** Consumes a literal or fails. */
  expectText(lit: string): void {
    if (!this.take(lit)) this.fail = true
  }

  /** Consumes a literal when it is next; false (and nothing consumed) when it is not. */
  take(lit: string): boolean {
    // A loop: `startsWith(lit, i)` costs more than the comparison on these short literals.
    const t = this.text
    const at = this.i
    const n = lit.length
    for (let k = 0; k < n; k++) if (t.charCodeAt(at + k) !== lit.charCodeAt(k)) return false
    this.i = at + n
    return true
  }

  /**
   * After a member or element: consumes `,` (true: another follows) or `close` (false: the
   * container ended); fails on anything else.
   */
  more(close: number): boolean {
    const c = this.text.charCodeAt(this.i++)
    if (c === COMMA) return true
    if (c !== close) this.fail = true
    return false
  }

  /**
   * A string without escapes or control characters, not copied: its content is
   * `text.slice(from, to)`. The cursor must be on the opening quote.
   */
  span(): void {
    const t = this.text
    const n = t.length
    let i = this.i
    if (t.charCodeAt(i) !== QUOTE) {
      this.fail = true
      return
    }
    const start = ++i
    for (; i < n; i++) {
      const c = t.charCodeAt(i)
      if (c === QUOTE) {
        this.from = start
        this.to = i
        this.i = i + 1
        return
      }
      if (c === BACKSLASH || c < 32) break
    }
    this.fail = true
  }

  /** A string without escapes or control characters; the cursor must be on the opening quote. */
  string(): string {
    this.span()
    return this.fail ? '' : this.text.slice(this.from, this.to)
  }

  /** True when the last `span` (or `decimal`) is exactly `lit`. */
  spanIs(lit: string): boolean {
    const t = this.text
    const from = this.from
    const n = lit.length
    if (this.to - from !== n) return false
    for (let k = 0; k < n; k++) if (t.charCodeAt(from + k) !== lit.charCodeAt(k)) return false
    return true
  }

  /** A member name and its colon. */
  key(): string {
    const k = this.string()
    if (this.text.charCodeAt(this.i) === COLON) this.i++
    else this.fail = true
    return k
  }

  /**
   * A member name and its colon, matched in place against `names`: its index there, or -1 for
   * another name (and on failure).
   */
  member(names: readonly string[]): number {
    this.span()
    if (this.text.charCodeAt(this.i) === COLON) this.i++
    else this.fail = true
    if (this.fail) return -1
    for (let k = 0; k < names.length; k++) if (this.spanIs(names[k]!)) return k
    return -1
  }

  /** A non-negative integer of at most 15 digits, no leading zero (exact as a double). */
  integer(): number {
    const t = this.text
    let i = this.i
    const start = i
    let n = 0
    for (let c = t.charCodeAt(i); c >= DIGIT_0 && c <= DIGIT_9; c = t.charCodeAt(++i)) {
      n = n * 10 + (c - DIGIT_0)
    }
    const len = i - start
    this.i = i
    const c = t.charCodeAt(i)
    if (
      len === 0 ||
      len > 15 ||
      (len > 1 && t.charCodeAt(start) === DIGIT_0) ||
      c === DOT ||
      c === 101 || // e
      c === 69 // E
    ) {
      this.fail = true
    }
    return n
  }

  /** An integer that may be negative (never `-0`). */
  signed(): number {
    if (this.text.charCodeAt(this.i) !== MINUS) return this.integer()
    this.i++
    const n = this.integer()
    if (n === 0) this.fail = true
    return -n
  }

  /**
   * A plain decimal at the cursor (digits with at most one inner '.', 40 characters at most, the
   * form `isDecimalText` accepts), converted exactly as `Number()` would; its text is
   * `text.slice(from, to)`.
   */
  decimal(): number {
    const t = this.text
    const start = this.i
    let i = start
    let mant = 0
    let digits = 0
    let frac = -1
    for (;;) {
      const c = t.charCodeAt(i)
      if (c >= DIGIT_0 && c <= DIGIT_9) {
        mant = mant * 10 + (c - DIGIT_0)
        digits++
        if (frac >= 0) frac++
      } else if (c === DOT && frac < 0 && i > start) {
        frac = 0
      } else break
      i++
    }
    this.i = i
    this.from = start
    this.to = i
    if (digits === 0 || frac === 0 || i - start > 40) {
      this.fail = true
      return 0
    }
    if (digits > 15) return +t.slice(start, i)
    return frac > 0 ? mant / POW10[frac]! : mant
  }

  /**
   * `[["price","qty",...],...]` into levels: prices positive and quantities non-negative plain
   * decimals; further members of a tuple must be strings and are skipped.
   */
  levels(): Level[] {
    const t = this.text
    const out: Level[] = []
    if (t.charCodeAt(this.i) !== OPEN_ARRAY) {
      this.fail = true
      return out
    }
    this.i++
    if (t.charCodeAt(this.i) === CLOSE_ARRAY) {
      this.i++
      return out
    }
    for (;;) {
      if (t.charCodeAt(this.i) !== OPEN_ARRAY || t.charCodeAt(this.i + 1) !== QUOTE) break
      this.i += 2
      const px = this.decimal()
      const pxFrom = this.from
      const pxTo = this.to
      if (
        this.fail ||
        !(px > 0) ||
        t.charCodeAt(this.i) !== QUOTE ||
        t.charCodeAt(this.i + 1) !== COMMA ||
        t.charCodeAt(this.i + 2) !== QUOTE
      )
        break
      this.i += 3
      const qty = this.decimal()
      const qtyFrom = this.from
      const qtyTo = this.to
      if (this.fail || t.charCodeAt(this.i) !== QUOTE) break
      this.i++
      while (t.charCodeAt(this.i) === COMMA) {
        this.i++
        this.string()
        if (this.fail) return out
      }
      if (t.charCodeAt(this.i) !== CLOSE_ARRAY) break
      this.i++
      out.push({ px, qty, pxText: t.slice(pxFrom, pxTo), qtyText: t.slice(qtyFrom, qtyTo) })
      const c = t.charCodeAt(this.i++)
      if (c === CLOSE_ARRAY) return out
      if (c !== COMMA) break
    }
    this.fail = true
    return out
  }

  /** `"price"` text as a level member: a quoted plain decimal; its text is `slice(from, to)`. */
  quotedDecimal(): number {
    if (this.text.charCodeAt(this.i) !== QUOTE) {
      this.fail = true
      return 0
    }
    this.i++
    const n = this.decimal()
    if (this.text.charCodeAt(this.i) === QUOTE) this.i++
    else this.fail = true
    return n
  }

  /**
   * Skips one compact JSON value of any kind, checking it as `JSON.parse` would (numbers by the
   * JSON grammar, strings without escapes or control characters, nesting up to 32 deep).
   */
  skip(depth = 0): void {
    const t = this.text
    const c = t.charCodeAt(this.i)
    if (c === QUOTE) {
      this.string()
    } else if (c === OPEN_OBJECT || c === OPEN_ARRAY) {
      if (depth >= MAX_DEPTH) {
        this.fail = true
        return
      }
      const close = c === OPEN_OBJECT ? CLOSE_OBJECT : CLOSE_ARRAY
      this.i++
      if (t.charCodeAt(this.i) === close) {
        this.i++
        return
      }
      do {
        if (close === CLOSE_OBJECT) this.key()
        this.skip(depth + 1)
      } while (!this.fail && this.more(close))
    } else if (c === MINUS || (c >= DIGIT_0 && c <= DIGIT_9)) {
      this.#number()
    } else if (!(this.take('true') || this.take('false') || this.take('null'))) {
      this.fail = true
    }
  }

  /** A number by the JSON grammar: -?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)? */
  #number(): void {
    const t = this.text
    let i = this.i
    if (t.charCodeAt(i) === MINUS) i++
    const intStart = i
    while (isDigit(t.charCodeAt(i))) i++
    let ok = i > intStart && !(i - intStart > 1 && t.charCodeAt(intStart) === DIGIT_0)
    if (t.charCodeAt(i) === DOT) {
      const start = ++i
      while (isDigit(t.charCodeAt(i))) i++
      ok &&= i > start
    }
    const e = t.charCodeAt(i)
    if (e === 101 || e === 69) {
      i++
      const sign = t.charCodeAt(i)
      if (sign === PLUS || sign === MINUS) i++
      const start = i
      while (isDigit(t.charCodeAt(i))) i++
      ok &&= i > start
    }
    this.i = i
    if (!ok) this.fail = true
  }

  /**
   * Skips `[["price","qty"],...]` rows of two or more strings, checked like `skip` but faster;
   * returns how many rows there were.
   */
  skipRows(): number {
    const t = this.text
    let i = this.i
    let rows = 0
    if (t.charCodeAt(i) !== OPEN_ARRAY) {
      this.fail = true
      return 0
    }
    i++
    if (t.charCodeAt(i) === CLOSE_ARRAY) {
      this.i = i + 1
      return 0
    }
    for (;;) {
      if (t.charCodeAt(i) !== OPEN_ARRAY) break
      i++
      let members = 0
      let closed = false
      while (t.charCodeAt(i) === QUOTE) {
        let c = t.charCodeAt(++i)
        while (c !== QUOTE && c !== BACKSLASH && c >= 32) c = t.charCodeAt(++i) // NaN at the end
        if (c !== QUOTE) break
        members++
        c = t.charCodeAt(++i)
        i++
        if (c === CLOSE_ARRAY) closed = true
        if (c !== COMMA) break
      }
      if (!closed || members < 2) break
      rows++
      const c = t.charCodeAt(i++)
      if (c === CLOSE_ARRAY) {
        this.i = i
        return rows
      }
      if (c !== COMMA) break
    }
    this.i = i
    this.fail = true
    return rows
  }
}

const isDigit = (c: number): boolean => c >= DIGIT_0 && c <= DIGIT_9

/** Days in each month of a common year. */
const MONTH_DAYS = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]

/** Two digits at `i` as a number, or -1. */
function twoDigits(t: string, i: number): number {
  const a = t.charCodeAt(i) - DIGIT_0
  const b = t.charCodeAt(i + 1) - DIGIT_0
  return a >= 0 && a <= 9 && b >= 0 && b <= 9 ? a * 10 + b : -1
}

/**
 * `Date.parse` of RFC 3339 UTC times (`2023-10-06T17:35:55.440295Z`), fast for a stream of them:
 * the whole second is parsed by `Date.parse` once and kept, the fraction added as `Date.parse`
 * reads it (its first three digits, the rest dropped). Any other text goes to `Date.parse`.
 *
 * @example
 * ```ts
 * const clock = new UtcClock()
 * clock.parse('2023-10-06T17:35:55.440295Z') === Date.parse('2023-10-06T17:35:55.440295Z')
 * ```
 */
export class UtcClock {
  #second = ''
  #ms = NaN

  parse(text: string): number {
    return this.parseAt(text, 0, text.length)
  }

  /** `Date.parse(text.slice(from, to))`, reading the text in place. */
  parseAt(text: string, from: number, to: number): number {
    const n = to - from
    if (n < 20 || n > 30 || text.charCodeAt(to - 1) !== 90) return Date.parse(text.slice(from, to)) // Z
    let frac = 0
    if (n > 20) {
      if (text.charCodeAt(from + 19) !== DOT || n === 21) return Date.parse(text.slice(from, to))
      const end = Math.min(to - 1, from + 23)
      for (let i = from + 20, scale = 100; i < to - 1; i++) {
        const d = text.charCodeAt(i) - DIGIT_0
        if (d < 0 || d > 9) return Date.parse(text.slice(from, to))
        if (i < end) {
          frac += d * scale
          scale = scale === 100 ? 10 : 1
        }
      }
    }
    if (!sameSecond(text, from, this.#second)) {
      const second = text.slice(from, from + 19)
      const ms = wholeSecond(second)
      if (Number.isNaN(ms)) return Date.parse(text.slice(from, to))
      this.#second = second
      this.#ms = ms
    }
    return this.#ms + frac
  }
}

/** True when `text` at `from` holds `second` (19 characters; false for an empty one). */
function sameSecond(text: string, from: number, second: string): boolean {
  if (second.length !== 19) return false
  for (let i = 18; i >= 0; i--) if (text.charCodeAt(from + i) !== second.charCodeAt(i)) return false
  return true
}

/** `Date.parse` of the text's first 19 characters as a UTC time, or NaN unless a valid one. */
function wholeSecond(t: string): number {
  const year = twoDigits(t, 0) * 100 + twoDigits(t, 2)
  const month = twoDigits(t, 5)
  const day = twoDigits(t, 8)
  const hour = twoDigits(t, 11)
  const minute = twoDigits(t, 14)
  const second = twoDigits(t, 17)
  if (
    t.charCodeAt(4) !== MINUS ||
    t.charCodeAt(7) !== MINUS ||
    t.charCodeAt(10) !== 84 || // T
    t.charCodeAt(13) !== COLON ||
    t.charCodeAt(16) !== COLON ||
    twoDigits(t, 0) < 0 ||
    twoDigits(t, 2) < 0 ||
    month < 1 ||
    month > 12 ||
    day < 1 ||
    hour < 0 ||
    hour > 23 ||
    minute < 0 ||
    minute > 59 ||
    second < 0 ||
    second > 59
  ) {
    return NaN
  }
  const leap = year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0)
  if (day > MONTH_DAYS[month - 1]! + (month === 2 && leap ? 1 : 0)) return NaN
  return Date.parse(`${t.slice(0, 19)}Z`)
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

function hashOf(text: string, from: number, to: number): number {
  let h = to - from
  for (let i = from; i < to; i++) h = (Math.imul(h, 31) + text.charCodeAt(i)) | 0
  return h
}
