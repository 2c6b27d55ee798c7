/**
 * @module
 * KuCoin deposit and withdrawal facts from `GET /api/v3/currencies` (public, no key; "Get All
 * Currencies", kucoin.com/docs-new/rest/spot-trading/market-data/get-all-currencies, public
 * weight 3 as for `/api/v3/currencies/{currency}`: kucoin.com/docs/rest/spot-trading/
 * market-data/get-currency-detail). Body `{code: "200000", data: [currency]}`, each currency with
 * `chains[]`: `chainName`, `chainId`, `isDepositEnabled`, `isWithdrawEnabled`, `withdrawalMinFee`,
 * `withdrawalMinSize`, `contractAddress` (strings for the amounts, "" for no contract).
 * `withdrawFeeRate` (a percentage some chains add) is not a fixed fee and is not reported.
 */
import { canonicalNetwork, normaliseContract } from '../../transfers/networks.ts'
import type { TransferFact } from '../../transfers/types.ts'
import type { AssetAliases } from '../../symbols.ts'
import { ExchangeError, getJson, isDecimalText, ParseError, type VenueTransfers } from '../venue.ts'

const PATH = '/api/v3/currencies'
const SOURCE = `GET ${PATH}`

interface Chain {
  chainName?: unknown
  chainId?: unknown
  isDepositEnabled?: unknown
  isWithdrawEnabled?: unknown
  withdrawalMinFee?: unknown
  withdrawalMinSize?: unknown
  contractAddress?: unknown
}

interface Currency {
  currency?: unknown
  chains?: unknown
}

const flag = (x: unknown): boolean | undefined => (typeof x === 'boolean' ? x : undefined)
const amount = (x: unknown): number | undefined =>
  typeof x === 'string' && isDecimalText(x) ? +x : undefined

/**
 * The facts of a `/api/v3/currencies` body for `assets` (unified codes).
 * @throws ExchangeError when `code` is not 200000, ParseError when `data` is not a list.
 */
export function parseKucoinCurrencies(
  body: unknown,
  assets: readonly string[],
  nowMs: number,
  aliases: AssetAliases = {},
  distinct: Readonly<Record<string, string>> = {},
): TransferFact[] {
  const b = body as { code?: unknown; msg?: unknown; data?: unknown } | null
  if (b === null || typeof b !== 'object' || b.code !== '200000') {
    throw new ExchangeError(
      'kucoin',
      `${SOURCE} answered code ${String(b?.code)} ${String(b?.msg ?? '')}`,
    )
  }
  if (!Array.isArray(b.data)) throw new ParseError('bad-message', 'currencies data is not a list')
  const wanted = new Set(assets.map((a) => a.toUpperCase()))
  const out: TransferFact[] = []
  for (const c of b.data as Currency[]) {
    if (c === null || typeof c !== 'object' || typeof c.currency !== 'string') continue
    const code = c.currency.toUpperCase()
    if (code in distinct) continue
    const asset = aliases[code] ?? code
    if (!wanted.has(asset) || !Array.isArray(c.chains)) continue
    for (const ch of c.chains as Chain[]) {
      if (ch === null || typeof ch !== 'object') continue
      // chainName is the spelling the vocabulary knows (ERC20, TRC20, BTC-Segwit); chainId
      // (eth, trx, bech32) is the fallback.
      const name =
        typeof ch.chainName === 'string' && ch.chainName !== '' ? ch.chainName : ch.chainId
      if (typeof name !== 'string' || name === '') continue
      const network = canonicalNetwork(name)
      out.push({
        venue: 'kucoin',
        asset,
        network,
        venueNetwork: name,
        depositEnabled: flag(ch.isDepositEnabled),
        withdrawEnabled: flag(ch.isWithdrawEnabled),
        withdrawFee: amount(ch.withdrawalMinFee),
        withdrawMin: amount(ch.withdrawalMinSize),
        contract: normaliseContract(network, ch.contractAddress),
        fetchedAtMs: nowMs,
        source: SOURCE,
      })
    }
  }
  return out
}

/**
 * KuCoin's transfer facts: one request (weight 3 of the Public pool's 2000 per 30 s, see
 * `kucoinCost`) for every currency, every 10 minutes.
 */
export function kucoinTransfers(
  aliases: AssetAliases = {},
  distinct: Readonly<Record<string, string>> = {},
): VenueTransfers {
  return {
    needsKey: false,
    refreshMs: 10 * 60_000,
    async fetch(restUrl, opts) {
      const body = await getJson('kucoin', `${restUrl}${PATH}`, opts)
      return parseKucoinCurrencies(body, opts.assets, opts.nowMs, aliases, distinct)
    },
  }
}
