/** Text transformations: pure, linear, allocation-free when nothing changes. */

export function lowercase(s: string): string {
  return s.toLowerCase();
}

/** Removes NUL characters (and U+FFFD left by invalid decoding). */
export function removeNulls(s: string): string {
  if (s.indexOf('\0') < 0 && s.indexOf('\ufffd') < 0) return s;
  return s.replace(/[\0\ufffd]/g, '');
}

function isSpace(c: number): boolean {
  return c === 0x20 || (c >= 0x09 && c <= 0x0d) || c === 0xa0;
}

/** Every run of whitespace becomes one space. */
const NEEDS_COMPRESS = /\s\s|[\t\n\v\f\r\u00a0]/;

export function compressWhitespace(s: string): string {
  if (!NEEDS_COMPRESS.test(s)) return s;
  let out = '';
  let changed = false;
  let prevSpace = false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (isSpace(c)) {
      if (prevSpace || c !== 0x20) changed = true;
      if (!prevSpace) out += ' ';
      prevSpace = true;
    } else {
      out += s[i];
      prevSpace = false;
    }
  }
  return changed ? out : s;
}

/**
 * Replaces C, SQL and shell-style comments (`/* *\/`, `<!-- -->`, `-- `, `#` to end of line) by one
 * space, so that `UN/**\/ION` reads `UN ION` and `SEL/**\/ECT` reads `SEL ECT`; see removeCommentsChar
 * for the variant that joins words.
 */
export function removeComments(s: string): string {
  if (s.indexOf('/*') < 0 && s.indexOf('<!--') < 0 && s.indexOf('--') < 0 && s.indexOf('#') < 0) return s;
  let out = '';
  let i = 0;
  while (i < s.length) {
    if (s.startsWith('/*', i)) {
      const e = s.indexOf('*/', i + 2);
      // MySQL executable comments /*!50000 select */ keep their content
      if (s.charCodeAt(i + 2) === 0x21) {
        let j = i + 3;
        while (j < s.length && s.charCodeAt(j) >= 0x30 && s.charCodeAt(j) <= 0x39) j++;
        out += ' ';
        i = j;
        continue;
      }
      out += ' ';
      i = e < 0 ? s.length : e + 2;
      continue;
    }
    if (s.startsWith('*/', i)) {
      out += ' ';
      i += 2;
      continue;
    }
    if (s.startsWith('<!--', i)) {
      const e = s.indexOf('-->', i + 4);
      out += ' ';
      i = e < 0 ? s.length : e + 3;
      continue;
    }
    if (s.startsWith('--', i) || s.charCodeAt(i) === 0x23) {
      const e = s.indexOf('\n', i);
      out += ' ';
      i = e < 0 ? s.length : e + 1;
      continue;
    }
    out += s[i];
    i++;
  }
  return out;
}

/** Removes `/* *\/` comments entirely, joining what surrounds them (`UN/**\/ION` -> `UNION`). */
export function removeCommentsChar(s: string): string {
  if (s.indexOf('/*') < 0) return s;
  let out = '';
  let i = 0;
  while (i < s.length) {
    if (s.startsWith('/*', i)) {
      if (s.charCodeAt(i + 2) === 0x21) {
        let j = i + 3;
        while (j < s.length && s.charCodeAt(j) >= 0x30 && s.charCodeAt(j) <= 0x39) j++;
        i = j;
        continue;
      }
      const e = s.indexOf('*/', i + 2);
      i = e < 0 ? s.length : e + 2;
      continue;
    }
    if (s.startsWith('*/', i)) {
      i += 2;
      continue;
    }
    out += s[i];
    i++;
  }
  return out;
}

/**
 * Shell-command normalisation (like Windows cmdLine and the CRS unix evasions): removes escaping
 * characters `\ ^` and quote pairs inside a word (a lone apostrophe stays) and empty variable expansions (`$@`, `$*`, `${x:0:0}`-free forms),
 * turns `${IFS}`, `$IFS` and `,` into spaces, removes spaces before `/` and `(`,
 * compresses whitespace and lowercases, so that `c''a\t /et""c/pa?swd` reads `cat /etc/pa?swd`.
 */
const CMD_SPECIAL = /[\\^"'$,\t\n\v\f\r\u00a0]| {2}/;

// cmdLine writes its output into this scratch buffer (one native decode at the end instead of a
// string concatenation per character)
let cmdBuf = new Uint16Array(1024);
let cmdBytes = Buffer.from(cmdBuf.buffer);
let cmdLen = 0;

function cmdEmit(c: number): void {
  if (cmdLen === cmdBuf.length) {
    const next = new Uint16Array(cmdBuf.length * 2);
    next.set(cmdBuf);
    cmdBuf = next;
    cmdBytes = Buffer.from(next.buffer);
  }
  cmdBuf[cmdLen++] = c;
}

function cmdEmitString(t: string): void {
  for (let k = 0; k < t.length; k++) cmdEmit(t.charCodeAt(k));
}

export function cmdLine(s: string): string {
  // fast path: nothing to remove or separate, one space between words
  if (!CMD_SPECIAL.test(s)) return s.toLowerCase();
  cmdLen = 0;
  let prevSpace = false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 0x5c || c === 0x5e) continue;
    if (c === 0x22 || c === 0x27) {
      // quotes used for evasion come in pairs inside a word (c''at, c"a"t, 'ca't); a lone quote
      // (I'd, O'Brien) is kept so that contractions do not turn into commands
      let j = i + 1;
      while (j < s.length && j - i <= 64 && s.charCodeAt(j) !== c && !isSpace(s.charCodeAt(j))) j++;
      if (j < s.length && s.charCodeAt(j) === c) {
        cmdEmitString(
          s
            .slice(i + 1, j)
            .toLowerCase()
            .replace(/[\\^]/g, ''),
        );
        prevSpace = false;
        i = j;
        continue;
      }
      cmdEmit(c);
      prevSpace = false;
      continue;
    }
    if (c === 0x24) {
      // $@ $* $1 .. (expand to nothing), ${IFS} / $IFS (a separator)
      const n = s.charCodeAt(i + 1);
      if (n === 0x40 || n === 0x2a || (n >= 0x30 && n <= 0x39)) {
        i++;
        continue;
      }
      if (s.startsWith('{IFS}', i + 1) || s.startsWith('{ifs}', i + 1)) {
        if (!prevSpace) cmdEmit(0x20);
        prevSpace = true;
        i += 5;
        continue;
      }
      if (s.startsWith('IFS', i + 1) || s.startsWith('ifs', i + 1)) {
        if (!prevSpace) cmdEmit(0x20);
        prevSpace = true;
        i += 3;
        continue;
      }
    }
    if (c === 0x0a || c === 0x0d) {
      cmdEmit(0x0a);
      prevSpace = true;
      continue;
    }
    if (isSpace(c) || c === 0x2c) {
      if (!prevSpace) cmdEmit(0x20);
      prevSpace = true;
      continue;
    }
    if ((c === 0x2f || c === 0x28) && prevSpace && cmdLen > 0) {
      // "cat   /etc" keeps one space; only remove a space before '(' as cmdLine does
      if (c === 0x28) cmdLen--;
    }
    cmdEmit(c >= 0x41 && c <= 0x5a ? c + 32 : c);
    prevSpace = false;
  }
  return cmdBytes.toString('utf16le', 0, cmdLen * 2);
}

/** Backslashes become slashes (Windows paths), for traversal detection. */
export function normaliseSlashes(s: string): string {
  return s.indexOf('\\') < 0 ? s : s.replace(/\\/g, '/');
}

/** Removes all whitespace (so that `java\tscript:` reads `javascript:`). */
export function removeWhitespace(s: string): string {
  return /\s/.test(s) ? s.replace(/\s+/g, '') : s;
}
