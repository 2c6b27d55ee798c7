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

/** Longest run of zero bytes one shift table covers; longer ones are shifted in steps. */
const MAX_SHIFT = 64

/** Per length n: 4 x 256 entries, the register advanced over n zero bytes, byte by byte. */
const SHIFTS: (Int32Array | undefined)[] = new Array(MAX_SHIFT + 1)

function shiftTable(n: number): Int32Array {
  const t = new Int32Array(1024)
  for (let k = 0; k < 4; k++) {
    for (let b = 0; b < 256; b++) {
      let c = b << (8 * k)
      for (let i = 0; i < n; i++) c = TABLE[c & 255]! ^ (c >>> 8)
      t[k * 256 + b] = c
    }
  }
  return t
}

/**
 * The register `c` advanced over `n` zero bytes: `run(c, text)` equals
 * `shift(c, text.length) ^ run(0, text)`.
 */
export function shift(c: number, n: number): number {
  while (n > 0) {
    const step = n > MAX_SHIFT ? MAX_SHIFT : n
    const t = (SHIFTS[step] ??= shiftTable(step))
    c = t[c & 255]! ^ t[256 + ((c >>> 8) & 255)]! ^ t[512 + ((c >>> 16) & 255)]! ^ t[768 + (c >>> 24)]!
    n -= step
  }
  return c
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
