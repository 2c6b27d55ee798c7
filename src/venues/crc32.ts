/**
 * @module
 * CRC-32 (the zlib polynomial, what `Bun.hash.crc32` computes) as register arithmetic, for the
 * book checksums that venues send with every message: a checksum over the top levels is the
 * register run over each level's text in turn, and since the register update is linear over
 * GF(2), the part a level contributes can be computed once and moved along by the length of what
 * follows (`shift`). The checksums keep each level's part while the level stays in the book, so a
 * message recomputes only the levels it changed.
 */

/** The byte table of the reflected polynomial 0xEDB88320. */
const TABLE = (() => {
  const t = new Int32Array(256)
  for (let n = 0; n < 256; n++) {
    let c = n
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1
    t[n] = c
  }
  return t
})()

/** `feed(c, b)`: the register after one more byte. */
export const feedByte = (c: number, b: number): number => TABLE[(c ^ b) & 255]! ^ (c >>> 8)

/** Longest run of zero bytes one table covers; longer ones are shifted in steps. */
const MAX_SHIFT = 64

/**
 * For each length n up to `MAX_SHIFT`, at `n * 1024`: 4 x 256 entries, the register advanced
 * over n zero bytes from each byte value in each of its four places (one flat array: 260 KB).
 */
const SHIFTS = (() => {
  const t = new Int32Array((MAX_SHIFT + 1) * 1024)
  for (let k = 0; k < 4; k++) for (let b = 0; b < 256; b++) t[k * 256 + b] = b << (8 * k)
  // Each length is the one before it advanced by one more zero byte.
  for (let i = 1024; i < t.length; i++) {
    const c = t[i - 1024]!
    t[i] = TABLE[c & 255]! ^ (c >>> 8)
  }
  return t
})()

/**
 * The register `c` advanced over `n` zero bytes: `run(c, text)` equals
 * `shift(c, text.length) ^ run(0, text)`.
 */
export function shift(c: number, n: number): number {
  while (n > MAX_SHIFT) {
    c = shiftBy(c, MAX_SHIFT)
    n -= MAX_SHIFT
  }
  return n === 0 ? c : shiftBy(c, n)
}

function shiftBy(c: number, n: number): number {
  const t = SHIFTS
  const o = n * 1024
  return (
    t[o + (c & 255)]! ^
    t[o + 256 + ((c >>> 8) & 255)]! ^
    t[o + 512 + ((c >>> 16) & 255)]! ^
    t[o + 768 + (c >>> 24)]!
  )
}

/** The register after the characters of `text` (one byte each; the venues' texts are ASCII). */
export function feedText(c: number, text: string): number {
  for (let i = 0; i < text.length; i++) c = TABLE[(c ^ text.charCodeAt(i)) & 255]! ^ (c >>> 8)
  return c
}

/** The finished CRC-32, unsigned, of what a register started at `START` was fed. */
export const finish = (c: number): number => (c ^ -1) >>> 0

/** The register a CRC-32 starts from. */
export const START = -1
