/** Text transformations over byte strings (one char per byte, see index.ts), as ModSecurity v3 defines them. */

/** `t:lowercase`: ASCII letters only (C's tolower in the C locale); other bytes are kept. */
export function lowercase(s: string): string {
  return /[A-Z]/.test(s) ? s.replace(/[A-Z]+/g, (m) => m.toLowerCase()) : s;
}

/** `t:upperCase`: ASCII letters only. */
export function upperCase(s: string): string {
  return /[a-z]/.test(s) ? s.replace(/[a-z]+/g, (m) => m.toUpperCase()) : s;
}

/** `t:trim`: strips space, \t, \n, \r, \f and \v at both ends. */
export function trim(s: string): string {
  return s.replace(/^[\t-\r ]+/, '').replace(/[\t-\r ]+$/, '');
}

/** C isspace in the C locale, plus NBSP (0xa0), the set ModSecurity's whitespace transformations use. */
const WHITESPACE = /[\t-\r \xa0]/;

/** `t:compressWhitespace`: each run of whitespace (and NBSP) becomes one space. */
export function compressWhitespace(s: string): string {
  return WHITESPACE.test(s) ? s.replace(/[\t-\r \xa0]+/g, ' ') : s;
}

/** `t:removeWhitespace`: drops whitespace and NBSP. */
export function removeWhitespace(s: string): string {
  return WHITESPACE.test(s) ? s.replace(/[\t-\r \xa0]+/g, '') : s;
}

/** `t:removeNulls`: drops NUL bytes. */
export function removeNulls(s: string): string {
  return s.indexOf('\0') < 0 ? s : s.replace(/\0+/g, '');
}

/**
 * `t:cmdLine`: drops `\ " ' ^`; turns runs of space, tab, CR, LF, `,` and `;` into one space;
 * drops that space before `/` or `(`; lowercases ASCII.
 */
export function cmdLine(s: string): string {
  const out: string[] = [];
  let space = false;
  for (let i = 0; i < s.length; i++) {
    const ch = s[i]!;
    switch (ch) {
      case '"':
      case "'":
      case '\\':
      case '^':
        break;
      case ' ':
      case ',':
      case ';':
      case '\t':
      case '\r':
      case '\n':
        if (!space) {
          out.push(' ');
          space = true;
        }
        break;
      case '/':
      case '(':
        if (space) out.pop();
        space = false;
        out.push(ch);
        break;
      default: {
        const c = s.charCodeAt(i);
        out.push(c >= 65 && c <= 90 ? String.fromCharCode(c + 32) : ch);
        space = false;
      }
    }
  }
  return out.join('');
}
