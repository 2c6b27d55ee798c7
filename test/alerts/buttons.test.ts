/** The buttons under an alert and their payloads, pure. */
import { describe, expect, test } from 'bun:test'
import {
  alertButtons,
  BUTTON_DATA_MAX_BYTES,
  buttonData,
  parseButton,
} from '../../src/alerts/buttons.ts'

describe('alert buttons', () => {
  test('mute, details and stop, each payload within Telegram’s 64 bytes and read back', () => {
    const buttons = alertButtons(42, 'BTC/USDT')
    expect(buttons).toEqual([
      { label: 'Mute BTC/USDT 1 h', data: 'aw1:m:BTC/USDT' },
      { label: 'Details', data: 'aw1:d:42' },
      { label: 'Stop alerts', data: 'aw1:s' },
    ])
    expect(buttons.map((b) => parseButton(b.data))).toEqual([
      { kind: 'mute', market: 'BTC/USDT' },
      { kind: 'details', deliveryId: 42 },
      { kind: 'stop' },
    ])
    const cycle = alertButtons(9_007_199_254_740_991, '1000SATS/USDT>1000SATS/USDC')
    for (const b of cycle)
      expect(new TextEncoder().encode(b.data).length).toBeLessThanOrEqual(BUTTON_DATA_MAX_BYTES)
    expect(parseButton(cycle[0]!.data)).toEqual({
      kind: 'mute',
      market: '1000SATS/USDT>1000SATS/USDC',
    })
  })

  test('a market whose payload would not fit gets no mute button', () => {
    const long = `${'X'.repeat(40)}/USDT>${'X'.repeat(40)}/USD`
    expect(alertButtons(1, long).map((b) => b.label)).toEqual(['Details', 'Stop alerts'])
  })

  test('payloads of another version, forged or garbled, are refused, never thrown on', () => {
    for (const bad of [
      '',
      'aw0:m:BTC/USDT',
      'aw1',
      'aw1:x',
      'aw1:d:',
      'aw1:d:0',
      'aw1:d:-3',
      'aw1:d:1e3',
      'aw1:d:99999999999999999999',
      'aw1:m:',
      'aw1:m:btc usdt',
      'aw1:s:extra',
      'x'.repeat(500),
    ]) {
      expect(parseButton(bad)).toBeUndefined()
    }
    expect(buttonData({ kind: 'stop' })).toBe('aw1:s')
  })
})
