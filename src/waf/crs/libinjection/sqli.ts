/**
 * A TypeScript port, by hand, of libinjection's SQLi detector (src/libinjection_sqli.c,
 * https://github.com/libinjection/libinjection at commit 85e252a). The code follows the C function by
 * function, with the C names in comments, so that a change upstream can be carried over.
 *
 * Copyright (c) 2012-2016, Nick Galbreath
 * Copyright 2021 LibInjection
 * All rights reserved.
 *
 * Redistribution and use in source and binary forms, with or without
 * modification, are permitted provided that the following conditions are
 * met:
 *
 * 1. Redistributions of source code must retain the above copyright
 * notice, this list of conditions and the following disclaimer.
 *
 * 2. Redistributions in binary form must reproduce the above copyright
 * notice, this list of conditions and the following disclaimer in the
 * documentation and/or other materials provided with the distribution.
 *
 * 3. Neither the name of the copyright holder nor the names of its
 * contributors may be used to endorse or promote products derived from
 * this software without specific prior written permission.
 *
 * THIS SOFTWARE IS PROVIDED BY THE COPYRIGHT HOLDERS AND CONTRIBUTORS
 * "AS IS" AND ANY EXPRESS OR IMPLIED WARRANTIES, INCLUDING, BUT NOT
 * LIMITED TO, THE IMPLIED WARRANTIES OF MERCHANTABILITY AND FITNESS FOR
 * A PARTICULAR PURPOSE ARE DISCLAIMED. IN NO EVENT SHALL THE COPYRIGHT
 * HOLDER OR CONTRIBUTORS BE LIABLE FOR ANY DIRECT, INDIRECT, INCIDENTAL,
 * SPECIAL, EXEMPLARY, OR CONSEQUENTIAL DAMAGES (INCLUDING, BUT NOT
 * LIMITED TO, PROCUREMENT OF SUBSTITUTE GOODS OR SERVICES; LOSS OF USE,
 * DATA, OR PROFITS; OR BUSINESS INTERRUPTION) HOWEVER CAUSED AND ON ANY
 * THEORY OF LIABILITY, WHETHER IN CONTRACT, STRICT LIABILITY, OR TORT
 * (INCLUDING NEGLIGENCE OR OTHERWISE) ARISING IN ANY WAY OUT OF THE USE
 * OF THIS SOFTWARE, EVEN IF ADVISED OF THE POSSIBILITY OF SUCH DAMAGE.
 *
 * Porting notes (where C and JavaScript differ):
 * - The input is bytes (Uint8Array). C's `char` is signed on the platforms ModSecurity runs on, so
 *   the few comparisons that depend on the sign (`ch < 33`, `ch <= 32`) treat bytes >= 0x80 as
 *   negative, as the C does.
 * - `strchr(set, ch)` finds the terminating NUL when ch is 0: NUL is in every character set that
 *   `strlenspn`, `strlencspn` and `char_is_white` use, and the tables below include it.
 * - A token's value (`val`, at most 31 bytes as in C) is a latin1 string, one char per byte.
 * - The keyword table is a hash table built once (sqli-data.ts); the generator checks that the C
 *   table is strictly sorted, so an exact-match lookup finds exactly what bsearch_keyword_type finds.
 * - One read of libinjection goes one byte past a token (the byte after a number in the "1c" check);
 *   past the end of the input it reads 0, as ModSecurity's NUL-terminated std::string gives.
 */
import { memchr } from './bytes.js';
import { SQLI_CHAR_MAP, SQLI_KEYWORDS, SQLI_PARSERS } from './sqli-data.js';

export const FLAG_NONE = 0;
export const FLAG_QUOTE_NONE = 1;
export const FLAG_QUOTE_SINGLE = 2;
export const FLAG_QUOTE_DOUBLE = 4;
export const FLAG_SQL_ANSI = 8;
export const FLAG_SQL_MYSQL = 16;

const code = (c: string): number => c.charCodeAt(0);

const TOKEN_SIZE = 32; // sizeof(stoken_t.val)
const MAX_TOKENS = 5;

const CHAR_NULL = 0;
const CHAR_SINGLE = code("'");
const CHAR_DOUBLE = code('"');
const CHAR_TICK = code('`');

const TYPE_NONE = 0;
const TYPE_KEYWORD = code('k');
const TYPE_UNION = code('U');
const TYPE_GROUP = code('B');
const TYPE_EXPRESSION = code('E');
const TYPE_SQLTYPE = code('t');
const TYPE_FUNCTION = code('f');
const TYPE_BAREWORD = code('n');
const TYPE_NUMBER = code('1');
const TYPE_VARIABLE = code('v');
const TYPE_STRING = code('s');
const TYPE_OPERATOR = code('o');
const TYPE_LOGIC_OPERATOR = code('&');
const TYPE_COMMENT = code('c');
const TYPE_COLLATE = code('A');
const TYPE_LEFTPARENS = code('(');
const TYPE_RIGHTPARENS = code(')');
const TYPE_LEFTBRACE = code('{');
const TYPE_RIGHTBRACE = code('}');
const TYPE_DOT = code('.');
const TYPE_COMMA = code(',');
const TYPE_COLON = code(':');
const TYPE_SEMICOLON = code(';');
const TYPE_TSQL = code('T');
const TYPE_UNKNOWN = code('?');
const TYPE_EVIL = code('X');
const TYPE_FINGERPRINT = code('F');
const TYPE_BACKSLASH = code('\\');

/** A byte set as a 256-entry table; `withNul` adds byte 0 (what C's strchr finds for it). */
function byteSet(chars: string, withNul: boolean): Uint8Array {
  const t = new Uint8Array(256);
  for (let i = 0; i < chars.length; i++) t[chars.charCodeAt(i) & 0xff] = 1;
  if (withNul) t[0] = 1;
  return t;
}

const WHITE = byteSet(' \t\n\v\f\r\u00a0', true);
const WORD_DELIMS = byteSet(' []{}<>:\\?=@!#~+-*/&|^%(),\';\t\n\v\f\r"\u00a0', true);
const VAR_DELIMS = byteSet(" <>:\\?=@!#~+-*/&|^%(),';\t\n\v\f\r'`\"", true);
const BINARY_DIGITS = byteSet('01', true);
const HEX_DIGITS = byteSet('0123456789ABCDEFabcdef', true);
const MONEY_CHARS = byteSet('0123456789.,', true);
const LETTERS = byteSet('abcdefghjiklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ', true);

/**
 * The keyword table (bsearch_keyword_type / libinjection_sqli_lookup_word), built once at load as an
 * open-addressing hash table over the upper-case words, so that a lookup hashes the input's bytes
 * (a-z folded to upper case, as cstrcasecmp does) without building a string. Every word is
 * printable ASCII: a key with a NUL or a byte >= 0x80 never equals one, in C or here.
 */
const KW_WORDS: string[] = [];
const KW_TYPES: number[] = [];
const KW_BITS = 15;
const KW_MASK = (1 << KW_BITS) - 1;
const KW_SLOTS = new Int32Array(1 << KW_BITS).fill(-1);

const foldUpper = (c: number): number => (c >= 97 && c <= 122 ? c - 0x20 : c);
const mix = (h: number, c: number): number => Math.imul(h ^ c, 0x01000193);

for (const line of SQLI_KEYWORDS.split('\n')) {
  const word = line.slice(1);
  let h = 0x811c9dc5;
  for (let i = 0; i < word.length; i++) h = mix(h, word.charCodeAt(i));
  let slot = h & KW_MASK;
  while (KW_SLOTS[slot] !== -1) slot = (slot + 1) & KW_MASK;
  KW_SLOTS[slot] = KW_WORDS.length;
  KW_WORDS.push(word);
  KW_TYPES.push(line.charCodeAt(0));
}

/** The type of the keyword s[start, start + len) (any case), or 0. */
function lookupBytes(s: Uint8Array, start: number, len: number): number {
  let h = 0x811c9dc5;
  for (let i = start; i < start + len; i++) {
    const c = s[i]!;
    if (c === 0 || c >= 0x80) return CHAR_NULL;
    h = mix(h, foldUpper(c));
  }
  for (let slot = h & KW_MASK; ; slot = (slot + 1) & KW_MASK) {
    const e = KW_SLOTS[slot]!;
    if (e === -1) return CHAR_NULL;
    const word = KW_WORDS[e]!;
    if (word.length !== len) continue;
    let i = 0;
    while (i < len && word.charCodeAt(i) === foldUpper(s[start + i]!)) i++;
    if (i === len) return KW_TYPES[e]!;
  }
}

const keyScratch = new Uint8Array(TOKEN_SIZE);

/** The type of the keyword `key` (a latin1 string of at most 31 chars, any case), or 0. */
function lookupWord(key: string): number {
  const len = key.length;
  const b = len <= keyScratch.length ? keyScratch : new Uint8Array(len);
  for (let i = 0; i < len; i++) b[i] = key.charCodeAt(i);
  return lookupBytes(b, 0, len);
}

/** cstrcasecmp(upper, val, n) == 0: `val`'s first n bytes, a-z upper-cased, equal `upper` exactly. */
function cstrcaseEq(upper: string, val: string, n: number): boolean {
  if (upper.length !== n) return false;
  for (let i = 0; i < n; i++) {
    let c = val.charCodeAt(i);
    if (c >= 97 && c <= 122) c -= 0x20;
    if (c !== upper.charCodeAt(i)) return false;
  }
  return true;
}

/** Bytes [start, start + len) as a latin1 string (len <= 31 here). */
function latin1(s: Uint8Array, start: number, len: number): string {
  if (len === 1) return String.fromCharCode(s[start]!);
  return String.fromCharCode.apply(null, s.subarray(start, start + len) as unknown as number[]);
}

/** strlenspn: how many bytes from `start` (before `end`) are in `set`. */
function spanIn(s: Uint8Array, start: number, end: number, set: Uint8Array): number {
  let i = start;
  while (i < end && set[s[i]!] === 1) i++;
  return i - start;
}

/** strlencspn: how many bytes from `start` (before `end`) are not in `set`. */
function spanNotIn(s: Uint8Array, start: number, end: number, set: Uint8Array): number {
  let i = start;
  while (i < end && set[s[i]!] !== 1) i++;
  return i - start;
}

/** memchr2: the index of the first "c0 c1" in [start, start + len), or -1. */
function memchr2(s: Uint8Array, start: number, len: number, c0: number, c1: number): number {
  if (len < 2) return -1;
  const last = start + len - 1;
  for (let cur = start; cur < last; cur++) {
    if (s[cur] === c0 && s[cur + 1] === c1) return cur;
  }
  return -1;
}

/**
 * my_memmem: the first occurrence of needle in [hStart, hStart + hLen), or -1. Linear here: the
 * needles are "sp_password" (fixed) and "$tag$", whose '$' occurs only at its ends, so the runs
 * compared from two candidate positions cannot overlap by more than the needle's length.
 */
function memmem(s: Uint8Array, hStart: number, hLen: number, needle: Uint8Array): number {
  const n = needle.length;
  const last = hStart + hLen - n;
  const first = needle[0];
  for (let cur = hStart; cur <= last; cur++) {
    if (s[cur] !== first) continue;
    let k = 1;
    while (k < n && s[cur + k] === needle[k]) k++;
    if (k === n) return cur;
  }
  return -1;
}

const SP_PASSWORD = Uint8Array.from('sp_password', (c) => c.charCodeAt(0));

/** stoken_t */
export class Token {
  pos = 0;
  len = 0;
  count = 0;
  type = 0;
  strOpen = 0;
  strClose = 0;
  /** at most 31 bytes, latin1 */
  val = '';

  clear(): void {
    this.pos = 0;
    this.len = 0;
    this.count = 0;
    this.type = 0;
    this.strOpen = 0;
    this.strClose = 0;
    this.val = '';
  }

  copyFrom(o: Token): void {
    this.pos = o.pos;
    this.len = o.len;
    this.count = o.count;
    this.type = o.type;
    this.strOpen = o.strOpen;
    this.strClose = o.strClose;
    this.val = o.val;
  }
}

/** st_assign_char */
function assignChar(st: Token, type: number, pos: number, value: number): void {
  st.type = type;
  st.pos = pos;
  st.len = 1;
  st.val = String.fromCharCode(value);
}

/** st_assign: the value is truncated to 31 bytes, and so is `len`. */
function assign(st: Token, type: number, pos: number, len: number, s: Uint8Array, start: number): void {
  const last = len < TOKEN_SIZE ? len : TOKEN_SIZE - 1;
  st.type = type;
  st.pos = pos;
  st.len = last;
  st.val = latin1(s, start, last);
}

/** struct libinjection_sqli_state */
export class SqliState {
  readonly s: Uint8Array;
  readonly slen: number;
  flags = 0;
  pos = 0;
  readonly tokenvec: Token[] = [new Token(), new Token(), new Token(), new Token(), new Token(), new Token(), new Token(), new Token()];
  current: Token;
  fingerprint = '';
  statsCommentDdw = 0;
  statsCommentDdx = 0;
  statsCommentC = 0;
  statsCommentHash = 0;
  statsFolds = 0;
  statsTokens = 0;

  /** libinjection_sqli_init */
  constructor(s: Uint8Array, flags: number) {
    this.s = s;
    this.slen = s.length;
    this.current = this.tokenvec[0]!;
    this.reset(flags);
  }

  /** libinjection_sqli_reset / the memset of libinjection_sqli_init */
  reset(flags: number): void {
    this.flags = flags === 0 ? FLAG_QUOTE_NONE | FLAG_SQL_ANSI : flags;
    this.pos = 0;
    for (const t of this.tokenvec) t.clear();
    this.current = this.tokenvec[0]!;
    this.fingerprint = '';
    this.statsCommentDdw = 0;
    this.statsCommentDdx = 0;
    this.statsCommentC = 0;
    this.statsCommentHash = 0;
    this.statsFolds = 0;
    this.statsTokens = 0;
  }
}

type Parser = (sf: SqliState) => number;

function parseWhite(sf: SqliState): number {
  return sf.pos + 1;
}

function parseOperator1(sf: SqliState): number {
  const pos = sf.pos;
  assignChar(sf.current, TYPE_OPERATOR, pos, sf.s[pos]!);
  return pos + 1;
}

function parseOther(sf: SqliState): number {
  const pos = sf.pos;
  assignChar(sf.current, TYPE_UNKNOWN, pos, sf.s[pos]!);
  return pos + 1;
}

function parseChar(sf: SqliState): number {
  const pos = sf.pos;
  const ch = sf.s[pos]!;
  assignChar(sf.current, ch, pos, ch);
  return pos + 1;
}

function parseEolComment(sf: SqliState): number {
  const { s, slen, pos } = sf;
  const endpos = memchr(s, 10, pos);
  if (endpos === -1) {
    assign(sf.current, TYPE_COMMENT, pos, slen - pos, s, pos);
    return slen;
  }
  assign(sf.current, TYPE_COMMENT, pos, endpos - pos, s, pos);
  return endpos + 1;
}

/** In ANSI mode, hash is an operator; in MySQL mode, an end-of-line comment. */
function parseHash(sf: SqliState): number {
  sf.statsCommentHash += 1;
  if (sf.flags & FLAG_SQL_MYSQL) {
    sf.statsCommentHash += 1;
    return parseEolComment(sf);
  }
  assignChar(sf.current, TYPE_OPERATOR, sf.pos, code('#'));
  return sf.pos + 1;
}

function parseDash(sf: SqliState): number {
  const { s, slen, pos } = sf;
  const dash = 45;
  if (pos + 2 < slen && s[pos + 1] === dash && WHITE[s[pos + 2]!] === 1) {
    return parseEolComment(sf);
  } else if (pos + 2 === slen && s[pos + 1] === dash) {
    return parseEolComment(sf);
  } else if (pos + 1 < slen && s[pos + 1] === dash && sf.flags & FLAG_SQL_ANSI) {
    sf.statsCommentDdx += 1;
    return parseEolComment(sf);
  }
  assignChar(sf.current, TYPE_OPERATOR, pos, dash);
  return pos + 1;
}

/** is_mysql_comment: "/x!" */
function isMysqlComment(s: Uint8Array, len: number, pos: number): boolean {
  if (pos + 2 >= len) return false;
  return s[pos + 2] === code('!');
}

function parseSlash(sf: SqliState): number {
  const { s, slen, pos } = sf;
  const star = 42;
  const slash = 47;
  let ctype = TYPE_COMMENT;
  const pos1 = pos + 1;
  if (pos1 === slen || s[pos1] !== star) return parseOperator1(sf);

  // skip over initial '/x'
  const ptr = memchr2(s, pos + 2, slen - (pos + 2), star, slash);
  const clen = ptr === -1 ? slen - pos : ptr + 2 - pos;

  // nested comments and MySQL conditional comments are banned outright
  if (ptr !== -1 && memchr2(s, pos + 2, ptr - (pos + 1), slash, star) !== -1) {
    ctype = TYPE_EVIL;
  } else if (isMysqlComment(s, slen, pos)) {
    ctype = TYPE_EVIL;
  }
  assign(sf.current, ctype, pos, clen, s, pos);
  return pos + clen;
}

function parseBackslash(sf: SqliState): number {
  const { s, slen, pos } = sf;
  // weird MySQL alias for NULL, "\N" (capital N only)
  if (pos + 1 < slen && s[pos + 1] === code('N')) {
    assign(sf.current, TYPE_NUMBER, pos, 2, s, pos);
    return pos + 2;
  }
  assignChar(sf.current, TYPE_BACKSLASH, pos, s[pos]!);
  return pos + 1;
}

function parseOperator2(sf: SqliState): number {
  const { s, slen, pos } = sf;
  if (pos + 1 >= slen) return parseOperator1(sf);
  if (pos + 2 < slen && s[pos] === code('<') && s[pos + 1] === code('=') && s[pos + 2] === code('>')) {
    assign(sf.current, TYPE_OPERATOR, pos, 3, s, pos);
    return pos + 3;
  }
  const ch = lookupBytes(s, pos, 2);
  if (ch !== CHAR_NULL) {
    assign(sf.current, ch, pos, 2, s, pos);
    return pos + 2;
  }
  if (s[pos] === code(':')) {
    assign(sf.current, TYPE_COLON, pos, 1, s, pos);
    return pos + 1;
  }
  return parseOperator1(sf);
}

/** is_backslash_escaped: an odd number of backslashes ending at `end` (not before `start`). */
function isBackslashEscaped(s: Uint8Array, end: number, start: number): boolean {
  let ptr = end;
  for (; ptr >= start; ptr--) {
    if (s[ptr] !== 92) break;
  }
  return ((end - ptr) & 1) === 1;
}

/** parse_string_core: `offset` skips a real opening quote (1) or none (0, a simulated one). */
function parseStringCore(s: Uint8Array, len: number, pos: number, st: Token, delim: number, offset: number): number {
  let qpos = memchr(s, delim, pos + offset);
  st.strOpen = offset > 0 ? delim : CHAR_NULL;
  for (;;) {
    if (qpos === -1) {
      // string ended with no trailing quote
      assign(st, TYPE_STRING, pos + offset, len - pos - offset, s, pos + offset);
      st.strClose = CHAR_NULL;
      return len;
    } else if (isBackslashEscaped(s, qpos - 1, pos + offset)) {
      qpos = memchr(s, delim, qpos + 1);
    } else if (qpos + 1 < len && s[qpos + 1] === s[qpos]) {
      // doubled delimiter: keep going
      qpos = memchr(s, delim, qpos + 2);
    } else {
      assign(st, TYPE_STRING, pos + offset, qpos - (pos + offset), s, pos + offset);
      st.strClose = delim;
      return qpos + 1;
    }
  }
}

/** Used when the first char is ' or " */
function parseString(sf: SqliState): number {
  return parseStringCore(sf.s, sf.slen, sf.pos, sf.current, sf.s[sf.pos]!, 1);
}

/** N or n: MySQL "National Character set"; E: PostgreSQL "Escaped String" */
function parseEstring(sf: SqliState): number {
  const { s, slen, pos } = sf;
  if (pos + 2 >= slen || s[pos + 1] !== CHAR_SINGLE) return parseWord(sf);
  return parseStringCore(s, slen, pos, sf.current, CHAR_SINGLE, 2);
}

function parseUstring(sf: SqliState): number {
  const { s, slen, pos } = sf;
  if (pos + 2 < slen && s[pos + 1] === code('&') && s[pos + 2] === CHAR_SINGLE) {
    sf.pos += 2;
    const next = parseString(sf);
    sf.current.strOpen = code('u');
    if (sf.current.strClose === CHAR_SINGLE) sf.current.strClose = code('u');
    return next;
  }
  return parseWord(sf);
}

function parseQstringCore(sf: SqliState, offset: number): number {
  const { s, slen } = sf;
  const pos = sf.pos + offset;
  if (pos >= slen || (s[pos] !== code('q') && s[pos] !== code('Q')) || pos + 2 >= slen || s[pos + 1] !== CHAR_SINGLE) {
    return parseWord(sf);
  }
  let ch = s[pos + 2]!;
  // C: `ch < 33` on a signed char, so bytes >= 0x80 count too
  if (ch < 33 || ch >= 0x80) return parseWord(sf);
  switch (ch) {
    case 40: // (
      ch = 41;
      break;
    case 91: // [
      ch = 93;
      break;
    case 123: // {
      ch = 125;
      break;
    case 60: // <
      ch = 62;
      break;
  }
  const strend = memchr2(s, pos + 3, slen - pos - 3, ch, CHAR_SINGLE);
  if (strend === -1) {
    assign(sf.current, TYPE_STRING, pos + 3, slen - pos - 3, s, pos + 3);
    sf.current.strOpen = code('q');
    sf.current.strClose = CHAR_NULL;
    return slen;
  }
  assign(sf.current, TYPE_STRING, pos + 3, strend - pos - 3, s, pos + 3);
  sf.current.strOpen = code('q');
  sf.current.strClose = code('q');
  return strend + 2;
}

/** Oracle's q string */
function parseQstring(sf: SqliState): number {
  return parseQstringCore(sf, 0);
}

/** MySQL's N'STRING' or Oracle's nq string */
function parseNqstring(sf: SqliState): number {
  if (sf.pos + 2 < sf.slen && sf.s[sf.pos + 1] === CHAR_SINGLE) return parseEstring(sf);
  return parseQstringCore(sf, 1);
}

/** binary literal string [bB]'[01]*' and hex literal string [xX]'[0-9a-fA-F]*' */
function parseDigitString(sf: SqliState, digits: Uint8Array): number {
  const { s, slen, pos } = sf;
  if (pos + 2 >= slen || s[pos + 1] !== CHAR_SINGLE) return parseWord(sf);
  const wlen = spanIn(s, pos + 2, slen, digits);
  if (pos + 2 + wlen >= slen || s[pos + 2 + wlen] !== CHAR_SINGLE) return parseWord(sf);
  assign(sf.current, TYPE_NUMBER, pos, wlen + 3, s, pos);
  return pos + 2 + wlen + 1;
}

function parseBstring(sf: SqliState): number {
  return parseDigitString(sf, BINARY_DIGITS);
}

function parseXstring(sf: SqliState): number {
  return parseDigitString(sf, HEX_DIGITS);
}

/** MS SQL Server bracket words */
function parseBword(sf: SqliState): number {
  const { s, slen, pos } = sf;
  const endptr = memchr(s, 93, pos);
  if (endptr === -1) {
    assign(sf.current, TYPE_BAREWORD, pos, slen - pos, s, pos);
    return slen;
  }
  assign(sf.current, TYPE_BAREWORD, pos, endptr - pos + 1, s, pos);
  return endptr + 1;
}

function parseWord(sf: SqliState): number {
  const { s, slen, pos } = sf;
  const wlen = spanNotIn(s, pos, slen, WORD_DELIMS);
  const cur = sf.current;
  assign(cur, TYPE_BAREWORD, pos, wlen, s, pos);

  // look inside for "." and "`": is what comes before a keyword?
  for (let i = 0; i < cur.len; ++i) {
    const delim = s[pos + i];
    if (delim === 46 || delim === 96) {
      const ch = lookupBytes(s, pos, i);
      if (ch !== TYPE_NONE && ch !== TYPE_BAREWORD) {
        // "SELECT.1" or SELECT`column`
        cur.clear();
        assign(cur, ch, pos, i, s, pos);
        return pos + i;
      }
    }
  }
  // normal lookup with the word including '.'
  if (wlen < TOKEN_SIZE) {
    const ch = lookupBytes(s, pos, wlen);
    cur.type = ch === CHAR_NULL ? TYPE_BAREWORD : ch;
  }
  return pos + wlen;
}

/** MySQL backticks: a cross between a string and a bare word */
function parseTick(sf: SqliState): number {
  const pos = parseStringCore(sf.s, sf.slen, sf.pos, sf.current, CHAR_TICK, 1);
  const ch = lookupWord(sf.current.val);
  sf.current.type = ch === TYPE_FUNCTION ? TYPE_FUNCTION : TYPE_BAREWORD;
  return pos;
}

function parseVar(sf: SqliState): number {
  const { s, slen } = sf;
  let pos = sf.pos + 1;
  // move past an optional second '@'
  if (pos < slen && s[pos] === 64) {
    pos += 1;
    sf.current.count = 2;
  } else {
    sf.current.count = 1;
  }
  // MySQL allows @@`version`
  if (pos < slen) {
    if (s[pos] === CHAR_TICK) {
      sf.pos = pos;
      pos = parseTick(sf);
      sf.current.type = TYPE_VARIABLE;
      return pos;
    } else if (s[pos] === CHAR_SINGLE || s[pos] === CHAR_DOUBLE) {
      sf.pos = pos;
      pos = parseString(sf);
      sf.current.type = TYPE_VARIABLE;
      return pos;
    }
  }
  const xlen = spanNotIn(s, pos, slen, VAR_DELIMS);
  assign(sf.current, TYPE_VARIABLE, pos, xlen, s, pos);
  return pos + xlen;
}

function parseMoney(sf: SqliState): number {
  const { s, slen, pos } = sf;
  const dollar = 36;
  if (pos + 1 === slen) {
    assignChar(sf.current, TYPE_BAREWORD, pos, dollar);
    return slen;
  }
  // $1,000.00 or $1.000,00 ok! This also parses $....,,,111 but that's ok
  let xlen = spanIn(s, pos + 1, slen, MONEY_CHARS);
  if (xlen === 0) {
    if (s[pos + 1] === dollar) {
      // $$ .. find the ending $$ and make a string
      const strend = memchr2(s, pos + 2, slen - pos - 2, dollar, dollar);
      if (strend === -1) {
        assign(sf.current, TYPE_STRING, pos + 2, slen - (pos + 2), s, pos + 2);
        sf.current.strOpen = dollar;
        sf.current.strClose = CHAR_NULL;
        return slen;
      }
      assign(sf.current, TYPE_STRING, pos + 2, strend - (pos + 2), s, pos + 2);
      sf.current.strOpen = dollar;
      sf.current.strClose = dollar;
      return strend + 2;
    }
    // maybe PostgreSQL "$tag$ quoted strings"
    xlen = spanIn(s, pos + 1, slen, LETTERS);
    if (xlen === 0) {
      assignChar(sf.current, TYPE_BAREWORD, pos, dollar);
      return pos + 1;
    }
    if (pos + xlen + 1 === slen || s[pos + xlen + 1] !== dollar) {
      assignChar(sf.current, TYPE_BAREWORD, pos, dollar);
      return pos + 1;
    }
    // we have $foobar$ ... find it again
    const start = pos + xlen + 2;
    const strend = memmem(s, start, slen - start, s.subarray(pos, pos + xlen + 2));
    if (strend === -1) {
      assign(sf.current, TYPE_STRING, start, slen - start, s, start);
      sf.current.strOpen = dollar;
      sf.current.strClose = CHAR_NULL;
      return slen;
    }
    assign(sf.current, TYPE_STRING, start, strend - start, s, start);
    sf.current.strOpen = dollar;
    sf.current.strClose = dollar;
    return strend + xlen + 2;
  } else if (xlen === 1 && s[pos + 1] === 46) {
    // "$." is a word
    return parseWord(sf);
  }
  assign(sf.current, TYPE_NUMBER, pos, 1 + xlen, s, pos);
  return pos + 1 + xlen;
}

const isDigit = (b: number | undefined): boolean => b !== undefined && b >= 48 && b <= 57;

function parseNumber(sf: SqliState): number {
  const { s, slen } = sf;
  let pos = sf.pos;
  let haveE = false;
  let haveExp = false;

  if (s[pos] === 48 && pos + 1 < slen) {
    const next = s[pos + 1];
    const digits = next === code('X') || next === code('x') ? HEX_DIGITS : next === code('B') || next === code('b') ? BINARY_DIGITS : null;
    if (digits !== null) {
      const xlen = spanIn(s, pos + 2, slen, digits);
      if (xlen === 0) {
        assign(sf.current, TYPE_BAREWORD, pos, 2, s, pos);
        return pos + 2;
      }
      assign(sf.current, TYPE_NUMBER, pos, 2 + xlen, s, pos);
      return pos + 2 + xlen;
    }
  }

  const start = pos;
  while (pos < slen && isDigit(s[pos])) pos += 1;
  if (pos < slen && s[pos] === 46) {
    pos += 1;
    while (pos < slen && isDigit(s[pos])) pos += 1;
    if (pos - start === 1) {
      // only one character read so far
      assignChar(sf.current, TYPE_DOT, start, 46);
      return pos;
    }
  }
  if (pos < slen && (s[pos] === code('E') || s[pos] === code('e'))) {
    haveE = true;
    pos += 1;
    if (pos < slen && (s[pos] === code('+') || s[pos] === code('-'))) pos += 1;
    while (pos < slen && isDigit(s[pos])) {
      haveExp = true;
      pos += 1;
    }
  }
  // Oracle's ending float or double suffix
  if (pos < slen && (s[pos] === code('d') || s[pos] === code('D') || s[pos] === code('f') || s[pos] === code('F'))) {
    if (pos + 1 === slen) {
      pos += 1;
    } else if (WHITE[s[pos + 1]!] === 1 || s[pos + 1] === code(';')) {
      pos += 1;
    } else if (s[pos + 1] === code('u') || s[pos + 1] === code('U')) {
      // makes '1fUNION' parse as '1f UNION'
      pos += 1;
    }
  }
  if (haveE && !haveExp) {
    // "1234.e", "10.10E", ".E": a word, not a number
    assign(sf.current, TYPE_BAREWORD, start, pos - start, s, start);
  } else {
    assign(sf.current, TYPE_NUMBER, start, pos - start, s, start);
  }
  return pos;
}

const PARSERS_BY_NAME: Record<(typeof SQLI_PARSERS)[number], Parser> = {
  backslash: parseBackslash,
  bstring: parseBstring,
  bword: parseBword,
  char: parseChar,
  dash: parseDash,
  estring: parseEstring,
  hash: parseHash,
  money: parseMoney,
  nqstring: parseNqstring,
  number: parseNumber,
  operator1: parseOperator1,
  operator2: parseOperator2,
  other: parseOther,
  qstring: parseQstring,
  slash: parseSlash,
  string: parseString,
  tick: parseTick,
  ustring: parseUstring,
  var: parseVar,
  white: parseWhite,
  word: parseWord,
  xstring: parseXstring,
};

/** char_parse_map: the parser for each byte value */
const CHAR_PARSE_MAP: readonly Parser[] = Array.from(SQLI_CHAR_MAP, (letter) => PARSERS_BY_NAME[SQLI_PARSERS[letter.charCodeAt(0) - 97]!]);

/** libinjection_sqli_tokenize: reads the next token into sf.current; false at the end. */
export function sqliTokenize(sf: SqliState): boolean {
  const current = sf.current;
  const slen = sf.slen;
  if (slen === 0) return false;
  current.clear();

  // at the start, in single- or double-quote mode, pretend the input starts with a quote
  if (sf.pos === 0 && sf.flags & (FLAG_QUOTE_SINGLE | FLAG_QUOTE_DOUBLE)) {
    const delim = sf.flags & FLAG_QUOTE_SINGLE ? CHAR_SINGLE : sf.flags & FLAG_QUOTE_DOUBLE ? CHAR_DOUBLE : CHAR_NULL;
    sf.pos = parseStringCore(sf.s, slen, 0, current, delim, 0);
    sf.statsTokens += 1;
    return true;
  }
  while (sf.pos < slen) {
    sf.pos = CHAR_PARSE_MAP[sf.s[sf.pos]!]!(sf);
    if (current.type !== CHAR_NULL) {
      sf.statsTokens += 1;
      return true;
    }
  }
  return false;
}

function isArithmeticOp(st: Token): boolean {
  const ch = st.val.charCodeAt(0);
  return st.type === TYPE_OPERATOR && st.len === 1 && (ch === 42 || ch === 47 || ch === 45 || ch === 43 || ch === 37);
}

function isUnaryOp(st: Token): boolean {
  if (st.type !== TYPE_OPERATOR) return false;
  const str = st.val;
  switch (st.len) {
    case 1:
      return str === '+' || str === '-' || str === '!' || str === '~';
    case 2:
      return str === '!!';
    case 3:
      return cstrcaseEq('NOT', str, 3);
    default:
      return false;
  }
}

const MERGE_FIRST = new Set([TYPE_KEYWORD, TYPE_BAREWORD, TYPE_OPERATOR, TYPE_UNION, TYPE_FUNCTION, TYPE_EXPRESSION, TYPE_TSQL, TYPE_SQLTYPE]);
const MERGE_SECOND = new Set([...MERGE_FIRST, TYPE_LOGIC_OPERATOR]);

/** syntax_merge_words: "UNION" + "ALL" → "UNION ALL" when the phrase is in the table. */
function mergeWords(a: Token, b: Token): boolean {
  if (!MERGE_FIRST.has(a.type) || !MERGE_SECOND.has(b.type)) return false;
  const sz3 = a.len + b.len + 1;
  if (sz3 >= TOKEN_SIZE) return false;
  const tmp = `${a.val} ${b.val}`;
  const ch = lookupWord(tmp);
  if (ch === CHAR_NULL) return false;
  a.type = ch;
  a.len = sz3;
  a.val = tmp;
  return true;
}

const FUNCTION_LIKE_WORDS = [
  'USER_ID',
  'USER_NAME',
  'DATABASE',
  'PASSWORD',
  'USER',
  'CURRENT_USER',
  'CURRENT_DATE',
  'CURRENT_TIME',
  'CURRENT_TIMESTAMP',
  'LOCALTIME',
  'LOCALTIMESTAMP',
];

/** libinjection_sqli_fold: tokenizes and folds; returns the number of tokens in tokenvec. */
export function sqliFold(sf: SqliState): number {
  const lastComment = new Token();
  const tv = sf.tokenvec;
  // pos: where the NEXT token goes; left: how many tokens are already folded
  let pos = 0;
  let left = 0;
  let more = true;

  // skip all initial comments, right-parens ( and unary operators
  sf.current = tv[0]!;
  while (more) {
    more = sqliTokenize(sf);
    const t = sf.current;
    if (!(t.type === TYPE_COMMENT || t.type === TYPE_LEFTPARENS || t.type === TYPE_SQLTYPE || isUnaryOp(t))) break;
  }
  if (!more) return 0;
  pos += 1;

  /**
   * Reads tokens into tv[pos...] until `count` follow `left` (a comment is kept aside in
   * lastComment, not counted); false when the input ended first.
   */
  const fill = (count: number): boolean => {
    while (more && pos <= MAX_TOKENS && pos - left < count) {
      sf.current = tv[pos]!;
      more = sqliTokenize(sf);
      if (more) {
        if (sf.current.type === TYPE_COMMENT) {
          lastComment.copyFrom(sf.current);
        } else {
          lastComment.type = CHAR_NULL;
          pos += 1;
        }
      }
    }
    return pos - left >= count;
  };

  for (;;) {
    // with the maximum number of tokens, some special cases for 5 tokens
    if (pos >= MAX_TOKENS) {
      const [t0, t1, t2, t3, t4] = [tv[0]!.type, tv[1]!.type, tv[2]!.type, tv[3]!.type, tv[4]!.type];
      if (
        (t0 === TYPE_NUMBER && (t1 === TYPE_OPERATOR || t1 === TYPE_COMMA) && t2 === TYPE_LEFTPARENS && t3 === TYPE_NUMBER && t4 === TYPE_RIGHTPARENS) ||
        (t0 === TYPE_BAREWORD && t1 === TYPE_OPERATOR && t2 === TYPE_LEFTPARENS && (t3 === TYPE_BAREWORD || t3 === TYPE_NUMBER) && t4 === TYPE_RIGHTPARENS) ||
        (t0 === TYPE_NUMBER && t1 === TYPE_RIGHTPARENS && t2 === TYPE_COMMA && t3 === TYPE_LEFTPARENS && t4 === TYPE_NUMBER) ||
        (t0 === TYPE_BAREWORD && t1 === TYPE_RIGHTPARENS && t2 === TYPE_OPERATOR && t3 === TYPE_LEFTPARENS && t4 === TYPE_BAREWORD)
      ) {
        if (pos > MAX_TOKENS) {
          tv[1]!.copyFrom(tv[MAX_TOKENS]!);
          pos = 2;
          left = 0;
        } else {
          pos = 1;
          left = 0;
        }
      }
    }

    if (!more || left >= MAX_TOKENS) {
      left = pos;
      break;
    }

    // get up to two tokens; did we get 2 tokens? if not then we are done
    if (!fill(2)) {
      left = pos;
      continue;
    }

    const a = tv[left]!;
    const b = tv[left + 1]!;
    if (a.type === TYPE_STRING && b.type === TYPE_STRING) {
      // "foo" "bar" is valid SQL: ignore the second string
      pos -= 1;
      sf.statsFolds += 1;
      continue;
    } else if (a.type === TYPE_SEMICOLON && b.type === TYPE_SEMICOLON) {
      // fold away repeated semicolons
      pos -= 1;
      sf.statsFolds += 1;
      continue;
    } else if ((a.type === TYPE_OPERATOR || a.type === TYPE_LOGIC_OPERATOR) && (isUnaryOp(b) || b.type === TYPE_SQLTYPE)) {
      pos -= 1;
      sf.statsFolds += 1;
      left = 0;
      continue;
    } else if (a.type === TYPE_LEFTPARENS && isUnaryOp(b)) {
      pos -= 1;
      sf.statsFolds += 1;
      if (left > 0) left -= 1;
      continue;
    } else if (mergeWords(a, b)) {
      pos -= 1;
      sf.statsFolds += 1;
      if (left > 0) left -= 1;
      continue;
    } else if (
      a.type === TYPE_SEMICOLON &&
      b.type === TYPE_FUNCTION &&
      (b.val.charCodeAt(0) === code('I') || b.val.charCodeAt(0) === code('i')) &&
      (b.val.charCodeAt(1) === code('F') || b.val.charCodeAt(1) === code('f'))
    ) {
      // IF after a semicolon is Transact-SQL control flow, not a function
      b.type = TYPE_TSQL;
      continue;
    } else if (
      (a.type === TYPE_BAREWORD || a.type === TYPE_VARIABLE) &&
      b.type === TYPE_LEFTPARENS &&
      FUNCTION_LIKE_WORDS.some((w) => cstrcaseEq(w, a.val, a.len))
    ) {
      a.type = TYPE_FUNCTION;
      continue;
    } else if (a.type === TYPE_KEYWORD && (cstrcaseEq('IN', a.val, a.len) || cstrcaseEq('NOT IN', a.val, a.len))) {
      // IN ( ... is an operator; otherwise it's nothing
      a.type = b.type === TYPE_LEFTPARENS ? TYPE_OPERATOR : TYPE_BAREWORD;
      continue;
    } else if (a.type === TYPE_OPERATOR && (cstrcaseEq('LIKE', a.val, a.len) || cstrcaseEq('NOT LIKE', a.val, a.len))) {
      if (b.type === TYPE_LEFTPARENS) {
        // SELECT LIKE(... is a function
        a.type = TYPE_FUNCTION;
      }
    } else if (
      a.type === TYPE_SQLTYPE &&
      (b.type === TYPE_BAREWORD ||
        b.type === TYPE_NUMBER ||
        b.type === TYPE_SQLTYPE ||
        b.type === TYPE_LEFTPARENS ||
        b.type === TYPE_FUNCTION ||
        b.type === TYPE_VARIABLE ||
        b.type === TYPE_STRING)
    ) {
      a.copyFrom(b);
      pos -= 1;
      sf.statsFolds += 1;
      left = 0;
      continue;
    } else if (a.type === TYPE_COLLATE && b.type === TYPE_BAREWORD) {
      // a collation type has a "_" (C: strchr on the NUL-terminated value)
      const nul = b.val.indexOf('\0');
      if ((nul === -1 ? b.val : b.val.slice(0, nul)).includes('_')) {
        b.type = TYPE_SQLTYPE;
        left = 0;
      }
    } else if (a.type === TYPE_BACKSLASH) {
      if (isArithmeticOp(b)) {
        // T-SQL parses '\%1' as '0 % 1'
        a.type = TYPE_NUMBER;
      } else {
        // T-SQL parses \1 as "1"
        a.copyFrom(b);
        pos -= 1;
        sf.statsFolds += 1;
      }
      left = 0;
      continue;
    } else if (a.type === TYPE_LEFTPARENS && b.type === TYPE_LEFTPARENS) {
      pos -= 1;
      left = 0;
      sf.statsFolds += 1;
      continue;
    } else if (a.type === TYPE_RIGHTPARENS && b.type === TYPE_RIGHTPARENS) {
      pos -= 1;
      left = 0;
      sf.statsFolds += 1;
      continue;
    } else if (a.type === TYPE_LEFTBRACE && b.type === TYPE_BAREWORD) {
      // MySQL's degenerate { ``.``.id } case is banned
      if (b.len === 0) {
        b.type = TYPE_EVIL;
        return left + 2;
      }
      // ODBC / MySQL {foo expr} --> expr
      left = 0;
      pos -= 2;
      sf.statsFolds += 2;
      continue;
    } else if (b.type === TYPE_RIGHTBRACE) {
      pos -= 1;
      left = 0;
      sf.statsFolds += 1;
      continue;
    }

    // no two-token fold: get one more token; do we have three tokens? if not then we are done
    if (!fill(3)) {
      left = pos;
      continue;
    }

    const x = tv[left]!;
    const y = tv[left + 1]!;
    const z = tv[left + 2]!;
    if (x.type === TYPE_NUMBER && y.type === TYPE_OPERATOR && z.type === TYPE_NUMBER) {
      pos -= 2;
      left = 0;
      continue;
    } else if (x.type === TYPE_OPERATOR && y.type !== TYPE_LEFTPARENS && z.type === TYPE_OPERATOR) {
      left = 0;
      pos -= 2;
      continue;
    } else if (x.type === TYPE_LOGIC_OPERATOR && z.type === TYPE_LOGIC_OPERATOR) {
      pos -= 2;
      left = 0;
      continue;
    } else if (x.type === TYPE_VARIABLE && y.type === TYPE_OPERATOR && (z.type === TYPE_VARIABLE || z.type === TYPE_NUMBER || z.type === TYPE_BAREWORD)) {
      pos -= 2;
      left = 0;
      continue;
    } else if ((x.type === TYPE_BAREWORD || x.type === TYPE_NUMBER) && y.type === TYPE_OPERATOR && (z.type === TYPE_NUMBER || z.type === TYPE_BAREWORD)) {
      pos -= 2;
      left = 0;
      continue;
    } else if (
      (x.type === TYPE_BAREWORD || x.type === TYPE_NUMBER || x.type === TYPE_VARIABLE || x.type === TYPE_STRING) &&
      y.type === TYPE_OPERATOR &&
      y.val === '::' &&
      z.type === TYPE_SQLTYPE
    ) {
      pos -= 2;
      left = 0;
      sf.statsFolds += 2;
      continue;
    } else if (
      (x.type === TYPE_BAREWORD || x.type === TYPE_NUMBER || x.type === TYPE_STRING || x.type === TYPE_VARIABLE) &&
      y.type === TYPE_COMMA &&
      (z.type === TYPE_NUMBER || z.type === TYPE_BAREWORD || z.type === TYPE_STRING || z.type === TYPE_VARIABLE)
    ) {
      pos -= 2;
      left = 0;
      continue;
    } else if ((x.type === TYPE_EXPRESSION || x.type === TYPE_GROUP || x.type === TYPE_COMMA) && isUnaryOp(y) && z.type === TYPE_LEFTPARENS) {
      // SELECT + (, LIMIT + ( : remove the unary operator
      y.copyFrom(z);
      pos -= 1;
      left = 0;
      continue;
    } else if (
      (x.type === TYPE_KEYWORD || x.type === TYPE_EXPRESSION || x.type === TYPE_GROUP) &&
      isUnaryOp(y) &&
      (z.type === TYPE_NUMBER || z.type === TYPE_BAREWORD || z.type === TYPE_VARIABLE || z.type === TYPE_STRING || z.type === TYPE_FUNCTION)
    ) {
      // select - 1
      y.copyFrom(z);
      pos -= 1;
      left = 0;
      continue;
    } else if (
      x.type === TYPE_COMMA &&
      isUnaryOp(y) &&
      (z.type === TYPE_NUMBER || z.type === TYPE_BAREWORD || z.type === TYPE_VARIABLE || z.type === TYPE_STRING)
    ) {
      // ", -1" → ",1", then back up: "1,-1" → "1"
      y.copyFrom(z);
      left = 0;
      pos -= 3;
      continue;
    } else if (x.type === TYPE_COMMA && isUnaryOp(y) && z.type === TYPE_FUNCTION) {
      // 1,-sin(1) → 1,sin(1)
      y.copyFrom(z);
      pos -= 1;
      left = 0;
      continue;
    } else if (x.type === TYPE_BAREWORD && y.type === TYPE_DOT && z.type === TYPE_BAREWORD) {
      // databasename.table: ignore the '.n'
      pos -= 2;
      left = 0;
      continue;
    } else if (x.type === TYPE_EXPRESSION && y.type === TYPE_DOT && z.type === TYPE_BAREWORD) {
      // select . `foo` → select `foo`
      y.copyFrom(z);
      pos -= 1;
      left = 0;
      continue;
    } else if (x.type === TYPE_FUNCTION && y.type === TYPE_LEFTPARENS && z.type !== TYPE_RIGHTPARENS) {
      // USER() has no arguments: User(foo) is not the function
      if (cstrcaseEq('USER', x.val, x.len)) x.type = TYPE_BAREWORD;
    }

    // no folding: the left-most token is good; keep the other two
    left += 1;
  }

  // with 4 tokens or fewer and a comment at the end, add the comment back
  if (left < MAX_TOKENS && lastComment.type === TYPE_COMMENT) {
    tv[left]!.copyFrom(lastComment);
    left += 1;
  }
  // sometimes a 6th token was read to decide the type of the 5th
  if (left > MAX_TOKENS) left = MAX_TOKENS;
  return left;
}

/** libinjection_sqli_fingerprint: resets the state with `flags`, folds, and sets sf.fingerprint. */
export function sqliFingerprint(sf: SqliState, flags: number): string {
  sf.reset(flags);
  const tlen = sqliFold(sf);
  const tv = sf.tokenvec;

  // magic PHP backquote comment: an unclosed, empty backquoted last word is a comment
  const last = tv[tlen - 1];
  if (tlen > 2 && last !== undefined && last.type === TYPE_BAREWORD && last.strOpen === CHAR_TICK && last.len === 0 && last.strClose === CHAR_NULL) {
    last.type = TYPE_COMMENT;
  }
  let fp = '';
  for (let i = 0; i < tlen; ++i) fp += String.fromCharCode(tv[i]!.type);
  // C keeps the fingerprint as a C string: a NUL type would end it (never happens: no token type is 0)
  sf.fingerprint = fp;

  // 'X' in the pattern: parsing could not be done accurately
  if (fp.includes('X')) {
    sf.fingerprint = 'X';
    tv[0]!.type = TYPE_EVIL;
    tv[0]!.val = 'X';
    tv[1]!.type = CHAR_NULL;
  }
  return sf.fingerprint;
}

/** libinjection_sqli_blacklist: is '0' + the upper-cased fingerprint in the table as a fingerprint? */
function blacklist(sf: SqliState): boolean {
  const fp = sf.fingerprint;
  if (fp.length < 1) return false;
  return lookupWord(`0${fp}`) === TYPE_FINGERPRINT;
}

/** libinjection_sqli_not_whitelist: true when SQLi (rules out some false positives). */
function notWhitelist(sf: SqliState): boolean {
  const fp = sf.fingerprint;
  const tlen = fp.length;
  const tv = sf.tokenvec;
  const t0 = tv[0]!;
  const t1 = tv[1]!;

  // an ending comment with 'sp_password' anywhere in the input is SQLi (MS audit log evasion)
  if (tlen > 1 && fp.charCodeAt(tlen - 1) === TYPE_COMMENT) {
    if (memmem(sf.s, 0, sf.slen, SP_PASSWORD) !== -1) return true;
  }

  switch (tlen) {
    case 2: {
      // "very small SQLi", hard to tell from normal input
      if (fp.charCodeAt(1) === TYPE_UNION) {
        // "1 union" alone is not enough
        return sf.statsTokens !== 2;
      }
      // a '#' comment: too many false positives
      if (t1.val.charCodeAt(0) === code('#')) return false;
      // 'nc': only /* comments count
      if (t0.type === TYPE_BAREWORD && t1.type === TYPE_COMMENT && t1.val.charCodeAt(0) !== code('/')) return false;
      // '1c' ending with /* is SQLi
      if (t0.type === TYPE_NUMBER && t1.type === TYPE_COMMENT && t1.val.charCodeAt(0) === code('/')) return true;
      // "1234-ABCDEF--" is not SQLi but "1234--" probably is: look at the original input
      if (t0.type === TYPE_NUMBER && t1.type === TYPE_COMMENT) {
        if (sf.statsTokens > 2) return true;
        // past the end C reads ModSecurity's terminating NUL
        const at = (i: number): number => (i < sf.slen ? sf.s[i]! : 0);
        const ch = at(t0.len);
        // C: `ch <= 32` on a signed char: bytes >= 0x80 count too
        if (ch <= 32 || ch >= 0x80) return true;
        if (ch === code('/') && at(t0.len + 1) === code('*')) return true;
        if (ch === code('-') && at(t0.len + 1) === code('-')) return true;
        return false;
      }
      // obvious SQLi scans: only when the input ends with '--'
      if (t1.len > 2 && t1.val.charCodeAt(0) === code('-')) return false;
      break;
    }
    case 3: {
      if (fp === 'sos' || fp === 's&s') {
        // ...foo" + "bar...: no opening quote, no closing quote
        if (t0.strOpen === CHAR_NULL && tv[2]!.strClose === CHAR_NULL && t0.strClose === tv[2]!.strOpen) return true;
        return false;
      } else if (fp === 's&n' || fp === 'n&1' || fp === '1&1' || fp === '1&v' || fp === '1&s') {
        // 'sexy and 17' is not SQLi, 'sexy and 17<18' is
        if (sf.statsTokens === 3) return false;
      } else if (t1.type === TYPE_KEYWORD) {
        // only "INTO OUTFILE" / "INTO DUMPFILE" (MySQL)
        if (t1.len < 5 || !cstrcaseEq('INTO', t1.val, 4)) return false;
      }
      break;
    }
  }
  return true;
}

/** libinjection_sqli_check_fingerprint */
function checkFingerprint(sf: SqliState): boolean {
  return blacklist(sf) && notWhitelist(sf);
}

function reparseAsMysql(sf: SqliState): boolean {
  return sf.statsCommentDdx !== 0 || sf.statsCommentHash !== 0;
}

/** libinjection_is_sqli: tries the input as is, then as if it began inside '...' and "...". */
export function isSqli(sf: SqliState): boolean {
  const { s, slen } = sf;
  if (slen === 0) return false;

  sqliFingerprint(sf, FLAG_QUOTE_NONE | FLAG_SQL_ANSI);
  if (checkFingerprint(sf)) return true;
  if (reparseAsMysql(sf)) {
    sqliFingerprint(sf, FLAG_QUOTE_NONE | FLAG_SQL_MYSQL);
    if (checkFingerprint(sf)) return true;
  }
  if (memchr(s, CHAR_SINGLE, 0) !== -1) {
    sqliFingerprint(sf, FLAG_QUOTE_SINGLE | FLAG_SQL_ANSI);
    if (checkFingerprint(sf)) return true;
    if (reparseAsMysql(sf)) {
      sqliFingerprint(sf, FLAG_QUOTE_SINGLE | FLAG_SQL_MYSQL);
      if (checkFingerprint(sf)) return true;
    }
  }
  if (memchr(s, CHAR_DOUBLE, 0) !== -1) {
    sqliFingerprint(sf, FLAG_QUOTE_DOUBLE | FLAG_SQL_MYSQL);
    if (checkFingerprint(sf)) return true;
  }
  return false;
}

/** libinjection_sqli: the fingerprint when the bytes are SQLi, else null. */
export function sqliBytes(s: Uint8Array): string | null {
  const sf = new SqliState(s, FLAG_NONE);
  return isSqli(sf) ? sf.fingerprint : null;
}
