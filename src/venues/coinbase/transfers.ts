/**
 * @module
 * Coinbase deposit and withdrawal facts from the Exchange API's public currency list,
 * `GET https://api.exchange.coinbase.com/currencies` (no key; "Get all known currencies",
 * docs.cdp.coinbase.com/api-reference/exchange-api/rest-api/currencies/get-all-known-currencies,
 * server `https://api.exchange.coinbase.com/`; schema `apiCurrency`/`apiNetwork` in
 * coinbase-samples/exchange-sdk-ts apiSpec/exchange-spec.json@d8b848a). Per currency
 * `supported_networks[]` with `id`, `name`, `status`, `contract_address`, `min_withdrawal_amount`.
 *
 * The list lives on the Exchange host, not on Advanced Trade's `https://api.coinbase.com` (the
 * venue's restUrl): with the production restUrl the Exchange host is asked; an overridden restUrl
 * (`COINBASE_REST_URL`, the sim) is asked itself, so one override points both at the same place.
 *
 * What Coinbase does not say stays undefined: one `status` per network covers both directions
 * (online: deposits and withdrawals open; any other value: both closed), and no withdrawal fee is
 * published (Coinbase charges the network fee of the moment).
 */
import { canonicalNetwork, normaliseContract } from '../../transfers/networks.ts'
import type { TransferFact } from '../../transfers/types.ts'
import type { AssetAliases } from '../../symbols.ts'
import { getJson, ParseError, type VenueTransfers } from '../venue.ts'

/** The Exchange API host that serves `/currencies`. */
export const COINBASE_EXCHANGE_REST = 'https://api.exchange.coinbase.com'
/** Advanced Trade's host (the venue's production restUrl), which has no `/currencies`. */
const ADVANCED_TRADE_HOST = 'api.coinbase.com'

const SOURCE = 'GET /currencies'

/** Coinbase network ids the shared vocabulary does not know (ccxt coinbaseexchange `networks`). */
const NETWORKS: Readonly<Record<string, string>> = { AVACCHAIN: 'AVAXC' }

interface Network {
  id?: unknown
  name?: unknown
  status?: unknown
  contract_address?: unknown
  min_withdrawal_amount?: unknown
}

interface Currency {
  id?: unknown
  status?: unknown
  details?: { type?: unknown } | null
  supported_networks?: unknown
}

/** Where the currency list is asked for, given the venue's restUrl. */
export function currenciesUrl(restUrl: string): string {
  let host = ''
  try {
    host = new URL(restUrl).host
  } catch {
    // not a URL: used as given
  }
  const base = host === ADVANCED_TRADE_HOST ? COINBASE_EXCHANGE_REST : restUrl.replace(/\/+$/, '')
  return `${base}/currencies`
}

const amount = (x: unknown): number | undefined =>
  typeof x === 'number' && Number.isFinite(x) && x >= 0 ? x : undefined

/**
 * The facts of a `/currencies` body for `assets` (unified codes).
 * @throws ParseError when the body is not a list.
 */
export function parseCoinbaseCurrencies(
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
    if (c === null || typeof c !== 'object' || typeof c.id !== 'string') continue
    const code = c.id.toUpperCase()
    if (code in distinct) continue
    const asset = aliases[code] ?? code
    if (!wanted.has(asset) || c.details?.type === 'fiat') continue
    if (!Array.isArray(c.supported_networks)) continue
    for (const n of c.supported_networks as Network[]) {
      if (n === null || typeof n !== 'object' || typeof n.id !== 'string' || n.id === '') continue
      const canonical = canonicalNetwork(n.id)
      const network = NETWORKS[canonical] ?? canonical
      const open = typeof n.status === 'string' ? n.status === 'online' : undefined
      out.push({
        venue: 'coinbase',
        asset,
        network,
        venueNetwork: n.id,
        depositEnabled: open,
        withdrawEnabled: open,
        withdrawFee: undefined,
        withdrawMin: amount(n.min_withdrawal_amount),
        contract: normaliseContract(network, n.contract_address),
        fetchedAtMs: nowMs,
        source: SOURCE,
      })
    }
  }
  return out
}

/**
 * Coinbase's transfer facts. One public request for every currency; 10 minutes apart (the
 * Exchange API allows 10 public requests a second per IP: docs.cdp.coinbase.com/exchange/
 * rest-api/rate-limits, as the venue's `limits.rest` cites), as network status changes rarely.
 */
export function coinbaseTransfers(
  aliases: AssetAliases = {},
  distinct: Readonly<Record<string, string>> = {},
): VenueTransfers {
  return {
    needsKey: false,
    refreshMs: 10 * 60_000,
    async fetch(restUrl, opts) {
      const body = await getJson('coinbase', currenciesUrl(restUrl), opts)
      return parseCoinbaseCurrencies(body, opts.assets, opts.nowMs, aliases, distinct)
    },
  }
}
