/**
 * @module
 * HTX sends prices and sizes as JSON numbers, written the way Java's `Double.toString` writes
 * them: `26.75597395914065`, `23337.0`, and exponent forms below 10^-3 and from 10^7 up
 * (`9.121E-7`, `3.45E-4`, `1.1111111E7` in the recorded session, ../shared/captures/htx). A float
 * would lose digits, so the number tokens are quoted before `JSON.parse` and kept as text; an
 * exponent token is rewritten into plain decimal text with exactly its digits, by moving the point
 * in the string (never through a float).
 */

const isDigit = (c: number): boolean => c >= 48 && c <= 57

/**
 * Quotes every number token outside strings, so `JSON.parse` hands back the venue's own digits.
 *
 * @example
 * ```ts
 * quoteNumberTokens('{"ping":1618678073643}') // '{"ping":"1618678073643"}'
 * ```
 */
export function quoteNumberTokens(raw: string): string {
  const parts: string[] = []
  let from = 0
  let inString = false
  for (let i = 0; i < raw.length; i++) {
    const c = raw.charCodeAt(i)
    if (inString) {
      if (c === 92)
        i++ // an escape: skip the escaped character
      else if (c === 34) inString = false
      continue
    }
    if (c === 34) {
      inString = true
      continue
    }
    if (c !== 45 && !isDigit(c)) continue
    // A number token runs over digits, sign, point and exponent characters.
    let end = i + 1
    while (end < raw.length) {
      const d = raw.charCodeAt(end)
      if (isDigit(d) || d === 46 || d === 45 || d === 43 || d === 101 || d === 69) end++
      else break
    }
    parts.push(raw.slice(from, i), '"', raw.slice(i, end), '"')
    from = end
    i = end - 1
  }
  if (from === 0) return raw
  parts.push(raw.slice(from))
  return parts.join('')
}

/**
 * A number token as plain decimal text with the same digits (`9.121E-7` → `0.0000009121`,
 * `1.1111111E7` → `11111111`); a token without an exponent is returned unchanged, and anything
 * that is not an unsigned decimal with an exponent is returned unchanged too (the level check
 * then refuses it).
 *
 * @example
 * ```ts
 * expandExponent('3.45E-4') // '0.000345'
 * ```
 */
export function expandExponent(token: string): string {
  let e = token.indexOf('E')
  if (e === -1) e = token.indexOf('e')
  if (e === -1) return token
  const mantissa = token.slice(0, e)
  const expText = token.slice(e + 1)
  const m = /^(\d+)(?:\.(\d+))?$/.exec(mantissa)
  if (m === null || !/^[+-]?\d{1,3}$/.test(expText)) return token
  const intPart = m[1]!
  const fracPart = m[2] ?? ''
  const digits = intPart + fracPart
  // Where the point sits in `digits` once the exponent has moved it.
  const point = intPart.length + parseInt(expText, 10)
  let text: string
  if (point <= 0) text = '0.' + '0'.repeat(-point) + digits
  else if (point >= digits.length) text = digits + '0'.repeat(point - digits.length)
  else text = digits.slice(0, point) + '.' + digits.slice(point)
  // `0.5E1` gives `05`: drop leading zeros before another integer digit.
  let lead = 0
  while (lead < text.length - 1 && text[lead] === '0' && isDigit(text.charCodeAt(lead + 1))) lead++
  return text.slice(lead)
}

/**
 * A decimal text as HTX writes it on the wire (the simulated venue's side of the above): plain
 * between 10^-3 and 10^7, else `d.dddE±n` with exactly the text's digits (trailing zeros of the
 * fraction kept, so the client's plain text equals the original).
 *
 * @example
 * ```ts
 * wireNumber('0.000345') // '3.45E-4'
 * wireNumber('60000.10') // '60000.10'
 * ```
 */
export function wireNumber(text: string): string {
  const m = /^(\d+)(?:\.(\d+))?$/.exec(text)
  if (m === null) return text
  const intPart = m[1]!.replace(/^0+(?=\d)/, '')
  const fracPart = m[2] ?? ''
  if (intPart === '0') {
    const zeros = /^0*/.exec(fracPart)![0].length
    // Below 10^-3 (three or more zeros after the point), and not zero itself.
    if (zeros < 3 || zeros === fracPart.length) return text
    const sig = fracPart.slice(zeros)
    const tail = sig.slice(1)
    return `${sig[0]}${tail === '' ? '' : `.${tail}`}E-${zeros + 1}`
  }
  if (intPart.length < 8) return text
  return `${intPart[0]}.${intPart.slice(1)}${fracPart}E${intPart.length - 1}`
}
