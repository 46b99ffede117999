/** Path normalisation for inspection: backslashes to slashes, duplicate slashes merged, `.`/`..` resolved. */
export function normalisePathT(s: string): string {
  if (s.indexOf('.') < 0 && s.indexOf('//') < 0 && s.indexOf('\\') < 0) return s;
  const abs = s.startsWith('/') || s.startsWith('\\');
  const parts = s.replace(/\\/g, '/').split('/');
  const stack: string[] = [];
  for (const p of parts) {
    if (p === '' || p === '.') continue;
    if (p === '..') {
      if (stack.length > 0 && stack[stack.length - 1] !== '..') stack.pop();
      else if (!abs) stack.push('..');
      continue;
    }
    stack.push(p);
  }
  return (abs ? '/' : '') + stack.join('/');
}
