/**
 * Macros: `%{tx.score}`, `%{MATCHED_VAR}`, `%{REQUEST_HEADERS.host}`, `%{rule.id}` in action
 * values and operator parameters, parsed once at load into literal and variable parts.
 */

export interface MacroRef {
  /** uppercase variable or collection name */
  readonly collection: string;
  /** the member (`tx.score` → 'score'), or null for a scalar */
  readonly key: string | null;
}

/** A string with macros: literals and references, in order. */
export type MacroText = readonly (string | MacroRef)[];

const MACRO = /%\{([A-Za-z_][A-Za-z0-9_]*)(?:[.:]([^}]*))?\}/g;

/** Parses the macros of a string; a string without `%{` is one literal. */
export function parseMacro(text: string): MacroText {
  if (text.indexOf('%{') < 0) return [text];
  const out: (string | MacroRef)[] = [];
  let last = 0;
  for (const m of text.matchAll(MACRO)) {
    const at = m.index;
    if (at > last) out.push(text.slice(last, at));
    out.push({ collection: (m[1] as string).toUpperCase(), key: m[2] ?? null });
    last = at + m[0].length;
  }
  if (last < text.length) out.push(text.slice(last));
  return out;
}

/** Whether a parsed string has a reference (needs expansion at run time). */
export function hasMacro(m: MacroText): boolean {
  return m.length !== 1 || typeof m[0] !== 'string';
}

/** Expands a parsed string; `resolve` gives a reference's first value, or '' when it has none. */
export function expandMacro(m: MacroText, resolve: (ref: MacroRef) => string): string {
  if (m.length === 1 && typeof m[0] === 'string') return m[0];
  let s = '';
  for (const p of m) s += typeof p === 'string' ? p : resolve(p);
  return s;
}
