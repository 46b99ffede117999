/**
 * The part of Go's text/template (with sprig) that go-ftw applies to `data` and the CRS suite
 * uses: string literals and sprig's `repeat` (`{{ "1" | repeat 64200 }}`, `{{ repeat 3 "a" }}`),
 * comments and the `{{-`/`-}}` whitespace trims. Any other action is an error, so that a test
 * never silently sends a body other than the one its author meant.
 */

/** Largest body a template may make. */
export const MAX_TEMPLATE_BYTES = 16 * 1024 * 1024;

const REPEAT_PIPE = /^("(?:[^"\\]|\\.)*"|`[^`]*`)\s*\|\s*repeat\s+(\d+)$/;
const REPEAT_CALL = /^repeat\s+(\d+)\s+("(?:[^"\\]|\\.)*"|`[^`]*`)$/;
const LITERAL = /^("(?:[^"\\]|\\.)*"|`[^`]*`)$/;

function literal(s: string): string {
  if (s.startsWith('`')) return s.slice(1, -1);
  try {
    return JSON.parse(s) as string;
  } catch {
    throw new Error(`template: unsupported string literal ${s}`);
  }
}

function repeat(count: string, s: string): string {
  const n = Number(count);
  if (n * s.length > MAX_TEMPLATE_BYTES) throw new Error(`template: repeat makes more than ${MAX_TEMPLATE_BYTES} bytes`);
  return s.repeat(n);
}

function evaluate(action: string): string {
  const a = action.trim();
  if (a.startsWith('/*') && a.endsWith('*/')) return '';
  let m = REPEAT_PIPE.exec(a);
  if (m !== null) return repeat(m[2] as string, literal(m[1] as string));
  m = REPEAT_CALL.exec(a);
  if (m !== null) return repeat(m[1] as string, literal(m[2] as string));
  m = LITERAL.exec(a);
  if (m !== null) return literal(m[1] as string);
  throw new Error(`template: unsupported action {{${action}}}`);
}

/** Expands the template actions of `text`; text without `{{` is returned as it is (one pass, no backtracking). */
export function expandTemplate(text: string): string {
  if (!text.includes('{{')) return text;
  let out = '';
  let pos = 0;
  for (;;) {
    const open = text.indexOf('{{', pos);
    if (open < 0) break;
    const close = text.indexOf('}}', open + 2);
    if (close < 0) throw new Error('template: {{ without }}');
    let before = text.slice(pos, open);
    let action = text.slice(open + 2, close);
    pos = close + 2;
    if (action.startsWith('- ')) {
      before = before.trimEnd();
      action = action.slice(2);
    }
    if (action.endsWith(' -')) {
      action = action.slice(0, -2);
      while (pos < text.length && /\s/.test(text[pos] as string)) pos++;
    }
    out += before + evaluate(action);
    if (out.length > MAX_TEMPLATE_BYTES) throw new Error(`template: more than ${MAX_TEMPLATE_BYTES} bytes`);
  }
  return out + text.slice(pos);
}
