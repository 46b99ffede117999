/**
 * Aho-Corasick multi-pattern matcher over Latin-1 (patterns are matched case-sensitively on the
 * input as given; callers lowercase both). Built once into a dense DFA (256 transitions per state),
 * so a scan is one array read per input character: linear time, no allocation unless a match is
 * reported. Characters above U+00FF reset to the root state.
 */
export interface AcMatch {
  readonly pattern: number;
  /** index just after the last character of the match */
  readonly end: number;
}

export class AhoCorasick {
  /** transitions: state * 256 + char -> state (public so that hot loops can inline the scan) */
  readonly delta: Int32Array;
  /** per state: pattern ids ending here (own and via suffix links) */
  readonly out: (readonly number[] | null)[];
  readonly patterns: readonly string[];

  constructor(patterns: readonly string[]) {
    this.patterns = patterns;
    const gotoT: Map<number, number>[] = [new Map()];
    const outs: number[][] = [[]];
    patterns.forEach((p, id) => {
      if (p.length === 0) throw new Error('empty pattern');
      let s = 0;
      for (let i = 0; i < p.length; i++) {
        const c = p.charCodeAt(i);
        if (c > 255) throw new Error(`pattern '${p}' is not Latin-1`);
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
    const delta = new Int32Array(n * 256);
    const fail = new Int32Array(n);
    const queue: number[] = [];
    for (let c = 0; c < 256; c++) {
      const t = gotoT[0]!.get(c);
      delta[c] = t ?? 0;
      if (t !== undefined) queue.push(t);
    }
    for (let qi = 0; qi < queue.length; qi++) {
      const s = queue[qi]!;
      const f = fail[s]!;
      const fo = outs[f]!;
      if (fo.length > 0) outs[s]!.push(...fo);
      for (let c = 0; c < 256; c++) {
        const t = gotoT[s]!.get(c);
        if (t !== undefined) {
          fail[t] = delta[f * 256 + c]!;
          delta[s * 256 + c] = t;
          queue.push(t);
        } else {
          delta[s * 256 + c] = delta[f * 256 + c]!;
        }
      }
    }
    this.delta = delta;
    this.out = outs.map((o) => (o.length > 0 ? o : null));
  }

  /** Calls `onMatch(patternId, end)` for every occurrence; stop early by returning true. */
  scan(text: string, onMatch: (pattern: number, end: number) => boolean | void): void {
    const delta = this.delta;
    const out = this.out;
    let s = 0;
    for (let i = 0; i < text.length; i++) {
      const c = text.charCodeAt(i);
      s = c < 256 ? delta[s * 256 + c]! : 0;
      const o = out[s];
      if (o !== null && o !== undefined) {
        for (const id of o) if (onMatch(id, i + 1) === true) return;
      }
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
