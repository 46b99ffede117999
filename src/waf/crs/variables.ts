/**
 * SecLang variables read from a transaction: the request model (model.ts), what the body processor
 * read, TX and persistent collections, MATCHED_VAR(S), RULE, TIME_*. A collection's members are
 * selected by name (case-insensitive) or by a selector regex; scalars have one value or none.
 */
import type { Pair } from '../../core/reading.js';
import type { KeyMatcher } from './rule.js';
import type { BodyProcessor, CrsBodyReading, CrsRequest, CrsResponseHead } from './model.js';

/** One value of a variable: its full name ('ARGS:id'), its member key ('id', '' for scalars), its value. */
export interface VariableValue {
  readonly name: string;
  readonly key: string;
  readonly value: string;
}

/** What the variables are read from (the transaction). */
export interface VariableContext {
  readonly request: CrsRequest;
  readonly body: CrsBodyReading | null;
  readonly response: CrsResponseHead | null;
  readonly responseBody: string | null;
  readonly bodyProcessor: BodyProcessor | null;
  readonly forceRequestBodyVariable: boolean;
  readonly env: ReadonlyMap<string, string>;
  readonly matchedVar: string;
  readonly matchedVarName: string;
  readonly matchedVars: readonly { readonly name: string; readonly key: string; readonly value: string }[];
  readonly highestSeverity: number;
  readonly uniqueId: string;
  collection(name: string): ReadonlyMap<string, string> | null;
  time(kind: string): string;
  ruleValue(key: string): string | null;
}

/** Values derived once per request (URI parts, cookies). */
interface Derived {
  readonly path: string;
  readonly query: string;
  readonly filename: string;
  readonly basename: string;
  readonly cookies: readonly Pair[];
  readonly uri: string;
}

const derivedCache = new WeakMap<CrsRequest, Derived>();

/** Percent-decoding byte by byte (ModSecurity's urldecode: invalid escapes stay as they are). */
export function percentDecode(s: string, plusIsSpace: boolean): string {
  if (s.indexOf('%') < 0 && (!plusIsSpace || s.indexOf('+') < 0)) return s;
  let out = '';
  for (let i = 0; i < s.length; i++) {
    const c = s[i] as string;
    if (c === '%' && i + 2 < s.length + 0 && /^[0-9A-Fa-f]{2}$/.test(s.slice(i + 1, i + 3))) {
      out += String.fromCharCode(Number.parseInt(s.slice(i + 1, i + 3), 16));
      i += 2;
    } else if (c === '+' && plusIsSpace) out += ' ';
    else out += c;
  }
  return out;
}

/** Splits `a=1&b=2` as ModSecurity does (byte-exact decoding; a name without `=` has value ''). */
export function parseArgs(s: string, max: number): Pair[] {
  const out: Pair[] = [];
  if (s.length === 0) return out;
  for (const piece of s.split('&')) {
    if (piece.length === 0) continue;
    if (out.length >= max) break;
    const eq = piece.indexOf('=');
    out.push(eq < 0 ? [percentDecode(piece, true), ''] : [percentDecode(piece.slice(0, eq), true), percentDecode(piece.slice(eq + 1), true)]);
  }
  return out;
}

/** Cookie header lines into name/value pairs (version 0 cookies: `;`-separated). */
export function parseCookies(lines: readonly string[]): Pair[] {
  const out: Pair[] = [];
  for (const line of lines)
    for (const part of line.split(';')) {
      const p = part.replace(/^[ \t]+/, '');
      if (p.length === 0) continue;
      const eq = p.indexOf('=');
      out.push(eq < 0 ? [p, ''] : [p.slice(0, eq), p.slice(eq + 1)]);
    }
  return out;
}

function derive(req: CrsRequest): Derived {
  const got = derivedCache.get(req);
  if (got !== undefined) return got;
  let uri = req.uri;
  // absolute form: scheme://authority/path → /path
  const scheme = /^[a-zA-Z][a-zA-Z0-9+.-]*:\/\/[^/?#]*/.exec(uri);
  if (scheme !== null) uri = uri.slice(scheme[0].length) || '/';
  const hash = uri.indexOf('#');
  if (hash >= 0) uri = uri.slice(0, hash);
  const q = uri.indexOf('?');
  const path = q < 0 ? uri : uri.slice(0, q);
  const filename = percentDecode(path, false);
  const slash = Math.max(filename.lastIndexOf('/'), filename.lastIndexOf('\\'));
  const cookieLines: string[] = [];
  for (const [n, v] of req.headers) if (n.toLowerCase() === 'cookie') cookieLines.push(v);
  const d: Derived = {
    path,
    query: q < 0 ? '' : uri.slice(q + 1),
    filename,
    basename: slash < 0 ? filename : filename.slice(slash + 1),
    cookies: parseCookies(cookieLines),
    uri,
  };
  derivedCache.set(req, d);
  return d;
}

function select(
  out: VariableValue[],
  prefix: string,
  pairs: Iterable<readonly [string, string]>,
  key: string | null,
  re: KeyMatcher | null,
  names: boolean,
): void {
  for (const [k, v] of pairs) {
    if (key !== null && k.toLowerCase() !== key) continue;
    if (re !== null && !re(k)) continue;
    out.push({ name: `${prefix}:${k}`, key: k, value: names ? k : v });
  }
}

/** Members of an already read collection, by lowercase key or selector regex. */
export function selectMembers(all: readonly VariableValue[], key: string | null, re: KeyMatcher | null): VariableValue[] {
  const out: VariableValue[] = [];
  for (const v of all) {
    if (key !== null && v.key.toLowerCase() !== key) continue;
    if (re !== null && !re(v.key)) continue;
    out.push(v);
  }
  return out;
}

function scalar(name: string, value: string | null): VariableValue[] {
  return value === null ? [] : [{ name, key: '', value }];
}

/** Extracts the text content (`XML:/*`) or the attribute values (`XML://@*`) of a document. */
export function xmlValues(xml: string, attributes: boolean): string[] {
  const texts: string[] = [];
  const attrs: string[] = [];
  let i = 0;
  const n = xml.length;
  while (i < n) {
    const lt = xml.indexOf('<', i);
    const end = lt < 0 ? n : lt;
    if (end > i) texts.push(decodeEntities(xml.slice(i, end)));
    if (lt < 0) break;
    if (xml.startsWith('<![CDATA[', lt)) {
      const e = xml.indexOf(']]>', lt + 9);
      texts.push(xml.slice(lt + 9, e < 0 ? n : e));
      i = e < 0 ? n : e + 3;
      continue;
    }
    if (xml.startsWith('<!--', lt)) {
      const e = xml.indexOf('-->', lt + 4);
      i = e < 0 ? n : e + 3;
      continue;
    }
    const gt = xml.indexOf('>', lt + 1);
    const tag = xml.slice(lt + 1, gt < 0 ? n : gt);
    if (attributes && tag[0] !== '?' && tag[0] !== '!' && tag[0] !== '/') {
      attributeValues(tag, attrs);
    }
    i = gt < 0 ? n : gt + 1;
  }
  if (attributes) return attrs;
  // the root element's string value; whitespace-only documents have none
  const text = texts.join('');
  return [text];
}

/** Appends the quoted attribute values of a tag's text (`name a="1" b='2'`), in one pass. */
function attributeValues(tag: string, out: string[]): void {
  let q = tag.indexOf('=');
  while (q >= 0) {
    let s = q + 1;
    while (s < tag.length && (tag[s] === ' ' || tag[s] === '\t' || tag[s] === '\r' || tag[s] === '\n')) s++;
    const quote = tag[s];
    if (quote !== '"' && quote !== "'") {
      q = tag.indexOf('=', s);
      continue;
    }
    const e = tag.indexOf(quote, s + 1);
    if (e < 0) return;
    out.push(decodeEntities(tag.slice(s + 1, e)));
    q = tag.indexOf('=', e + 1);
  }
}

function decodeEntities(s: string): string {
  if (s.indexOf('&') < 0) return s;
  return s.replace(
    /&(?:#x([0-9a-fA-F]{1,6})|#([0-9]{1,7})|(lt|gt|amp|quot|apos));/g,
    (m, hex: string | undefined, dec: string | undefined, name: string | undefined) => {
      if (name !== undefined) return { lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" }[name] ?? m;
      const cp = hex !== undefined ? Number.parseInt(hex, 16) : Number(dec);
      if (cp > 0x10ffff) return m;
      // the code point's UTF-8 bytes, one character per byte
      return Buffer.from(String.fromCodePoint(cp), 'utf8').toString('latin1');
    },
  );
}

function requestBody(ctx: VariableContext): string | null {
  if (ctx.body === null) return null;
  const p = ctx.bodyProcessor;
  // ModSecurity: only the URLENCODED processor, or ctl:forceRequestBodyVariable, fills REQUEST_BODY
  if (ctx.forceRequestBodyVariable || p === 'URLENCODED') return ctx.request.body;
  return null;
}

/** The values of a variable; `key` lowercase. */
export function collectVariable(ctx: VariableContext, collection: string, key: string | null, re: KeyMatcher | null): VariableValue[] {
  const req = ctx.request;
  const out: VariableValue[] = [];
  const post = ctx.body?.args ?? [];
  switch (collection) {
    case 'ARGS':
      select(out, 'ARGS', req.queryArgs, key, re, false);
      select(out, 'ARGS', post, key, re, false);
      return out;
    case 'ARGS_GET':
      select(out, 'ARGS_GET', req.queryArgs, key, re, false);
      return out;
    case 'ARGS_POST':
      select(out, 'ARGS_POST', post, key, re, false);
      return out;
    case 'ARGS_NAMES':
      select(out, 'ARGS_NAMES', req.queryArgs, key, re, true);
      select(out, 'ARGS_NAMES', post, key, re, true);
      return out;
    case 'ARGS_GET_NAMES':
      select(out, 'ARGS_GET_NAMES', req.queryArgs, key, re, true);
      return out;
    case 'ARGS_POST_NAMES':
      select(out, 'ARGS_POST_NAMES', post, key, re, true);
      return out;
    case 'REQUEST_HEADERS':
      select(out, 'REQUEST_HEADERS', req.headers, key, re, false);
      return out;
    case 'REQUEST_HEADERS_NAMES':
      select(out, 'REQUEST_HEADERS_NAMES', req.headers, key, re, true);
      return out;
    case 'REQUEST_COOKIES':
      select(out, 'REQUEST_COOKIES', derive(req).cookies, key, re, false);
      return out;
    case 'REQUEST_COOKIES_NAMES':
      select(out, 'REQUEST_COOKIES_NAMES', derive(req).cookies, key, re, true);
      return out;
    case 'RESPONSE_HEADERS':
      if (ctx.response !== null) select(out, 'RESPONSE_HEADERS', ctx.response.headers, key, re, false);
      return out;
    case 'RESPONSE_HEADERS_NAMES':
      if (ctx.response !== null) select(out, 'RESPONSE_HEADERS_NAMES', ctx.response.headers, key, re, true);
      return out;
    case 'FILES':
    case 'FILES_NAMES':
    case 'FILES_SIZES': {
      const files: [string, string][] = [];
      for (const p of ctx.body?.parts ?? [])
        if (p.filename !== null) files.push([p.name, collection === 'FILES' ? p.filename : collection === 'FILES_SIZES' ? String(p.value.length) : p.name]);
      select(out, collection, files, key, re, false);
      return out;
    }
    case 'MULTIPART_PART_HEADERS': {
      const lines: [string, string][] = [];
      for (const p of ctx.body?.parts ?? []) for (const h of p.headers) lines.push([p.name, h]);
      select(out, collection, lines, key, re, false);
      return out;
    }
    case 'TX':
    case 'IP':
    case 'GLOBAL':
    case 'SESSION':
    case 'USER':
    case 'RESOURCE': {
      const col = ctx.collection(collection.toLowerCase());
      if (col === null) return out;
      if (key !== null && re === null) {
        const v = col.get(key);
        if (v !== undefined) out.push({ name: `${collection}:${key}`, key, value: v });
        return out;
      }
      select(out, collection, col, key, re, false);
      return out;
    }
    case 'ENV':
      select(out, 'ENV', ctx.env, key, re, false);
      return out;
    case 'XML': {
      const xml = ctx.body?.xml ?? null;
      if (xml === null) return out;
      const attrs = key === '//@*';
      for (const v of xmlValues(xml, attrs)) out.push({ name: `XML:${attrs ? '//@*' : '/*'}`, key: attrs ? '//@*' : '/*', value: v });
      return out;
    }
    case 'MATCHED_VARS':
      for (const m of ctx.matchedVars) {
        if (key !== null && m.key !== key) continue;
        if (re !== null && !re(m.name)) continue;
        out.push({ name: m.name, key: m.name, value: m.value });
      }
      return out;
    case 'MATCHED_VARS_NAMES':
      for (const m of ctx.matchedVars) {
        if (key !== null && m.key !== key) continue;
        if (re !== null && !re(m.name)) continue;
        out.push({ name: m.name, key: m.name, value: m.name });
      }
      return out;
    case 'RULE': {
      const keys = key === null ? ['id', 'phase', 'msg', 'severity', 'ver', 'rev', 'maturity', 'accuracy'] : [key];
      for (const k of keys) {
        const v = ctx.ruleValue(k);
        if (v !== null && (re === null || re(k))) out.push({ name: `RULE:${k}`, key: k, value: v });
      }
      return out;
    }
    default:
      return scalarVariable(ctx, collection);
  }
}

function scalarVariable(ctx: VariableContext, name: string): VariableValue[] {
  const req = ctx.request;
  const body = ctx.body;
  switch (name) {
    case 'REQUEST_METHOD':
      return scalar(name, req.method);
    case 'REQUEST_URI':
      return scalar(name, derive(req).uri);
    case 'REQUEST_URI_RAW':
      return scalar(name, req.uri);
    case 'REQUEST_LINE':
      return scalar(name, `${req.method} ${req.uri} ${req.protocol}`);
    case 'REQUEST_PROTOCOL':
      return scalar(name, req.protocol);
    case 'REQUEST_FILENAME':
      return scalar(name, derive(req).filename);
    case 'REQUEST_BASENAME':
      return scalar(name, derive(req).basename);
    case 'QUERY_STRING':
      return scalar(name, derive(req).query);
    case 'REQUEST_BODY':
      return scalar(name, requestBody(ctx));
    case 'REQUEST_BODY_LENGTH':
      return scalar(name, String(req.body.length));
    case 'ARGS_COMBINED_SIZE': {
      let n = 0;
      for (const [k, v] of req.queryArgs) n += k.length + v.length;
      for (const [k, v] of body?.args ?? []) n += k.length + v.length;
      return scalar(name, String(n));
    }
    case 'FILES_COMBINED_SIZE': {
      let n = 0;
      for (const p of body?.parts ?? []) if (p.filename !== null) n += p.value.length;
      return scalar(name, String(n));
    }
    case 'REMOTE_ADDR':
    case 'REMOTE_HOST':
      return scalar(name, req.remoteAddr);
    case 'REMOTE_PORT':
      return scalar(name, String(req.remotePort));
    case 'SERVER_ADDR':
      return scalar(name, req.serverAddr);
    case 'SERVER_NAME':
      return scalar(name, req.serverName);
    case 'SERVER_PORT':
      return scalar(name, String(req.serverPort));
    case 'UNIQUE_ID':
      return scalar(name, ctx.uniqueId);
    case 'REQBODY_ERROR':
    case 'REQBODY_PROCESSOR_ERROR':
      return scalar(name, body?.error != null ? '1' : '0');
    case 'REQBODY_ERROR_MSG':
    case 'REQBODY_PROCESSOR_ERROR_MSG':
      return scalar(name, body?.error ?? '');
    case 'REQBODY_PROCESSOR':
      return scalar(name, ctx.bodyProcessor ?? '');
    case 'MULTIPART_FILENAME': {
      const f = body?.parts.filter((p) => p.filename !== null).at(-1);
      return scalar(name, f?.filename ?? null);
    }
    case 'MULTIPART_NAME': {
      const f = body?.parts.at(-1);
      return scalar(name, f?.name ?? null);
    }
    case 'RESPONSE_STATUS':
      return scalar(name, ctx.response === null ? null : String(ctx.response.status));
    case 'RESPONSE_PROTOCOL':
      return scalar(name, ctx.response?.protocol ?? null);
    case 'STATUS_LINE':
      return scalar(name, ctx.response === null ? null : `${ctx.response.protocol} ${ctx.response.status}`);
    case 'RESPONSE_BODY':
      return scalar(name, ctx.responseBody);
    case 'RESPONSE_CONTENT_TYPE': {
      const h = ctx.response?.headers.find(([k]) => k.toLowerCase() === 'content-type');
      return scalar(name, h?.[1] ?? null);
    }
    case 'RESPONSE_CONTENT_LENGTH': {
      const h = ctx.response?.headers.find(([k]) => k.toLowerCase() === 'content-length');
      return scalar(name, h?.[1] ?? (ctx.responseBody === null ? null : String(ctx.responseBody.length)));
    }
    case 'MATCHED_VAR':
      return scalar(name, ctx.matchedVar);
    case 'MATCHED_VAR_NAME':
      return scalar(name, ctx.matchedVarName);
    case 'HIGHEST_SEVERITY':
      return scalar(name, String(ctx.highestSeverity));
    case 'INBOUND_DATA_ERROR':
    case 'OUTBOUND_DATA_ERROR':
    case 'URLENCODED_ERROR':
      return scalar(name, '0');
    case 'FULL_REQUEST': {
      let s = `${req.method} ${req.uri} ${req.protocol}\r\n`;
      for (const [k, v] of req.headers) s += `${k}: ${v}\r\n`;
      return scalar(name, `${s}\r\n${req.body}`);
    }
    case 'FULL_REQUEST_LENGTH':
      return scalar(name, String(scalarVariable(ctx, 'FULL_REQUEST')[0]?.value.length ?? 0));
    case 'AUTH_TYPE': {
      const h = req.headers.find(([k]) => k.toLowerCase() === 'authorization');
      return scalar(name, h === undefined ? null : (h[1].split(' ')[0] ?? ''));
    }
    case 'PATH_INFO':
    case 'USERID':
    case 'SESSIONID':
    case 'WEBAPPID':
      return [];
    default:
      if (name.startsWith('TIME') || name === 'DURATION') return scalar(name, ctx.time(name));
      if (name.startsWith('MULTIPART_')) return scalar(name, body?.multipartFlags?.[name] ?? '0');
      return [];
  }
}
