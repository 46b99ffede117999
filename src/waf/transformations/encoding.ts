/** Base64 and hex decoding: only when the whole value (ignoring whitespace) is such an encoding. */

const B64 = /^[A-Za-z0-9+/_-]{8,}={0,2}$/;

/** Decodes standard or URL-safe base64 (as latin1 text), or returns '' when the value is not base64. */
export function base64Decode(s: string): string {
  const t = s.trim();
  if (t.length < 8 || !B64.test(t)) return '';
  const buf = Buffer.from(t, t.includes('-') || t.includes('_') ? 'base64url' : 'base64');
  return buf.toString('latin1');
}

const HEXRE = /^(?:0x)?(?:[0-9a-fA-F]{2}){4,}$/;

/** Decodes a hex string (`0x` prefix allowed), or returns '' when the value is not hex. */
export function hexDecode(s: string): string {
  const t = s.trim();
  if (!HEXRE.test(t)) return '';
  return Buffer.from(t.startsWith('0x') || t.startsWith('0X') ? t.slice(2) : t, 'hex').toString('latin1');
}

/**
 * Base64 decoding at the three possible alignments (a keyword encoded inside a longer base64
 * string starts at any byte offset), returned joined by newlines; '' when the value is not base64.
 */
export function base64DecodeAligned(s: string): string {
  const t = s.trim().replace(/=+$/, '');
  if (t.length < 8 || !B64.test(t)) return '';
  const enc = t.includes('-') || t.includes('_') ? 'base64url' : 'base64';
  let out = '';
  for (const pad of ['', 'A', 'AA', 'AAA']) out += `${Buffer.from(pad + t, enc).toString('latin1')}\n`;
  return out;
}
