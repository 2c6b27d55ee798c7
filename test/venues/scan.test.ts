/**
 * The pieces the venues' fast paths share (src/venues/scan.ts, src/venues/crc32.ts), against
 * what they stand in for: `Number()`, `Date.parse`, `Bun.hash.crc32` and a map lookup.
 */
import { describe, expect, test } from 'bun:test'
import { prng } from '../../bench/stream.ts'
import { feedText, finish, shift, START } from '../../src/venues/crc32.ts'
import { Cursor, DECIMAL, SymbolTable, UTC_TIME, UtcClock } from '../../src/venues/scan.ts'

const rand = prng(20)

describe('scan: Cursor.decimal', () => {
  test('converts every plain decimal exactly as Number() does, up to 40 characters', () => {
    const c = new Cursor()
    const bad: string[] = []
    const digits = (n: number) => Array.from({ length: n }, () => Math.floor(rand() * 10)).join('')
    for (let k = 0; k < 50_000; k++) {
      const int = digits(1 + Math.floor(rand() * 18))
      const text = rand() < 0.2 ? int : `${int}.${digits(1 + Math.floor(rand() * 20))}`
      c.text = `"${text}"`
      const got = c.decimal(1)
      const want = text.length > 40 ? NaN : Number(text)
      if (!Object.is(got, want) || (text.length <= 40 && c.at !== text.length + 1)) bad.push(text)
    }
    expect(bad).toEqual([])
  })

  test('the DECIMAL pattern is what isDecimalText accepts', () => {
    const re = new RegExp(`^${DECIMAL}$`)
    for (const ok of ['0', '1.5', '0001.0', '60000.10000000']) expect(re.test(ok)).toBe(true)
    for (const no of ['', '.5', '5.', '1.2.3', '-1', '1e5', ' 1', '1,5'])
      expect(re.test(no)).toBe(false)
  })
})

describe('scan: UtcClock', () => {
  test('gives what Date.parse gives for RFC 3339 times, fractions of 0 to 9 digits', () => {
    const clock = new UtcClock()
    const re = new RegExp(`^${UTC_TIME}$`)
    const bad: string[] = []
    let ms = Date.parse('2023-10-06T17:35:55Z')
    for (let k = 0; k < 50_000; k++) {
      ms += rand() < 0.9 ? Math.floor(rand() * 50) : Math.floor(rand() * 4e10) - 2e10
      const iso = new Date(ms).toISOString()
      const n = Math.floor(rand() * 10)
      const frac = Array.from({ length: n }, () => Math.floor(rand() * 10)).join('')
      const text = n === 0 ? `${iso.slice(0, 19)}Z` : `${iso.slice(0, 19)}.${frac}Z`
      expect(re.test(`"${text}"`)).toBe(true)
      if (!Object.is(clock.at(`"${text}"`, 1), Date.parse(text))) bad.push(text)
    }
    // Dates Date.parse reads its own way (rolled over, or rejected) are left to it.
    for (const odd of [
      '2023-02-30T10:00:00.5Z',
      '2023-02-29T00:00:00Z',
      '2024-02-29T23:59:59.999Z',
      '2023-10-06T24:00:00.000Z',
      '2023-10-06T17:60:00Z',
      '2023-10-06T17:35:61.5Z',
      '2023-13-01T00:00:00Z',
      '2023-00-10T00:00:00Z',
      '2100-02-29T00:00:00.1Z',
      '2000-02-29T00:00:00.1Z',
    ]) {
      if (!Object.is(clock.at(`"${odd}"`, 1), Date.parse(odd))) bad.push(odd)
    }
    expect(bad).toEqual([])
  })
})

describe('scan: SymbolTable', () => {
  test('finds exactly the names it holds, read from inside a text', () => {
    const names = ['BTCUSDT', 'BTC/USD', 'btcusd', 'ETH-USDT', 'BTCUSD', 'XBTUSDT', 'A', '']
    const table = new SymbolTable(names.map((n, i) => [n, i] as const))
    for (const [i, n] of names.entries()) expect(table.get(`"${n}"`, 1, 1 + n.length)).toBe(i)
    for (const n of ['BTCUSDTX', 'BTCUSD ', 'TCUSDT', 'btcUSD', 'B']) {
      expect(table.get(`"${n}"`, 1, 1 + n.length)).toBeUndefined()
    }
  })
})

describe('crc32', () => {
  test('feedText is the zlib CRC-32, and a part moved by shift is the same as fed in place', () => {
    for (let k = 0; k < 2000; k++) {
      const a = Array.from({ length: Math.floor(rand() * 40) }, () =>
        String.fromCharCode(32 + Math.floor(rand() * 90)),
      ).join('')
      const b = Array.from({ length: Math.floor(rand() * 300) }, () =>
        String.fromCharCode(32 + Math.floor(rand() * 90)),
      ).join('')
      expect(finish(feedText(START, a + b))).toBe(Bun.hash.crc32(a + b) >>> 0)
      expect(feedText(feedText(START, a), b)).toBe(
        shift(feedText(START, a), b.length) ^ feedText(0, b),
      )
    }
  })
})
