/**
 * SecLang, the ModSecurity rule language, read as ModSecurity v2 (Apache) reads it: physical lines
 * ending with a backslash continue on the next one, `#` lines are comments, a directive's
 * arguments are words or quoted strings (`\\` and `\<quote>` escape inside quotes), a rule's
 * actions are comma-separated `name[:value]` with single-quoted values (`\'` and `\\` escape).
 * Pure functions; every error names the file, the line and the offending text.
 */

/** One directive: its name as written and its arguments, unquoted. */
export interface Directive {
  readonly name: string;
  readonly args: readonly string[];
  readonly file: string;
  /** line of the directive's first physical line (1-based) */
  readonly line: number;
}

/** A syntax error at a place in a rule file. */
export class CrsSyntaxError extends Error {
  constructor(
    readonly file: string,
    readonly line: number,
    readonly text: string,
    readonly reason: string,
  ) {
    super(`${file}:${line}: ${reason}: ${text.length > 120 ? `${text.slice(0, 120)}...` : text}`);
    this.name = 'CrsSyntaxError';
  }
}

const isSpace = (c: number): boolean => c === 0x20 || c === 0x09 || c === 0x0d || c === 0x0a || c === 0x0b || c === 0x0c;

/**
 * Reads a quoted string whose opening quote is at `start`: a backslash escapes the quote and
 * itself (other backslashes stay). Returns the value and the index after the closing quote, or
 * null when the quote is not closed.
 */
export function readQuoted(text: string, start: number): { value: string; end: number } | null {
  const q = text[start];
  let value = '';
  const n = text.length;
  let j = start + 1;
  while (j < n) {
    const c = text[j] as string;
    if (c === '\\' && j + 1 < n && (text[j + 1] === q || text[j + 1] === '\\')) {
      value += text[j + 1];
      j += 2;
      continue;
    }
    if (c === q) return { value, end: j + 1 };
    value += c;
    j++;
  }
  return null;
}

/** Splits a logical line into words and quoted strings (Apache's ap_getword_conf). */
export function splitArgs(text: string, file: string, line: number): string[] {
  const out: string[] = [];
  let i = 0;
  const n = text.length;
  while (i < n) {
    while (i < n && isSpace(text.charCodeAt(i))) i++;
    if (i >= n) break;
    const q = text[i];
    if (q === '"' || q === "'") {
      const r = readQuoted(text, i);
      if (r === null) throw new CrsSyntaxError(file, line, text, 'unterminated quoted argument');
      out.push(r.value);
      i = r.end;
    } else {
      let j = i;
      while (j < n && !isSpace(text.charCodeAt(j))) j++;
      out.push(text.slice(i, j));
      i = j;
    }
  }
  return out;
}

/** Reads a rule file into directives (continuations joined, comments and blank lines dropped). */
export function parseDirectives(text: string, file: string): Directive[] {
  const out: Directive[] = [];
  const lines = text.split('\n');
  let buf: string | null = null;
  let start = 0;
  for (let i = 0; i < lines.length; i++) {
    const l = (lines[i] as string).trimEnd();
    if (buf === null) {
      const t = l.trimStart();
      if (t.length === 0 || t.startsWith('#')) continue;
      start = i + 1;
      buf = '';
    }
    if (l.endsWith('\\')) {
      buf += l.slice(0, -1);
      if (i + 1 < lines.length) continue;
    } else buf += l;
    const words = splitArgs(buf, file, start);
    buf = null;
    const name = words[0];
    if (name === undefined) continue;
    out.push({ name, args: words.slice(1), file, line: start });
  }
  return out;
}

/** One action of a rule: `name` or `name:value` (value unquoted). */
export interface ActionItem {
  readonly name: string;
  readonly value: string | null;
}

/** Splits `id:1,phase:2,msg:'a, b'` into actions (ModSecurity v2's msre_parse_generic). */
export function splitActions(text: string, file: string, line: number): ActionItem[] {
  const out: ActionItem[] = [];
  let i = 0;
  const n = text.length;
  while (i < n) {
    while (i < n && (isSpace(text.charCodeAt(i)) || text[i] === ',')) i++;
    if (i >= n) break;
    let j = i;
    while (j < n && text[j] !== ':' && text[j] !== ',' && !isSpace(text.charCodeAt(j))) j++;
    const name = text.slice(i, j);
    if (name.length === 0) throw new CrsSyntaxError(file, line, text, 'empty action name');
    while (j < n && isSpace(text.charCodeAt(j))) j++;
    if (j >= n || text[j] === ',') {
      out.push({ name, value: null });
      i = j + 1;
      continue;
    }
    if (text[j] !== ':') throw new CrsSyntaxError(file, line, text, `unexpected text after action '${name}'`);
    j++;
    while (j < n && isSpace(text.charCodeAt(j))) j++;
    let value = '';
    if (text[j] === "'") {
      const r = readQuoted(text, j);
      if (r === null) throw new CrsSyntaxError(file, line, text, `unterminated quoted value of action '${name}'`);
      value = r.value;
      j = r.end;
      while (j < n && isSpace(text.charCodeAt(j))) j++;
      if (j < n && text[j] !== ',') throw new CrsSyntaxError(file, line, text, `text after the quoted value of action '${name}'`);
    } else {
      const e = text.indexOf(',', j);
      const end = e < 0 ? n : e;
      value = text.slice(j, end).trimEnd();
      j = end;
    }
    out.push({ name, value });
    i = j + 1;
  }
  return out;
}

/** One element of a rule's variable list: `ARGS`, `ARGS:foo`, `!ARGS:/re/`, `&TX:x`, `XML:/*`. */
export interface VariableSpec {
  /** uppercase collection or variable name */
  readonly collection: string;
  /** the selector: null (whole collection), a key, or a regex source */
  readonly key: string | null;
  readonly regex: boolean;
  readonly negated: boolean;
  readonly count: boolean;
}

/** Parses `REQUEST_COOKIES|!REQUEST_COOKIES:/__utm/|&ARGS` (regex selectors may hold `|`). */
export function parseVariables(text: string, file: string, line: number): VariableSpec[] {
  const out: VariableSpec[] = [];
  let i = 0;
  const n = text.length;
  while (i < n) {
    while (i < n && (isSpace(text.charCodeAt(i)) || text[i] === '|')) i++;
    if (i >= n) break;
    let negated = false;
    let count = false;
    if (text[i] === '!') {
      negated = true;
      i++;
    } else if (text[i] === '&') {
      count = true;
      i++;
    }
    let j = i;
    while (j < n && /[A-Za-z0-9_]/.test(text[j] as string)) j++;
    const collection = text.slice(i, j).toUpperCase();
    if (collection.length === 0) throw new CrsSyntaxError(file, line, text, 'empty variable name');
    let key: string | null = null;
    let regex = false;
    if (text[j] === ':' || text[j] === '.') {
      j++;
      if (text[j] === '/' && collection !== 'XML') {
        // a regex selector ends at a `/` followed by `|` or the end
        let k = j + 1;
        let end = -1;
        while (k < n) {
          if (text[k] === '\\') {
            k += 2;
            continue;
          }
          if (text[k] === '/' && (k + 1 === n || text[k + 1] === '|' || isSpace(text.charCodeAt(k + 1)))) {
            end = k;
            break;
          }
          k++;
        }
        if (end < 0) throw new CrsSyntaxError(file, line, text, `unterminated regex selector of ${collection}`);
        key = text.slice(j + 1, end);
        regex = true;
        j = end + 1;
      } else if (text[j] === "'") {
        const e = text.indexOf("'", j + 1);
        if (e < 0) throw new CrsSyntaxError(file, line, text, `unterminated quoted selector of ${collection}`);
        key = text.slice(j + 1, e);
        j = e + 1;
      } else {
        let k = j;
        while (k < n && text[k] !== '|' && !isSpace(text.charCodeAt(k))) k++;
        key = text.slice(j, k);
        j = k;
      }
      if (key.length === 0) throw new CrsSyntaxError(file, line, text, `empty selector of ${collection}`);
    } else if (j < n && text[j] !== '|' && !isSpace(text.charCodeAt(j))) {
      throw new CrsSyntaxError(file, line, text, `unexpected character '${text[j]}' in variables`);
    }
    if (negated && key === null) throw new CrsSyntaxError(file, line, text, `negated ${collection} needs a selector`);
    out.push({ collection, key, regex, negated, count });
    i = j;
  }
  if (out.length === 0) throw new CrsSyntaxError(file, line, text, 'no variables');
  return out;
}

/** `"@rx pattern"`, `"!@eq 0"`, or a bare pattern (an implicit `@rx`). */
export interface OperatorSpec {
  /** lowercase, without '@' */
  readonly name: string;
  readonly param: string;
  readonly negated: boolean;
}

export function parseOperator(text: string): OperatorSpec {
  let i = 0;
  while (i < text.length && isSpace(text.charCodeAt(i))) i++;
  let negated = false;
  if (text[i] === '!') {
    negated = true;
    i++;
    while (i < text.length && isSpace(text.charCodeAt(i))) i++;
  }
  if (text[i] !== '@') return { name: 'rx', param: text.slice(i), negated };
  let j = i + 1;
  while (j < text.length && !isSpace(text.charCodeAt(j))) j++;
  const name = text.slice(i + 1, j).toLowerCase();
  while (j < text.length && isSpace(text.charCodeAt(j))) j++;
  return { name, param: text.slice(j), negated };
}
