/**
 * @module
 * Bybit deposit and withdrawal facts: `GET /v5/asset/coin/query-info` (bybit-exchange/docs
 * docs/v5/asset/coin-info.mdx, commit 072c197d: `result.rows[]` of `coin` and `chains[]` with
 * `chain`, `chainDeposit`/`chainWithdraw` "1" normal, "0" suspended, `withdrawFee` (empty: the
 * coin cannot be withdrawn), `withdrawMin`, `contractAddress` ("" none); 5 requests a second,
 * docs/v5/rate-limit/rate-limit.mdx), signed as docs/v5/guide.mdx says: `X-BAPI-SIGN` is the
 * lower-case hex HMAC-SHA256 of `timestamp + API key + recv_window + queryString`, beside
 * `X-BAPI-API-KEY`, `X-BAPI-TIMESTAMP` (ms) and `X-BAPI-RECV-WINDOW`. Failures are `retCode`s
 * (10003 invalid key, 10004 sign error, 10002 outside the window; docs/v5/error.mdx), and HTTP 401
 * for a request without its key (error.mdx "HTTP Code").
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
import { amountOf } from '../../transfers/fields.ts'

export const BYBIT_TRANSFERS_PATH = '/v5/asset/coin/query-info'
const SOURCE = `GET ${BYBIT_TRANSFERS_PATH}`
/** The request's validity window, ms (the docs' default, 5,000). */
const RECV_WINDOW = '5000'

/** Bybit's string to sign for a GET: `timestamp + apiKey + recvWindow + queryString`. */
export function bybitPrehash(
  timestamp: string,
  apiKey: string,
  recvWindow: string,
  query: string,
): string {
  return timestamp + apiKey + recvWindow + query
}

/** Bybit's `X-BAPI-SIGN` (HMAC): lower-case hex HMAC-SHA256 of the prehash with the secret. */
export function bybitSignature(secret: string, prehash: string): string {
  return createHmac('sha256', secret).update(prehash).digest('hex')
}

/** Bybit chain names networks.ts does not know. */
const BYBIT_NETWORKS: Readonly<Record<string, string>> = { CAVAX: 'AVAXC' }

/** Bybit's "1" (normal) and "0" (suspended); anything else is not said. */
const flag = (v: unknown): boolean | undefined => (v === '1' ? true : v === '0' ? false : undefined)

/** The facts in a `GET /v5/asset/coin/query-info` body, for the unified `assets` only. */
export function parseBybitTransfers(body: unknown, opts: ParseTransfersOptions): TransferFact[] {
  const rows = (body as { result?: { rows?: unknown } } | null)?.result?.rows
  if (!Array.isArray(rows)) throw new ParseError('bad-message', 'coin/query-info has no rows')
  const wanted = new Set(opts.assets.map((a) => a.toUpperCase()))
  const out: TransferFact[] = []
  for (const row of rows as { coin?: unknown; chains?: unknown }[]) {
    if (typeof row?.coin !== 'string' || !Array.isArray(row.chains)) continue
    if (opts.distinct?.[row.coin.toUpperCase()] !== undefined) continue
    const asset = normalizeAsset(row.coin, opts.aliases)
    if (!wanted.has(asset)) continue
    for (const c of row.chains as Record<string, unknown>[]) {
      if (typeof c?.chain !== 'string' || c.chain === '') continue
      const network = BYBIT_NETWORKS[c.chain.toUpperCase()] ?? canonicalNetwork(c.chain)
      out.push({
        venue: 'bybit',
        asset,
        network,
        venueNetwork: c.chain,
        depositEnabled: flag(c.chainDeposit),
        withdrawEnabled: flag(c.chainWithdraw),
        withdrawFee: amountOf(c.withdrawFee),
        withdrawMin: amountOf(c.withdrawMin),
        contract: normaliseContract(network, c.contractAddress),
        fetchedAtMs: opts.nowMs,
        source: SOURCE,
      })
    }
  }
  return out
}

/** The signed URL and headers of one request (exported for the tests). */
export function bybitTransfersRequest(
  restUrl: string,
  credentials: Credentials,
  nowMs: number,
): { url: string; headers: Record<string, string> } {
  const timestamp = String(nowMs)
  const prehash = bybitPrehash(timestamp, credentials.key, RECV_WINDOW, '')
  return {
    url: `${restUrl}${BYBIT_TRANSFERS_PATH}`,
    headers: {
      accept: 'application/json',
      'X-BAPI-API-KEY': credentials.key,
      'X-BAPI-TIMESTAMP': timestamp,
      'X-BAPI-RECV-WINDOW': RECV_WINDOW,
      'X-BAPI-SIGN': bybitSignature(credentials.secret, prehash),
    },
  }
}

/**
 * A `retMsg` fit for a log: Bybit's sign error echoes the signed string, API key included
 * (`error sign! origin_string[<timestamp><key>...]`, sieblyio/bybit-api issue #448), so it is cut
 * before that.
 */
function shown(retMsg: unknown): string {
  return String(retMsg ?? '')
    .split(/origin_string|\[/)[0]!
    .trim()
    .slice(0, 80)
}

export const bybitTransfers: VenueTransfers = signedTransfers({
  venue: 'bybit',
  name: 'Bybit',
  source: SOURCE,
  // 5 requests a second per user ID (rate-limit.mdx, /v5/asset/coin/query-info) and one of the
  // IP's 600 per 5 s: once a minute is far inside both.
  refreshMs: 60_000,
  request: bybitTransfersRequest,
  // Bybit's `{retCode, retMsg}` says why, where it sends one.
  reason: (b) =>
    b.retCode === undefined ? undefined : `${String(b.retCode)} ${shown(b.retMsg)}`.trimEnd(),
  // Bybit refuses a signature or a key with HTTP 200 and a retCode.
  check(body) {
    const code = (body as { retCode?: unknown } | null)?.retCode
    if (code !== 0) {
      const msg = shown((body as { retMsg?: unknown }).retMsg)
      throw new ExchangeError(
        'bybit',
        `${SOURCE} answered retCode ${String(code)} ${msg}`.trimEnd(),
      )
    }
  },
  parse: parseBybitTransfers,
  codes: async () => (await import('./index.ts')).bybit,
})
