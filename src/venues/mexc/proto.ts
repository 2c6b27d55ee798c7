/**
 * @module
 * MEXC's published protobuf definitions (`./proto/`, mexcdevelop/websocket-proto @ 7b8ac7a6,
 * Apache-2.0, unmodified) loaded once with protobufjs: the `PushDataV3ApiWrapper` type the
 * parser decodes every binary frame with and the simulated venue encodes its pushes with.
 *
 * int64 fields (`createTime`, `sendTime`, `lastOrderCreateTime`): protobufjs hands them back as a
 * `Long` (the `long` package is installed) or a plain number, and an absent proto3 `optional`
 * int64 as the default 0. `int64Ms` reads either as a number of milliseconds: epoch milliseconds
 * are about 1.8e12, far below 2^53, so `Long.toNumber()` is exact; 0, negative and non-integer
 * values mean "absent".
 */
import protobuf from 'protobufjs'

/** Where the `.proto` files live (imports resolve by file name inside this folder). */
export const PROTO_DIR = `${import.meta.dir}/proto`

let wrapper: protobuf.Type | undefined

/**
 * The `PushDataV3ApiWrapper` message type (loaded on first use, field names as in the files).
 * @example
 * ```ts
 * const msg = pushDataType().decode(bytes) as unknown as PushData
 * ```
 */
export function pushDataType(): protobuf.Type {
  if (wrapper !== undefined) return wrapper
  const root = new protobuf.Root()
  root.resolvePath = (_origin, target) => `${PROTO_DIR}/${target.split('/').pop()}`
  root.loadSync('PushDataV3ApiWrapper.proto', { keepCase: true })
  wrapper = root.lookupType('PushDataV3ApiWrapper')
  return wrapper
}

/** One `PublicAggreDepthV3ApiItem`. */
export interface DepthItem {
  price?: string
  quantity?: string
}

/** `PublicAggreDepthsV3Api`, body 313. */
export interface AggreDepths {
  asks?: DepthItem[]
  bids?: DepthItem[]
  eventType?: string
  fromVersion?: string
  toVersion?: string
  lastOrderCreateTime?: unknown
}

/** The decoded wrapper, the fields this venue reads (`body` names the oneof member set). */
export interface PushData {
  channel?: string
  body?: string
  publicAggreDepths?: AggreDepths | null
  symbol?: string | null
  symbolId?: string | null
  createTime?: unknown
  sendTime?: unknown
}

/** An int64 field as epoch milliseconds, or undefined when absent (0) or not a time. */
export function int64Ms(v: unknown): number | undefined {
  let n: number | undefined
  if (typeof v === 'number') n = v
  else if (typeof v === 'string' && /^\d{1,16}$/.test(v)) n = Number(v)
  else if (v !== null && typeof v === 'object' && 'toNumber' in v) {
    n = (v as { toNumber(): number }).toNumber()
  }
  return n !== undefined && Number.isSafeInteger(n) && n > 0 ? n : undefined
}

/**
 * Encodes a wrapper from a plain object (the sim and the tests): int64 fields may be numbers.
 * @example
 * ```ts
 * encodePushData({ channel, symbol: 'BTCUSDT', sendTime: Date.now(), publicAggreDepths: { ... } })
 * ```
 */
export function encodePushData(obj: Record<string, unknown>): Uint8Array {
  const type = pushDataType()
  return type.encode(type.fromObject(obj)).finish()
}
