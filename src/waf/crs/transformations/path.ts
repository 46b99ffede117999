/** Path transformations, as ModSecurity v3 / Coraza define them. */

/**
 * Lexical path cleaning (Go's path.Clean): drops empty and `.` segments, resolves `..` against the
 * segment before it (never above the root of a rooted path; kept at the start of a relative one).
 */
function clean(p: string): string {
  const rooted = p.startsWith('/');
  const out: string[] = [];
  for (const seg of p.split('/')) {
    if (seg === '' || seg === '.') continue;
    if (seg === '..') {
      if (out.length > 0 && out[out.length - 1] !== '..') out.pop();
      else if (!rooted) out.push('..');
      continue;
    }
    out.push(seg);
  }
  const joined = out.join('/');
  if (rooted) return `/${joined}`;
  return joined === '' ? '.' : joined;
}

/** `t:normalizePath`: cleans the path; a trailing `/` is kept; `.` alone becomes ''. */
export function normalizePath(s: string): string {
  if (s === '') return s;
  const c = clean(s);
  if (c === '.') return '';
  return s.endsWith('/') && c !== '/' ? `${c}/` : c;
}

/** `t:normalizePathWin`: backslashes become slashes, then normalizePath. */
export function normalizePathWin(s: string): string {
  return normalizePath(s.replaceAll('\\', '/'));
}
