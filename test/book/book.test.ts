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
