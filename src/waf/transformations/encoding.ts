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

const B64_VAL = (() => {
  const t = new Int8Array(128).fill(-1);
  const a = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
  for (let i = 0; i < 64; i++) t[a.charCodeAt(i)] = i;
  t[0x2d] = 62; // '-' (base64url)
  t[0x5f] = 63; // '_'
  return t;
})();

/** Decodes base64 text as if `skip` sextets of zero came first (the first bytes are dropped). */
function decodeShifted(t: string, skip: number): string {
  let out = '';
  let acc = 0;
  let bits = 6 * skip;
  let dropped = 0;
  const drop = skip === 0 ? 0 : Math.floor(bits / 8);
  bits = bits % 8;
  acc = 0;
  for (let i = 0; i < t.length; i++) {
    acc = ((acc << 6) | B64_VAL[t.charCodeAt(i)]!) & 0xffffff;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      const byte = (acc >> bits) & 0xff;
      if (dropped < drop) dropped++;
      else out += String.fromCharCode(byte);
    }
  }
  return out;
}

/**
 * Base64 decoding at the possible alignments (a keyword encoded inside a longer base64 string
 * starts at any byte offset), returned joined by newlines; '' when the value is not base64.
 * Values must mix upper and lower case; values longer than 4 KiB are decoded at the first alignment only.
 */
const B64_PADDED = /^[A-Za-z0-9+/_-]{8,}=*$/;

export function base64DecodeAligned(s: string): string {
  // the usual value fails here at its first space or punctuation, before any copy
  const trimmed = s.trim();
  if (!B64_PADDED.test(trimmed)) return '';
  const t = trimmed.replace(/=+$/, '');
  // base64 of text or binary mixes upper and lower case; words and identifiers rarely do
  if (!/[A-Z]/.test(t) || !/[a-z]/.test(t)) return '';
  let out = decodeShifted(t, 0);
  if (t.length <= 4096) for (let k = 1; k <= 3; k++) out += `\n${decodeShifted(t, k)}`;
  return out;
}
