/**
 * @module
 * Bitget's deposit and withdrawal facts from its public `GET /api/v2/spot/public/coins` ("Get
 * Currency Information", www.bitget.com/api-doc/spot/public/Get-Coin-List, "Frequency limit:
 * 3 times/1s (IP)", no authentication): `{code: "00000", data: [{coin, chains: [...]}]}`, each
 * chain with `chain`, `rechargeable` (deposit), `withdrawable`, `withdrawFee`, `extraWithdrawFee`,
 * `minWithdrawAmount`, `contractAddress`, `congestion`. The booleans are strings in the docs'
 * example (`"true"`) and Booleans in its table: both are read.
 *
 * What stays undefined: `withdrawFee` where `extraWithdrawFee` is given and not zero (the docs: "Extra
 * wallet charge", e.g. 0.1 = 10 % burnt on chain, so the fee is not a fixed amount); anything a
 * chain leaves out. `congestion: congested` slows withdrawals, it does not stop them: not used.
 */
import { canonicalNetwork, normaliseContract } from '../../transfers/networks.ts'
import type { TransferFact } from '../../transfers/types.ts'
import { normalizeAsset } from '../../symbols.ts'
import { ExchangeError, getJson, ParseError, type VenueTransfers } from '../venue.ts'
import { amountOf } from '../../transfers/fields.ts'

const PATH = '/api/v2/spot/public/coins'
const SOURCE = `GET ${PATH}`

/** One `chains[]` entry (the fields used). */
interface BitgetChain {
  chain?: unknown
  withdrawable?: unknown
  rechargeable?: unknown
  withdrawFee?: unknown
  extraWithdrawFee?: unknown
  minWithdrawAmount?: unknown
  contractAddress?: unknown
}

/** A Bitget boolean: `"true"`/`"false"` strings (as sent) or JSON booleans; else undefined. */
function flag(v: unknown): boolean | undefined {
  if (typeof v === 'boolean') return v
  if (v === 'true') return true
  if (v === 'false') return false
  return undefined
}

/**
 * Facts from one `/api/v2/spot/public/coins` body, for the unified `assets` only.
 * @throws ExchangeError when Bitget answers an error code, ParseError for another shape
 */
export function parseBitgetCoins(
  body: unknown,
  assets: readonly string[],
  nowMs: number,
  aliases: Readonly<Record<string, string>> = {},
  distinct: Readonly<Record<string, string>> = {},
): TransferFact[] {
  const b = body as { code?: unknown; msg?: unknown; data?: unknown } | null
  if (b === null || typeof b !== 'object') {
    throw new ParseError('bad-message', 'Bitget coins: not an object')
  }
  if (b.code !== '00000') {
    throw new ExchangeError('bitget', `${SOURCE} answered code ${String(b.code)}: ${String(b.msg)}`)
  }
  if (!Array.isArray(b.data)) throw new ParseError('bad-message', 'Bitget coins: data not a list')
  const wanted = new Set(assets)
  const out: TransferFact[] = []
  for (const row of b.data as ({ coin?: unknown; chains?: unknown } | null)[]) {
    if (row === null || typeof row !== 'object' || typeof row.coin !== 'string') continue
    const code = row.coin.toUpperCase()
    if (code in distinct) continue
    const asset = normalizeAsset(code, aliases)
    if (!wanted.has(asset) || !Array.isArray(row.chains)) continue
    for (const c of row.chains as (BitgetChain | null)[]) {
      if (c === null || typeof c !== 'object' || typeof c.chain !== 'string' || c.chain === '') {
        continue
      }
      const network = canonicalNetwork(c.chain)
      const extra = amountOf(c.extraWithdrawFee)
      out.push({
        venue: 'bitget',
        asset,
        network,
        venueNetwork: c.chain,
        depositEnabled: flag(c.rechargeable),
        withdrawEnabled: flag(c.withdrawable),
        withdrawFee: extra === undefined || extra === 0 ? amountOf(c.withdrawFee) : undefined,
        withdrawMin: amountOf(c.minWithdrawAmount),
        contract: normaliseContract(network, c.contractAddress),
        fetchedAtMs: nowMs,
        source: SOURCE,
      })
    }
  }
  return out
}

/**
 * Bitget's transfer facts: one public request for every coin.
 *
 * `refreshMs` 10 minutes: the endpoint allows 3 requests a second per IP (docs above) and the
 * venue's whole REST budget here is 20 a second; one request every 10 minutes is nothing beside
 * either, and deposit/withdrawal switches change on the scale of maintenance windows.
 */
export const bitgetTransfers: VenueTransfers = {
  needsKey: false,
  refreshMs: 10 * 60_000,
  async fetch(restUrl, opts) {
    const { bitget } = await import('./index.ts')
    const body = await getJson('bitget', `${restUrl}${PATH}`, opts)
    return parseBitgetCoins(
      body,
      opts.assets,
      opts.nowMs,
      bitget.assetAliases,
      bitget.distinctAssets,
    )
  },
}
