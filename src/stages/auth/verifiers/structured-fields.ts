/**
 * Structured Field Values for HTTP (RFC 8941): the dictionary parser and the serializer that
 * HTTP Message Signatures (RFC 9421) and Content-Digest (RFC 9530) need. Strict: any deviation
 * from the grammar throws SfError; sizes are bounded by the caller and by `limits` here.
 */

export type BareItem =
  | { readonly t: 'int'; readonly v: number }
  | { readonly t: 'dec'; readonly v: number }
  | { readonly t: 'str'; readonly v: string }
  | { readonly t: 'tok'; readonly v: string }
  | { readonly t: 'bin'; readonly v: Buffer }
  | { readonly t: 'bool'; readonly v: boolean };

export type Params = ReadonlyMap<string, BareItem>;

export interface Item {
  readonly kind: 'item';
  readonly value: BareItem;
  readonly params: Params;
}

export interface InnerList {
  readonly kind: 'list';
  readonly items: readonly Item[];
  readonly params: Params;
}

export type Member = Item | InnerList;
export type Dictionary = ReadonlyMap<string, Member>;

export class SfError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SfError';
  }
}

export interface SfLimits {
  /** most dictionary members */
  readonly maxMembers: number;
  /** most items in one inner list */
  readonly maxListItems: number;
  /** most parameters on one item or list */
  readonly maxParams: number;
}

const DEFAULT_LIMITS: SfLimits = { maxMembers: 16, maxListItems: 32, maxParams: 16 };

const isDigit = (c: number): boolean => c >= 0x30 && c <= 0x39;
const isLcAlpha = (c: number): boolean => c >= 0x61 && c <= 0x7a;
const isAlpha = (c: number): boolean => isLcAlpha(c) || (c >= 0x41 && c <= 0x5a);
// tchar (RFC 9110) plus ':' and '/' for tokens
const TCHAR = new Set("!#$%&'*+-.^_`|~".split('').map((ch) => ch.charCodeAt(0)));
const isTokenChar = (c: number): boolean => isAlpha(c) || isDigit(c) || TCHAR.has(c) || c === 0x3a || c === 0x2f;
const isKeyChar = (c: number): boolean => isLcAlpha(c) || isDigit(c) || c === 0x5f || c === 0x2d || c === 0x2e || c === 0x2a;
const isB64Char = (c: number): boolean => isAlpha(c) || isDigit(c) || c === 0x2b || c === 0x2f || c === 0x3d;

class Parser {
  i = 0;
  constructor(
    readonly s: string,
    readonly limits: SfLimits,
  ) {}

  peek(): number {
    return this.i < this.s.length ? this.s.charCodeAt(this.i) : -1;
  }

  fail(what: string): never {
    throw new SfError(`${what} at offset ${this.i}`);
  }

  skipSP(): void {
    while (this.peek() === 0x20) this.i++;
  }

  skipOWS(): void {
    for (let c = this.peek(); c === 0x20 || c === 0x09; c = this.peek()) this.i++;
  }

  key(): string {
    const start = this.i;
    const c = this.peek();
    if (!(isLcAlpha(c) || c === 0x2a)) this.fail('key expected');
    this.i++;
    while (isKeyChar(this.peek())) this.i++;
    return this.s.slice(start, this.i);
  }

  params(): Params {
    const out = new Map<string, BareItem>();
    while (this.peek() === 0x3b /* ; */) {
      this.i++;
      this.skipSP();
      const k = this.key();
      let v: BareItem = { t: 'bool', v: true };
      if (this.peek() === 0x3d /* = */) {
        this.i++;
        v = this.bareItem();
      }
      out.set(k, v);
      if (out.size > this.limits.maxParams) this.fail('too many parameters');
    }
    return out;
  }

  item(): Item {
    const value = this.bareItem();
    return { kind: 'item', value, params: this.params() };
  }

  innerList(): InnerList {
    this.i++; // (
    const items: Item[] = [];
    for (;;) {
      this.skipSP();
      if (this.peek() === 0x29 /* ) */) {
        this.i++;
        return { kind: 'list', items, params: this.params() };
      }
      items.push(this.item());
      if (items.length > this.limits.maxListItems) this.fail('too many list items');
      const c = this.peek();
      if (c !== 0x20 && c !== 0x29) this.fail('space or ) expected in inner list');
    }
  }

  member(): Member {
    return this.peek() === 0x28 /* ( */ ? this.innerList() : this.item();
  }

  bareItem(): BareItem {
    const c = this.peek();
    if (c === 0x2d || isDigit(c)) return this.number();
    if (c === 0x22) return this.string();
    if (c === 0x2a || isAlpha(c)) return this.token();
    if (c === 0x3a) return this.bytes();
    if (c === 0x3f) return this.boolean();
    return this.fail('item expected');
  }

  number(): BareItem {
    const start = this.i;
    let neg = false;
    if (this.peek() === 0x2d) {
      neg = true;
      this.i++;
    }
    if (!isDigit(this.peek())) this.fail('digit expected');
    let dec = false;
    let intDigits = 0;
    let fracDigits = 0;
    for (;;) {
      const c = this.peek();
      if (isDigit(c)) {
        if (dec) fracDigits++;
        else intDigits++;
        this.i++;
      } else if (c === 0x2e && !dec) {
        if (intDigits > 12) this.fail('decimal too long');
        dec = true;
        this.i++;
      } else break;
      if (!dec && intDigits > 15) this.fail('integer too long');
      if (dec && fracDigits > 3) this.fail('decimal fraction too long');
    }
    const text = this.s.slice(neg ? start + 1 : start, this.i);
    if (dec) {
      if (fracDigits === 0) this.fail('decimal fraction expected');
      const v = Number(text);
      return { t: 'dec', v: neg ? -v : v };
    }
    const v = Number(text);
    return { t: 'int', v: neg ? -v : v };
  }

  string(): BareItem {
    this.i++; // "
    let out = '';
    for (;;) {
      const c = this.peek();
      if (c === -1) this.fail('unterminated string');
      this.i++;
      if (c === 0x5c /* \ */) {
        const n = this.peek();
        if (n !== 0x22 && n !== 0x5c) this.fail('bad escape in string');
        out += String.fromCharCode(n);
        this.i++;
      } else if (c === 0x22) {
        return { t: 'str', v: out };
      } else if (c < 0x20 || c > 0x7e) {
        this.fail('non-printable character in string');
      } else {
        out += String.fromCharCode(c);
      }
    }
  }

  token(): BareItem {
    const start = this.i;
    this.i++;
    while (isTokenChar(this.peek())) this.i++;
    return { t: 'tok', v: this.s.slice(start, this.i) };
  }

  bytes(): BareItem {
    this.i++; // :
    const start = this.i;
    while (isB64Char(this.peek())) this.i++;
    if (this.peek() !== 0x3a) this.fail('unterminated byte sequence');
    const b64 = this.s.slice(start, this.i);
    this.i++;
    // '=' only as trailing padding
    const eq = b64.indexOf('=');
    if (eq !== -1 && !/^=*$/.test(b64.slice(eq))) this.fail('bad base64 padding');
    if (b64.replace(/=+$/, '').length % 4 === 1) this.fail('bad base64 length');
    return { t: 'bin', v: Buffer.from(b64, 'base64') };
  }

  boolean(): BareItem {
    this.i++; // ?
    const c = this.peek();
    if (c !== 0x30 && c !== 0x31) this.fail('boolean expected');
    this.i++;
    return { t: 'bool', v: c === 0x31 };
  }
}

function checkAscii(s: string): void {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c > 0x7e || (c < 0x20 && c !== 0x09)) throw new SfError(`invalid character at offset ${i}`);
  }
}

/** Parses a Dictionary (RFC 8941 section 4.2.2). An empty field value is an empty dictionary. */
export function parseDictionary(input: string, limits: SfLimits = DEFAULT_LIMITS): Dictionary {
  checkAscii(input);
  const p = new Parser(input.replace(/^ +| +$/g, ''), limits);
  const out = new Map<string, Member>();
  if (p.s === '') return out;
  for (;;) {
    const k = p.key();
    let m: Member;
    if (p.peek() === 0x3d) {
      p.i++;
      m = p.member();
    } else {
      m = { kind: 'item', value: { t: 'bool', v: true }, params: p.params() };
    }
    out.set(k, m);
    if (out.size > limits.maxMembers) p.fail('too many dictionary members');
    p.skipOWS();
    if (p.peek() === -1) return out;
    if (p.peek() !== 0x2c) p.fail('comma expected');
    p.i++;
    p.skipOWS();
    if (p.peek() === -1) p.fail('trailing comma');
  }
}

/** Parses a single Item (RFC 8941 section 4.2.3), e.g. one covered component identifier. */
export function parseItem(input: string, limits: SfLimits = DEFAULT_LIMITS): Item {
  checkAscii(input);
  const p = new Parser(input.replace(/^ +| +$/g, ''), limits);
  const it = p.item();
  if (p.peek() !== -1) p.fail('trailing characters');
  return it;
}

// --- serialization (RFC 8941 section 4.1) -----------------------------------------------------

export function serializeBareItem(b: BareItem): string {
  switch (b.t) {
    case 'int':
      if (!Number.isInteger(b.v) || Math.abs(b.v) > 999_999_999_999_999) throw new SfError('integer out of range');
      return String(b.v);
    case 'dec': {
      const r = Math.round(b.v * 1000) / 1000;
      const s = String(r);
      return s.includes('.') ? s : `${s}.0`;
    }
    case 'str':
      for (let i = 0; i < b.v.length; i++) {
        const c = b.v.charCodeAt(i);
        if (c < 0x20 || c > 0x7e) throw new SfError('string has a non-printable character');
      }
      return `"${b.v.replace(/[\\"]/g, (m) => `\\${m}`)}"`;
    case 'tok':
      if (!/^[A-Za-z*][!#$%&'*+\-.^_`|~0-9A-Za-z:/]*$/.test(b.v)) throw new SfError('invalid token');
      return b.v;
    case 'bin':
      return `:${b.v.toString('base64')}:`;
    case 'bool':
      return b.v ? '?1' : '?0';
  }
}

export function serializeParams(params: Params): string {
  let out = '';
  for (const [k, v] of params) {
    if (!/^[a-z*][a-z0-9_\-.*]*$/.test(k)) throw new SfError('invalid key');
    out += v.t === 'bool' && v.v ? `;${k}` : `;${k}=${serializeBareItem(v)}`;
  }
  return out;
}

export function serializeItem(it: Item): string {
  return serializeBareItem(it.value) + serializeParams(it.params);
}

export function serializeInnerList(l: InnerList): string {
  return `(${l.items.map(serializeItem).join(' ')})${serializeParams(l.params)}`;
}

export function serializeDictionary(d: Dictionary): string {
  const parts: string[] = [];
  for (const [k, m] of d) {
    if (m.kind === 'item' && m.value.t === 'bool' && m.value.v) parts.push(k + serializeParams(m.params));
    else parts.push(`${k}=${m.kind === 'list' ? serializeInnerList(m) : serializeItem(m)}`);
  }
  return parts.join(', ');
}

// --- small constructors ------------------------------------------------------------------------

export const sfString = (v: string): BareItem => ({ t: 'str', v });
export const sfInt = (v: number): BareItem => ({ t: 'int', v });
export const sfBytes = (v: Buffer): BareItem => ({ t: 'bin', v });
export const sfItem = (value: BareItem, params: Params = new Map()): Item => ({ kind: 'item', value, params });
