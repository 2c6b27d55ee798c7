/**
 * @module
 * A strict scanner for the hot path: compact JSON objects whose values are strings without
 * escapes, non-negative integers, or arrays of `["price","qty",...]` string tuples. It builds
 * levels directly from the text (no intermediate arrays), and gives up (returns undefined) on
 * anything else, so the caller falls back to `JSON.parse` and full validation. It never accepts
 * what the slow path would reject.
 */
import type { Level } from '../../types.ts'

/** Exact powers of ten: m / 10^k is correctly rounded for m < 2^53 and k <= 22. */
const POW10 = Array.from({ length: 23 }, (_, k) => 10 ** k)

/** Cursor over one frame. `fail` is set when the text is outside what this scanner handles. */
export class Scanner {
  text = ''
  i = 0
  fail = false

  reset(text: string): this {
    this.text = text
    this.i = 0
    this.fail = false
    return this
  }

  /** Consumes `c` (a char code) or fails. */
  expect(c: number): void {
    if (this.text.charCodeAt(this.i) === c) this.i++
    else this.fail = true
  }

  peek(): number {
    return this.text.charCodeAt(this.i)
  }

  /** Consumes a literal or fails. */
  expectText(lit: string): void {
    if (this.text.startsWith(lit, this.i)) this.i += lit.length
    else this.fail = true
  }

  /** A string value without escapes; the cursor must be on the opening quote. */
  string(): string {
    const t = this.text
    if (t.charCodeAt(this.i) !== 34) {
      this.fail = true
      return ''
    }
    const start = this.i + 1
    const end = t.indexOf('"', start)
    if (end < 0 || t.lastIndexOf('\\', end) >= start) {
      this.fail = true
      return ''
    }
    this.i = end + 1
    return t.slice(start, end)
  }

  /** A non-negative integer below 2^53. */
  integer(): number {
    const t = this.text
    let i = this.i
    let n = 0
    const start = i
    for (let c = t.charCodeAt(i); c >= 48 && c <= 57; c = t.charCodeAt(++i)) n = n * 10 + (c - 48)
    if (i === start || i - start > 15) this.fail = true
    this.i = i
    return n
  }

  /** Skips a value of a kind this scanner knows (string or integer); fails on others. */
  skipValue(): void {
    const c = this.peek()
    if (c === 34) this.string()
    else if (c >= 48 && c <= 57) this.integer()
    else this.fail = true
  }

  /**
   * `[["p","q",...],...]` into levels. Prices must be positive plain decimals and quantities
   * non-negative ones; anything else fails the scan (the slow path then reports it).
   */
  levels(): Level[] {
    const t = this.text
    const out: Level[] = []
    if (t.charCodeAt(this.i) !== 91) {
      this.fail = true
      return out
    }
    this.i++
    if (t.charCodeAt(this.i) === 93) {
      this.i++
      return out
    }
    for (;;) {
      if (t.charCodeAt(this.i) !== 91 || t.charCodeAt(this.i + 1) !== 34) break
      this.i += 2
      const pxStart = this.i
      const px = this.decimal()
      const pxEnd = this.i
      if (
        this.fail ||
        !(px > 0) ||
        t.charCodeAt(this.i) !== 34 ||
        t.charCodeAt(this.i + 1) !== 44 ||
        t.charCodeAt(this.i + 2) !== 34
      )
        break
      this.i += 3
      const qtyStart = this.i
      const qty = this.decimal()
      const qtyEnd = this.i
      if (this.fail || t.charCodeAt(this.i) !== 34) break
      this.i++
      // Extra tuple members (some venues send four) are skipped.
      while (t.charCodeAt(this.i) === 44) {
        this.i++
        this.string()
        if (this.fail) return out
      }
      if (t.charCodeAt(this.i) !== 93) break
      this.i++
      out.push({ px, qty, pxText: t.slice(pxStart, pxEnd), qtyText: t.slice(qtyStart, qtyEnd) })
      const c = t.charCodeAt(this.i++)
      if (c === 93) return out
      if (c !== 44) break
    }
    this.fail = true
    return out
  }

  /** A plain decimal (digits, at most one inner '.'), converted exactly as `Number()` would. */
  decimal(): number {
    const t = this.text
    const start = this.i
    let i = start
    let mant = 0
    let digits = 0
    let frac = -1
    for (;;) {
      const c = t.charCodeAt(i)
      if (c >= 48 && c <= 57) {
        mant = mant * 10 + (c - 48)
        digits++
        if (frac >= 0) frac++
      } else if (c === 46 && frac < 0 && i > start) {
        frac = 0
      } else break
      i++
    }
    this.i = i
    if (digits === 0 || frac === 0 || i - start > 40) {
      this.fail = true
      return 0
    }
    if (digits > 15) return +t.slice(start, i)
    return frac > 0 ? mant / POW10[frac]! : mant
  }
}
