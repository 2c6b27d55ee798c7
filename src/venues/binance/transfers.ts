/**
 * @module
 * Binance deposit and withdrawal facts: `GET /sapi/v1/capital/config/getall` ("All Coins'
 * Information (USER_DATA)", developers.binance.com/docs/wallet/capital/all-coins-info: weight(IP)
 * 10, parameters `recvWindow`, `timestamp`), signed as binance/binance-spot-api-docs rest-api.md
 * "SIGNED (TRADE and USER_DATA) Endpoint security" says (commit a5e0bc3d): `signature` is the hex
 * HMAC-SHA256 of the query string with the secret key, the key goes in `X-MBX-APIKEY`. Per coin a
 * `networkList[]` of `network`, `depositEnable`, `withdrawEnable`, `withdrawFee`, `withdrawMin`,
 * `contractAddress` (the docs' response example). A rejected key is HTTP 401
 * `{"code":-2015,"msg":"Invalid API-key, IP, or permissions for action."}`, a bad signature HTTP 400
 * `{"code":-1022,...}` (errors.md).
 */
import { createHmac } from 'node:crypto'
import { normalizeAsset } from '../../symbols.ts'
import { canonicalNetwork, normaliseContract } from '../../transfers/networks.ts'
import type { Credentials, TransferFact } from '../../transfers/types.ts'
import {
  ParseError,
  signedTransfers,
  type ParseTransfersOptions,
  type VenueTransfers,
} from '../venue.ts'
import { amountOf, flagOf } from '../../transfers/fields.ts'

export const BINANCE_TRANSFERS_PATH = '/sapi/v1/capital/config/getall'
const SOURCE = `GET ${BINANCE_TRANSFERS_PATH}`
/** The request's validity window, ms (the docs' default, 5,000; at most 60,000). */
const RECV_WINDOW = 5000

/** Binance's `signature`: hex HMAC-SHA256 of the query string (`totalParams`) with the secret. */
export function binanceSignature(secret: string, query: string): string {
  return createHmac('sha256', secret).update(query).digest('hex')
}

/** The facts in a `capital/config/getall` body, for the unified `assets` only. */
export function parseBinanceTransfers(body: unknown, opts: ParseTransfersOptions): TransferFact[] {
  if (!Array.isArray(body))
    throw new ParseError('bad-message', 'capital/config/getall is not a list')
  const wanted = new Set(opts.assets.map((a) => a.toUpperCase()))
  const out: TransferFact[] = []
  for (const coin of body as { coin?: unknown; networkList?: unknown }[]) {
    if (typeof coin?.coin !== 'string' || !Array.isArray(coin.networkList)) continue
    if (opts.distinct?.[coin.coin.toUpperCase()] !== undefined) continue
    const asset = normalizeAsset(coin.coin, opts.aliases)
    if (!wanted.has(asset)) continue
    for (const n of coin.networkList as Record<string, unknown>[]) {
      if (typeof n?.network !== 'string' || n.network === '') continue
      const network = canonicalNetwork(n.network)
      out.push({
        venue: 'binance',
        asset,
        network,
        venueNetwork: n.network,
        depositEnabled: flagOf(n.depositEnable),
        withdrawEnabled: flagOf(n.withdrawEnable),
        withdrawFee: amountOf(n.withdrawFee),
        withdrawMin: amountOf(n.withdrawMin),
        contract: normaliseContract(network, n.contractAddress),
        fetchedAtMs: opts.nowMs,
        source: SOURCE,
      })
    }
  }
  return out
}

/** The signed URL and headers of one request (exported for the tests). */
export function binanceTransfersRequest(
  restUrl: string,
  credentials: Credentials,
  nowMs: number,
): { url: string; headers: Record<string, string> } {
  const query = `timestamp=${nowMs}&recvWindow=${RECV_WINDOW}`
  const signature = binanceSignature(credentials.secret, query)
  return {
    url: `${restUrl}${BINANCE_TRANSFERS_PATH}?${query}&signature=${signature}`,
    headers: { accept: 'application/json', 'X-MBX-APIKEY': credentials.key },
  }
}

export const binanceTransfers: VenueTransfers = signedTransfers({
  venue: 'binance',
  name: 'Binance',
  source: SOURCE,
  // Weight 10 of the 6,000 a minute per IP (rest-api.md "IP Limits"): once a minute is 0.2 % of it.
  refreshMs: 60_000,
  request: binanceTransfersRequest,
  parse: parseBinanceTransfers,
  codes: async () => (await import('./index.ts')).binance,
})
