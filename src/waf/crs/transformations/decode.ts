/**
 * Decoding transformations over byte strings (one char per byte, see index.ts), as ModSecurity v3
 * defines them: invalid or truncated escapes are copied as they are, never an error.
 */
import { BEST_FIT_ASCII } from './best-fit.js';

/** hex digit value of a char code, or -1 */
export function hexVal(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  const l = c | 0x20;
  if (l >= 97 && l <= 102) return l - 87;
  return -1;
}

function isHex(s: string, i: number): boolean {
  return i < s.length && hexVal(s.charCodeAt(i)) >= 0;
}

/** two hex digits at i as a byte (both checked by the caller) */
function x2c(s: string, i: number): number {
  return hexVal(s.charCodeAt(i)) * 16 + hexVal(s.charCodeAt(i + 1));
}

function isOctal(c: number): boolean {
  return c >= 48 && c <= 55;
}

/** Chunks of output chars, joined once (keeps long inputs linear). */
class Out {
  private readonly parts: string[] = [];
  private codes: number[] = [];
  push(c: number): void {
    this.codes.push(c);
    if (this.codes.length >= 4096) this.flush();
  }
  text(s: string): void {
    this.flush();
    this.parts.push(s);
  }
  private flush(): void {
    if (this.codes.length > 0) {
      this.parts.push(String.fromCharCode(...this.codes));
      this.codes = [];
    }
  }
  done(): string {
    this.flush();
    return this.parts.join('');
  }
}

/**
 * Copies `s`, handing each `marker` char to `decodeOne`, which writes what the escape decodes to and
 * returns the index to go on from.
 */
function decodeEscapes(s: string, marker: string, decodeOne: (s: string, i: number, out: Out) => number): string {
  if (s.indexOf(marker) < 0) return s;
  const m = marker.charCodeAt(0);
  const out = new Out();
  let i = 0;
  while (i < s.length) {
    const c = s.charCodeAt(i);
    if (c === m) {
      i = decodeOne(s, i, out);
    } else {
      out.push(c);
      i++;
    }
  }
  return out.done();
}

/** `t:urlDecode`: `+` is a space, `%HH` a byte; anything else is copied. */
export function urlDecode(s: string): string {
  if (s.indexOf('%') < 0 && s.indexOf('+') < 0) return s;
  return decodeUrl(s, false);
}

/** `t:urlDecodeUni`: urlDecode plus IIS `%uHHHH` (best-fit ASCII, else the low byte; full-width ASCII folded). */
export function urlDecodeUni(s: string): string {
  if (s.indexOf('%') < 0 && s.indexOf('+') < 0) return s;
  return decodeUrl(s, true);
}

function decodeUrl(s: string, uni: boolean): string {
  const out = new Out();
  let run = 0;
  let i = 0;
  const n = s.length;
  while (i < n) {
    const c = s.charCodeAt(i);
    if (c !== 37 && c !== 43) {
      i++;
      continue;
    }
    if (i > run) out.text(s.slice(run, i));
    if (c === 43) {
      out.push(32);
      i++;
    } else if (uni && i + 1 < n && (s.charCodeAt(i + 1) | 0x20) === 117) {
      if (i + 5 < n && isHex(s, i + 2) && isHex(s, i + 3) && isHex(s, i + 4) && isHex(s, i + 5)) {
        const code = x2c(s, i + 2) * 256 + x2c(s, i + 4);
        const fit = BEST_FIT_ASCII.get(code);
        let b = code & 0xff;
        if (fit !== undefined) b = fit;
        else if (b > 0 && b < 0x5f && code >> 8 === 0xff) b += 0x20;
        out.push(b);
        i += 6;
      } else {
        out.text(s.slice(i, i + 2));
        i += 2;
      }
    } else if (i + 2 < n && isHex(s, i + 1) && isHex(s, i + 2)) {
      out.push(x2c(s, i + 1));
      i += 3;
    } else {
      out.push(37);
      i++;
    }
    run = i;
  }
  if (run < n) out.text(s.slice(run));
  return out.done();
}

/** `t:jsDecode`: `\uHHHH` (low byte, full-width folded), `\xHH`, `\OOO`, `\a\b\f\n\r\t\v`, `\C` → C. */
export function jsDecode(s: string): string {
  return decodeEscapes(s, '\\', jsEscape);
}

function jsEscape(s: string, i: number, out: Out): number {
  const n = s.length;
  const next = i + 1 < n ? s.charCodeAt(i + 1) : -1;
  if (next === 117 && i + 5 < n && isHex(s, i + 2) && isHex(s, i + 3) && isHex(s, i + 4) && isHex(s, i + 5)) {
    let b = x2c(s, i + 4);
    if (b > 0 && b < 0x5f && (s.charCodeAt(i + 2) | 0x20) === 102 && (s.charCodeAt(i + 3) | 0x20) === 102) b += 0x20;
    out.push(b);
    return i + 6;
  }
  if (next === 120 && i + 3 < n && isHex(s, i + 2) && isHex(s, i + 3)) {
    out.push(x2c(s, i + 2));
    return i + 4;
  }
  if (next >= 0 && isOctal(next)) {
    // up to 3 octal digits, 2 when the first is above 3 (one byte at most)
    let j = 1;
    while (j < 3 && i + 1 + j < n && isOctal(s.charCodeAt(i + 1 + j))) j++;
    if (j === 3 && next > 51) j = 2;
    out.push(parseInt(s.slice(i + 1, i + 1 + j), 8));
    return i + 1 + j;
  }
  if (next >= 0) {
    out.push(C_ESCAPES.get(next) ?? next);
    return i + 2;
  }
  out.push(92);
  return i + 1;
}

const C_ESCAPES: ReadonlyMap<number, number> = new Map([
  [97, 7],
  [98, 8],
  [102, 12],
  [110, 10],
  [114, 13],
  [116, 9],
  [118, 11],
]);

/** `t:escapeSeqDecode`: ANSI C escapes (`\n`, `\xHH`, `\OOO`, ...); an unknown `\C` gives C. */
export function escapeSeqDecode(s: string): string {
  return decodeEscapes(s, '\\', seqEscape);
}

function seqEscape(s: string, i: number, out: Out): number {
  const n = s.length;
  if (i + 1 >= n) {
    out.push(92);
    return i + 1;
  }
  const next = s.charCodeAt(i + 1);
  const simple = C_ESCAPES.get(next);
  if (simple !== undefined) {
    out.push(simple);
    return i + 2;
  }
  if ((next | 0x20) === 120 && i + 3 < n && isHex(s, i + 2) && isHex(s, i + 3)) {
    out.push(x2c(s, i + 2));
    return i + 4;
  }
  if (isOctal(next)) {
    let j = 2;
    while (j < 4 && i + j < n && isOctal(s.charCodeAt(i + j))) j++;
    out.push(parseInt(s.slice(i + 1, i + j), 8) & 0xff);
    return i + j;
  }
  out.push(next);
  return i + 2;
}

function isCssSpace(c: number): boolean {
  return c === 32 || (c >= 9 && c <= 13);
}

/**
 * `t:cssDecode` (CSS 2.1 escapes): `\` + 1-6 hex digits gives one byte (the last two digits; full
 * width ASCII folded when the code point is U+FF01-U+FF5E), one following whitespace is eaten;
 * `\` + newline is dropped; `\C` gives C; a trailing `\` is dropped.
 */
export function cssDecode(s: string): string {
  return decodeEscapes(s, '\\', cssEscape);
}

function cssEscape(s: string, at: number, out: Out): number {
  const n = s.length;
  const i = at + 1;
  if (i >= n) return i;
  let j = 0;
  while (j < 6 && isHex(s, i + j)) j++;
  if (j > 0) {
    let b = j === 1 ? hexVal(s.charCodeAt(i)) : x2c(s, i + j - 2);
    const fullCheck = j === 4 || (j === 5 && s[i] === '0') || (j === 6 && s[i] === '0' && s[i + 1] === '0');
    if (fullCheck && b > 0 && b < 0x5f && (s.charCodeAt(i + j - 3) | 0x20) === 102 && (s.charCodeAt(i + j - 4) | 0x20) === 102) b += 0x20;
    out.push(b);
    if (i + j < n && isCssSpace(s.charCodeAt(i + j))) j++;
    return i + j;
  }
  if (s.charCodeAt(i) === 10) return i + 1;
  out.push(s.charCodeAt(i));
  return i + 1;
}

function isDigit(c: number): boolean {
  return c >= 48 && c <= 57;
}

function isAlnum(c: number): boolean {
  return isDigit(c) || ((c | 0x20) >= 97 && (c | 0x20) <= 122);
}

/** C's `(unsigned char)strtol(digits, NULL, base)`: the low byte, 0xff when the value overflows a long. */
function strtolByte(digits: string, base: 10 | 16): number {
  const d = digits.replace(/^0+/, '');
  const overflow =
    base === 16 ? d.length > 16 || (d.length === 16 && hexVal(d.charCodeAt(0)) >= 8) : d.length > 19 || (d.length === 19 && d > '9223372036854775807');
  if (overflow) return 0xff;
  let v = 0;
  for (let k = 0; k < d.length; k++) v = (v * base + hexVal(d.charCodeAt(k))) & 0xff;
  return v;
}

const NAMED_ENTITIES: ReadonlyMap<string, number> = new Map([
  ['quot', 34],
  ['amp', 38],
  ['lt', 60],
  ['gt', 62],
  ['nbsp', 0xa0],
]);

/**
 * `t:htmlEntityDecode` as ModSecurity v3: `&#DDD;` and `&#xHH;` (the `;` optional) give one byte
 * (the low byte of the number); the named entities are quot, amp, lt, gt and nbsp (any case);
 * anything else is copied.
 */
export function htmlEntityDecode(s: string): string {
  return decodeEscapes(s, '&', (str, i, out) => {
    if (i + 1 >= str.length) {
      out.push(38);
      return i + 1;
    }
    const e = entityAt(str, i);
    if (e.byte >= 0) {
      out.push(e.byte);
      return e.next;
    }
    let k = i;
    for (; k < i + e.copy && k < str.length; k++) out.push(str.charCodeAt(k));
    return k;
  });
}

/** The entity at s[i] ('&'): its byte and where decoding goes on, or how many chars to copy as they are. */
function entityAt(s: string, i: number): { byte: number; next: number; copy: number } {
  const n = s.length;
  let k = i + 1;
  const after = (j: number): number => (j < n && s.charCodeAt(j) === 59 ? j + 1 : j);
  if (s.charCodeAt(k) === 35) {
    if (k + 1 >= n) return { byte: -1, next: 0, copy: 2 };
    k++;
    const hex = (s.charCodeAt(k) | 0x20) === 120;
    if (hex) {
      if (k + 1 >= n) return { byte: -1, next: 0, copy: 3 };
      k++;
    }
    let j = k;
    while (j < n && (hex ? hexVal(s.charCodeAt(j)) >= 0 : isDigit(s.charCodeAt(j)))) j++;
    if (j === k) return { byte: -1, next: 0, copy: hex ? 3 : 2 };
    return { byte: strtolByte(s.slice(k, j), hex ? 16 : 10), next: after(j), copy: 0 };
  }
  let j = k;
  while (j < n && isAlnum(s.charCodeAt(j))) j++;
  if (j === k) return { byte: -1, next: 0, copy: 1 };
  const named = NAMED_ENTITIES.get(s.slice(k, j).toLowerCase());
  if (named === undefined) return { byte: -1, next: 0, copy: j - k + 1 };
  return { byte: named, next: after(j), copy: 0 };
}

const B64: Int8Array = (() => {
  const t = new Int8Array(256).fill(-1);
  const abc = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
  for (let k = 0; k < abc.length; k++) t[abc.charCodeAt(k)] = k;
  return t;
})();

function base64(s: string, ext: boolean): string {
  const out = new Out();
  let x = 0;
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    let c = s.charCodeAt(i);
    if (ext && (c === 46 || (c >= 9 && c <= 13) || c === 32)) continue;
    if (c === 13 || c === 10) continue;
    if (c === 61 || c === 32) break;
    if (ext && c === 45) c = 43;
    else if (ext && c === 95) c = 47;
    const v = c < 256 ? B64[c]! : -1;
    if (v < 0) {
      if (ext) continue;
      break;
    }
    x = (x << 6) | v;
    if (++n === 4) {
      out.push((x >> 16) & 0xff);
      out.push((x >> 8) & 0xff);
      out.push(x & 0xff);
      x = 0;
      n = 0;
    }
  }
  if (n === 2) out.push((x >> 4) & 0xff);
  else if (n === 3) {
    out.push((x >> 10) & 0xff);
    out.push((x >> 2) & 0xff);
  }
  return out.done();
}

/** `t:base64Decode`: decodes up to the first `=`, space or invalid character (CR and LF skipped). */
export function base64Decode(s: string): string {
  return base64(s, false);
}

/** `t:base64DecodeExt`: forgiving: skips whitespace, dots and invalid characters; URL-safe alphabet too. */
export function base64DecodeExt(s: string): string {
  return base64(s, true);
}

/** `t:hexDecode`: pairs of hex digits to bytes; an odd length or a non-hex digit gives ''. */
export function hexDecode(s: string): string {
  if (s.length % 2 !== 0) return '';
  const out = new Out();
  for (let i = 0; i < s.length; i += 2) {
    if (!isHex(s, i) || !isHex(s, i + 1)) return '';
    out.push(x2c(s, i));
  }
  return out.done();
}

function cont(s: string, i: number): boolean {
  return i < s.length && (s.charCodeAt(i) & 0xc0) === 0x80;
}

/**
 * `t:utf8toUnicode`: each well-formed UTF-8 sequence becomes `%uHHHH` (lowercase hex, at least 4
 * digits); ASCII and any byte that does not start a well-formed sequence (overlong forms and
 * surrogates included) are copied as they are.
 */
export function utf8toUnicode(s: string): string {
  let first = -1;
  for (let i = 0; i < s.length; i++) {
    if (s.charCodeAt(i) >= 0x80) {
      first = i;
      break;
    }
  }
  if (first < 0) return s;
  const out = new Out();
  out.text(s.slice(0, first));
  let i = first;
  while (i < s.length) {
    const c = s.charCodeAt(i);
    let len = 0;
    let d = 0;
    if (c >= 0xc0 && c < 0xe0 && cont(s, i + 1)) {
      len = 2;
      d = ((c & 0x1f) << 6) | (s.charCodeAt(i + 1) & 0x3f);
      if (d < 0x80) len = 0;
    } else if (c >= 0xe0 && c < 0xf0 && cont(s, i + 1) && cont(s, i + 2)) {
      len = 3;
      d = ((c & 0x0f) << 12) | ((s.charCodeAt(i + 1) & 0x3f) << 6) | (s.charCodeAt(i + 2) & 0x3f);
      if (d < 0x800 || (d >= 0xd800 && d <= 0xdfff)) len = 0;
    } else if (c >= 0xf0 && c < 0xf8 && cont(s, i + 1) && cont(s, i + 2) && cont(s, i + 3)) {
      len = 4;
      d = ((c & 0x07) << 18) | ((s.charCodeAt(i + 1) & 0x3f) << 12) | ((s.charCodeAt(i + 2) & 0x3f) << 6) | (s.charCodeAt(i + 3) & 0x3f);
      if (d < 0x10000 || d > 0x10ffff) len = 0;
    }
    if (len === 0) {
      out.push(c);
      i++;
    } else {
      out.text(`%u${d.toString(16).padStart(4, '0')}`);
      i += len;
    }
  }
  return out.done();
}
