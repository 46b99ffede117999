/**
 * A Pike VM (Thompson's NFA simulation with submatch tracking, as in RE2) for the translated `@rx`
 * patterns that V8's automaton refuses only because of their size: counted repetitions over 16
 * copies (`.{1,255}`). It runs in O(input × program) time and keeps the leftmost-first (PCRE / JS)
 * priority, so its match and groups are those of a backtracking engine.
 *
 * It reads the JS source that pcre.ts emits (a small, regular subset: `(?:`, `(`, `|`, classes of
 * `\xHH` / `\uHHHH` ranges, `[^]`, alnum literals, `^ $ \b \B`, greedy and lazy quantifiers), with
 * PCRE MULTILINE line anchors when `multiline` (LF only: no CR sentinel needed here).
 */
import { CrsUnsupported } from '../contract.js';

/** program size limit (instructions): RE2 refuses programs of this order too */
const MAX_PROGRAM = 100_000;

type Anchor = '^' | '$' | 'b' | 'B' | 'A' | 'z';

type Inst =
  | { readonly op: 'set'; readonly bits: Uint8Array; readonly high: boolean }
  | { readonly op: 'split'; x: number; y: number }
  | { readonly op: 'jmp'; x: number }
  | { readonly op: 'save'; readonly n: number }
  | { readonly op: 'assert'; readonly kind: Anchor }
  | { readonly op: 'match' };

type Node =
  | { readonly t: 'set'; readonly bits: Uint8Array; readonly high: boolean }
  | { readonly t: 'cat'; readonly items: Node[] }
  | { readonly t: 'alt'; readonly items: Node[] }
  | { readonly t: 'group'; readonly index: number; readonly body: Node }
  | { readonly t: 'rep'; readonly body: Node; readonly min: number; readonly max: number; readonly lazy: boolean }
  | { readonly t: 'assert'; readonly kind: Anchor };

/** Parser of the emitted subset. */
class Parser {
  private i = 0;
  groups = 0;
  constructor(private readonly s: string) {}

  parse(): Node {
    const n = this.alt();
    if (this.i !== this.s.length) throw new CrsUnsupported(`@rx: unexpected '${this.s[this.i]}' in the translated pattern`);
    return n;
  }

  private alt(): Node {
    const items = [this.cat()];
    while (this.s[this.i] === '|') {
      this.i++;
      items.push(this.cat());
    }
    return items.length === 1 ? items[0]! : { t: 'alt', items };
  }

  private cat(): Node {
    const items: Node[] = [];
    while (this.i < this.s.length && this.s[this.i] !== '|' && this.s[this.i] !== ')') items.push(this.quant(this.atom()));
    return { t: 'cat', items };
  }

  private quant(body: Node): Node {
    const s = this.s;
    let min: number;
    let max: number;
    const c = s[this.i];
    if (c === '*' || c === '+' || c === '?') {
      min = c === '+' ? 1 : 0;
      max = c === '?' ? 1 : Infinity;
      this.i++;
    } else if (c === '{') {
      const m = /^\{(\d+)(?:(,)(\d*))?\}/.exec(s.slice(this.i, this.i + 16));
      if (m === null) return body;
      min = Number(m[1]);
      max = m[2] === undefined ? min : m[3] === '' ? Infinity : Number(m[3]);
      this.i += m[0].length;
    } else return body;
    const lazy = s[this.i] === '?';
    if (lazy) this.i++;
    return { t: 'rep', body, min, max, lazy };
  }

  private atom(): Node {
    const s = this.s;
    const c = s[this.i]!;
    if (c === '(') {
      let index = -1;
      if (s.startsWith('(?:', this.i)) this.i += 3;
      else {
        this.i++;
        index = ++this.groups;
      }
      const body = this.alt();
      this.i++; // ')'
      return index < 0 ? body : { t: 'group', index, body };
    }
    if (c === '^' || c === '$') {
      this.i++;
      return { t: 'assert', kind: c };
    }
    if (c === '\\' && /[bBAz]/.test(s[this.i + 1] ?? '')) {
      this.i += 2;
      return { t: 'assert', kind: s[this.i - 1] as Anchor };
    }
    const bits = new Uint8Array(256);
    if (c === '[') {
      this.i++;
      let high = false;
      if (s.startsWith('^]', this.i)) {
        this.i += 2;
        return { t: 'set', bits: bits.fill(1), high: true };
      }
      while (s[this.i] !== ']') {
        const lo = this.char();
        let hi = lo;
        if (s[this.i] === '-') {
          this.i++;
          hi = this.char();
        }
        for (let k = lo; k <= hi && k < 256; k++) bits[k] = 1;
        if (hi > 255) high = true;
      }
      this.i++;
      return { t: 'set', bits, high };
    }
    const code = this.char();
    if (code < 256) bits[code] = 1;
    return { t: 'set', bits, high: code > 255 };
  }

  /** one char: an alnum literal, `\xHH` or `\uHHHH` */
  private char(): number {
    const s = this.s;
    if (s[this.i] !== '\\') return s.charCodeAt(this.i++);
    const m = /^\\(?:x([0-9a-f]{2})|u([0-9a-f]{4}))/.exec(s.slice(this.i, this.i + 6));
    if (m === null) throw new CrsUnsupported(`@rx: unexpected escape in the translated pattern at ${this.i}`);
    this.i += m[0].length;
    return parseInt(m[1] ?? m[2]!, 16);
  }
}

class Compiler {
  readonly prog: Inst[] = [];

  private emit(i: Inst): number {
    if (this.prog.length >= MAX_PROGRAM) throw new CrsUnsupported('@rx: pattern too large for the linear-time matcher');
    this.prog.push(i);
    return this.prog.length - 1;
  }

  compile(n: Node): void {
    switch (n.t) {
      case 'set':
        this.emit({ op: 'set', bits: n.bits, high: n.high });
        return;
      case 'assert':
        this.emit({ op: 'assert', kind: n.kind });
        return;
      case 'cat':
        for (const x of n.items) this.compile(x);
        return;
      case 'group':
        this.emit({ op: 'save', n: 2 * n.index });
        this.compile(n.body);
        this.emit({ op: 'save', n: 2 * n.index + 1 });
        return;
      case 'alt': {
        const jumps: { op: 'jmp'; x: number }[] = [];
        for (let k = 0; k < n.items.length; k++) {
          if (k < n.items.length - 1) {
            const split = { op: 'split' as const, x: 0, y: 0 };
            this.emit(split);
            split.x = this.prog.length;
            this.compile(n.items[k]!);
            const j = { op: 'jmp' as const, x: 0 };
            this.emit(j);
            jumps.push(j);
            split.y = this.prog.length;
          } else this.compile(n.items[k]!);
        }
        for (const j of jumps) j.x = this.prog.length;
        return;
      }
      case 'rep': {
        for (let k = 0; k < n.min; k++) this.compile(n.body);
        if (n.max === Infinity) {
          // L: split body, out (greedy) / out, body (lazy); body; jmp L
          const split = { op: 'split' as const, x: 0, y: 0 };
          const at = this.emit(split);
          const body = this.prog.length;
          this.compile(n.body);
          this.emit({ op: 'jmp', x: at });
          const out = this.prog.length;
          split.x = n.lazy ? out : body;
          split.y = n.lazy ? body : out;
          return;
        }
        // optional copies, nested: (body(body(...)?)?)?
        const splits: { op: 'split'; x: number; y: number }[] = [];
        for (let k = n.min; k < n.max; k++) {
          const split = { op: 'split' as const, x: 0, y: 0 };
          this.emit(split);
          const body = this.prog.length;
          split.x = body;
          splits.push(split);
          this.compile(n.body);
        }
        const out = this.prog.length;
        for (const sp of splits) {
          const body = sp.x;
          sp.x = n.lazy ? out : body;
          sp.y = n.lazy ? body : out;
        }
        return;
      }
    }
  }
}

function isWord(c: number): boolean {
  return (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 95;
}

/** A compiled pattern: `exec` returns the match and groups (undefined when unset), or null. */
export interface PikeRegex {
  readonly groups: number;
  exec(input: string): (string | undefined)[] | null;
}

/** Compiles the JS source emitted by pcre.ts (flags: 's', plus 'm' for PCRE MULTILINE anchors). */
export function compilePike(source: string, flags: string): PikeRegex {
  const parser = new Parser(source);
  const tree = parser.parse();
  const c = new Compiler();
  // unanchored search: a lazy [^]*? before group 0
  c.compile({ t: 'rep', body: { t: 'set', bits: new Uint8Array(256).fill(1), high: true }, min: 0, max: Infinity, lazy: true });
  c.compile({ t: 'group', index: 0, body: tree });
  c.prog.push({ op: 'match' });
  const prog = c.prog;
  const multiline = flags.includes('m');
  const nslots = 2 * (parser.groups + 1);

  return {
    groups: parser.groups,
    exec(input: string) {
      const n = input.length;
      let clist: { pc: number; caps: Int32Array }[] = [];
      let nlist: { pc: number; caps: Int32Array }[] = [];
      const mark = new Int32Array(prog.length).fill(-1);
      let matched: Int32Array | null = null;

      const assertOk = (kind: Anchor, at: number): boolean => {
        const prev = at > 0 ? input.charCodeAt(at - 1) : -1;
        const next = at < n ? input.charCodeAt(at) : -1;
        if (kind === '^') return at === 0 || (multiline && prev === 10);
        if (kind === '$') return at === n || (multiline && next === 10);
        if (kind === 'A') return at === 0;
        if (kind === 'z') return at === n;
        const boundary = (prev >= 0 && isWord(prev)) !== (next >= 0 && isWord(next));
        return kind === 'b' ? boundary : !boundary;
      };

      // follows empty transitions from pc, in priority order, adding char-consuming threads to list
      const add = (list: { pc: number; caps: Int32Array }[], pc0: number, caps0: Int32Array, at: number, gen: number): void => {
        const stack: { pc: number; caps: Int32Array }[] = [{ pc: pc0, caps: caps0 }];
        while (stack.length > 0) {
          const { pc, caps } = stack.pop()!;
          if (mark[pc] === gen) continue;
          mark[pc] = gen;
          const inst = prog[pc]!;
          switch (inst.op) {
            case 'jmp':
              stack.push({ pc: inst.x, caps });
              break;
            case 'split':
              // y pushed first so that x (the preferred branch) is explored first
              stack.push({ pc: inst.y, caps });
              stack.push({ pc: inst.x, caps });
              break;
            case 'save': {
              const copy = caps.slice();
              copy[inst.n] = at;
              stack.push({ pc: pc + 1, caps: copy });
              break;
            }
            case 'assert':
              if (assertOk(inst.kind, at)) stack.push({ pc: pc + 1, caps });
              break;
            default:
              list.push({ pc, caps });
          }
        }
      };

      let gen = 0;
      add(clist, 0, new Int32Array(nslots).fill(-1), 0, gen++);
      for (let at = 0; at <= n && clist.length > 0; at++) {
        const code = at < n ? input.charCodeAt(at) : -1;
        const g = gen++;
        for (const th of clist) {
          const inst = prog[th.pc]!;
          if (inst.op === 'match') {
            matched = th.caps;
            break; // lower-priority threads are cut
          }
          if (inst.op === 'set' && code >= 0 && (code < 256 ? inst.bits[code] === 1 : inst.high)) add(nlist, th.pc + 1, th.caps, at + 1, g);
        }
        [clist, nlist] = [nlist, []];
      }
      // a match may still be pending in the last list
      if (matched === null) {
        for (const th of clist) {
          if (prog[th.pc]!.op === 'match') {
            matched = th.caps;
            break;
          }
        }
      }
      if (matched === null) return null;
      const out: (string | undefined)[] = [];
      for (let k = 0; k < nslots; k += 2) {
        const a = matched[k]!;
        const b = matched[k + 1]!;
        out.push(a >= 0 && b >= 0 ? input.slice(a, b) : undefined);
      }
      return out;
    },
  };
}
