/**
 * Aho-Corasick multi-pattern matcher over Latin-1 (patterns are matched case-sensitively on the
 * input as given; callers lowercase both). Built once into a dense DFA (one transition per state and
 * character class), so a scan is a few array reads per input character: linear time, no allocation
 * unless a match is reported. Characters above U+00FF reset to the root state.
 */
export interface AcMatch {
  readonly pattern: number;
  /** index just after the last character of the match */
  readonly end: number;
}

export class AhoCorasick {
  /**
   * transitions: state * width + classes[char] -> state (public so that hot loops can inline the
   * scan). Characters that occur in no pattern share class 0 (they lead to the root from every
   * state), so a row is as wide as the patterns' alphabet and the table stays in the CPU caches.
   */
  readonly delta: Uint16Array | Int32Array;
  /** character class of each Latin-1 character */
  readonly classes: Uint8Array;
  readonly width: number;
  /** per state: 1 when some pattern ends there */
  readonly hasOut: Uint8Array;
  /** states from this number on are those where some pattern ends (the root is 0 and below) */
  readonly firstOut: number;
  /** per state: pattern ids ending here (own and via suffix links) */
  readonly out: (readonly number[] | null)[];
  readonly patterns: readonly string[];

  constructor(patterns: readonly string[]) {
    this.patterns = patterns;
    const classes = new Uint8Array(256);
    let width = 1;
    for (const p of patterns) {
      for (let i = 0; i < p.length; i++) {
        const c = p.charCodeAt(i);
        if (c > 255) throw new Error(`pattern '${p}' is not Latin-1`);
        if (classes[c] === 0) classes[c] = width++;
      }
    }
    const gotoT: Map<number, number>[] = [new Map()];
    const outs: number[][] = [[]];
    patterns.forEach((p, id) => {
      if (p.length === 0) throw new Error('empty pattern');
      let s = 0;
      for (let i = 0; i < p.length; i++) {
        const c = classes[p.charCodeAt(i)]!;
        let n = gotoT[s]!.get(c);
        if (n === undefined) {
          n = gotoT.length;
          gotoT.push(new Map());
          outs.push([]);
          gotoT[s]!.set(c, n);
        }
        s = n;
      }
      outs[s]!.push(id);
    });
    const n = gotoT.length;
    // 16-bit states while they fit: half the table, twice the states per cache line
    const delta = n <= 0xffff ? new Uint16Array(n * width) : new Int32Array(n * width);
    const fail = new Int32Array(n);
    const queue: number[] = [];
    for (let c = 0; c < width; c++) {
      const t = gotoT[0]!.get(c);
      delta[c] = t ?? 0;
      if (t !== undefined) queue.push(t);
    }
    for (let qi = 0; qi < queue.length; qi++) {
      const s = queue[qi]!;
      const f = fail[s]!;
      const fo = outs[f]!;
      if (fo.length > 0) outs[s]!.push(...fo);
      for (let c = 0; c < width; c++) {
        const t = gotoT[s]!.get(c);
        if (t !== undefined) {
          fail[t] = delta[f * width + c]!;
          delta[s * width + c] = t;
          queue.push(t);
        } else {
          delta[s * width + c] = delta[f * width + c]!;
        }
      }
    }
    // Renumber: states where no pattern ends first, then the others, so that a scan tests
    // `state >= firstOut` instead of reading a table for every character.
    const perm = new Int32Array(n);
    let next = 0;
    for (let st = 0; st < n; st++) if (outs[st]!.length === 0) perm[st] = next++;
    this.firstOut = next;
    for (let st = 0; st < n; st++) if (outs[st]!.length > 0) perm[st] = next++;
    const renumbered = n <= 0xffff ? new Uint16Array(n * width) : new Int32Array(n * width);
    const out: (readonly number[] | null)[] = new Array<readonly number[] | null>(n).fill(null);
    for (let st = 0; st < n; st++) {
      const row = perm[st]! * width;
      for (let c = 0; c < width; c++) renumbered[row + c] = perm[delta[st * width + c]!]!;
      if (outs[st]!.length > 0) out[perm[st]!] = outs[st]!;
    }
    this.delta = renumbered;
    this.classes = classes;
    this.width = width;
    this.out = out;
    this.hasOut = Uint8Array.from(out, (o) => (o !== null ? 1 : 0));
  }

  /** Calls `onMatch(patternId, end)` for every occurrence; stop early by returning true. */
  scan(text: string, onMatch: (pattern: number, end: number) => unknown): void {
    const { delta, classes, width, firstOut, out } = this;
    let s = 0;
    for (let i = 0; i < text.length; i++) {
      const c = text.charCodeAt(i);
      s = c < 256 ? delta[s * width + classes[c]!]! : 0;
      if (s < firstOut) continue;
      for (const id of out[s]!) if (onMatch(id, i + 1) === true) return;
    }
  }

  /** First match, or null. */
  first(text: string): AcMatch | null {
    let res: AcMatch | null = null;
    this.scan(text, (pattern, end) => {
      res = { pattern, end };
      return true;
    });
    return res;
  }
}
