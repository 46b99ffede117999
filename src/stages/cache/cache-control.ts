/**
 * Cache-Control parsing (RFC 9111 §5.2, RFC 9110 §5.6): `#( token [ "=" ( token / quoted-string ) ] )`.
 *
 * - Directive names are lowercased; values are unquoted (a quoted-string with `\` escapes); a comma
 *   inside a quoted-string does not split (`ext="max-age=5"` is not a max-age).
 * - Empty members and whitespace around members are tolerated.
 * - The first occurrence of a repeated directive is the one used (RFC 9111 §4.2.1 allows "the first
 *   occurrence" or "stale"); the repeat is recorded in `repeated`.
 * - A member that is not `name`, `name=token` or `name="..."` (e.g. `max-age =5`, `max-age= 5`,
 *   `max-age="5`) records its name as malformed with a null value: a restrictive directive
 *   (`no-store`, `private`, `no-cache`...) still applies, a value-bearing one is invalid.
 * - Bounded: combined value over MAX_FIELD_CHARS or more than MAX_MEMBERS members is `unparseable`
 *   (no directives): a response with one is not stored; in a request it is ignored.
 */

import { MAX_FIELD_CHARS, MAX_MEMBERS } from './fields.js';

/** Delta-seconds larger than this become this (RFC 9111 §1.2.2). */
export const DELTA_MAX = 2 ** 31;

export interface Directives {
  /** the field was present (at least one line) */
  readonly present: boolean;
  /** too long or too many members: nothing in it is interpreted */
  readonly unparseable: boolean;
  /** lowercase name → value (null when bare or malformed); first occurrence */
  readonly values: ReadonlyMap<string, string | null>;
  /** names seen more than once */
  readonly repeated: ReadonlySet<string>;
  /** names whose member was syntactically broken */
  readonly malformed: ReadonlySet<string>;
  /** read from a targeted field (CDN-Cache-Control, RFC 9213): Expires is then ignored */
  readonly targeted?: boolean;
}

const EMPTY: Directives = { present: false, unparseable: false, values: new Map(), repeated: new Set(), malformed: new Set() };

const TCHAR = /[!#$%&'*+\-.^_`|~0-9A-Za-z]/;
const isTchar = (c: string | undefined): boolean => c !== undefined && TCHAR.test(c);
const isOws = (c: string | undefined): boolean => c === ' ' || c === '\t';

export function parseCacheControl(value: string | readonly string[] | undefined): Directives {
  if (value === undefined) return EMPTY;
  const lines = typeof value === 'string' ? [value] : value;
  if (lines.length === 0) return EMPTY;
  let total = 0;
  for (const l of lines) if ((total += l.length + 2) > MAX_FIELD_CHARS + 2) return { ...EMPTY, present: true, unparseable: true };
  const s = lines.join(', ');
  const values = new Map<string, string | null>();
  const repeated = new Set<string>();
  const malformed = new Set<string>();
  let members = 0;
  let i = 0;
  const n = s.length;
  /** skips to just after the next comma outside a quoted-string */
  const skipMember = (): void => {
    while (i < n && s[i] !== ',') {
      if (s[i] === '"') {
        i++;
        while (i < n && s[i] !== '"') i += s[i] === '\\' ? 2 : 1;
      }
      i++;
    }
    i++;
  };
  while (i < n) {
    while (i < n && (isOws(s[i]) || s[i] === ',')) i++;
    if (i >= n) break;
    if (++members > MAX_MEMBERS) return { ...EMPTY, present: true, unparseable: true };
    const start = i;
    while (isTchar(s[i])) i++;
    const name = s.slice(start, i).toLowerCase();
    if (name === '') {
      skipMember();
      continue;
    }
    let val: string | null = null;
    let ok = true;
    if (s[i] === '=') {
      i++;
      if (s[i] === '"') {
        i++;
        let out = '';
        let closed = false;
        while (i < n) {
          const c = s[i]!;
          if (c === '"') {
            closed = true;
            i++;
            break;
          }
          if (c === '\\' && i + 1 < n) {
            out += s[i + 1];
            i += 2;
          } else {
            out += c;
            i++;
          }
        }
        if (closed) val = out;
        else ok = false;
      } else {
        const vs = i;
        while (isTchar(s[i])) i++;
        if (i === vs) ok = false;
        else val = s.slice(vs, i);
      }
    }
    while (isOws(s[i])) i++;
    if (i < n && s[i] !== ',') ok = false;
    if (!ok) {
      val = null;
      skipMember();
    } else i++;
    if (values.has(name)) {
      repeated.add(name);
      continue;
    }
    values.set(name, val);
    if (!ok) malformed.add(name);
  }
  return { present: true, unparseable: false, values, repeated, malformed };
}

/** Whether directive `name` is present (well-formed or not). */
export function hasDirective(d: Directives, name: string): boolean {
  return d.values.has(name);
}

/**
 * A delta-seconds directive: undefined when absent, 'invalid' when present but not 1*DIGIT (bare,
 * malformed, negative, decimal, alphabetic, single-quoted), else its value capped at DELTA_MAX.
 * A quoted form (`max-age="5"`) is accepted, as RFC 9111 §5.2 asks of recipients.
 */
export function deltaSeconds(d: Directives, name: string): number | 'invalid' | undefined {
  if (!d.values.has(name)) return undefined;
  const v = d.values.get(name);
  if (v === null || v === undefined || d.malformed.has(name)) return 'invalid';
  return parseDelta(v);
}

/** `1*DIGIT` capped at DELTA_MAX, or 'invalid'. */
export function parseDelta(v: string): number | 'invalid' {
  if (!/^[0-9]+$/.test(v)) return 'invalid';
  const digits = v.replace(/^0+(?=.)/, '');
  if (digits.length > 10) return DELTA_MAX;
  return Math.min(Number(digits), DELTA_MAX);
}

/* ---------------------------------------------------------------- targeted fields (RFC 9213) */

const SF_KEY = /^[a-z*][a-z0-9_\-.*]*/;
const SF_TOKEN = /^[A-Za-z*][!#$%&'*+\-.^_`|~0-9A-Za-z:/]*/;
const SF_DECIMAL = /^-?[0-9]{1,12}\.[0-9]{1,3}/;
const SF_INTEGER = /^-?[0-9]{1,15}/;

/**
 * A targeted cache-control field such as CDN-Cache-Control (RFC 9213 §2.1): an RFC 8941
 * Dictionary. Null when absent, empty, over the bounds or not a valid Dictionary (the field is
 * then ignored as a whole, §2.2). Otherwise Directives as parseCacheControl gives them, with
 * `targeted` set: an Integer value is its digits; a member of another type is recorded as
 * malformed (a restrictive directive still applies, a delta-seconds one is invalid); parameters
 * are ignored.
 */
export function parseTargeted(value: string | readonly string[] | undefined): Directives | null {
  if (value === undefined) return null;
  const lines = typeof value === 'string' ? [value] : value;
  if (lines.length === 0) return null;
  const s = lines.join(', ');
  if (s.length > MAX_FIELD_CHARS) return null;
  const values = new Map<string, string | null>();
  const malformed = new Set<string>();
  let i = 0;
  const n = s.length;
  const ows = (): void => {
    while (s[i] === ' ' || s[i] === '\t') i++;
  };
  /** an sf bare item at i: its kind, or null when invalid */
  const bareItem = (): { kind: 'integer' | 'other'; text: string } | null => {
    const rest = s.slice(i);
    const c = s[i];
    if (c === '"') {
      i++;
      while (i < n && s[i] !== '"') {
        if (s[i] === '\\') {
          if (s[i + 1] !== '"' && s[i + 1] !== '\\') return null;
          i++;
        } else if (s.charCodeAt(i) < 0x20 || s.charCodeAt(i) > 0x7e) return null;
        i++;
      }
      if (i >= n) return null;
      i++;
      return { kind: 'other', text: '' };
    }
    if (c === ':') {
      const m = /^:[A-Za-z0-9+/=]*:/.exec(rest);
      if (m === null) return null;
      i += m[0].length;
      return { kind: 'other', text: '' };
    }
    if (c === '?') {
      if (s[i + 1] !== '0' && s[i + 1] !== '1') return null;
      i += 2;
      return { kind: 'other', text: '' };
    }
    let m = SF_DECIMAL.exec(rest);
    if (m !== null) {
      i += m[0].length;
      return { kind: 'other', text: m[0] };
    }
    m = SF_INTEGER.exec(rest);
    if (m !== null) {
      if (/^[0-9.]/.test(s[i + m[0].length] ?? '')) return null;
      i += m[0].length;
      return { kind: 'integer', text: m[0] };
    }
    m = SF_TOKEN.exec(rest);
    if (m !== null) {
      i += m[0].length;
      return { kind: 'other', text: m[0] };
    }
    return null;
  };
  const params = (): boolean => {
    while (s[i] === ';') {
      i++;
      ows();
      const k = SF_KEY.exec(s.slice(i));
      if (k === null) return false;
      i += k[0].length;
      if (s[i] === '=') {
        i++;
        if (bareItem() === null) return false;
      }
    }
    return true;
  };
  let members = 0;
  ows();
  while (i < n) {
    if (++members > MAX_MEMBERS) return null;
    const k = SF_KEY.exec(s.slice(i));
    if (k === null) return null;
    const name = k[0];
    i += name.length;
    let val: string | null = null;
    let wrongType = false;
    if (s[i] === '=') {
      i++;
      if (s[i] === '(') {
        // an inner list: valid syntax, never a directive value
        i++;
        for (;;) {
          while (s[i] === ' ') i++;
          if (s[i] === ')') break;
          if (bareItem() === null || !params()) return null;
          if (s[i] !== ' ' && s[i] !== ')') return null;
        }
        i++;
        wrongType = true;
      } else {
        const item = bareItem();
        if (item === null) return null;
        if (item.kind === 'integer') val = item.text;
        else wrongType = true;
      }
    }
    if (!params()) return null;
    // the last of repeated keys wins in a Dictionary (RFC 8941 §4.2.2)
    values.set(name, val);
    if (wrongType) malformed.add(name);
    else malformed.delete(name);
    ows();
    if (i >= n) break;
    if (s[i] !== ',') return null;
    i++;
    ows();
    if (i >= n) return null;
  }
  if (values.size === 0) return null;
  return { present: true, unparseable: false, values, repeated: new Set(), malformed, targeted: true };
}
