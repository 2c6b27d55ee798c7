/**
 * @module
 * Bitstamp deposit and withdrawal facts from `GET /api/v2/currencies/` (public; "Currencies" on
 * bitstamp.net/api). Per currency `currency`, `type` (`crypto`/`fiat`), `deposit` and
 * `withdrawal` (`Enabled`/`Disabled`): the CurrencySchema of Bitstamp's OpenAPI, as generated in
 * Lolztech/CryptoCave bitstamp-api-client/docs/CurrencySchema.md@a15b504. That schema names no
 * network, fee, minimum or contract (withdrawal fees are a signed endpoint), and no stored source
 * showed the shape of a per-network list, so each currency gets ONE asset-level fact with network
 * `*` (as Kraken's); fee, minimum and contract stay undefined.
 */
import type { TransferFact } from '../../transfers/types.ts'
import type { AssetAliases } from '../../symbols.ts'
import { getJson, ParseError, type VenueTransfers } from '../venue.ts'

const PATH = '/api/v2/currencies/'
const SOURCE = `GET ${PATH}`

/** The network of an asset-level fact: the status applies to every network of the currency. */
export const ASSET_LEVEL_NETWORK = '*'

interface Currency {
  currency?: unknown
  type?: unknown
  deposit?: unknown
  withdrawal?: unknown
}

const open = (x: unknown): boolean | undefined =>
  x === 'Enabled' ? true : x === 'Disabled' ? false : undefined

/**
 * The facts of a currencies body for `assets` (unified codes).
 * @throws ParseError when the body is not a list.
 */
export function parseBitstampCurrencies(
  body: unknown,
  assets: readonly string[],
  nowMs: number,
  aliases: AssetAliases = {},
  distinct: Readonly<Record<string, string>> = {},
): TransferFact[] {
  if (!Array.isArray(body)) throw new ParseError('bad-message', 'currencies is not a list')
  const wanted = new Set(assets.map((a) => a.toUpperCase()))
  const out: TransferFact[] = []
  for (const c of body as Currency[]) {
    if (c === null || typeof c !== 'object' || typeof c.currency !== 'string') continue
    const code = c.currency.toUpperCase()
    if (code in distinct || c.type === 'fiat') continue
    const asset = aliases[code] ?? code
    if (!wanted.has(asset)) continue
    out.push({
      venue: 'bitstamp',
      asset,
      network: ASSET_LEVEL_NETWORK,
      venueNetwork: code,
      depositEnabled: open(c.deposit),
      withdrawEnabled: open(c.withdrawal),
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
 * Bitstamp's transfer facts: one request for every currency, every 10 minutes (Bitstamp allows
 * 8000 requests per 10 minutes per IP, as `limits.rest` cites).
 */
export function bitstampTransfers(
  aliases: AssetAliases = {},
  distinct: Readonly<Record<string, string>> = {},
): VenueTransfers {
  return {
    needsKey: false,
    refreshMs: 10 * 60_000,
    async fetch(restUrl, opts) {
      const body = await getJson('bitstamp', `${restUrl}${PATH}`, opts)
      return parseBitstampCurrencies(body, opts.assets, opts.nowMs, aliases, distinct)
    },
  }
}
