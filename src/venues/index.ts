/**
 * @module
 * The venue registry: one line per venue, in the order venues are listed to users. Venue ids,
 * display names, default fees and endpoints are all read from here.
 */
import { binance } from './binance/index.ts'
import { bitfinex } from './bitfinex/index.ts'
import { bitget } from './bitget/index.ts'
import { bitstamp } from './bitstamp/index.ts'
import { bybit } from './bybit/index.ts'
import { coinbase } from './coinbase/index.ts'
import { gate } from './gate/index.ts'
import { htx } from './htx/index.ts'
import { kraken } from './kraken/index.ts'
import { kucoin } from './kucoin/index.ts'
import { mexc } from './mexc/index.ts'
import { okx } from './okx/index.ts'
import type { AssetAliases } from '../symbols.ts'
import type { Venue } from './venue.ts'

export const VENUES: readonly Venue[] = [
  binance,
  kraken,
  coinbase,
  bitstamp,
  okx,
  bybit,
  kucoin,
  gate,
  bitget,
  htx,
  bitfinex,
  mexc,
]

/** Every registered venue id, in registry order. */
export const VENUE_IDS: readonly string[] = VENUES.map((v) => v.id)

/** The venues used when `EXCHANGES` is not set. */
export const DEFAULT_VENUE_IDS: readonly string[] = VENUES.filter(
  (v) => v.enabledByDefault !== false,
).map((v) => v.id)

const BY_ID = new Map(VENUES.map((v) => [v.id, v]))

/** The registered venue with this id, if any. */
export const venueById = (id: string): Venue | undefined => BY_ID.get(id)

/** How users see a venue: its display name, or the id of an unknown one. */
export const venueName = (id: string): string => BY_ID.get(id)?.name ?? id

/**
 * Every venue's asset aliases merged: what users may type (`XBT/USDT` is `BTC/USDT`). A code that
 * another venue uses for a token of its own (`distinctAssets`: Kraken's UST is TerraClassicUSD,
 * Bitfinex's UST is USDT) is left as typed: which one a user means cannot be told.
 */
export const ASSET_ALIASES: AssetAliases = Object.freeze(
  Object.fromEntries(
    VENUES.flatMap((v) => Object.entries(v.assetAliases ?? {})).filter(
      ([code]) => !VENUES.some((v) => v.distinctAssets?.[code] !== undefined),
    ),
  ),
)
