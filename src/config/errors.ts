import { readFileSync } from 'node:fs';
import { LineCounter, parseDocument, isMap, isScalar, isSeq, type Node, type Document } from 'yaml';

/** A config problem, located in its file. Exit code 2 from the CLI. */
export class ConfigError extends Error {
  readonly file: string;
  readonly line: number | null;
  readonly column: number | null;
  /** key path, e.g. `routes[0].match.path` */
  readonly keyPath: string | null;

  constructor(message: string, loc: { file: string; line?: number | null; column?: number | null; keyPath?: string | null }) {
    const where = `${loc.file}${loc.line ? `:${loc.line}${loc.column ? `:${loc.column}` : ''}` : ''}`;
    const key = loc.keyPath ? ` (${loc.keyPath})` : '';
    super(`${where}: ${message}${key}`);
    this.name = 'ConfigError';
    this.file = loc.file;
    this.line = loc.line ?? null;
    this.column = loc.column ?? null;
    this.keyPath = loc.keyPath ?? null;
  }
}

/** Several config problems at once (all schema errors are reported, not only the first). */
export class ConfigErrors extends Error {
  readonly errors: readonly ConfigError[];
  constructor(errors: readonly ConfigError[]) {
    super(errors.map((e) => e.message).join('\n'));
    this.name = 'ConfigErrors';
    this.errors = errors;
  }
}

/** One step of a key path: a map key or a list index. */
export type PathSeg = string | number;

/** Renders a key path the way users write it: `routes[0].match.path`. */
export function keyPathString(path: readonly PathSeg[]): string {
  let out = '';
  for (const seg of path) out += typeof seg === 'number' ? `[${seg}]` : out === '' ? seg : `.${seg}`;
  return out;
}

/** A JSON pointer (`/routes/0/match`) as a key path. */
export function pointerToPath(pointer: string): PathSeg[] {
  if (pointer === '') return [];
  return pointer
    .slice(1)
    .split('/')
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'))
    .map((s) => (/^\d+$/.test(s) ? Number(s) : s));
}

/** Finds the line and column of a key path in a parsed YAML or JSON document. */
export class Locator {
  constructor(
    private readonly doc: Document,
    private readonly lines: LineCounter,
  ) {}

  /** line/column of the node at `path`; for `keyOf`, the key node of that entry instead */
  locate(path: readonly PathSeg[], keyOf?: string): { line: number; column: number } | null {
    let node: unknown = this.doc.contents;
    let last: unknown = node;
    for (const seg of path) {
      if (isMap(node)) {
        const pair = node.items.find((p) => isScalar(p.key) && String(p.key.value) === String(seg));
        if (!pair) break;
        last = pair.key;
        node = pair.value;
      } else if (isSeq(node) && typeof seg === 'number') {
        node = node.items[seg];
      } else break;
      if (node) last = node;
    }
    if (keyOf !== undefined && isMap(node)) {
      const pair = node.items.find((p) => isScalar(p.key) && String(p.key.value) === keyOf);
      if (pair && isScalar(pair.key)) last = pair.key;
    }
    const range = (last as Node | undefined)?.range;
    if (!range) return null;
    const pos = this.lines.linePos(range[0]);
    return { line: pos.line, column: pos.col };
  }
}

/** Locates a key path in a config file for errors found after schema validation (cross-key checks). */
export function locateInFile(file: string, path: readonly PathSeg[]): { line: number; column: number } | null {
  try {
    const text = readFileSync(file, 'utf8');
    const lines = new LineCounter();
    const doc = parseDocument(text, { lineCounter: lines });
    return new Locator(doc, lines).locate(path);
  } catch {
    return null;
  }
}

/** A ConfigError located at a key path of the file. */
export function configErrorAt(file: string, path: readonly PathSeg[], message: string): ConfigError {
  const loc = locateInFile(file, path);
  return new ConfigError(message, { file, line: loc?.line ?? null, column: loc?.column ?? null, keyPath: keyPathString(path) });
}
