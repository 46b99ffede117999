/**
 * One canonical request path (RFC 3986 section 6.2.2): percent-decoding of unreserved characters,
 * uppercase hex elsewhere, dot segments resolved, duplicate slashes merged. A path that cannot be
 * normalised unambiguously is refused, so that no later stage (or the upstream) can be bypassed by
 * an encoding the gateway and the upstream would read differently. Pure and synchronous.
 */

export type NormaliseResult =
  | { readonly ok: true; readonly path: string; readonly changed: boolean; readonly dotDot: boolean; readonly semicolon: boolean }
  | { readonly ok: false; readonly reason: string; readonly injection?: true };

/**
 * `;` in a path: Tomcat, Spring and Jetty cut each segment at `;` (path parameters, `;jsessionid`)
 * before they resolve dot segments, so `/..;/admin` climbs there, and `/admin;x` is `/admin`; most
 * Node and Python frameworks keep `;` as a character. `refuse` (the default) answers 400; `allow`
 * reads `..;x` and `.;x` as dot segments, and routing also tries the path with parameters cut.
 */
export type SemicolonPolicy = 'refuse' | 'allow';

const HEX = '0123456789ABCDEF';
const utf8 = new TextDecoder('utf-8', { fatal: true });

function hexVal(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  if (c >= 65 && c <= 70) return c - 55;
  if (c >= 97 && c <= 102) return c - 87;
  return -1;
}

function isUnreserved(b: number): boolean {
  return (b >= 0x61 && b <= 0x7a) || (b >= 0x41 && b <= 0x5a) || (b >= 0x30 && b <= 0x39) || b === 0x2d || b === 0x2e || b === 0x5f || b === 0x7e;
}

/** Characters allowed raw in a path (pchar and '/'), RFC 3986. */
function isPathChar(c: number): boolean {
  return (
    isUnreserved(c) ||
    c === 0x2f || // /
    c === 0x21 ||
    c === 0x24 ||
    (c >= 0x26 && c <= 0x2c) ||
    c === 0x3b ||
    c === 0x3d || // sub-delims ! $ & ' ( ) * + , ; =
    c === 0x3a ||
    c === 0x40 // : @
  );
}

// Linear: each segment's characters are consumed by one quantifier before a mandatory '/'.
// (The earlier `(?:[...]+\/?)*` backtracked exponentially on a long path with no match.)
// No ';' here: a path with one takes the slow path, which applies the semicolon policy.
const FAST_OK = /^\/(?:[A-Za-z0-9\-_~!$&'()*+,=:@]+\/)*[A-Za-z0-9\-_~!$&'()*+,=:@]*$/;

/** A segment that is a dot segment once its path parameters are cut ('..;x' -> '..'), else null. */
function dotSegment(s: string, semicolon: boolean): '.' | '..' | null {
  if (s === '.' || s === '..') return s;
  if (!semicolon) return null;
  const semi = s.indexOf(';');
  if (semi < 0) return null;
  const head = s.slice(0, semi);
  return head === '.' || head === '..' ? head : null;
}

/** Normalises a raw path (without the query). */
export function normalisePath(raw: string, semicolons: SemicolonPolicy = 'refuse'): NormaliseResult {
  if (raw.length === 0 || raw.charCodeAt(0) !== 0x2f) return { ok: false, reason: 'path must start with /' };
  // Fast path: only plain characters, no dots or percent signs, no empty segments.
  if (FAST_OK.test(raw)) return { ok: true, path: raw, changed: false, dotDot: false, semicolon: false };
  let semicolon = false;

  let out = '';
  const bytes: number[] = []; // pending percent-decoded non-unreserved bytes, checked as UTF-8
  let pendingEncoded = '';
  const flush = (): string | null => {
    if (bytes.length === 0) return null;
    try {
      utf8.decode(Uint8Array.from(bytes));
    } catch {
      return 'invalid or overlong UTF-8 in percent-encoding';
    }
    out += pendingEncoded;
    bytes.length = 0;
    pendingEncoded = '';
    return null;
  };
  for (let i = 0; i < raw.length; i++) {
    const c = raw.charCodeAt(i);
    if (c === 0x25) {
      const h = hexVal(raw.charCodeAt(i + 1));
      const l = hexVal(raw.charCodeAt(i + 2));
      if (h < 0 || l < 0) return { ok: false, reason: 'malformed percent-encoding' };
      const b = h * 16 + l;
      i += 2;
      if (b === 0x2f) return { ok: false, reason: 'encoded slash' };
      if (b === 0x5c) return { ok: false, reason: 'encoded backslash' };
      // CR/LF in a path is response splitting / header injection: an attack, not an ambiguity
      if (b === 0x0d || b === 0x0a) return { ok: false, reason: 'encoded CR or LF', injection: true };
      if (b < 0x20 || b === 0x7f) return { ok: false, reason: 'encoded control character' };
      if (b === 0x25) {
        // %25 followed by two hex digits is double encoding (%252e): ambiguous by design.
        if (hexVal(raw.charCodeAt(i + 1)) >= 0 && hexVal(raw.charCodeAt(i + 2)) >= 0) return { ok: false, reason: 'double percent-encoding' };
      }
      if (isUnreserved(b)) {
        const err = flush();
        if (err) return { ok: false, reason: err };
        out += String.fromCharCode(b);
      } else {
        bytes.push(b);
        pendingEncoded += `%${HEX[b >> 4]}${HEX[b & 15]}`;
      }
      continue;
    }
    const err = flush();
    if (err) return { ok: false, reason: err };
    if (c === 0x5c) return { ok: false, reason: 'backslash in path' };
    if (c < 0x20 || c === 0x7f) return { ok: false, reason: 'control character in path' };
    if (c > 0x7e) return { ok: false, reason: 'non-ASCII character in path' };
    if (c === 0x3b) {
      if (semicolons === 'refuse') return { ok: false, reason: "';' in path (path parameters are read differently by upstream frameworks)" };
      semicolon = true;
    }
    if (!isPathChar(c)) {
      // characters such as " < > ` { } | ^ [ ] are not allowed raw: encode them canonically
      out += `%${HEX[c >> 4]}${HEX[c & 15]}`;
      continue;
    }
    out += raw[i];
  }
  const err = flush();
  if (err) return { ok: false, reason: err };

  // merge duplicate slashes, then remove dot segments (RFC 3986 5.2.4); '..' above root stays at root
  const segs = out.split('/');
  const stack: string[] = [];
  const last = segs.length - 1;
  let dotDot = false;
  for (let i = 1; i < segs.length; i++) {
    const s = segs[i] as string;
    if (s === '' && i !== last) continue;
    const dot = dotSegment(s, semicolon);
    if (dot === '.') {
      if (i === last) stack.push('');
      continue;
    }
    if (dot === '..') {
      dotDot = true;
      stack.pop();
      if (i === last) stack.push('');
      continue;
    }
    stack.push(s);
  }
  const path = `/${stack.join('/')}`.replace(/\/{2,}/g, '/');
  return { ok: true, path, changed: path !== raw, dotDot, semicolon };
}

/** The path with each segment's `;` parameters cut ('/a;x/b;y=1' -> '/a/b'), as Tomcat and Spring read it. */
export function withoutPathParameters(path: string): string {
  return path.replace(/;[^/]*/g, '');
}

/** Decodes a canonical path segment for use as a parameter value (never throws on canonical input). */
export function decodeSegment(seg: string): string {
  if (!seg.includes('%')) return seg;
  try {
    return decodeURIComponent(seg);
  } catch {
    return seg;
  }
}

/** The host a Host header names, without its port, in lower case ('[::1]:8080' -> '[::1]'). */
export function hostWithoutPort(hostHeader: string): string {
  let colon: number;
  if (hostHeader.charCodeAt(0) === 0x5b /* [ */) colon = hostHeader.indexOf(']:') + 1;
  else {
    // a loop, not lastIndexOf: V8 runs lastIndexOf in the runtime, a call per request
    colon = hostHeader.length - 1;
    while (colon >= 0 && hostHeader.charCodeAt(colon) !== 0x3a /* : */) colon--;
  }
  return (colon > 0 ? hostHeader.slice(0, colon) : hostHeader).toLowerCase();
}
