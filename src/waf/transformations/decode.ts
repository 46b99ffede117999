/**
 * Decoding transformations. Each is a pure function string -> string, linear in its input,
 * tolerant of malformed input (malformed sequences are kept as they are).
 */

function hexVal(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  if (c >= 65 && c <= 70) return c - 55;
  if (c >= 97 && c <= 102) return c - 87;
  return -1;
}

const utf8 = new TextDecoder('utf-8', { fatal: false });

/**
 * Percent-decoding (`%41`, `+` as space when `plus`), also IIS `%u0041`. Decoded bytes are read as
 * UTF-8 (invalid sequences become U+FFFD); malformed escapes stay literal.
 */
export function urlDecode(s: string, plus = false): string {
  let i = s.indexOf('%');
  const p = plus ? s.indexOf('+') : -1;
  if (i < 0 && p < 0) return s;
  if (i < 0 || (p >= 0 && p < i)) i = p;
  let out = s.slice(0, i);
  let bytes: number[] | null = null;
  const flush = (): void => {
    if (bytes !== null && bytes.length > 0) {
      out += utf8.decode(Uint8Array.from(bytes));
      bytes.length = 0;
    }
  };
  for (; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 0x25) {
      const h = hexVal(s.charCodeAt(i + 1));
      const l = hexVal(s.charCodeAt(i + 2));
      if (h >= 0 && l >= 0) {
        (bytes ??= []).push(h * 16 + l);
        i += 2;
        continue;
      }
      const n1 = s.charCodeAt(i + 1);
      if ((n1 === 0x75 || n1 === 0x55) && i + 5 < s.length + 0) {
        const a = hexVal(s.charCodeAt(i + 2));
        const b = hexVal(s.charCodeAt(i + 3));
        const d = hexVal(s.charCodeAt(i + 4));
        const e = hexVal(s.charCodeAt(i + 5));
        if (a >= 0 && b >= 0 && d >= 0 && e >= 0) {
          flush();
          out += String.fromCharCode((a << 12) | (b << 8) | (d << 4) | e);
          i += 5;
          continue;
        }
      }
      flush();
      out += '%';
      continue;
    }
    flush();
    out += plus && c === 0x2b ? ' ' : s[i];
  }
  flush();
  return out;
}

const NAMED: Readonly<Record<string, string>> = {
  lt: '<',
  gt: '>',
  amp: '&',
  quot: '"',
  apos: "'",
  nbsp: ' ',
  tab: '\t',
  newline: '\n',
  colon: ':',
  lpar: '(',
  rpar: ')',
  sol: '/',
  bsol: '\\',
  semi: ';',
  comma: ',',
  period: '.',
  excl: '!',
  num: '#',
  dollar: '$',
  percnt: '%',
  equals: '=',
  plus: '+',
  lsqb: '[',
  rsqb: ']',
  lcub: '{',
  rcub: '}',
  grave: '`',
  quest: '?',
  verbar: '|',
  ast: '*',
  hyphen: '-',
  lowbar: '_',
  commat: '@',
};

/** HTML character references: `&#60;`, `&#x3c;`, `&lt;` (the `;` is optional, as browsers allow). */
export function htmlEntityDecode(s: string): string {
  let i = s.indexOf('&');
  if (i < 0) return s;
  let out = s.slice(0, i);
  for (; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c !== 0x26) {
      out += s[i];
      continue;
    }
    let j = i + 1;
    if (s.charCodeAt(j) === 0x23) {
      j++;
      const hex = s.charCodeAt(j) === 0x78 || s.charCodeAt(j) === 0x58;
      if (hex) j++;
      let v = 0;
      const start = j;
      while (j < s.length && j - start < 8) {
        const d = hex ? hexVal(s.charCodeAt(j)) : s.charCodeAt(j) >= 48 && s.charCodeAt(j) <= 57 ? s.charCodeAt(j) - 48 : -1;
        if (d < 0) break;
        v = v * (hex ? 16 : 10) + d;
        j++;
      }
      if (j > start && v <= 0x10ffff) {
        out += String.fromCodePoint(v);
        if (s.charCodeAt(j) === 0x3b) j++;
        i = j - 1;
        continue;
      }
      out += '&';
      continue;
    }
    const start = j;
    while (j < s.length && j - start < 8) {
      const d = s.charCodeAt(j) | 0x20;
      if (d < 0x61 || d > 0x7a) break;
      j++;
    }
    const name = s.slice(start, j).toLowerCase();
    const rep = name.length > 0 ? NAMED[name] : undefined;
    if (rep !== undefined) {
      out += rep;
      if (s.charCodeAt(j) === 0x3b) j++;
      i = j - 1;
      continue;
    }
    out += '&';
  }
  return out;
}

/**
 * JavaScript / C / CSS escapes: `\x41`, `\u0041`, `\u{41}`, `\101` (octal), `\n`, and CSS `\41 `.
 * Other escaped characters lose their backslash.
 */
export function jsDecode(s: string): string {
  let i = s.indexOf('\\');
  if (i < 0) return s;
  let out = s.slice(0, i);
  for (; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c !== 0x5c || i + 1 >= s.length) {
      out += s[i];
      continue;
    }
    const n = s.charCodeAt(i + 1);
    if ((n === 0x78 || n === 0x58) && hexVal(s.charCodeAt(i + 2)) >= 0 && hexVal(s.charCodeAt(i + 3)) >= 0) {
      out += String.fromCharCode(hexVal(s.charCodeAt(i + 2)) * 16 + hexVal(s.charCodeAt(i + 3)));
      i += 3;
      continue;
    }
    if (n === 0x75 || n === 0x55) {
      if (s.charCodeAt(i + 2) === 0x7b) {
        let j = i + 3;
        let v = 0;
        while (j < s.length && j - i < 10 && hexVal(s.charCodeAt(j)) >= 0) v = v * 16 + hexVal(s.charCodeAt(j++));
        if (s.charCodeAt(j) === 0x7d && j > i + 3 && v <= 0x10ffff) {
          out += String.fromCodePoint(v);
          i = j;
          continue;
        }
      } else {
        const a = hexVal(s.charCodeAt(i + 2));
        const b = hexVal(s.charCodeAt(i + 3));
        const d = hexVal(s.charCodeAt(i + 4));
        const e = hexVal(s.charCodeAt(i + 5));
        if (a >= 0 && b >= 0 && d >= 0 && e >= 0) {
          out += String.fromCharCode((a << 12) | (b << 8) | (d << 4) | e);
          i += 5;
          continue;
        }
      }
    }
    if (n >= 0x30 && n <= 0x37) {
      let j = i + 1;
      let v = 0;
      while (j < s.length && j - i <= 3 && s.charCodeAt(j) >= 0x30 && s.charCodeAt(j) <= 0x37) v = v * 8 + (s.charCodeAt(j++) - 0x30);
      out += String.fromCharCode(v & 0xff);
      i = j - 1;
      continue;
    }
    switch (n) {
      case 0x6e:
        out += '\n';
        break;
      case 0x72:
        out += '\r';
        break;
      case 0x74:
        out += '\t';
        break;
      case 0x62:
        out += '\b';
        break;
      case 0x66:
        out += '\f';
        break;
      case 0x76:
        out += '\v';
        break;
      default: {
        // CSS: \41 (2-6 hex digits, optional space); else drop the backslash (shell: c\at)
        if (hexVal(n) >= 0 && hexVal(s.charCodeAt(i + 2)) >= 0) {
          let j = i + 1;
          let v = 0;
          while (j < s.length && j - i <= 6 && hexVal(s.charCodeAt(j)) >= 0) v = v * 16 + hexVal(s.charCodeAt(j++));
          if (v <= 0x10ffff && v > 0) {
            out += String.fromCodePoint(v);
            if (s.charCodeAt(j) === 0x20) j++;
            i = j - 1;
            continue;
          }
        }
        out += s[i + 1];
      }
    }
    i += 1;
  }
  return out;
}

/**
 * Unicode folding: full-width ASCII (U+FF01..U+FF5E) to ASCII, and NFKC for other compatibility
 * forms, so that `＜script＞` reads as `<script>`.
 */
export function unicodeFold(s: string): string {
  let ascii = true;
  for (let i = 0; i < s.length; i++) {
    if (s.charCodeAt(i) > 0x7f) {
      ascii = false;
      break;
    }
  }
  if (ascii || !NFKC_RELEVANT.test(s)) return s;
  return s.normalize('NFKC');
}

/** Characters NFKC changes into ASCII-like forms (full-width, compatibility, math letters, ...). */
const NFKC_RELEVANT =
  // biome-ignore lint/suspicious/noMisleadingCharacterClass: \ud835 and \ud83c are and combining marks are matched alone on purpose: the high surrogates of the math and enclosed alphanumerics
  /[\u00a0\u00aa\u00b2-\u00b5\u00b8-\u00ba\u00bc-\u00be\u0132-\u0133\u013f-\u0140\u017f\u01c4-\u01cc\u02b0-\u036f\u1d00-\u1dbf\u1e9e\u2000-\u2bff\u2e80-\u2fdf\u3000-\u33ff\ufb00-\ufb4f\ufe00-\ufe6f\uff00-\uffef\ud835\ud83c]/;

const MAX_ROUNDS = 4;

/** Needs any decoding at all? (cheap test that skips most values) */
export function mayDecode(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 0x25 || c === 0x26 || c === 0x5c || c > 0x7f) return true;
  }
  return false;
}

/** URL, HTML, JS and Unicode decoding applied repeatedly until the value is stable (at most 4 rounds). */
export function decodeAll(s: string): string {
  if (!mayDecode(s)) return s;
  let cur = s;
  for (let r = 0; r < MAX_ROUNDS; r++) {
    const next = unicodeFold(jsDecode(htmlEntityDecode(urlDecode(cur))));
    if (next === cur) break;
    cur = next;
  }
  return cur;
}
