/**
 * @module
 * Bitfinex's deposit and withdrawal facts from its public configs (docs.bitfinex.com
 * rest-public-conf "Fetch site configuration data"), asked for in one multi-request,
 * `GET /v2/conf/pub:info:tx:status,pub:map:tx:method,pub:map:currency:tx:fee,pub:map:currency:pool`
 * ("Multi-request: key1,key2"), which answers one array per key, in order:
 * - `pub:info:tx:status`: `[[METHOD, DEP_STATUS, WD_STATUS, …], …]`, "wallet status … for
 *   deposits and withdrawals (1 = active, 0 = maintenance)", per method (`BITCOIN`, `TETHERUSE`);
 * - `pub:map:tx:method`: `[[METHOD, [CURRENCY, …]], …]` (the docs say "currencies to their
 *   method(s)"; the body is keyed by method, as ccxt bitfinex.js `fetchCurrencies` and
 *   other clients read it: `["BITCOIN", ["BTC"]]`);
 * - `pub:map:currency:tx:fee`: `[[CURRENCY, [_, FEE]], …]`, "current withdrawal fee amount" per
 *   currency (ccxt reads index 1);
 * - `pub:map:currency:pool`: `[[CURRENCY, NETWORK], …]`, "the underlying network/protocol they
 *   operate on (e.g. BAT -> ETH)".
 * Currency codes are Bitfinex's (`UST` is USDT, `UDC` is USDC: the venue's `assetAliases`).
 *
 * The network of a method: Tether's are named per chain (`TETHERUSE` Ethereum, `TETHERUSX`
 * Tron, `TETHERUSDTSOL` …, as ccxt's table has them); a currency's only method is on its
 * `pool` network when one is given; a method named after its chain in the shared vocabulary
 * (`BITCOIN`, `ETHEREUM`) is that chain; else a method that starts with the currency's code names the chain after it
 * (`UDCSOLANA`); else the method name itself, upper-cased.
 *
 * What stays undefined: `withdrawMin` and `contract` (not published); `withdrawFee` for a
 * currency with more than one method (the fee is per currency, not per network, so which
 * network it prices is not said).
 */
import { canonicalNetwork } from '../../transfers/networks.ts'
import type { TransferFact } from '../../transfers/types.ts'
import { normalizeAsset } from '../../symbols.ts'
import { getJson, ParseError, type VenueTransfers } from '../venue.ts'

const KEYS = [
  'pub:info:tx:status',
  'pub:map:tx:method',
  'pub:map:currency:tx:fee',
  'pub:map:currency:pool',
] as const
const PATH = `/v2/conf/${KEYS.join(',')}`
const SOURCE = `GET ${PATH}`

/** Tether's methods, one per chain (ccxt bitfinex.js `options.networks`). */
const TETHER: Readonly<Record<string, string>> = {
  TETHERUSE: 'ETH',
  TETHERUSX: 'TRX',
  TETHERUSO: 'OMNI',
  TETHERUSL: 'LIQUID',
  TETHERUSS: 'EOS',
  TETHERUSDTAVAX: 'AVAXC',
  TETHERUSDTSOL: 'SOL',
  TETHERUSDTALG: 'ALGO',
  TETHERUSDTBCH: 'BCH',
  TETHERUSDTKSM: 'KSM',
  TETHERUSDTDVF: 'DVF',
  TETHERUSDTOMG: 'OMG',
}

/** `[KEY, VALUE]` rows as a map (rows of another shape are skipped). */
function rowsOf(list: unknown): Map<string, unknown> {
  const out = new Map<string, unknown>()
  if (!Array.isArray(list)) return out
  for (const row of list) {
    if (Array.isArray(row) && typeof row[0] === 'string') out.set(row[0], row[1])
  }
  return out
}

/** 1 → true, 0 → false, anything else undefined. */
const active = (v: unknown): boolean | undefined => (v === 1 ? true : v === 0 ? false : undefined)

/** The shared network id of `method`, one of `methods` of the venue currency `code`. */
function networkOf(method: string, code: string, methods: number, pool: unknown): string {
  const m = method.toUpperCase()
  const tether = TETHER[m]
  if (tether !== undefined) return tether
  if (methods === 1 && typeof pool === 'string' && pool !== '') return canonicalNetwork(pool)
  const whole = canonicalNetwork(m)
  if (whole !== m) return whole
  if (m.startsWith(code) && m.length > code.length) return canonicalNetwork(m.slice(code.length))
  return whole
}

/**
 * Facts from one multi-request body (the four configs in `KEYS` order), for the unified `assets`.
 * @throws ParseError when the body is not four config arrays
 */
export function parseBitfinexConfigs(
  body: unknown,
  assets: readonly string[],
  nowMs: number,
  aliases: Readonly<Record<string, string>> = {},
  distinct: Readonly<Record<string, string>> = {},
): TransferFact[] {
  if (!Array.isArray(body) || body.length < 3 || !body.slice(0, 3).every(Array.isArray)) {
    throw new ParseError('bad-message', 'Bitfinex configs: not the requested config arrays')
  }
  const [statusList, methodList, feeList, poolList] = body as unknown[]
  const statuses = new Map<string, unknown[]>()
  for (const row of statusList as unknown[]) {
    if (Array.isArray(row) && typeof row[0] === 'string') statuses.set(row[0], row)
  }
  const fees = rowsOf(feeList)
  const pools = rowsOf(poolList)
  // Method → currencies, inverted: currency → its methods, in the venue's order.
  const methodsOf = new Map<string, string[]>()
  for (const [method, currencies] of rowsOf(methodList)) {
    if (!Array.isArray(currencies)) continue
    for (const c of currencies) {
      if (typeof c !== 'string') continue
      const list = methodsOf.get(c) ?? []
      list.push(method)
      methodsOf.set(c, list)
    }
  }
  const wanted = new Set(assets)
  const out: TransferFact[] = []
  for (const [code, methods] of methodsOf) {
    const upper = code.toUpperCase()
    if (upper in distinct) continue
    const asset = normalizeAsset(upper, aliases)
    if (!wanted.has(asset)) continue
    const feeRow = fees.get(code)
    const fee = Array.isArray(feeRow) ? feeRow[1] : undefined
    for (const method of methods) {
      const status = statuses.get(method)
      out.push({
        venue: 'bitfinex',
        asset,
        network: networkOf(method, upper, methods.length, pools.get(code)),
        venueNetwork: method,
        depositEnabled: active(status?.[1]),
        withdrawEnabled: active(status?.[2]),
        withdrawFee:
          methods.length === 1 && typeof fee === 'number' && Number.isFinite(fee) && fee >= 0
            ? fee
            : undefined,
        withdrawMin: undefined,
        contract: undefined,
        fetchedAtMs: nowMs,
        source: SOURCE,
      })
    }
  }
  return out
}

/**
 * Bitfinex's transfer facts: the four configs in one request.
 *
 * `refreshMs` 10 minutes: public REST is "between 10 and 90 requests per minute" per endpoint
 * (docs rest-general; `/v2/conf` 90 a minute in ccxt's table), and this venue's REST budget here
 * is 10 a minute for all endpoints: one multi-request every 10 minutes leaves it to the markets.
 */
export const bitfinexTransfers: VenueTransfers = {
  needsKey: false,
  refreshMs: 10 * 60_000,
  async fetch(restUrl, opts) {
    const { bitfinex } = await import('./index.ts')
    const body = await getJson('bitfinex', `${restUrl}${PATH}`, opts)
    return parseBitfinexConfigs(
      body,
      opts.assets,
      opts.nowMs,
      bitfinex.assetAliases,
      bitfinex.distinctAssets,
    )
  },
}
