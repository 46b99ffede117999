/**
 * SQL injection detection by tokenizing (the idea of libinjection): the value is read as SQL in
 * three contexts (as is, and as if it continued a '...' or "..." string literal), reduced to a
 * fingerprint of token classes, and the fingerprint is checked for injection shapes: breaking out
 * of a string into a condition, comment or new statement; tautologies; UNION SELECT; stacked
 * statements; calls of time-delay and file functions; system variables. SQL words in prose do not
 * form these shapes, which keeps false positives low. Linear in the input (one pass per context,
 * token count bounded).
 *
 * Token classes:
 *   s string   n number/literal   b bareword   v @variable   V @@system variable
 *   o symbolic comparison (= < > <> != <=> ==)   w word comparison (like, rlike, regexp, is, in, between)
 *   a arithmetic/bit operator   & logic (and, or, xor, &&, ||)   N not/!
 *   k clause keyword after an expression (order by, group by, having, limit, procedure, into, where)
 *   K other keyword   E statement word in statement shape (select ... from, drop table, ...)
 *   e statement word not in statement shape
 *   U union   f function call   F dangerous function call (sleep(, benchmark(, load_file(, ...)
 *   c comment   ( ) , ; .   x other
 */
import { DANGEROUS_FUNCTIONS, FUNCTIONS, KEYWORDS, LITERAL_WORDS, LOGIC_WORDS, OP_WORDS, STATEMENT_WORDS } from './sql-words.js';

const MAX_TOKENS = 4096;

const types = new Uint8Array(MAX_TOKENS);
const words: string[] = new Array<string>(MAX_TOKENS).fill('');
const closed = new Uint8Array(MAX_TOKENS);

const CLAUSE_AFTER_EXPR: ReadonlySet<string> = new Set(['order by', 'group by', 'having', 'limit', 'procedure', 'into', 'where']);
const WORD_CMP: ReadonlySet<string> = new Set(['like', 'rlike', 'regexp', 'is', 'in', 'between', 'sounds', 'glob', 'similar', 'ilike']);
const OBJ_WORDS: ReadonlySet<string> = new Set([
  'table',
  'database',
  'schema',
  'view',
  'procedure',
  'function',
  'user',
  'index',
  'trigger',
  'column',
  'tables',
  'columns',
]);

function isDigit(c: number): boolean {
  return c >= 0x30 && c <= 0x39;
}
function isWordStart(c: number): boolean {
  return (c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a) || c === 0x5f || c === 0x24 || c > 0x7f;
}
function isWordChar(c: number): boolean {
  return isWordStart(c) || isDigit(c) || c === 0x2e;
}
function isSpace(c: number): boolean {
  return c === 0x20 || (c >= 0x09 && c <= 0x0d) || c === 0xa0 || c === 0x0b;
}

function ch(t: string): number {
  return t.charCodeAt(0);
}
const T_S = ch('s'),
  T_N = ch('n'),
  T_B = ch('b'),
  T_V = ch('v'),
  T_VV = ch('V'),
  T_O = ch('o'),
  T_W = ch('w'),
  T_A = ch('a');
const T_L = ch('&'),
  T_NOT = ch('N'),
  T_K = ch('k'),
  T_KK = ch('K'),
  T_E = ch('E'),
  T_EW = ch('e'),
  T_U = ch('U'),
  T_F = ch('f'),
  T_FF = ch('F');
const T_C = ch('c'),
  T_LP = ch('('),
  T_RP = ch(')'),
  T_CM = ch(','),
  T_SC = ch(';'),
  T_DOT = ch('.'),
  T_X = ch('x');

// Word classes in one lookup: the low byte is the token class (0: a bareword), W_FIRST marks classes
// that win over a function call, W_BY words that read 'x by' before a 'by', W_FN / W_DANGER function
// names (a call when '(' follows). The precedence is that of the original chain of set lookups.
const W_FIRST = 0x100,
  W_BY = 0x200,
  W_FN = 0x400,
  W_DANGER = 0x800;
const WORD_CLASS: ReadonlyMap<string, number> = (() => {
  const m = new Map<string, number>();
  const add = (words: Iterable<string>, bits: number, onlyNew = false): void => {
    for (const w of words) {
      const cur = m.get(w) ?? 0;
      if (onlyNew && (cur & 0xff) !== 0) continue;
      m.set(w, cur | bits);
    }
  };
  // lowest precedence first for the class byte (onlyNew keeps the earlier, stronger class)
  add(['union'], W_FIRST | T_U);
  add(['not'], W_FIRST | T_NOT, true);
  add(LOGIC_WORDS, W_FIRST | T_L, true);
  add(LITERAL_WORDS, W_FIRST | T_N, true);
  add(['order', 'group'], W_BY);
  add(DANGEROUS_FUNCTIONS, W_DANGER);
  add(FUNCTIONS, W_FN);
  add(WORD_CMP, T_W, true);
  add(OP_WORDS, T_A, true);
  add(STATEMENT_WORDS, T_E, true);
  add(CLAUSE_AFTER_EXPR, T_K, true);
  add(KEYWORDS, T_KK, true);
  return m;
})();

/** tokens of the current tokenize call (module scratch, like the arrays) */
let count = 0;

function push(t: number, w: string, c = 1): void {
  if (count < MAX_TOKENS) {
    types[count] = t;
    words[count] = w;
    closed[count] = c;
    count++;
  }
}

/**
 * Tokenizes `s` (lowercase) starting in the given context ('' none, or a quote char that the value
 * is assumed to continue). Returns the token count (tokens in the module's scratch arrays).
 */
function tokenize(s: string, quote: string): number {
  count = 0;
  let i = 0;
  const len = s.length;
  if (quote !== '') {
    const e = s.indexOf(quote);
    if (e < 0) return 0;
    push(T_S, s.slice(0, e), 1);
    i = e + 1;
  }
  while (i < len && count < MAX_TOKENS) {
    const c = s.charCodeAt(i);
    if (isSpace(c)) {
      i++;
      continue;
    }
    // strings
    if (c === 0x27 || c === 0x22 || c === 0x60) {
      const e = s.indexOf(s[i]!, i + 1);
      if (c === 0x60) {
        push(T_B, e < 0 ? s.slice(i + 1) : s.slice(i + 1, e));
      } else {
        push(T_S, e < 0 ? s.slice(i + 1) : s.slice(i + 1, e), e < 0 ? 0 : 1);
      }
      i = e < 0 ? len : e + 1;
      continue;
    }
    // comments
    if (c === 0x2f && s.charCodeAt(i + 1) === 0x2a) {
      if (s.charCodeAt(i + 2) === 0x21) {
        // MySQL executable comment: its content is code
        i += 3;
        while (i < len && isDigit(s.charCodeAt(i))) i++;
        continue;
      }
      const e = s.indexOf('*/', i + 2);
      push(T_C, '/*');
      i = e < 0 ? len : e + 2;
      continue;
    }
    if (c === 0x2a && s.charCodeAt(i + 1) === 0x2f) {
      i += 2;
      continue;
    }
    if (c === 0x2d && s.charCodeAt(i + 1) === 0x2d) {
      const n2 = s.charCodeAt(i + 2);
      if (i + 2 >= len || isSpace(n2) || n2 < 0x20 || n2 === 0x2d || n2 === 0x2b || n2 === 0x23) {
        const e = s.indexOf('\n', i);
        push(T_C, '--');
        i = e < 0 ? len : e + 1;
        continue;
      }
    }
    if (c === 0x23) {
      const e = s.indexOf('\n', i);
      push(T_C, '#');
      i = e < 0 ? len : e + 1;
      continue;
    }
    // numbers (incl. 0x.., 0b.., 1e5, .5)
    if (isDigit(c) || (c === 0x2e && isDigit(s.charCodeAt(i + 1)))) {
      let j = i + 1;
      if (c === 0x30 && (s.charCodeAt(j) === 0x78 || s.charCodeAt(j) === 0x62)) {
        j++;
        while (j < len && (isDigit(s.charCodeAt(j)) || (s.charCodeAt(j) >= 0x61 && s.charCodeAt(j) <= 0x66))) j++;
      } else {
        while (j < len && (isDigit(s.charCodeAt(j)) || s.charCodeAt(j) === 0x2e)) j++;
        if (
          s.charCodeAt(j) === 0x65 &&
          (isDigit(s.charCodeAt(j + 1)) || ((s.charCodeAt(j + 1) === 0x2d || s.charCodeAt(j + 1) === 0x2b) && isDigit(s.charCodeAt(j + 2))))
        ) {
          j += 2;
          while (j < len && isDigit(s.charCodeAt(j))) j++;
        }
      }
      // a number glued to letters is a word (e.g. 3rd, 2fa)
      if (j < len && isWordStart(s.charCodeAt(j))) {
        while (j < len && isWordChar(s.charCodeAt(j))) j++;
        push(T_B, s.slice(i, j));
      } else push(T_N, s.slice(i, j));
      i = j;
      continue;
    }
    // variables
    if (c === 0x40) {
      let j = i + 1;
      const sys = s.charCodeAt(j) === 0x40;
      if (sys) j++;
      const st = j;
      while (j < len && isWordChar(s.charCodeAt(j))) j++;
      push(sys && j > st ? T_VV : T_V, s.slice(i, j));
      i = j === i + 1 ? i + 1 : j;
      continue;
    }
    // words
    if (isWordStart(c)) {
      let j = i + 1;
      while (j < len && isWordChar(s.charCodeAt(j))) j++;
      let w = s.slice(i, j);
      // a trailing dot is punctuation
      while (w.endsWith('.')) {
        w = w.slice(0, -1);
        j--;
      }
      i = j;
      const wc = WORD_CLASS.get(w);
      if (wc === undefined) {
        push(T_B, w);
        continue;
      }
      if ((wc & W_FIRST) !== 0) {
        push(wc & 0xff, w);
        continue;
      }
      if ((wc & W_BY) !== 0 && /^\s*by\b/.test(s.slice(i, i + 12))) {
        const k = s.indexOf('by', i);
        i = k + 2;
        push(T_K, `${w} by`);
        continue;
      }
      // function call: name immediately (or after spaces, for known functions) followed by '('
      if ((wc & (W_FN | W_DANGER)) !== 0) {
        let k = i;
        while (k < len && isSpace(s.charCodeAt(k)) && k - i < 8) k++;
        if (s.charCodeAt(k) === 0x28) {
          if ((wc & W_DANGER) !== 0 && (k === i || w !== 'sleep')) {
            push(T_FF, w);
            continue;
          }
          if ((wc & W_FN) !== 0) {
            push(T_F, w);
            continue;
          }
        }
      }
      if ((wc & 0xff) !== 0) {
        push(wc & 0xff, w); // T_E is confirmed or demoted by shape() below
        continue;
      }
      push(T_B, w);
      continue;
    }
    // operators
    const c2 = s.charCodeAt(i + 1);
    if (c === 0x26 && c2 === 0x26) {
      push(T_L, '&&');
      i += 2;
      continue;
    }
    if (c === 0x7c && c2 === 0x7c) {
      push(T_L, '||');
      i += 2;
      continue;
    }
    if (c === 0x3c && c2 === 0x3d && s.charCodeAt(i + 2) === 0x3e) {
      push(T_O, '<=>');
      i += 3;
      continue;
    }
    if ((c === 0x3c || c === 0x3e || c === 0x21 || c === 0x3d) && c2 === 0x3d) {
      push(T_O, s.slice(i, i + 2));
      i += 2;
      continue;
    }
    if (c === 0x3c && c2 === 0x3e) {
      push(T_O, '<>');
      i += 2;
      continue;
    }
    if ((c === 0x3c && c2 === 0x3c) || (c === 0x3e && c2 === 0x3e)) {
      push(T_A, s.slice(i, i + 2));
      i += 2;
      continue;
    }
    if (c === 0x3a && c2 === 0x3d) {
      push(T_A, ':=');
      i += 2;
      continue;
    }
    switch (c) {
      case 0x3d:
      case 0x3c:
      case 0x3e:
        push(T_O, s[i]!);
        break;
      case 0x21:
        push(T_NOT, '!');
        break;
      case 0x2b:
      case 0x2d:
      case 0x2a:
      case 0x2f:
      case 0x25:
      case 0x5e:
      case 0x7c:
      case 0x26:
      case 0x7e:
        push(T_A, s[i]!);
        break;
      case 0x28:
        push(T_LP, '(');
        break;
      case 0x29:
        push(T_RP, ')');
        break;
      case 0x2c:
        push(T_CM, ',');
        break;
      case 0x3b:
        push(T_SC, ';');
        break;
      case 0x2e:
        push(T_DOT, '.');
        break;
      case 0x5c:
        break; // escapes are noise here
      default:
        push(T_X, s[i]!);
    }
    i++;
  }
  return count;
}

/** Keeps `E` only where the words that follow form a statement; otherwise the word is a bareword. */
function shape(n: number): void {
  for (let i = 0; i < n; i++) {
    if (types[i] !== T_E) continue;
    const w = words[i]!;
    const t1 = i + 1 < n ? types[i + 1]! : -1;
    const w1 = i + 1 < n ? words[i + 1]! : '';
    let ok = false;
    switch (w) {
      case 'select': {
        // select <expr> [, ...] from | select <number|@var|function|(|*|string>
        if (
          t1 === T_N ||
          t1 === T_V ||
          t1 === T_VV ||
          t1 === T_F ||
          t1 === T_FF ||
          t1 === T_LP ||
          t1 === T_S ||
          (t1 === T_A && w1 === '*') ||
          ((w1 === 'distinct' || w1 === 'top') && i + 2 < n) ||
          t1 === T_U
        )
          ok = true;
        else {
          for (let j = i + 1; j < n && j <= i + 6; j++) {
            if (words[j] === 'from' && types[j] === T_KK) {
              ok = true;
              break;
            }
            if (types[j] !== T_B && types[j] !== T_CM && types[j] !== T_DOT && types[j] !== T_N) break;
          }
        }
        break;
      }
      case 'insert':
      case 'replace':
        ok = w1 === 'into' || (t1 === T_B && i + 2 < n && words[i + 2] === 'values');
        break;
      case 'delete':
        ok = w1 === 'from' || (t1 === T_B && i + 2 < n && (words[i + 2] === 'from' || words[i + 2] === 'where'));
        break;
      case 'update':
        ok = t1 === T_B && i + 2 < n && words[i + 2] === 'set';
        break;
      case 'drop':
      case 'create':
      case 'alter':
      case 'truncate':
      case 'rename':
        ok = OBJ_WORDS.has(w1) || (w === 'create' && w1 === 'or');
        break;
      case 'exec':
      case 'execute':
        ok =
          (t1 === T_B && (w1.startsWith('xp_') || w1.startsWith('sp_') || w1.startsWith('master.'))) ||
          t1 === T_LP ||
          t1 === T_S ||
          t1 === T_V ||
          w1 === 'immediate';
        break;
      case 'declare':
        ok = t1 === T_V;
        break;
      case 'waitfor':
        ok = w1 === 'delay' || w1 === 'time';
        break;
      case 'shutdown':
        ok = t1 === -1 || t1 === T_C || t1 === T_SC || w1 === 'with';
        break;
      case 'grant':
      case 'revoke':
        ok = w1 === 'all' || w1 === 'select' || w1 === 'insert' || w1 === 'execute';
        break;
      case 'set':
        ok = t1 === T_V || t1 === T_VV || (t1 === T_B && (w1 === 'global' || w1 === 'session' || w1 === 'names' || w1 === 'password'));
        break;
      case 'load':
        ok = w1 === 'data' || w1 === 'xml';
        break;
      case 'prepare':
        ok = t1 === T_B && i + 2 < n && words[i + 2] === 'from';
        break;
      case 'declare ':
        ok = true;
        break;
      case 'handler':
        ok = t1 === T_B && i + 2 < n && (words[i + 2] === 'open' || words[i + 2] === 'read');
        break;
      case 'show':
        ok = w1 === 'tables' || w1 === 'databases' || w1 === 'columns' || w1 === 'grants' || w1 === 'variables';
        break;
      case 'call':
        ok = t1 === T_B && i + 2 < n && types[i + 2] === T_LP;
        break;
      default:
        ok = false;
    }
    if (!ok) types[i] = T_EW;
  }
}

// Fingerprint shapes. The fingerprint is one character per token; these patterns are bounded and
// run on the fingerprint only (at most MAX_TOKENS characters).
const QUOTE_SHAPES: readonly [string, RegExp][] = [
  ['string break then logic', /^s\)*&\(*(?:[nsvVfF(]|N|b[ow])/],
  ['string break then comparison', /^s\)*o/],
  ['string break then word comparison', /^s\)*w(?:\(*[sn(]|$)/],
  ['string break then statement', /^s\)*;\(*(?:[EeUc(]|$)/],
  ['string break then statement word', /^s\)*[Ee]/],
  ['string break then union', /^s\)*U/],
  ['string break then comment', /^s\)*c/],
  ['string break then clause', /^s\)*k/],
  ['string break then function', /^s\)*a\(*[fFE(]/],
  ['string break then system variable', /^s\)*[aN&o]?\(*V/],
];
/** Break-out shapes that an opening quote in prose or code also produces. */
const WEAK_BREAKOUTS: ReadonlySet<string> = new Set([
  'string break then statement word',
  'string break then clause',
  'string break then function',
  'string break then statement',
]);

const NONE_SHAPES: readonly [string, RegExp][] = [
  ['union select', /U\(*(?:E|K\(*E)/],
  ['tautology', /&\(*(?:[ns]|N\(*[ns])o\(*(?:[ns]\)*(?:$|[c;&Uk)])|\()/],
  ['number then logic', /^[an]?n\)*&\(*(?:[nsvb]\)*[ow]\(*[nsvb]\)*(?:$|[c;&Uk)])|[fF]\(|\(+[nsvb]\)*[ow]|E)/],
  ['stacked statement', /(?:^|[ns)])\)*;\(*E/],
  ['number then clause or comment', /^[an]?n\)*(?:k|U|c$|;)/],
  ['dangerous function', /F\(/],
  ['system variable', /V/],
  ['leading logic then comparison', /^&\(*N?\(*[nsbvf]\)*[ow]/],
  ['value then operator then subquery', /^[ns]\)*[owa&N]+\(+E/],
  ['leading logic then group', /^&\(+[nsbvN]/],
  ['parenthesis break-out', /^\)+(?:[&owkU;c]|K)/],
  ['leading separator then statement', /^[n)]?\)*;\(*[Ee]/],
];
/** Any of the shapes (one regex, so that the usual value without any shape costs one test). */
function anyOf(shapes: readonly [string, RegExp][]): RegExp {
  return new RegExp(shapes.map(([, re]) => `(?:${re.source})`).join('|'));
}
const NONE_ANY = anyOf(NONE_SHAPES);
const QUOTE_ANY = anyOf(QUOTE_SHAPES);
/** Shapes that code snippets can also have: scored lower. */
const WEAK_SHAPES: readonly [string, RegExp][] = [
  ['statement then comment', /^\(*E[^c]*c$/],
  ['subquery', /\(E/],
  ['function call then logic or comment', /^f\([^&c]*\)(?:&|c$)/],
  ['string then logic', /s\)*&\(*[nsvfF(]/],
  ['statement', /^\(*E/],
];
const WEAK_ANY = anyOf(WEAK_SHAPES);

/** A value that starts with a complete SQL statement (shape-checked): for values that are not free text. */
export function detectSqlStatement(value: string): string | null {
  lastValue = null;
  const n = tokenize(value, '');
  if (n === 0) return null;
  shape(n);
  let i = 0;
  while (i < n && (types[i] === T_LP || types[i] === T_SC || types[i] === T_A)) i++;
  return i < n && types[i] === T_E ? `statement '${words[i]}' at the start of the value` : null;
}

/** Words that never appear in parameter names unless someone writes SQL there. */
const NAME_OPS: ReadonlySet<string> = new Set(['>>', '<<', ':=', '||', '&&']);
const NAME_WORDS: ReadonlySet<string> = new Set(['from', 'where', 'into', 'values', 'table', 'limit', 'having', 'order by', 'group by', 'union']);

/**
 * Parameter names are identifiers: a name with spaces, quotes, parentheses or operators that also
 * reads as SQL (a function call, an operator, a keyword, a comment) is an injection.
 */
export function detectSqlName(value: string): string | null {
  if (/^[a-z0-9_.\-[\]$@:]*$/.test(value)) return null;
  lastValue = null;
  for (const q of ['', "'", '"']) {
    if (q !== '' && value.indexOf(q) < 0) continue;
    const n = tokenize(value, q);
    shape(n);
    for (let i = 0; i < n; i++) {
      const t = types[i]!;
      const w = words[i]!;
      if (
        t === T_L ||
        t === T_O ||
        t === T_W ||
        t === T_K ||
        t === T_U ||
        t === T_F ||
        t === T_FF ||
        t === T_VV ||
        t === T_V ||
        t === T_C ||
        t === T_SC ||
        t === T_E ||
        t === T_EW ||
        (t === T_A && NAME_OPS.has(w)) ||
        (t === T_KK && NAME_WORDS.has(w))
      ) {
        return `SQL ${String.fromCharCode(t)} '${w.slice(0, 20)}' in a parameter name`;
      }
    }
  }
  return null;
}

/** the token classes as a Buffer view, to read a fingerprint in one native call */
const typesText = Buffer.from(types.buffer, types.byteOffset, types.byteLength);

function fingerprint(n: number): string {
  return typesText.toString('latin1', 0, n);
}

/** Result of the SQL detector: a description of the shape found, or null. */
export function detectSqli(value: string): string | null {
  return detect(value, false);
}

/** Weaker SQL shapes (subqueries, whole statements): a lower score, adds up with other evidence. */
export function detectSqliWeak(value: string): string | null {
  return detect(value, true);
}

const CONTEXTS = ['', "'", '"', '`'] as const;
/** fingerprints of the last value seen (the strong and weak detectors run on the same value) */
let lastValue: string | null = null;
const lastFp: (string | null)[] = [null, null, null, null];
const lastClosed = new Uint8Array(4);

/** Words that can follow a string break-out in an injection (quick check before tokenizing). */
const BREAKOUT_WORDS: ReadonlySet<string> = new Set([
  ...LOGIC_WORDS,
  ...WORD_CMP,
  ...OP_WORDS,
  ...STATEMENT_WORDS,
  ...CLAUSE_AFTER_EXPR,
  'union',
  'order',
  'group',
  'from',
]);

/**
 * Can the value break out of a `q`-quoted literal into SQL? Only when what follows the first
 * quote (after spaces and parentheses) is an operator, a comment, a variable or an SQL word;
 * "O'Brien" and "it's" are not.
 */
function breakoutCandidate(value: string, q: string): boolean {
  const i = value.indexOf(q);
  if (i < 0) return false;
  let j = i + 1;
  while (j < value.length && (isSpace(value.charCodeAt(j)) || value.charCodeAt(j) === 0x29)) j++;
  if (j >= value.length) return false;
  const c = value.charCodeAt(j);
  if (isWordStart(c) && c !== 0x24) {
    let k = j + 1;
    while (k < value.length && (isWordStart(value.charCodeAt(k)) || isDigit(value.charCodeAt(k)))) k++;
    const w = value.slice(j, k).toLowerCase();
    return BREAKOUT_WORDS.has(w) || FUNCTIONS.has(w) || DANGEROUS_FUNCTIONS.has(w);
  }
  // operators, comments, variables, parentheses, separators
  return '&|=<>!;#-/+*^%~@(,.'.includes(value[j]!);
}

function fingerprintsOf(value: string): void {
  if (value === lastValue) return;
  lastValue = value;
  for (let c = 0; c < CONTEXTS.length; c++) {
    const q = CONTEXTS[c]!;
    if (q !== '' && !breakoutCandidate(value, q)) {
      lastFp[c] = null;
      continue;
    }
    const n = tokenize(value, q);
    if (n === 0) {
      lastFp[c] = null;
      continue;
    }
    shape(n);
    lastFp[c] = fingerprint(n);
    lastClosed[c] = closed[0]!;
  }
}

function detect(value: string, weak: boolean): string | null {
  if (value.length < 2) return null;
  // contexts: as is, and continuing a '...', "..." or `...` literal
  fingerprintsOf(value);
  for (let c = 0; c < CONTEXTS.length; c++) {
    const q = CONTEXTS[c]!;
    const fp = lastFp[c];
    if (fp === null || fp === undefined) continue;
    if (weak) {
      if (q === '' && WEAK_ANY.test(fp)) for (const [name, re] of WEAK_SHAPES) if (re.test(fp)) return `${name} (fingerprint ${fp.slice(0, 12)})`;
      continue;
    }
    if (q !== '') {
      if (lastClosed[c] === 1 && QUOTE_ANY.test(fp)) {
        // a quote after a space opens a quotation in prose or code rather than closing a value;
        // backticks are markdown code spans far more often than MySQL identifiers
        const qi = value.indexOf(q);
        const opening = q === '`' || (qi > 0 && /\s/.test(value[qi - 1]!));
        for (const [name, re] of QUOTE_SHAPES) {
          if (opening && WEAK_BREAKOUTS.has(name)) continue;
          if (re.test(fp)) return `${name} (${q} context, fingerprint ${fp.slice(0, 12)})`;
        }
      }
      continue;
    }
    if (NONE_ANY.test(fp)) for (const [name, re] of NONE_SHAPES) if (re.test(fp)) return `${name} (fingerprint ${fp.slice(0, 12)})`;
  }
  return null;
}

/** The fingerprint of a value in each context, for `waf test` and tests. */
export function sqlFingerprints(value: string): { none: string; single: string; double: string } {
  lastValue = null;
  const run = (q: string): string => {
    if (q !== '' && value.indexOf(q) < 0) return '';
    const n = tokenize(value, q);
    shape(n);
    return fingerprint(n);
  };
  return { none: run(''), single: run("'"), double: run('"') };
}
