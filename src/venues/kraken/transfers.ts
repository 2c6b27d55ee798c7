/**
 * @module
 * Kraken deposit and withdrawal facts from `GET /0/public/Assets` (public; "Get Asset Info",
 * docs.kraken.com/api-reference/market-data/get-asset-info). Per asset only `status`:
 * `enabled`, `deposit_only`, `withdrawal_only`, `funding_temporarily_disabled` (the enum of the
 * spot REST spec's AssetInfo, as typed in several stored clients). Kraken names no network, fee,
 * minimum or contract there (its per-method lists need a key), so each asset gets ONE fact with
 * network `*`: "asset-level, whatever network Kraken uses"; fee, minimum and contract stay
 * undefined. Keys are Kraken's codes (`XXBT`, altname `XBT`); the altname goes through the
 * venue's aliases (XBT → BTC, XDG → DOGE). Dotted variants (`ETH.S`, `XBT.M`, `.HOLD`) are
 * staking and holding balances, not transferable coins: skipped.
 */
import type { TransferFact } from '../../transfers/types.ts'
import type { AssetAliases } from '../../symbols.ts'
import { ExchangeError, getJson, ParseError, type VenueTransfers } from '../venue.ts'

const PATH = '/0/public/Assets'
const SOURCE = `GET ${PATH}`

/** The network of an asset-level fact: the status applies to every network of the asset. */
export const ASSET_LEVEL_NETWORK = '*'

/** How long Kraken restricts public calls after "EGeneral:Too many requests": "a few seconds". */
const TOO_MANY_REQUESTS_WAIT_MS = 5_000

/** Kraken's asset status → [deposits open, withdrawals open]. */
const STATUS: Readonly<Record<string, readonly [boolean, boolean]>> = {
  enabled: [true, true],
  deposit_only: [true, false],
  withdrawal_only: [false, true],
  funding_temporarily_disabled: [false, false],
}

interface AssetInfo {
  altname?: unknown
  status?: unknown
}

/**
 * The facts of an Assets body for `assets` (unified codes).
 * @throws ExchangeError for Kraken's `error` list, ParseError when there is no `result`.
 */
export function parseKrakenAssets(
  body: unknown,
  assets: readonly string[],
  nowMs: number,
  aliases: AssetAliases = {},
  distinct: Readonly<Record<string, string>> = {},
): TransferFact[] {
  const b = body as { error?: unknown; result?: unknown } | null
  if (Array.isArray(b?.error) && b.error.length > 0) {
    const errors = b.error.map(String)
    const wait = errors.some((e) => e.startsWith('EGeneral:Too many requests'))
    const message = `Assets answered ${errors.join('; ')}`
    throw new ExchangeError('kraken', message, wait ? TOO_MANY_REQUESTS_WAIT_MS : undefined)
  }
  if (b?.result === null || typeof b?.result !== 'object' || Array.isArray(b.result)) {
    throw new ParseError('bad-message', 'Assets has no result')
  }
  const wanted = new Set(assets.map((a) => a.toUpperCase()))
  const out: TransferFact[] = []
  for (const [key, info] of Object.entries(b.result as Record<string, AssetInfo>)) {
    if (info === null || typeof info !== 'object') continue
    const code = (typeof info.altname === 'string' ? info.altname : key).toUpperCase()
    if (code.includes('.') || code in distinct || key.toUpperCase() in distinct) continue
    const asset = aliases[code] ?? aliases[key.toUpperCase()] ?? code
    if (!wanted.has(asset)) continue
    const open = typeof info.status === 'string' ? STATUS[info.status] : undefined
    out.push({
      venue: 'kraken',
      asset,
      network: ASSET_LEVEL_NETWORK,
      venueNetwork: key,
      depositEnabled: open?.[0],
      withdrawEnabled: open?.[1],
      withdrawFee: undefined,
      withdrawMin: undefined,
      contract: undefined,
      fetchedAtMs: nowMs,
      source: SOURCE,
    })
  }
  return out
}

/**
 * Kraken's transfer facts: one request for every asset, every 10 minutes (public REST at 1 a
 * second or less stays within the limits: support.kraken.com 206548367, as `limits.rest` cites).
 */
export function krakenTransfers(
  aliases: AssetAliases = {},
  distinct: Readonly<Record<string, string>> = {},
): VenueTransfers {
  return {
    needsKey: false,
    refreshMs: 10 * 60_000,
    async fetch(restUrl, opts) {
      const body = await getJson('kraken', `${restUrl}${PATH}`, opts)
      return parseKrakenAssets(body, opts.assets, opts.nowMs, aliases, distinct)
    },
  }
}
