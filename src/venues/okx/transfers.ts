/**
 * @module
 * OKX deposit and withdrawal facts: `GET /api/v5/asset/currencies` (OKX API v5 "Funding Account /
 * Get currencies": rate limit 6 requests per second per user ID, read permission), signed as the
 * docs' "REST Authentication" says: `OK-ACCESS-SIGN` is the base64 HMAC-SHA256 of
 * `timestamp + method + requestPath + body` with the secret key (the request path with its query,
 * no body on a GET), `OK-ACCESS-TIMESTAMP` the ISO 8601 time in ms (`2020-12-08T09:08:57.715Z`),
 * beside `OK-ACCESS-KEY` and `OK-ACCESS-PASSPHRASE`. Per row `ccy`, `chain` (`USDT-ERC20`: the
 * network after `<ccy>-`), `canDep`, `canWd`, `fee` (the older `minFee` where absent), `minWd`,
 * `ctAddr` (field names as OKX's SDK okx-api types them, FundingCurrency). Refusals are HTTP 401
 * with `{"msg":...,"code":...}`: 50111 invalid OK-ACCESS-KEY, 50113 invalid signature, 50105
 * passphrase incorrect, 50103/50104/50106/50107 a header missing (OKX's error-code table).
 */
import { createHmac } from 'node:crypto'
import { normalizeAsset } from '../../symbols.ts'
import { canonicalNetwork, normaliseContract } from '../../transfers/networks.ts'
import type { Credentials, TransferFact } from '../../transfers/types.ts'
import {
  ExchangeError,
  ParseError,
  signedTransfers,
  type ParseTransfersOptions,
  type VenueTransfers,
} from '../venue.ts'
import { amountOf, flagOf } from '../../transfers/fields.ts'

export const OKX_TRANSFERS_PATH = '/api/v5/asset/currencies'
const SOURCE = `GET ${OKX_TRANSFERS_PATH}`

/** OKX's prehash: `timestamp + METHOD + requestPath (+ query) + body`. */
export function okxPrehash(
  timestamp: string,
  method: string,
  requestPath: string,
  body = '',
): string {
  return timestamp + method.toUpperCase() + requestPath + body
}

/** OKX's `OK-ACCESS-SIGN`: base64 HMAC-SHA256 of the prehash with the secret key. */
export function okxSignature(secret: string, prehash: string): string {
  return createHmac('sha256', secret).update(prehash).digest('base64')
}

/** OKX chain names networks.ts does not know (after `canonicalNetwork`). */
const OKX_NETWORKS: Readonly<Record<string, string>> = { STELLARLUMENS: 'XLM' }

/** The facts in a `GET /api/v5/asset/currencies` body, for the unified `assets` only. */
export function parseOkxTransfers(body: unknown, opts: ParseTransfersOptions): TransferFact[] {
  const data = (body as { data?: unknown } | null)?.data
  if (!Array.isArray(data)) throw new ParseError('bad-message', 'asset/currencies has no data')
  const wanted = new Set(opts.assets.map((a) => a.toUpperCase()))
  const out: TransferFact[] = []
  for (const row of data as Record<string, unknown>[]) {
    if (typeof row?.ccy !== 'string' || typeof row.chain !== 'string') continue
    if (opts.distinct?.[row.ccy.toUpperCase()] !== undefined) continue
    const asset = normalizeAsset(row.ccy, opts.aliases)
    if (!wanted.has(asset)) continue
    const prefix = `${row.ccy}-`
    const name = row.chain.startsWith(prefix) ? row.chain.slice(prefix.length) : row.chain
    if (name === '') continue
    const canonical = canonicalNetwork(name)
    const network = OKX_NETWORKS[canonical] ?? canonical
    out.push({
      venue: 'okx',
      asset,
      network,
      venueNetwork: row.chain,
      depositEnabled: flagOf(row.canDep),
      withdrawEnabled: flagOf(row.canWd),
      withdrawFee: amountOf(row.fee) ?? amountOf(row.minFee),
      withdrawMin: amountOf(row.minWd),
      contract: normaliseContract(network, row.ctAddr),
      fetchedAtMs: opts.nowMs,
      source: SOURCE,
    })
  }
  return out
}

/** The signed URL and headers of one request (exported for the tests). */
export function okxTransfersRequest(
  restUrl: string,
  credentials: Credentials,
  nowMs: number,
): { url: string; headers: Record<string, string> } {
  const timestamp = new Date(nowMs).toISOString()
  return {
    url: `${restUrl}${OKX_TRANSFERS_PATH}`,
    headers: {
      accept: 'application/json',
      'OK-ACCESS-KEY': credentials.key,
      'OK-ACCESS-SIGN': okxSignature(
        credentials.secret,
        okxPrehash(timestamp, 'GET', OKX_TRANSFERS_PATH),
      ),
      'OK-ACCESS-TIMESTAMP': timestamp,
      'OK-ACCESS-PASSPHRASE': credentials.passphrase ?? '',
    },
  }
}

export const okxTransfers: VenueTransfers = signedTransfers({
  venue: 'okx',
  name: 'OKX',
  source: SOURCE,
  passphrase: true,
  // 6 requests a second per user ID (docs, "Get currencies"): once a minute is far inside it.
  refreshMs: 60_000,
  request: okxTransfersRequest,
  check(body) {
    const code = (body as { code?: unknown } | null)?.code
    if (code !== '0' && code !== 0) {
      const msg = String((body as { msg?: unknown }).msg ?? '')
      throw new ExchangeError('okx', `${SOURCE} answered code ${String(code)} ${msg}`.trimEnd())
    }
  },
  parse: parseOkxTransfers,
  codes: async () => (await import('./index.ts')).okx,
})
