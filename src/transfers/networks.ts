/**
 * @module
 * One vocabulary for blockchain networks, so that a withdrawal on one venue and a deposit on another
 * can be matched: venues name the same chain `ERC20`, `ETH`, `Ethereum`, `USDT-ERC20` or `eth`.
 * Each venue module passes its own name through `canonicalNetwork` (after stripping what is its
 * own, such as OKX's `USDT-` prefix); a name not recognised stays as given, upper-cased, so two
 * venues still match when they spell it alike and never match by accident otherwise.
 */

/** Canonical id → the spellings venues use for it (compared upper-cased, spaces and dashes removed). */
const SPELLINGS: Readonly<Record<string, readonly string[]>> = {
  BTC: ['BTC', 'BITCOIN', 'BTCNATIVE', 'SEGWITBTC', 'BTCSEGWIT', 'BITCOINBTC'],
  OMNI: ['OMNI', 'OMNILAYER'],
  ETH: ['ETH', 'ERC20', 'ETHEREUM', 'ETHERC20', 'ETHEREUMERC20'],
  TRX: ['TRX', 'TRC20', 'TRON', 'TRONTRC20', 'TRXTRC20'],
  BSC: ['BSC', 'BEP20', 'BNBSMARTCHAIN', 'BSCBEP20', 'BNBBEP20', 'BEP20BSC'],
  SOL: ['SOL', 'SOLANA', 'SPL', 'SOLSPL', 'SOLANASOL'],
  ARBITRUM: ['ARBITRUM', 'ARB', 'ARBONE', 'ARBITRUMONE', 'ARBEVM', 'ARBITRUMONEARB'],
  OPTIMISM: ['OPTIMISM', 'OP', 'OPETH', 'OPTIMISMOP', 'OPMAINNET'],
  POLYGON: ['POLYGON', 'MATIC', 'POL', 'POLYGONPOS', 'MATICPOLYGON'],
  AVAXC: ['AVAXC', 'AVAXCCHAIN', 'AVALANCHEC', 'AVALANCHECCHAIN', 'CCHAIN', 'AVAX', 'CAVAX'],
  BASE: ['BASE', 'BASEEVM', 'BASEMAINNET'],
  TON: ['TON', 'TONCOIN', 'THEOPENNETWORK'],
  XRP: ['XRP', 'RIPPLE', 'XRPL'],
  DOGE: ['DOGE', 'DOGECOIN'],
  LTC: ['LTC', 'LITECOIN'],
  ADA: ['ADA', 'CARDANO'],
  DOT: ['DOT', 'POLKADOT', 'POLKADOTASSETHUB'],
  ATOM: ['ATOM', 'COSMOS', 'COSMOSHUB'],
  XLM: ['XLM', 'STELLAR', 'STELLARLUMENS'],
  NEAR: ['NEAR', 'NEARPROTOCOL'],
  APT: ['APT', 'APTOS'],
  SUI: ['SUI'],
}

const BY_SPELLING = new Map<string, string>(
  Object.entries(SPELLINGS).flatMap(([id, names]) => names.map((n) => [n, id] as const)),
)

/** The spelling key: upper case without spaces, dashes, underscores, dots or brackets. */
const key = (name: string): string => name.toUpperCase().replace(/[\s\-_.()]/g, '')

/**
 * The shared id of a venue's network name.
 * @example
 * ```ts
 * canonicalNetwork('ERC20') // 'ETH'
 * canonicalNetwork('Tron (TRC20)') // 'TRX'
 * canonicalNetwork('KAVAEVM') // 'KAVAEVM' (not known: kept, upper-cased)
 * ```
 */
export function canonicalNetwork(name: string): string {
  const k = key(name)
  return BY_SPELLING.get(k) ?? k
}

/** Networks whose addresses (and token contracts) are case-insensitive hex: compared lower-cased. */
const HEX_CONTRACTS = new Set(['ETH', 'BSC', 'ARBITRUM', 'OPTIMISM', 'POLYGON', 'AVAXC', 'BASE'])

/** A contract address as compared: lower-cased on EVM networks, trimmed, undefined when blank. */
export function normaliseContract(network: string, contract: unknown): string | undefined {
  if (typeof contract !== 'string') return undefined
  const c = contract.trim()
  if (c === '') return undefined
  return HEX_CONTRACTS.has(network) ? c.toLowerCase() : c
}
