/**
 * @module
 * What travels on the bus, and its encoding: pure functions, no I/O.
 *
 * One Redis stream per venue carries that venue's verified book changes. Each stream entry is a
 * batch: the messages one ingest shard produced for the venue in one turn of its event loop,
 * numbered by the shard (`k`, from 1 per process start, `src` naming the process), so a consumer
 * sees a lost or trimmed entry as a gap and a restarted shard as a new source. A message is
 *
 * - `s`, a snapshot: the whole book as it is now (sent when the book goes live, periodically, and
 *   after the shard lost entries), with its sequence, exchange time, receive time and the depth the
 *   venue keeps (`d`: levels beyond it are dropped after every delta, as the shard does); `c: 1`
 *   marks a periodic copy of a book the stream already carries (a consumer checks against it);
 * - `d`, a delta: the absolute level updates one venue update applied (quantity 0 deletes), with
 *   the same stamps;
 * - `i`, invalid: the book stopped being trusted, and why (a resync, its connection down);
 * - `r`, removed: the market left the shard's universe;
 * - `h`, a heartbeat: the shard is alive (with its connections' count and how many are up), so a
 *   quiet venue is not taken for a silent shard.
 *
 * Levels travel as the venue's own decimal text (`[price, quantity]`), so the consumer's book is
 * the shard's book digit for digit; numbers are parsed again on arrival (`Number(text)`, as the
 * venue parsers do). JSON was measured against the alternatives before it was chosen: see the
 * README's "Splitting across machines" (bytes per second at the universe rate).
 */
import type { Level, Pair } from '../types.ts'

/** One price level as text: `[price, quantity]`. */
export type WireLevel = readonly [string, string]

export type BookMessage =
  | {
      readonly t: 's'
      readonly p: Pair
      /** Sequence the book is at (undefined when the venue has none). */
      readonly q?: number
      /** Exchange time of the data, ms. */
      readonly x?: number
      /** When the shard received the data, ms since the epoch (the quote's age counts from it). */
      readonly r: number
      /** Levels the venue keeps per side (deltas are truncated to it), when it has a fixed depth. */
      readonly d?: number
      /**
       * 1: a periodic copy of a book the stream already carries exactly, which a consumer may
       * check its rebuilt book against (absent: the book changed by a snapshot, or rejoins).
       */
      readonly c?: 1
      readonly b: readonly WireLevel[]
      readonly a: readonly WireLevel[]
    }
  | {
      readonly t: 'd'
      readonly p: Pair
      readonly q?: number
      readonly x?: number
      readonly r: number
      readonly b: readonly WireLevel[]
      readonly a: readonly WireLevel[]
    }
  | { readonly t: 'i'; readonly p: Pair; readonly why: string }
  | { readonly t: 'r'; readonly p: Pair; readonly why: string }
  | {
      readonly t: 'h'
      /** The shard's clock, ms. */
      readonly r: number
      /** Connections of the venue on the shard, and how many are up. */
      readonly c: number
      readonly u: number
    }

/** One stream entry: a numbered batch of one venue's messages. */
export interface BookBatch {
  /** The publishing process (random per start). */
  readonly src: string
  /** The batch's number on this stream from this source, from 1. */
  readonly k: number
  readonly messages: readonly BookMessage[]
}

export class BusDecodeError extends Error {
  override readonly name = 'BusDecodeError'
}

export const wireLevels = (levels: readonly Level[]): WireLevel[] => {
  const out: WireLevel[] = new Array(levels.length)
  for (let i = 0; i < levels.length; i++) out[i] = [levels[i]!.pxText, levels[i]!.qtyText]
  return out
}

const DECIMAL = /^(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?$/

/** Levels back from text; a malformed one is an error (the entry is dropped and counted). */
export function levelsOf(wire: unknown): Level[] {
  if (!Array.isArray(wire)) throw new BusDecodeError('levels are not a list')
  const out: Level[] = new Array(wire.length)
  for (let i = 0; i < wire.length; i++) {
    const w = wire[i]
    if (
      !Array.isArray(w) ||
      typeof w[0] !== 'string' ||
      typeof w[1] !== 'string' ||
      !DECIMAL.test(w[0]) ||
      !DECIMAL.test(w[1])
    ) {
      throw new BusDecodeError(`bad level ${JSON.stringify(w)}`)
    }
    const px = +w[0]
    const qty = +w[1]
    // A price is positive and a quantity finite, as the venue parsers keep them.
    if (!(px > 0 && px < Infinity && qty < Infinity)) {
      throw new BusDecodeError(`level out of range ${JSON.stringify(w)}`)
    }
    out[i] = { px, qty, pxText: w[0], qtyText: w[1] }
  }
  return out
}

/** The fields of one stream entry (`XADD … s <src> k <k> m <json>`). */
export function encodeBatch(src: string, k: number, messages: readonly unknown[]): string[] {
  return ['s', src, 'k', String(k), 'm', JSON.stringify(messages)]
}

/**
 * Reads one stream entry's fields back. The messages are checked for their shape only as far as
 * routing needs (type and pair); levels are checked when they are applied.
 */
export function decodeBatch(fields: readonly string[]): {
  src: string
  k: number
  messages: unknown[]
} {
  let src: string | undefined
  let k: number | undefined
  let body: string | undefined
  for (let i = 0; i + 1 < fields.length; i += 2) {
    const f = fields[i]
    if (f === 's') src = fields[i + 1]
    else if (f === 'k') k = Number(fields[i + 1])
    else if (f === 'm') body = fields[i + 1]
  }
  if (src === undefined || k === undefined || !Number.isSafeInteger(k) || k < 1) {
    throw new BusDecodeError('entry without a source and batch number')
  }
  if (body === undefined) throw new BusDecodeError('entry without messages')
  let messages: unknown
  try {
    messages = JSON.parse(body)
  } catch {
    throw new BusDecodeError('entry messages are not JSON')
  }
  if (!Array.isArray(messages)) throw new BusDecodeError('entry messages are not a list')
  return { src, k, messages }
}

/** A book message checked for what the mirror reads, or why not. */
export function bookMessageOf(m: unknown): BookMessage {
  if (typeof m !== 'object' || m === null) throw new BusDecodeError('message is not an object')
  const o = m as Record<string, unknown>
  const num = (v: unknown) => v === undefined || (typeof v === 'number' && Number.isFinite(v))
  switch (o.t) {
    case 's':
    case 'd':
      if (typeof o.p !== 'string' || typeof o.r !== 'number' || !num(o.q) || !num(o.x)) break
      if (!Array.isArray(o.b) || !Array.isArray(o.a)) break
      if (o.t === 's' && (!num(o.d) || (o.c !== undefined && o.c !== 1))) break
      return o as BookMessage
    case 'i':
    case 'r':
      if (typeof o.p === 'string' && typeof o.why === 'string') return o as BookMessage
      break
    case 'h':
      if (typeof o.r === 'number' && typeof o.c === 'number' && typeof o.u === 'number') {
        return o as BookMessage
      }
      break
  }
  throw new BusDecodeError(`bad message ${JSON.stringify(m).slice(0, 120)}`)
}

/** Milliseconds since the epoch a stream entry id (`<ms>-<n>`) was assigned at. */
export function entryTimeMs(id: string): number {
  const dash = id.indexOf('-')
  return Number(dash < 0 ? id : id.slice(0, dash))
}

/** The stream names under one prefix. */
export const streamNames = (prefix: string) => ({
  books: (venue: string) => `${prefix}:books:${venue}`,
  opportunities: `${prefix}:opportunities`,
})
