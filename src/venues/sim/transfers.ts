/**
 * @module
 * A simulated venue's deposit and withdrawal state per asset and network, which each venue's sim
 * serves in its own endpoint's shape (and signs or checks signatures as the venue does). Tests
 * switch a withdrawal off mid-run, change a fee or a contract, or make the endpoint fail.
 */

/** One asset on one network, venue-side (`network` in the vocabulary of transfers/networks.ts). */
export interface SimNetwork {
  readonly network: string
  deposit: boolean
  withdraw: boolean
  /** Withdrawal fee and minimum, in units of the asset. */
  fee: number
  min: number
  /** Token contract (absent for a chain's native coin). */
  contract?: string
}

/** How the next transfer-endpoint requests are answered (one per request, then normal again). */
export type TransferFault =
  | { readonly kind: 'status'; readonly status: number; readonly retryAfterS?: number }
  | { readonly kind: 'invalid-json' }

/** Real contracts for the stablecoins, so their defaults look like the venues' own answers. */
const TOKENS: Readonly<Record<string, readonly [string, string][]>> = {
  USDT: [
    ['ETH', '0xdac17f958d2ee523a2206206994597c13d831ec7'],
    ['TRX', 'TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t'],
  ],
  USDC: [
    ['ETH', '0xa0b86991c6218b36c1d19d4a2e9eb0ce3606eb48'],
    ['SOL', 'EPjFWdd5AufqSSqeM2qNu1P6v1kwSqJWuhEWrvkK8pXd'],
  ],
}

/** Native coins of their own chain, and their fees (rounded real figures). */
const NATIVE: Readonly<Record<string, [string, number]>> = {
  BTC: ['BTC', 0.0002],
  ETH: ['ETH', 0.002],
  SOL: ['SOL', 0.01],
  XRP: ['XRP', 0.2],
  DOGE: ['DOGE', 4],
  LTC: ['LTC', 0.001],
  TRX: ['TRX', 1],
  ADA: ['ADA', 1],
  DOT: ['DOT', 0.1],
  ATOM: ['ATOM', 0.01],
  XLM: ['XLM', 0.02],
  AVAX: ['AVAXC', 0.01],
  NEAR: ['NEAR', 0.01],
  APT: ['APT', 0.01],
  SUI: ['SUI', 0.1],
}

/** Fiat codes: no network to move them over. */
const FIAT = new Set(['USD', 'EUR', 'GBP', 'JPY'])

/** A token's deterministic ERC-20 contract in the sims (the same on every venue). */
export function simContract(asset: string): string {
  let h = 2166136261
  let out = ''
  for (let round = 0; out.length < 40; round++) {
    for (const c of `${asset}#${round}`) h = Math.imul(h ^ c.charCodeAt(0), 16777619)
    out += (h >>> 0).toString(16).padStart(8, '0')
  }
  return `0x${out.slice(0, 40)}`
}

/** The networks an asset has on every simulated venue unless a test changes them. */
export function defaultNetworks(asset: string): SimNetwork[] {
  const a = asset.toUpperCase()
  if (FIAT.has(a)) return []
  const tokens = TOKENS[a]
  if (tokens !== undefined) {
    return tokens.map(([network, contract]) => ({
      network,
      deposit: true,
      withdraw: true,
      fee: network === 'ETH' ? 4 : 1,
      min: 10,
      contract,
    }))
  }
  const native = NATIVE[a]
  if (native !== undefined) {
    const [network, fee] = native
    return [{ network, deposit: true, withdraw: true, fee, min: fee * 5 }]
  }
  return [
    { network: 'ETH', deposit: true, withdraw: true, fee: 0, min: 0, contract: simContract(a) },
  ]
}

/** Every asset's networks on one simulated venue. */
export class SimTransfers {
  readonly #assets = new Map<string, SimNetwork[]>()
  /** Answers to serve before the normal ones. */
  readonly faults: TransferFault[] = []
  /** Requests the transfer endpoint answered (any outcome). */
  requests = 0

  /**
   * Counts one request to the transfer endpoint and answers its fault, if one is queued: a
   * `status` with the venue's own `errorBody` (JSON, or a string sent as text) and its
   * Retry-After, or `invalid-json` with `cut` (the start of the venue's body, cut off). Undefined:
   * answer normally.
   */
  answerFault(cut: string, errorBody: (status: number) => unknown): Response | undefined {
    this.requests++
    const fault = this.faults.shift()
    if (fault === undefined) return undefined
    if (fault.kind === 'invalid-json') {
      return new Response(cut, { headers: { 'content-type': 'application/json' } })
    }
    const headers: Record<string, string> = {}
    if (fault.retryAfterS !== undefined) headers['retry-after'] = String(fault.retryAfterS)
    const body = errorBody(fault.status)
    return typeof body === 'string'
      ? new Response(body, { status: fault.status, headers })
      : Response.json(body, { status: fault.status, headers })
  }

  /** Adds an asset with its default networks (no-op when present). */
  add(asset: string): void {
    const a = asset.toUpperCase()
    if (!this.#assets.has(a)) this.#assets.set(a, defaultNetworks(a))
  }

  /** Every asset and its networks, in the order added. */
  entries(): [string, SimNetwork[]][] {
    return [...this.#assets]
  }

  /** One asset's networks (empty for an unknown asset). */
  of(asset: string): SimNetwork[] {
    return this.#assets.get(asset.toUpperCase()) ?? []
  }

  /**
   * Changes one asset's network (every network when `network` is omitted).
   * @example
   * ```ts
   * sim.transfers.set('BTC', { withdraw: false }) // withdrawals of BTC suspended
   * ```
   */
  set(asset: string, patch: Partial<SimNetwork>, network?: string): void {
    const a = asset.toUpperCase()
    this.add(a)
    for (const n of this.#assets.get(a)!) {
      if (network === undefined || n.network === network) Object.assign(n, patch)
    }
  }

  /** Replaces an asset's networks. */
  replace(asset: string, networks: SimNetwork[]): void {
    this.#assets.set(asset.toUpperCase(), networks)
  }
}
