/**
 * @module
 * Gate's deposit and withdrawal facts from its public `GET /api/v4/spot/currencies` ("Query all
 * currency information", no authentication; Gate API v4 docs as scraped in rosssaunders/coincise
 * docs/gateio, 2025-11, and gateio/gateapi-* `Currency` / `SpotCurrencyChain` models): one row
 * per currency with `chains[]`, each `{name, addr, withdraw_disabled, withdraw_delayed,
 * deposit_disabled}`. The currency's own top-level flags are deprecated ("use chains instead"):
 * they stand in for a chain only when the currency lists exactly one network, or no `chains` but
 * a `chain`.
 *
 * What stays undefined: Gate's withdrawal fees and minimums are only in the signed
 * `GET /api/v4/wallet/withdraw_status` ("must be authenticated by API key and secret"), so
 * `withdrawFee` and `withdrawMin` are never given here. `withdraw_delayed` (withdrawals queued
 * for manual review) still counts as open: they go through, late.
 */
import { canonicalNetwork, normaliseContract } from '../../transfers/networks.ts'
import type { TransferFact } from '../../transfers/types.ts'
import { normalizeAsset } from '../../symbols.ts'
import { getJson, ParseError, type VenueTransfers } from '../venue.ts'

const PATH = '/api/v4/spot/currencies'
const SOURCE = `GET ${PATH}`

/** One `chains[]` entry (the fields used). */
interface GateChain {
  name?: unknown
  addr?: unknown
  withdraw_disabled?: unknown
  withdraw_delayed?: unknown
  deposit_disabled?: unknown
}

/** One currency row (the fields used). */
interface GateCurrency {
  currency?: unknown
  chain?: unknown
  withdraw_disabled?: unknown
  deposit_disabled?: unknown
  chains?: unknown
}

/** `false` for a `*_disabled: true`, `true` for `false`, undefined when absent or not a boolean. */
const openUnless = (disabled: unknown): boolean | undefined =>
  typeof disabled === 'boolean' ? !disabled : undefined

/**
 * Facts from one `/spot/currencies` body, for the unified `assets` only.
 * @throws ParseError when the body is not Gate's list of currencies
 */
export function parseGateCurrencies(
  body: unknown,
  assets: readonly string[],
  nowMs: number,
  aliases: Readonly<Record<string, string>> = {},
  distinct: Readonly<Record<string, string>> = {},
): TransferFact[] {
  if (!Array.isArray(body)) throw new ParseError('bad-message', 'Gate currencies: not a list')
  const wanted = new Set(assets)
  const out: TransferFact[] = []
  for (const row of body as (GateCurrency | null)[]) {
    if (row === null || typeof row !== 'object' || typeof row.currency !== 'string') continue
    const code = row.currency.toUpperCase()
    if (code in distinct) continue
    const asset = normalizeAsset(code, aliases)
    if (!wanted.has(asset)) continue
    const chains: GateChain[] = Array.isArray(row.chains)
      ? (row.chains as unknown[]).filter((c): c is GateChain => c !== null && typeof c === 'object')
      : typeof row.chain === 'string' && row.chain !== ''
        ? [{ name: row.chain }]
        : []
    // The deprecated currency-wide flags speak for a currency with one network only.
    const single = chains.length === 1
    for (const c of chains) {
      if (typeof c.name !== 'string' || c.name === '') continue
      const network = canonicalNetwork(c.name)
      out.push({
        venue: 'gate',
        asset,
        network,
        venueNetwork: c.name,
        depositEnabled:
          openUnless(c.deposit_disabled) ?? (single ? openUnless(row.deposit_disabled) : undefined),
        withdrawEnabled:
          openUnless(c.withdraw_disabled) ??
          (single ? openUnless(row.withdraw_disabled) : undefined),
        withdrawFee: undefined,
        withdrawMin: undefined,
        contract: normaliseContract(network, c.addr),
        fetchedAtMs: nowMs,
        source: SOURCE,
      })
    }
  }
  return out
}

/**
 * Gate's transfer facts: one public request for every currency.
 *
 * `refreshMs` 10 minutes: Gate's public REST allows 200 requests per 10 s per endpoint per IP
 * (docs "Frequency limit rule"), so the budget is never the bound; the body lists every currency
 * (thousands of rows), so asking more often than statuses change would only cost bandwidth.
 */
export const gateTransfers: VenueTransfers = {
  needsKey: false,
  refreshMs: 10 * 60_000,
  async fetch(restUrl, opts) {
    const { gate } = await import('./index.ts')
    const body = await getJson('gate', `${restUrl}${PATH}`, opts)
    return parseGateCurrencies(
      body,
      opts.assets,
      opts.nowMs,
      gate.assetAliases,
      gate.distinctAssets,
    )
  },
}
