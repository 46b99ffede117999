/**
 * Where things are in the user's config file: key paths to line and column (with the loader's
 * Locator, src/config/errors.ts), whether a key is written at all, and every string scalar as
 * written, before `${env:}` / `${file:}` substitution (to tell literal secrets from references).
 */
import { LineCounter, parseDocument, isMap, isScalar, isSeq, type Document } from 'yaml';
import { Locator, type PathSeg } from '../config/errors.js';

export interface Position {
  readonly line: number;
  readonly column: number;
}

/** A string value as written in the file. */
export interface RawString {
  readonly path: readonly PathSeg[];
  readonly value: string;
}

export class SourceMap {
  private readonly doc: Document;
  private readonly locator: Locator;

  constructor(text: string) {
    const lines = new LineCounter();
    // the loader's options: a text it accepted parses the same here
    this.doc = parseDocument(text, { lineCounter: lines, uniqueKeys: true, prettyErrors: false, merge: false });
    this.locator = new Locator(this.doc, lines);
  }

  /** Whether the key path is written in the file (defaults are not). */
  has(path: readonly PathSeg[]): boolean {
    return path.length === 0 || this.doc.hasIn(path);
  }

  /** The longest written prefix of `path`. */
  written(path: readonly PathSeg[]): readonly PathSeg[] {
    for (let n = path.length; n > 0; n--) if (this.has(path.slice(0, n))) return path.slice(0, n);
    return [];
  }

  /**
   * The position of a key path: of its key when the last step is a map key, of the entry when it
   * is a list index. A key that is not written is located at its nearest written ancestor.
   */
  locate(path: readonly PathSeg[]): Position {
    const at = this.written(path);
    const last = at[at.length - 1];
    const pos = typeof last === 'string' ? this.locator.locate(at.slice(0, -1), last) : this.locator.locate(at);
    return pos ?? { line: 1, column: 1 };
  }

  /** Every string scalar of the file with its key path (values, not keys). */
  strings(): RawString[] {
    const out: RawString[] = [];
    const walk = (node: unknown, path: PathSeg[]): void => {
      if (out.length >= 100_000 || path.length > 64) return;
      if (isMap(node)) {
        for (const p of node.items) if (isScalar(p.key)) walk(p.value, [...path, String(p.key.value)]);
      } else if (isSeq(node)) {
        for (let i = 0; i < node.items.length; i++) walk(node.items[i], [...path, i]);
      } else if (isScalar(node) && typeof node.value === 'string') {
        out.push({ path, value: node.value });
      }
    };
    walk(this.doc.contents, []);
    return out;
  }
}
