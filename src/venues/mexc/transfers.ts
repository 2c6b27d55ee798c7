/**
 * @module
 * MEXC deposit and withdrawal facts: `GET /api/v3/capital/config/getall` (MEXC spot v3 docs,
 * mexcdevelop.github.io/apidocs/spot_v3_en "Wallet Endpoints / Query the currency information":
 * permission SPOT_WITHDRAW_READ, weight(IP) 10), signed as the docs' "SIGNED" section says: the
 * hex HMAC-SHA256 of the query string with the secret key as `signature`, the key in
 * `X-MEXC-APIKEY`. Per coin a `networkList[]` of `network` (the older name) and `netWork` (the new
 * one), `depositEnable`, `withdrawEnable`, `withdrawFee`, `withdrawMin`, `contract`. A bad
 * signature is `{"code":700002,"msg":"Signature for this request is not valid."}`, an unknown key
 * code 10072 (ccxt's mexc error map).
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

export const MEXC_TRANSFERS_PATH = '/api/v3/capital/config/getall'
const SOURCE = `GET ${MEXC_TRANSFERS_PATH}`
/** The request's validity window, ms (the docs' default, 5,000; at most 60,000). */
const RECV_WINDOW = 5000

/** MEXC's `signature`: hex HMAC-SHA256 of the query string (`totalParams`) with the secret. */
export function mexcSignature(secret: string, query: string): string {
  return createHmac('sha256', secret).update(query).digest('hex')
}

/** MEXC `netWork` names networks.ts does not know. */
const MEXC_NETWORKS: Readonly<Record<string, string>> = { APTOS: 'APT' }

/** The facts in a `capital/config/getall` body, for the unified `assets` only. */
export function parseMexcTransfers(body: unknown, opts: ParseTransfersOptions): TransferFact[] {
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
      // `netWork` is the name the withdraw endpoint takes; `network` the older display name.
      const name =
        typeof n?.netWork === 'string' && n.netWork !== ''
          ? n.netWork
          : typeof n?.network === 'string' && n.network !== ''
            ? n.network
            : undefined
      if (name === undefined) continue
      const network = MEXC_NETWORKS[name.toUpperCase()] ?? canonicalNetwork(name)
      out.push({
        venue: 'mexc',
        asset,
        network,
        venueNetwork: name,
        depositEnabled: flagOf(n.depositEnable),
        withdrawEnabled: flagOf(n.withdrawEnable),
        withdrawFee: amountOf(n.withdrawFee),
        withdrawMin: amountOf(n.withdrawMin),
        contract: normaliseContract(network, n.contract),
        fetchedAtMs: opts.nowMs,
        source: SOURCE,
      })
    }
  }
  return out
}

/** The signed URL and headers of one request (exported for the tests). */
export function mexcTransfersRequest(
  restUrl: string,
  credentials: Credentials,
  nowMs: number,
): { url: string; headers: Record<string, string> } {
  const query = `timestamp=${nowMs}&recvWindow=${RECV_WINDOW}`
  const signature = mexcSignature(credentials.secret, query)
  return {
    url: `${restUrl}${MEXC_TRANSFERS_PATH}?${query}&signature=${signature}`,
    headers: { accept: 'application/json', 'X-MEXC-APIKEY': credentials.key },
  }
}

export const mexcTransfers: VenueTransfers = signedTransfers({
  venue: 'mexc',
  name: 'MEXC',
  source: SOURCE,
  // Weight 10 (docs) of the 500 per 10 s per IP the adapter budgets (index.ts limits): once a
  // minute is a sixtieth of a percent of it.
  refreshMs: 60_000,
  request: mexcTransfersRequest,
  parse: parseMexcTransfers,
  codes: async () => (await import('./index.ts')).mexc,
})
