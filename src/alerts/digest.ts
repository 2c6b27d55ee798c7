/**
 * @module
 * `/digest`, pure: when a chat's digest is due, and the one summary message of a period (how many
 * openings, the best ones with their peak net and how long they lasted, those still open). A
 * digest chat's deliveries are written like any alert's, but wait as `digest` until the end of
 * their period; the dispatcher then sums them up in one message and records them `digested`.
 */
import type { OpportunityRecord } from '../detector/record.ts'
import { duration, pct, routeLabel } from './format.ts'
import type { AlertText } from './notifier.ts'

/** How many routes the digest names among the best, and among those still open. */
export const DIGEST_BEST = 5

/**
 * When the digest period holding `atMs` ends: periods are counted from 00:00 UTC, so a 1 h digest
 * is due on the hour and a 1 d digest at midnight UTC.
 *
 * @example
 * ```ts
 * digestDueMs(Date.UTC(2030, 0, 1, 14, 20), 3_600_000) // Date.UTC(2030, 0, 1, 15)
 * ```
 */
export function digestDueMs(atMs: number, periodMs: number): number {
  return (Math.floor(atMs / periodMs) + 1) * periodMs
}

/** "2030-01-01 14:00"; the date is left out of `ms` when it is `sameDayAs`'s. */
function minute(ms: number, sameDayAs?: number): string {
  const text = new Date(ms).toISOString().replace('T', ' ').slice(0, 16)
  if (sameDayAs === undefined) return text
  const day = new Date(sameDayAs).toISOString().slice(0, 10)
  return text.startsWith(day) ? text.slice(11) : text
}

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`

/**
 * The digest of one period for one chat.
 *
 * @param records the openings alerted to the chat in the period (at least one), as they are now
 * @param period its start and end (when it was due), ms
 * @example
 * ```ts
 * formatDigest(records, { fromMs: Date.UTC(2030, 0, 1, 14), toMs: Date.UTC(2030, 0, 1, 15) }, now).title
 * // 'Digest 2030-01-01 14:00–15:00 UTC: 12 openings'
 * ```
 */
export function formatDigest(
  records: readonly OpportunityRecord[],
  period: { readonly fromMs: number; readonly toMs: number },
  nowMs: number,
): AlertText {
  const open = records.filter((r) => r.closedAtMs === null)
  const markets = new Set(records.map((r) => r.symbol))
  const title = `Digest ${minute(period.fromMs)}–${minute(period.toMs, period.fromMs)} UTC: ${plural(records.length, 'opening')}`
  const lines = [
    `${plural(records.length, 'opening')} in ${plural(markets.size, 'market')}${open.length > 0 ? `, ${open.length} still open` : ''}.`,
    'Best by peak net (at the trade size):',
  ]
  const best = [...records].sort((a, b) => b.peakNetBps - a.peakNetBps).slice(0, DIGEST_BEST)
  for (const [i, r] of best.entries()) {
    const time =
      r.closedAtMs === null
        ? `open for ${duration(nowMs - r.openedAtMs)}, now ${pct(r.netBps)}`
        : `lasted ${duration(r.closedAtMs - r.openedAtMs)}`
    lines.push(`${i + 1}. ${routeLabel(r)}: peak ${pct(r.peakNetBps)}, ${time}`)
  }
  if (open.length > 0) {
    lines.push(`Still open (${open.length}):`)
    const shown = [...open].sort((a, b) => b.netBps - a.netBps).slice(0, DIGEST_BEST)
    for (const r of shown) {
      lines.push(
        `• ${routeLabel(r)}: now ${pct(r.netBps)}, open for ${duration(nowMs - r.openedAtMs)}`,
      )
    }
    if (open.length > shown.length) lines.push(`…and ${open.length - shown.length} more`)
  }
  lines.push(`The arithmetic of the best: /explain ${best[0]!.id}`)
  return { title, lines, footer: '/digest off: single alerts again', tone: 'info' }
}
