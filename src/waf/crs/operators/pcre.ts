/**
 * Translates a ModSecurity `@rx` pattern (PCRE, compiled by ModSecurity v3 with DOTALL and
 * MULTILINE, without UTF: it matches bytes) into a JS regex source with the same meaning on byte
 * strings (one char per byte, see ../transformations/index.ts), for V8's linear-time engine, which
 * knows no `i` flag, no lookaround and no backreferences:
 * - case-insensitivity (`(?i)`, `(?i:...)`, `(?-i)`) is expanded into classes (`a` → `[Aa]`), for ASCII
 *   letters only, as PCRE's C-locale tables do;
 * - every class (`\s`, `\w`, `[[:alpha:]]`, `[^...]`, `.`) is rebuilt as an explicit byte set, so
 *   that JS's wider `\s` (NBSP, U+FEFF...) never leaks in; `\s` is PCRE's [\t\n\v\f\r ];
 * - `^` / `$` follow PCRE's MULTILINE, where only LF ends a line; JS's `m` flag also ends lines at
 *   CR, so a pattern with line anchors is compiled to match CR as CR_SENTINEL, and the operator
 *   maps CR in the input to it before matching (the `crSentinel` result);
 * - `\A` and `\z` become `^` / `$` of a pattern compiled without `m` (refused when the pattern also
 *   has line anchors).
 * Anything that cannot be translated exactly throws CrsUnsupported with the reason.
 */
import { CrsUnsupported } from '../contract.js';

/** What CR becomes in the input of a pattern with line anchors (a private-use char, never in byte strings). */
export const CR_SENTINEL = '\uE00D';

export interface TranslatedPattern {
  /** JS source, to compile with `flags` (no `i`, no `u`) */
  readonly source: string;
  readonly flags: string;
  /** number of capturing groups */
  readonly groups: number;
  /** CR in the input must be replaced by CR_SENTINEL (and back in captures) */
  readonly crSentinel: boolean;
}

/** A set of bytes, plus whether chars above U+00FF (never in byte strings) are members. */
class ByteSet {
  readonly bits = new Uint8Array(256);
  high = false;
  add(lo: number, hi = lo): this {
    for (let c = lo; c <= hi && c < 256; c++) this.bits[c] = 1;
    if (hi > 255) this.high = true;
    return this;
  }
  addSet(o: ByteSet): this {
    for (let c = 0; c < 256; c++) if (o.bits[c] === 1) this.bits[c] = 1;
    if (o.high) this.high = true;
    return this;
  }
  negate(): this {
    for (let c = 0; c < 256; c++) this.bits[c] = this.bits[c] === 1 ? 0 : 1;
    this.high = !this.high;
    return this;
  }
  foldCase(): this {
    for (let c = 65; c <= 90; c++) {
      if (this.bits[c] === 1 || this.bits[c + 32] === 1) {
        this.bits[c] = 1;
        this.bits[c + 32] = 1;
      }
    }
    return this;
  }
  size(): number {
    let n = 0;
    for (let c = 0; c < 256; c++) n += this.bits[c]!;
    return n;
  }
}

const set = (...ranges: [number, number][]): ByteSet => {
  const s = new ByteSet();
  for (const [a, b] of ranges) s.add(a, b);
  return s;
};

const DIGIT = (): ByteSet => set([48, 57]);
const WORD = (): ByteSet => set([48, 57], [65, 90], [97, 122], [95, 95]);
/** PCRE2 \s: HT, LF, VT, FF, CR, space */
const SPACE = (): ByteSet => set([9, 13], [32, 32]);

const POSIX: Readonly<Record<string, () => ByteSet>> = {
  alpha: () => set([65, 90], [97, 122]),
  digit: DIGIT,
  alnum: () => set([48, 57], [65, 90], [97, 122]),
  upper: () => set([65, 90]),
  lower: () => set([97, 122]),
  space: SPACE,
  blank: () => set([9, 9], [32, 32]),
  punct: () => set([33, 47], [58, 64], [91, 96], [123, 126]),
  xdigit: () => set([48, 57], [65, 70], [97, 102]),
  word: WORD,
  cntrl: () => set([0, 31], [127, 127]),
  print: () => set([32, 126]),
  graph: () => set([33, 126]),
  ascii: () => set([0, 127]),
};

function hex2(c: number): string {
  return c.toString(16).padStart(2, '0');
}

interface Quant {
  readonly min: number;
  readonly max: number; // Infinity when unbounded
}

class Translator {
  private i = 0;
  private groups = 0;
  private lineAnchors = false;
  private stringAnchors = false;
  private readonly sentinel: boolean;

  constructor(
    private readonly p: string,
    sentinel: boolean,
    /** emit `\\A` / `\\z` as such (for pike-vm.ts, which has both kinds of anchors) */
    private readonly vmAnchors = false,
  ) {
    this.sentinel = sentinel;
  }

  run(): { source: string; groups: number; lineAnchors: boolean; stringAnchors: boolean } {
    const source = this.alternation(false);
    if (this.i < this.p.length) this.fail(`unbalanced ')' at ${this.i}`);
    return { source, groups: this.groups, lineAnchors: this.lineAnchors, stringAnchors: this.stringAnchors };
  }

  private fail(why: string): never {
    throw new CrsUnsupported(`@rx: ${why}`);
  }

  /** a sequence of alternatives up to ')' or the end; `ci` is the case-insensitivity in force */
  private alternation(ci: boolean): string {
    const alts: string[] = [];
    let cur = '';
    let local = ci;
    while (this.i < this.p.length) {
      const c = this.p[this.i]!;
      if (c === ')') break;
      if (c === '|') {
        this.i++;
        alts.push(cur);
        cur = '';
        continue;
      }
      // inline option setting for the rest of this group: (?i) (?-i) (?s) (?is) ...
      const opt = /^\(\?([a-zA-Z]*)(?:-([a-zA-Z]*))?\)/.exec(this.p.slice(this.i, this.i + 12));
      if (opt !== null) {
        local = this.options(opt[1] ?? '', opt[2] ?? '', local);
        this.i += opt[0].length;
        continue;
      }
      const atom = this.atom(local);
      if (atom === null) continue;
      cur += this.quantified(atom);
    }
    alts.push(cur);
    return alts.join('|');
  }

  /** applies on/off option letters; returns the new case-insensitivity */
  private options(on: string, off: string, ci: boolean): boolean {
    let res = ci;
    for (const f of on) {
      if (f === 'i') res = true;
      else if (f !== 's' && f !== 'm') this.fail(`inline option '${f}' is not supported`);
    }
    for (const f of off) {
      if (f === 'i') res = false;
      else this.fail(`turning off option '${f}' is not supported`);
    }
    return res;
  }

  /** one atom as JS source (null for something that emits nothing, e.g. a comment) */
  private atom(ci: boolean): string | null {
    const p = this.p;
    const c = p[this.i]!;
    switch (c) {
      case '(':
        return this.group(ci);
      case '[':
        return this.emitSet(this.charClass(ci));
      case '.':
        this.i++;
        return '[^]';
      case '^':
        this.i++;
        this.lineAnchors = true;
        return '^';
      case '$':
        this.i++;
        this.lineAnchors = true;
        return '$';
      case '\\':
        return this.escapeAtom(ci);
      case '*':
      case '+':
      case '?':
        return this.fail(`quantifier '${c}' with nothing to repeat at ${this.i}`);
      default:
        this.i++;
        return this.literal(c.charCodeAt(0), ci);
    }
  }

  private literal(code: number, ci: boolean): string {
    if (code > 255) this.fail(`char U+${code.toString(16)} is not a byte (patterns are matched on bytes)`);
    const s = new ByteSet().add(code);
    if (ci) s.foldCase();
    return this.emitSet(s);
  }

  private group(ci: boolean): string | null {
    const p = this.p;
    const rest = p.slice(this.i, this.i + 4);
    let open: string;
    let inner = ci;
    if (rest.startsWith('(?#')) {
      const end = p.indexOf(')', this.i);
      if (end < 0) this.fail('unterminated comment');
      this.i = end + 1;
      return null;
    }
    if (rest.startsWith('(?:')) {
      open = '(?:';
      this.i += 3;
    } else if (rest.startsWith('(?P<') || (rest.startsWith('(?<') && /[a-zA-Z_]/.test(rest[3] ?? ''))) {
      const end = p.indexOf('>', this.i);
      if (end < 0) this.fail('unterminated group name');
      this.groups++;
      open = '(';
      this.i = end + 1;
    } else if (/^\(\?[a-zA-Z-]/.test(rest)) {
      const m = /^\(\?([a-zA-Z]*)(?:-([a-zA-Z]*))?:/.exec(p.slice(this.i, this.i + 12));
      if (m === null) return this.fail(`group '${p.slice(this.i, this.i + 4)}' is not supported`);
      inner = this.options(m[1] ?? '', m[2] ?? '', ci);
      open = '(?:';
      this.i += m[0].length;
    } else if (rest.startsWith('(?')) {
      const kind =
        rest.startsWith('(?=') || rest.startsWith('(?!') || rest.startsWith('(?<') ? 'lookaround' : rest.startsWith('(?>') ? 'atomic group' : `group '${rest}'`;
      return this.fail(`${kind} is not supported by a linear-time engine`);
    } else {
      this.groups++;
      open = '(';
      this.i++;
    }
    const body = this.alternation(inner);
    if (p[this.i] !== ')') this.fail('missing )');
    this.i++;
    return `${open}${body})`;
  }

  private quantified(atom: string): string {
    const p = this.p;
    let q: Quant | null = null;
    let len = 0;
    const c = p[this.i];
    if (c === '*') q = { min: 0, max: Infinity };
    else if (c === '+') q = { min: 1, max: Infinity };
    else if (c === '?') q = { min: 0, max: 1 };
    if (q !== null) len = 1;
    else if (c === '{') {
      const m = /^\{(\d+)(?:(,)(\d*))?\}/.exec(p.slice(this.i, this.i + 16));
      if (m !== null) {
        const min = Number(m[1]);
        const max = m[2] === undefined ? min : m[3] === '' ? Infinity : Number(m[3]);
        if (max < min) this.fail(`quantifier {${min},${max}} out of order`);
        q = { min, max };
        len = m[0].length;
      }
    }
    if (q === null) return atom;
    if (atom === '^' || atom === '$' || atom === '\\b' || atom === '\\B') this.fail('quantified assertion');
    const text = p.slice(this.i, this.i + len);
    this.i += len;
    let suffix = '';
    if (p[this.i] === '?') {
      suffix = '?';
      this.i++;
    } else if (p[this.i] === '+') {
      this.fail(`possessive quantifier '${text}+' is not supported`);
    }
    return `${atom}${text}${suffix}`;
  }

  /** an escape outside a class */
  private escapeAtom(ci: boolean): string {
    const p = this.p;
    const e = p[this.i + 1];
    if (e === undefined) return this.fail('trailing backslash');
    switch (e) {
      case 'b':
      case 'B':
        this.i += 2;
        return `\\${e}`;
      case 'A':
        this.i += 2;
        this.stringAnchors = true;
        return this.vmAnchors ? '\\A' : '^';
      case 'z':
        this.i += 2;
        this.stringAnchors = true;
        return this.vmAnchors ? '\\z' : '$';
      case 'Q': {
        const end = p.indexOf('\\E', this.i + 2);
        const lit = p.slice(this.i + 2, end < 0 ? p.length : end);
        this.i = end < 0 ? p.length : end + 2;
        let out = '';
        for (const ch of lit) out += this.literal(ch.charCodeAt(0), ci);
        return `(?:${out})`;
      }
      case 'E':
        this.i += 2;
        return '';
      default: {
        const s = this.classEscape(ci);
        if (s === null) return this.fail(`escape '\\${e}' is not supported`);
        return this.emitSet(s);
      }
    }
  }

  /**
   * An escape that stands for a set of bytes (`\d`, `\xHH`, `\n`, `\.`...), at this.i; returns
   * null for escapes that are not sets.
   */
  private classEscape(ci: boolean, inClass = false): ByteSet | null {
    const p = this.p;
    const e = p[this.i + 1]!;
    const one = (code: number, len: number): ByteSet => {
      this.i += len;
      const s = new ByteSet().add(code);
      return ci ? s.foldCase() : s;
    };
    switch (e) {
      case 'd':
        this.i += 2;
        return DIGIT();
      case 'D':
        this.i += 2;
        return DIGIT().negate();
      case 'w':
        this.i += 2;
        return WORD();
      case 'W':
        this.i += 2;
        return WORD().negate();
      case 's':
        this.i += 2;
        return SPACE();
      case 'S':
        this.i += 2;
        return SPACE().negate();
      case 'h':
        this.i += 2;
        return set([9, 9], [32, 32], [0xa0, 0xa0]);
      case 'H':
        this.i += 2;
        return set([9, 9], [32, 32], [0xa0, 0xa0]).negate();
      case 'v':
        this.i += 2;
        return set([10, 13], [0x85, 0x85]);
      case 'V':
        this.i += 2;
        return set([10, 13], [0x85, 0x85]).negate();
      case 'n':
        return one(10, 2);
      case 'r':
        return one(13, 2);
      case 't':
        return one(9, 2);
      case 'f':
        return one(12, 2);
      case 'e':
        return one(27, 2);
      case 'a':
        return one(7, 2);
      case 'x': {
        const brace = /^\\x\{([0-9a-fA-F]{1,8})\}/.exec(p.slice(this.i, this.i + 14));
        if (brace !== null) {
          const code = parseInt(brace[1]!, 16);
          if (code > 255) this.fail(`\\x{${brace[1]}} is not a byte (patterns are matched on bytes)`);
          return one(code, brace[0].length);
        }
        const m = /^\\x([0-9a-fA-F]{0,2})/.exec(p.slice(this.i, this.i + 4))!;
        return one(m[1] === '' ? 0 : parseInt(m[1]!, 16), m[0].length);
      }
      case '0': {
        const m = /^\\0([0-7]{0,2})/.exec(p.slice(this.i, this.i + 4))!;
        return one(m[1] === '' ? 0 : parseInt(m[1]!, 8), m[0].length);
      }
      default:
        if (inClass && e === 'b') return one(8, 2);
        if (/[1-9]/.test(e)) {
          // three octal digits are a byte (\101); anything shorter is a backreference
          const oct = /^\\([1-3][0-7]{2})/.exec(p.slice(this.i, this.i + 4));
          if (oct !== null) return one(parseInt(oct[1]!, 8), 4);
          return this.fail(`backreference '\\${e}' is not supported by a linear-time engine`);
        }
        if (/[a-zA-Z]/.test(e)) return null;
        return one(e.charCodeAt(0), 2);
    }
  }

  /** a bracketed class at this.i */
  private charClass(ci: boolean): ByteSet {
    const p = this.p;
    this.i++;
    let negated = false;
    if (p[this.i] === '^') {
      negated = true;
      this.i++;
    }
    const s = new ByteSet();
    let first = true;
    for (;;) {
      if (this.i >= p.length) this.fail('unterminated class');
      const c = p[this.i]!;
      if (c === ']' && !first) {
        this.i++;
        break;
      }
      first = false;
      const posix = /^\[:(\^?)([a-z]+):\]/.exec(p.slice(this.i, this.i + 12));
      if (posix !== null) {
        const make = POSIX[posix[2]!];
        if (make === undefined) this.fail(`POSIX class [:${posix[2]}:] is not supported`);
        const ps = make();
        s.addSet(posix[1] === '^' ? ps.negate() : ps);
        this.i += posix[0].length;
        continue;
      }
      const lo = this.classAtom();
      if (typeof lo === 'number' && p[this.i] === '-' && p[this.i + 1] !== ']' && this.i + 1 < p.length) {
        const save = this.i;
        this.i++;
        const hi = this.classAtom();
        if (typeof hi === 'number') {
          if (hi < lo) this.fail(`range out of order in class at ${save}`);
          s.add(lo, hi);
          continue;
        }
        // `[a-\d]`: '-' is literal
        s.add(lo).add(45).addSet(hi);
        continue;
      }
      if (typeof lo === 'number') s.add(lo);
      else s.addSet(lo);
    }
    if (ci) s.foldCase();
    return negated ? s.negate() : s;
  }

  /** one class member: a byte (number) or a set from an escape such as `\d` */
  private classAtom(): number | ByteSet {
    const p = this.p;
    const c = p[this.i]!;
    if (c !== '\\') {
      this.i++;
      const code = c.charCodeAt(0);
      if (code > 255) this.fail(`char U+${code.toString(16)} is not a byte (patterns are matched on bytes)`);
      return code;
    }
    const s = this.classEscape(false, true);
    if (s === null) return this.fail(`escape '\\${p[this.i + 1]}' in a class is not supported`);
    if (s.size() === 1 && !s.high) return s.bits.indexOf(1);
    return s;
  }

  /** JS source for a set of bytes */
  private emitSet(s: ByteSet): string {
    const n = s.size();
    if (n === 256 && s.high) return '[^]';
    const ranges: [number, number][] = [];
    for (let c = 0; c < 256; c++) {
      if (s.bits[c] !== 1) continue;
      let d = c;
      while (d + 1 < 256 && s.bits[d + 1] === 1) d++;
      ranges.push([c, d]);
      c = d;
    }
    const cr = this.sentinel && s.bits[13] === 1;
    const parts: string[] = [];
    for (const [a, b] of ranges) {
      if (this.sentinel && a <= 13 && b >= 13) {
        // CR is matched as the sentinel
        if (a < 13) parts.push(range(a, 12));
        if (b > 13) parts.push(range(14, b));
      } else parts.push(range(a, b));
    }
    if (cr) parts.push('\\ue00d');
    if (s.high) parts.push(this.sentinel && !cr ? '\\u0100-\\ue00c\\ue00e-\\uffff' : '\\u0100-\\uffff');
    if (parts.length === 1 && n === 1 && !s.high && !parts[0]!.includes('-')) return parts[0]!;
    return `[${parts.join('')}]`;
  }
}

function esc(c: number): string {
  return /[0-9A-Za-z]/.test(String.fromCharCode(c)) ? String.fromCharCode(c) : `\\x${hex2(c)}`;
}

function range(a: number, b: number): string {
  if (a === b) return esc(a);
  if (b === a + 1) return esc(a) + esc(b);
  return `${esc(a)}-${esc(b)}`;
}

/**
 * Translates a PCRE pattern as ModSecurity v3 compiles it; throws CrsUnsupported when it cannot be
 * exact. `crSentinel` false: for pike-vm.ts, whose `m` flag ends lines at LF only and which also
 * takes `\\A` / `\\z` beside `^` / `$` (a source that V8 cannot compile then).
 */
export function translatePcre(pattern: string, crSentinel = true): TranslatedPattern {
  const first = new Translator(pattern, false).run();
  if (first.lineAnchors && first.stringAnchors) {
    // JS has one `m` flag: only pike-vm.ts can have both kinds of anchors
    if (crSentinel) throw new CrsUnsupported('@rx: \\A or \\z together with ^ or $ is not supported');
    const vm = new Translator(pattern, false, true).run();
    return { source: vm.source, flags: 'sm', groups: vm.groups, crSentinel: false };
  }
  if (!first.lineAnchors) return { source: first.source, flags: 's', groups: first.groups, crSentinel: false };
  // an engine with PCRE's line anchors (pike-vm.ts) takes the source without the sentinel
  if (!crSentinel) return { source: first.source, flags: 'sm', groups: first.groups, crSentinel: false };
  const second = new Translator(pattern, true).run();
  return { source: second.source, flags: 'sm', groups: second.groups, crSentinel: true };
}
