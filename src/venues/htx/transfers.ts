/**
 * @module
 * HTX's deposit and withdrawal facts from its public `GET /v2/reference/currencies` ("APIv2
 * Currency & Chains", HTX-DOCS huobiapi.github.io/docs/spot/v1/en, "Public Endpoint"):
 * `{code: 200, data: [{currency, chains: [...], instStatus}]}`, each chain with `chain` (HTX's
 * unique id: `trc20usdt`, `usdterc20`, `btc`), `baseChain` / `baseChainProtocol` (`ETH` /
 * `ERC20`), `depositStatus` / `withdrawStatus` `allowed|prohibited`, `withdrawFeeType`
 * `fixed|circulated|ratio`, `transactFeeWithdraw` (fixed only), `minWithdrawAmt`; `instStatus`
 * `normal|delisted`.
 *
 * The network: `baseChain` where given (the protocol only for Omni, which rides on BTC but is
 * not BTC), else the chain id with the currency stripped (`trc20usdt` → `trc20`, `usdterc20` →
 * `erc20`, `btc` → `btc`), through `canonicalNetwork`.
 *
 * What stays undefined: `contract` (HTX publishes no contract address in this endpoint);
 * `withdrawFee` unless `withdrawFeeType` is `fixed` (a `circulated` or `ratio` fee depends on
 * the amount). A delisted currency takes no deposits whatever its chains say.
 */
import { canonicalNetwork } from '../../transfers/networks.ts'
import type { TransferFact } from '../../transfers/types.ts'
import { normalizeAsset } from '../../symbols.ts'
import { ExchangeError, getJson, ParseError, type VenueTransfers } from '../venue.ts'
import { amountOf } from '../../transfers/fields.ts'

const PATH = '/v2/reference/currencies'
const SOURCE = `GET ${PATH}`

/** One `chains[]` entry (the fields used). */
interface HtxChain {
  chain?: unknown
  baseChain?: unknown
  baseChainProtocol?: unknown
  depositStatus?: unknown
  withdrawStatus?: unknown
  withdrawFeeType?: unknown
  transactFeeWithdraw?: unknown
  minWithdrawAmt?: unknown
}

/** `allowed` → true, `prohibited` → false, anything else undefined. */
function status(v: unknown): boolean | undefined {
  if (v === 'allowed') return true
  if (v === 'prohibited') return false
  return undefined
}

/**
 * The shared network id of one HTX chain of `currency` (lower-case, as HTX writes it).
 * @example
 * ```ts
 * htxNetwork('usdt', { chain: 'trc20usdt' }) // 'TRX'
 * htxNetwork('usdt', { chain: 'usdterc20', baseChain: 'ETH' }) // 'ETH'
 * ```
 */
export function htxNetwork(currency: string, c: HtxChain): string {
  if (typeof c.baseChainProtocol === 'string' && c.baseChainProtocol.toUpperCase() === 'OMNI') {
    return 'OMNI'
  }
  if (typeof c.baseChain === 'string' && c.baseChain !== '') return canonicalNetwork(c.baseChain)
  const id = String(c.chain).toLowerCase()
  const cur = currency.toLowerCase()
  if (id !== cur && id.length > cur.length) {
    if (id.endsWith(cur)) return canonicalNetwork(id.slice(0, -cur.length))
    if (id.startsWith(cur)) return canonicalNetwork(id.slice(cur.length))
  }
  return canonicalNetwork(id)
}

/**
 * Facts from one `/v2/reference/currencies` body, for the unified `assets` only.
 * @throws ExchangeError when HTX answers an error code, ParseError for another shape
 */
export function parseHtxCurrencies(
  body: unknown,
  assets: readonly string[],
  nowMs: number,
  aliases: Readonly<Record<string, string>> = {},
  distinct: Readonly<Record<string, string>> = {},
): TransferFact[] {
  const b = body as { code?: unknown; message?: unknown; data?: unknown } | null
  if (b === null || typeof b !== 'object') {
    throw new ParseError('bad-message', 'HTX currencies: not an object')
  }
  if (b.code !== 200) {
    throw new ExchangeError(
      'htx',
      `${SOURCE} answered code ${String(b.code)}: ${String(b.message)}`,
    )
  }
  if (!Array.isArray(b.data)) throw new ParseError('bad-message', 'HTX currencies: data not a list')
  const wanted = new Set(assets)
  const out: TransferFact[] = []
  for (const row of b.data as ({
    currency?: unknown
    chains?: unknown
    instStatus?: unknown
  } | null)[]) {
    if (row === null || typeof row !== 'object' || typeof row.currency !== 'string') continue
    const code = row.currency.toUpperCase()
    if (code in distinct) continue
    const asset = normalizeAsset(code, aliases)
    if (!wanted.has(asset) || !Array.isArray(row.chains)) continue
    const delisted = row.instStatus === 'delisted'
    for (const c of row.chains as (HtxChain | null)[]) {
      if (c === null || typeof c !== 'object' || typeof c.chain !== 'string' || c.chain === '') {
        continue
      }
      out.push({
        venue: 'htx',
        asset,
        network: htxNetwork(row.currency, c),
        venueNetwork: c.chain,
        depositEnabled: delisted ? false : status(c.depositStatus),
        withdrawEnabled: status(c.withdrawStatus),
        withdrawFee: c.withdrawFeeType === 'fixed' ? amountOf(c.transactFeeWithdraw) : undefined,
        withdrawMin: amountOf(c.minWithdrawAmt),
        contract: undefined,
        fetchedAtMs: nowMs,
        source: SOURCE,
      })
    }
  }
  return out
}

/**
 * HTX's transfer facts: one public request for every currency.
 *
 * `refreshMs` 10 minutes: HTX publishes no limit for reference data; its general public figure
 * is 120 requests per 3 s per IP, and this venue's own REST budget here is 100 per 10 s. One
 * request every 10 minutes is far inside both.
 */
export const htxTransfers: VenueTransfers = {
  needsKey: false,
  refreshMs: 10 * 60_000,
  async fetch(restUrl, opts) {
    const { htx } = await import('./index.ts')
    const body = await getJson('htx', `${restUrl}${PATH}`, opts)
    return parseHtxCurrencies(body, opts.assets, opts.nowMs, htx.assetAliases, htx.distinctAssets)
  },
}
