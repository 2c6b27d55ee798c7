/**
 * @module
 * The buttons under an alert and their payloads, pure: `aw1:m:<market>` mutes that market in the
 * chat for an hour, `aw1:d:<delivery id>` answers with the `/explain` view of that alert's
 * opportunity, `aw1:s` stops the chat's alerts (what `/stop` does). The chat core acts on them;
 * Telegram sends them back as `callback_data`, Discord as a component's `custom_id`.
 */
import type { AlertButton } from './notifier.ts'

/** How long the mute button silences a market. */
export const MARKET_MUTE_MS = 3_600_000

/** Telegram's limit on `callback_data`, in bytes (Discord allows 100 characters). */
export const BUTTON_DATA_MAX_BYTES = 64

/** What a pressed button asks for. */
export type ButtonAction =
  | { readonly kind: 'mute'; readonly market: string }
  | { readonly kind: 'details'; readonly deliveryId: number }
  | { readonly kind: 'stop' }

/** The payload format's version: a payload of another version is refused as outdated. */
const VERSION = 'aw1'

/** A market as alerts name it: `BTC/USDT`, a cross-quote route, a triangle's cycle. */
const MARKET = /^[A-Z0-9][A-Z0-9./>_-]*$/

/**
 * The payload of a button.
 *
 * @example
 * ```ts
 * buttonData({ kind: 'mute', market: 'BTC/USDT' }) // 'aw1:m:BTC/USDT'
 * buttonData({ kind: 'details', deliveryId: 42 }) // 'aw1:d:42'
 * ```
 */
export function buttonData(action: ButtonAction): string {
  switch (action.kind) {
    case 'mute':
      return `${VERSION}:m:${action.market}`
    case 'details':
      return `${VERSION}:d:${action.deliveryId}`
    case 'stop':
      return `${VERSION}:s`
    default: {
      const never: never = action
      throw new Error(`unknown button ${String((never as ButtonAction).kind)}`)
    }
  }
}

/**
 * What a payload asks for, or undefined for one this version did not make (an older format, a
 * forged or garbled payload). Never throws.
 *
 * @example
 * ```ts
 * parseButton('aw1:d:42') // { kind: 'details', deliveryId: 42 }
 * parseButton('aw0:whatever') // undefined
 * ```
 */
export function parseButton(data: string): ButtonAction | undefined {
  if (typeof data !== 'string' || new TextEncoder().encode(data).length > 100) return undefined
  const [version, kind, ...rest] = data.split(':')
  if (version !== VERSION) return undefined
  const arg = rest.join(':')
  switch (kind) {
    case 'm':
      return MARKET.test(arg) ? { kind: 'mute', market: arg } : undefined
    case 'd': {
      if (!/^[1-9]\d{0,15}$/.test(arg)) return undefined
      const deliveryId = Number(arg)
      return Number.isSafeInteger(deliveryId) ? { kind: 'details', deliveryId } : undefined
    }
    case 's':
      return rest.length === 0 ? { kind: 'stop' } : undefined
    default:
      return undefined
  }
}

/**
 * The buttons of an alert: mute its market for an hour (left out when the market's payload would
 * not fit Telegram's 64 bytes), its details, and stop.
 *
 * @param deliveryId the delivery the details are read from (a grouped alert: its best route's)
 * @param market what the alert's title names, e.g. `BTC/USDT`
 */
export function alertButtons(deliveryId: number, market: string): AlertButton[] {
  const buttons: AlertButton[] = []
  const mute = buttonData({ kind: 'mute', market })
  if (MARKET.test(market) && new TextEncoder().encode(mute).length <= BUTTON_DATA_MAX_BYTES) {
    buttons.push({ label: `Mute ${market} 1 h`, data: mute })
  }
  buttons.push(
    { label: 'Details', data: buttonData({ kind: 'details', deliveryId }) },
    { label: 'Stop alerts', data: buttonData({ kind: 'stop' }) },
  )
  return buttons
}
