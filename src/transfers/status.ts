/**
 * @module
 * The route status of one cross-venue opportunity, from the transfer facts on both legs: can the
 * asset be withdrawn from the buy venue and deposited on the sell venue over a network both list?
 * Pure: the facts, the fetch outcomes and the clock come in, a `RouteTransfer` comes out.
 *
 * Rules, in order:
 * - A side's facts are usable when present and no older than `maxAgeMs`; otherwise that side is
 *   unknown, and the reason says why (needs a key, endpoint failed, facts too old, none listed).
 *   A usable side that is closed on every one of its networks blocks the route on its own, even
 *   when the other side is unknown.
 * - Networks match by their shared id (`networks.ts`). An asset-level fact (network `*`: the venue
 *   gives no network, Kraken) matches any network of the other venue for its open/closed status;
 *   the network named is then the other venue's.
 * - Contracts are compared normalised (`normaliseContract`). A network both venues give contracts
 *   for and whose contracts differ is never a route. When at least one such comparison exists and
 *   none matches, the asset is a different token on each venue: `collision`, status `blocked`.
 *   Venues that give contracts only for different networks are not evidence of a collision.
 * - `transferable`: some matched network is open both ways (`withdrawEnabled === true` on the buy
 *   venue, `depositEnabled === true` on the sell venue); the cheapest by withdrawal fee is taken
 *   (an unknown fee ranks after every known one; ties by network id).
 * - `blocked`: every matched network is definitely closed on at least one side (or none match).
 * - `unknown` otherwise: some matched network is not closed but one of its flags is not given.
 */
import { normaliseContract } from './networks.ts'
import type { RouteTransfer, TransferFact } from './types.ts'
import type { VenueId } from '../types.ts'

/** The network of an asset-level fact: the venue gives its status without naming a network. */
export const ANY_NETWORK = '*'

/** What a venue's last fetch said (see `TransferFacts.outcome`). */
export interface FetchOutcome {
  /** The last successful fetch, ms since the epoch. */
  readonly okAtMs?: number
  /** The last failure, when it is newer than the last success. */
  readonly error?: string
  readonly errorAtMs?: number
  /** The env var that would let the venue be fetched (its endpoint is signed and no key is set). */
  readonly missingKey?: string
}

/** Everything `routeTransfer` judges by. */
export interface RouteInput {
  /** The unified asset that moves (the base of a cross market). */
  readonly asset: string
  readonly buyVenue: VenueId
  readonly sellVenue: VenueId
  /** The asset's facts on each venue (`TransferFacts.of`); undefined when the venue has none. */
  readonly buyFacts: readonly TransferFact[] | undefined
  readonly sellFacts: readonly TransferFact[] | undefined
  /** The venues' last fetch outcomes (`TransferFacts.outcome`), to say why facts are missing. */
  readonly buyOutcome?: FetchOutcome | undefined
  readonly sellOutcome?: FetchOutcome | undefined
  /** How users see a venue (`Venue.name`). */
  readonly venueName: (venue: VenueId) => string
  /**
   * The env var a venue's facts need when its endpoint is signed and no key is set
   * (`BINANCE_API_KEY`), else undefined. The outcome's `missingKey` is used when absent.
   */
  readonly keyHint?: (venue: VenueId) => string | undefined
  /** Trade size, quote currency; the buy price, quote per unit of the asset; the net spread, bps. */
  readonly sizeQuote: number
  readonly buyPrice: number
  readonly netBps: number
  readonly nowMs: number
  /** Facts older than this are not relied on. */
  readonly maxAgeMs: number
}

type Side = 'withdraw' | 'deposit'

/** One network both venues can use: the buy venue's fact and the sell venue's. */
interface Match {
  readonly network: string
  readonly buy: TransferFact
  readonly sell: TransferFact
}

/**
 * The transfer status of a route.
 * @param input the facts on both legs, the clock and the trade (see `RouteInput`)
 * @returns the status, its one line, the network, fee and net after fee when transferable
 * @example
 * ```ts
 * routeTransfer({ asset: 'BTC', buyVenue: 'binance', sellVenue: 'kraken',
 *   buyFacts: facts.of('binance', 'BTC'), sellFacts: facts.of('kraken', 'BTC'),
 *   buyOutcome: facts.outcome('binance'), sellOutcome: facts.outcome('kraken'),
 *   venueName: (v) => byId[v].name, sizeQuote: 1000, buyPrice: 60000, netBps: 12,
 *   nowMs: Date.now(), maxAgeMs: 30 * 60_000 })
 * // { status: 'transferable', network: 'BTC', fee: 0.0002, line: 'Withdraw BTC from Binance: …' }
 * ```
 */
export function routeTransfer(input: RouteInput): RouteTransfer {
  const { asset, buyVenue, sellVenue } = input
  const name = input.venueName
  if (buyVenue === sellVenue) {
    return {
      status: 'transferable',
      line: `No transfer: both legs on ${name(buyVenue)}`,
      collision: false,
      sources: [],
    }
  }
  const buy = usable(input, 'withdraw')
  const sell = usable(input, 'deposit')

  // A side closed on every network stops the route whatever the other side says.
  if (buy.facts && buy.facts.every((f) => f.withdrawEnabled === false) && buy.facts.length > 0) {
    return blockedBy(input, 'withdraw', buy.facts, sell.facts ?? [])
  }
  if (sell.facts && sell.facts.every((f) => f.depositEnabled === false) && sell.facts.length > 0) {
    return blockedBy(input, 'deposit', buy.facts ?? [], sell.facts)
  }
  if (!buy.facts || !sell.facts) {
    const reasons = [buy.reason, sell.reason].filter((r) => r !== undefined)
    const used = [...(buy.facts ?? buy.stale ?? []), ...(sell.facts ?? sell.stale ?? [])]
    return {
      status: 'unknown',
      line: `unknown: ${reasons.join('; ')}`,
      side: !buy.facts && !sell.facts ? 'both' : !buy.facts ? 'withdraw' : 'deposit',
      collision: false,
      ...provenance(used),
    }
  }

  const all = [...buy.facts, ...sell.facts]
  const matches = matchNetworks(buy.facts, sell.facts)
  if (matches.length === 0) {
    const nets = (fs: readonly TransferFact[]) => [...new Set(fs.map((f) => f.network))].join(', ')
    return {
      status: 'blocked',
      line:
        `blocked: ${name(buyVenue)} and ${name(sellVenue)} share no network for ${asset} ` +
        `(${name(buyVenue)}: ${nets(buy.facts)}; ${name(sellVenue)}: ${nets(sell.facts)})`,
      side: 'both',
      collision: false,
      ...provenance(all),
    }
  }

  // Contracts: a network whose contracts differ is never a route; all differing is a collision.
  const compared = matches.filter((m) => contractOf(m.buy) && contractOf(m.sell))
  const same = (m: Match) => contractOf(m.buy) === contractOf(m.sell)
  if (compared.length > 0 && !compared.some(same)) {
    const m = compared[0]!
    return {
      status: 'blocked',
      line:
        `blocked: different tokens: ${asset} on ${m.network} is ${contractOf(m.buy)} on ` +
        `${name(buyVenue)}, ${contractOf(m.sell)} on ${name(sellVenue)}`,
      side: 'both',
      collision: true,
      ...provenance(all),
    }
  }
  const candidates = matches.filter((m) => !(contractOf(m.buy) && contractOf(m.sell)) || same(m))

  const open = candidates.filter(
    (m) => m.buy.withdrawEnabled === true && m.sell.depositEnabled === true,
  )
  if (open.length > 0) {
    open.sort(byFee)
    const best = open[0]!
    const fee = best.buy.withdrawFee
    const feeQuote = fee === undefined ? undefined : fee * input.buyPrice
    const netAfterFeeBps =
      feeQuote === undefined || !(input.sizeQuote > 0)
        ? undefined
        : input.netBps - (feeQuote / input.sizeQuote) * 1e4
    return {
      status: 'transferable',
      line:
        `Withdraw ${asset} from ${name(buyVenue)}: open (${best.network}) · deposit on ` +
        `${name(sellVenue)}: open · fee ${fee === undefined ? 'unknown' : `${fmtAmount(fee)} ${asset}`}`,
      network: best.network,
      ...(fee === undefined ? {} : { fee, feeQuote, netAfterFeeBps }),
      collision: false,
      ...provenance([best.buy, best.sell]),
    }
  }

  const closedW = (m: Match) => m.buy.withdrawEnabled === false
  const closedD = (m: Match) => m.sell.depositEnabled === false
  const usedFacts = candidates.flatMap((m) => [m.buy, m.sell])
  if (candidates.every((m) => closedW(m) || closedD(m))) {
    if (candidates.every(closedW)) return blockedBy(input, 'withdraw', buy.facts, sell.facts)
    if (candidates.every(closedD)) return blockedBy(input, 'deposit', buy.facts, sell.facts)
    const w = candidates.filter(closedW).map((m) => m.network)
    const d = candidates.filter((m) => !closedW(m)).map((m) => m.network)
    return {
      status: 'blocked',
      line:
        `blocked: ${asset} withdrawals suspended on ${name(buyVenue)} (${list(w)}) and ` +
        `deposits suspended on ${name(sellVenue)} (${list(d)})`,
      side: 'both',
      collision: false,
      ...provenance(usedFacts),
    }
  }
  // Some network is not known to be closed, but one of its flags is not given.
  const undecided = candidates.filter((m) => !closedW(m) && !closedD(m))
  const noW = undecided.some((m) => m.buy.withdrawEnabled === undefined)
  const noD = undecided.some((m) => m.sell.depositEnabled === undefined)
  const reasons: string[] = []
  if (noW) reasons.push(`${name(buyVenue)} does not say whether ${asset} withdrawals are open`)
  if (noD) reasons.push(`${name(sellVenue)} does not say whether ${asset} deposits are open`)
  return {
    status: 'unknown',
    line: `unknown: ${reasons.join('; ')}`,
    side: noW && noD ? 'both' : noW ? 'withdraw' : 'deposit',
    collision: false,
    ...provenance(usedFacts),
  }
}

/** A side's facts when they can be relied on, else why not (and the stale ones, for their age). */
function usable(
  input: RouteInput,
  side: Side,
): { facts?: readonly TransferFact[]; stale?: readonly TransferFact[]; reason?: string } {
  const venue = side === 'withdraw' ? input.buyVenue : input.sellVenue
  const facts = side === 'withdraw' ? input.buyFacts : input.sellFacts
  const outcome = side === 'withdraw' ? input.buyOutcome : input.sellOutcome
  const who = input.venueName(venue)
  const what = side === 'withdraw' ? 'withdrawal' : 'deposit'
  const failed =
    outcome?.error !== undefined && (outcome.errorAtMs ?? 0) >= (outcome.okAtMs ?? 0)
      ? outcome.error
      : undefined
  if (facts === undefined || facts.length === 0) {
    const key = input.keyHint?.(venue) ?? outcome?.missingKey
    if (key !== undefined) return { reason: `${who}'s ${what} status needs ${key}` }
    if (failed !== undefined) return { reason: `${who}'s endpoint failed: ${failed}` }
    if (outcome?.okAtMs !== undefined) {
      return { reason: `${who} lists no ${what} facts for ${input.asset}` }
    }
    return { reason: `${who}'s ${what} status is not fetched yet` }
  }
  const oldest = Math.min(...facts.map((f) => f.fetchedAtMs))
  const age = input.nowMs - oldest
  if (age > input.maxAgeMs) {
    const why = failed === undefined ? '' : ` (endpoint failed: ${failed})`
    return { stale: facts, reason: `${who}'s facts are ${fmtAge(age)} old${why}` }
  }
  return { facts }
}

/** Pairs of facts on a network both venues list (`*` on either side matches any network). */
function matchNetworks(buy: readonly TransferFact[], sell: readonly TransferFact[]): Match[] {
  const out: Match[] = []
  for (const b of buy) {
    for (const s of sell) {
      if (b.network === s.network || b.network === ANY_NETWORK || s.network === ANY_NETWORK) {
        out.push({ network: b.network === ANY_NETWORK ? s.network : b.network, buy: b, sell: s })
      }
    }
  }
  return out
}

const contractOf = (f: TransferFact): string | undefined =>
  f.network === ANY_NETWORK ? undefined : normaliseContract(f.network, f.contract)

/** Known fees first, cheapest first; then by network id so the choice is stable. */
function byFee(a: Match, b: Match): number {
  const fa = a.buy.withdrawFee
  const fb = b.buy.withdrawFee
  if (fa !== fb) {
    if (fa === undefined) return 1
    if (fb === undefined) return -1
    return fa - fb
  }
  return a.network < b.network ? -1 : a.network > b.network ? 1 : 0
}

/** Blocked by one side, closed on every network that could have been used. */
function blockedBy(
  input: RouteInput,
  side: Side,
  buy: readonly TransferFact[],
  sell: readonly TransferFact[],
): RouteTransfer {
  const venue = input.venueName(side === 'withdraw' ? input.buyVenue : input.sellVenue)
  const what = side === 'withdraw' ? 'withdrawals' : 'deposits'
  return {
    status: 'blocked',
    line: `blocked: ${what} of ${input.asset} suspended on ${venue}`,
    side,
    collision: false,
    ...provenance(side === 'withdraw' ? buy : sell),
  }
}

function provenance(facts: readonly TransferFact[]): {
  factsAtMs?: number
  sources: readonly string[]
} {
  if (facts.length === 0) return { sources: [] }
  const sources = [...new Set(facts.map((f) => f.source))].sort()
  return { factsAtMs: Math.min(...facts.map((f) => f.fetchedAtMs)), sources }
}

const list = (xs: readonly string[]): string => [...new Set(xs)].join(', ')

/** An amount of the asset as users read it: up to 8 significant digits, no exponent. */
export function fmtAmount(x: number): string {
  if (x === 0) return '0'
  const s = Number(x.toPrecision(8))
  return s.toLocaleString('en-US', { useGrouping: false, maximumFractionDigits: 12 })
}

/** An age as users read it: `40 s`, `15 min`, `2 h`, `3 d`. */
export function fmtAge(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000))
  if (s < 120) return `${s} s`
  const min = Math.round(s / 60)
  if (min < 120) return `${min} min`
  const h = Math.round(min / 60)
  if (h < 48) return `${h} h`
  return `${Math.round(h / 24)} d`
}
