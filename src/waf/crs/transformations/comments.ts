/** Comment transformations (C, SQL, shell and HTML comments), as ModSecurity v3 defines them. */

/**
 * `t:removeComments`: drops C-style and HTML comments (an unterminated one becomes one space);
 * `--` and `#` turn into a space and end the value.
 */
export function removeComments(s: string): string {
  const n = s.length;
  const out: string[] = [];
  let i = 0;
  let inComment = false;
  while (i < n) {
    if (!inComment) {
      if (s[i] === '/' && i + 1 < n && s[i + 1] === '*') {
        inComment = true;
        i += 2;
      } else if (s[i] === '<' && i + 3 < n && s[i + 1] === '!' && s[i + 2] === '-' && s[i + 3] === '-') {
        inComment = true;
        i += 4;
      } else if ((s[i] === '-' && i + 1 < n && s[i + 1] === '-') || s[i] === '#') {
        out.push(' ');
        return out.join('');
      } else {
        out.push(s[i]!);
        i++;
      }
    } else if (s[i] === '*' && i + 1 < n && s[i + 1] === '/') {
      inComment = false;
      i += 2;
      // ModSecurity copies the byte after the comment at once (the C string's NUL at the end)
      out.push(i < n ? s[i]! : '\0');
      i++;
    } else if (s[i] === '-' && i + 2 < n && s[i + 1] === '-' && s[i + 2] === '>') {
      inComment = false;
      i += 3;
      out.push(i < n ? s[i]! : '\0');
      i++;
    } else {
      i++;
    }
  }
  if (inComment) out.push(' ');
  return out.join('');
}

/** `t:replaceComments`: each C-style comment becomes one space (an unterminated one too). */
export function replaceComments(s: string): string {
  let out = '';
  let i = 0;
  for (;;) {
    const open = s.indexOf('/*', i);
    if (open < 0) return out + s.slice(i);
    out += `${s.slice(i, open)} `;
    const close = s.indexOf('*/', open + 2);
    if (close < 0) return out;
    i = close + 2;
  }
}

/** `t:removeCommentsChar`: drops the comment markers `/*`, `*\/`, `<!--`, `-->`, `--` and `#`. */
export function removeCommentsChar(s: string): string {
  const n = s.length;
  const out: string[] = [];
  let i = 0;
  while (i < n) {
    const c = s[i]!;
    if ((c === '/' && s[i + 1] === '*') || (c === '*' && s[i + 1] === '/')) i += 2;
    else if (c === '<' && s[i + 1] === '!' && s[i + 2] === '-' && s[i + 3] === '-') i += 4;
    else if (c === '-' && s[i + 1] === '-' && s[i + 2] === '>') i += 3;
    else if (c === '-' && s[i + 1] === '-') i += 2;
    else if (c === '#') i += 1;
    else {
      out.push(c);
      i++;
    }
  }
  return out.join('');
}
