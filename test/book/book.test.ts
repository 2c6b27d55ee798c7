import { describe, expect, test } from 'bun:test'
import {
  applyDelta,
  applySnapshot,
  createBook,
  isCrossed,
  truncateBook,
} from '../../src/book/book.ts'
import { toLevels } from '../../src/venues/venue.ts'
import { rows } from '../support.ts'
import { setLevel } from '../../src/book/book.ts'
import { prng } from '../../bench/stream.ts'

describe('order book', () => {
  test('a snapshot is sorted best-first and drops zero quantities', () => {
    const book = createBook()
    applySnapshot(
      book,
      toLevels([
        ['99', '1'],
        ['101', '2'],
        ['100', '0'],
        ['100.5', '3'],
      ]),
      toLevels([
        ['105', '1'],
        ['103', '2'],
        ['104', '0'],
      ]),
    )
    expect(rows(book.bids)).toEqual([
      ['101', '2'],
      ['100.5', '3'],
      ['99', '1'],
    ])
    expect(rows(book.asks)).toEqual([
      ['103', '2'],
      ['105', '1'],
    ])
  })

  test('a snapshot replaces everything (no ghost levels)', () => {
    const book = createBook()
    applySnapshot(book, toLevels([['99', '1']]), toLevels([['101', '1']]))
    applySnapshot(book, toLevels([['98', '1']]), toLevels([['102', '1']]))
    expect(rows(book.bids)).toEqual([['98', '1']])
    expect(rows(book.asks)).toEqual([['102', '1']])
  })

  test('deltas insert, replace and delete; deleting an absent level is harmless', () => {
    const book = createBook()
    applySnapshot(
      book,
      toLevels([
        ['100', '1'],
        ['99', '1'],
      ]),
      toLevels([['101', '1']]),
    )
    applyDelta(
      book,
      toLevels([
        ['99.5', '2'],
        ['100', '5'],
        ['98', '0'],
      ]),
      toLevels([
        ['101', '0'],
        ['102', '4'],
      ]),
    )
    expect(rows(book.bids)).toEqual([
      ['100', '5'],
      ['99.5', '2'],
      ['99', '1'],
    ])
    expect(rows(book.asks)).toEqual([['102', '4']])
  })

  test('the same price written with other digits is the same level', () => {
    const book = createBook()
    applySnapshot(book, toLevels([['100.10', '1']]), [])
    applyDelta(book, toLevels([['100.1', '3']]), [])
    expect(rows(book.bids)).toEqual([['100.1', '3']])
  })

  test('truncation keeps the best levels', () => {
    const book = createBook()
    applySnapshot(
      book,
      toLevels([
        ['1', '1'],
        ['2', '1'],
        ['3', '1'],
      ]),
      toLevels([
        ['4', '1'],
        ['5', '1'],
        ['6', '1'],
      ]),
    )
    truncateBook(book, 2)
    expect(rows(book.bids)).toEqual([
      ['3', '1'],
      ['2', '1'],
    ])
    expect(rows(book.asks)).toEqual([
      ['4', '1'],
      ['5', '1'],
    ])
  })

  test('crossed and locked books are detected', () => {
    const book = createBook()
    applySnapshot(book, toLevels([['100', '1']]), toLevels([['101', '1']]))
    expect(isCrossed(book)).toBe(false)
    applyDelta(book, toLevels([['101', '1']]), [])
    expect(isCrossed(book)).toBe(true)
  })

  test('levels must be plain positive decimals', () => {
    for (const bad of [
      ['-1', '1'],
      ['0', '1'],
      ['abc', '1'],
      ['1e5', '1'],
      ['1', '-2'],
      ['', '1'],
      [1, '1'],
      ['1.', '1'],
      ['.5', '1'],
    ]) {
      expect(() => toLevels([bad])).toThrow()
    }
    expect(() => toLevels('nope')).toThrow()
  })
})

describe('book: many updates at once', () => {
  test('a sorted message merged into a deep side leaves what setting its levels one by one does', () => {
    const rand = prng(8)
    const lv = (px: number, qty: number) => ({ px, qty, pxText: String(px), qtyText: String(qty) })
    let messages = 0
    for (let t = 0; t < 300; t++) {
      const book = createBook()
      const ref = createBook()
      const depth = Math.floor(rand() * 400)
      for (let i = 0; i < depth; i++) {
        const [b, a] = [
          lv(1000 - Math.floor(rand() * 500), i + 1),
          lv(1001 + Math.floor(rand() * 500), i + 1),
        ]
        for (const x of [book, ref]) {
          setLevel(x.bids, b, true)
          setLevel(x.asks, a, false)
        }
      }
      for (let m = 0; m < 20; m++) {
        const side = (bid: boolean) => {
          const rows = Array.from({ length: Math.floor(rand() * 40) }, () => {
            const px = bid ? 1000 - Math.floor(rand() * 550) : 1001 + Math.floor(rand() * 550)
            return lv(px, rand() < 0.35 ? 0 : 1 + Math.floor(rand() * 99))
          })
          if (rand() < 0.2) return rows // unsorted, repeated prices: set one by one
          const last = new Map(rows.map((l) => [l.px, l]))
          return [...last.values()].sort((x, y) => (bid ? y.px - x.px : x.px - y.px))
        }
        const bids = side(true)
        const asks = side(false)
        applyDelta(book, bids, asks)
        for (const l of bids) setLevel(ref.bids, l, true)
        for (const l of asks) setLevel(ref.asks, l, false)
        // The very same level objects, in the same places.
        expect(book.bids.length).toBe(ref.bids.length)
        expect(book.asks.length).toBe(ref.asks.length)
        expect(book.bids.every((l, i) => l === ref.bids[i])).toBe(true)
        expect(book.asks.every((l, i) => l === ref.asks[i])).toBe(true)
        messages++
      }
    }
    expect(messages).toBe(6000)
  })
})
