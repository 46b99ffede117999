/**
 * The bytes go-ftw sends for an input (ftwhttp/request.go, BuildRequest), so that results compare
 * with other engines' runs: the request line and headers exactly as written, then, with
 * autocomplete on, a form Content-Type when there is data and none is given, form data
 * re-encoded the way Go's url.QueryEscape does it when it holds no escapes yet, `Connection:
 * close` and a Content-Length. Multipart bodies get their LFs turned into CRLFs. An
 * `encoded_request` goes out as it is.
 */
import type { FtwInput, HeaderTuple } from './types.js';

const lower = (s: string): string => s.toLowerCase();
const has = (h: readonly HeaderTuple[], name: string): boolean => h.some((t) => lower(t.name) === lower(name));

/** go-ftw's `^POST|PUT|PATCH|DELETE$`, alternation precedence and all. */
const METHOD_WITH_BODY = /^POST|PUT|PATCH|DELETE$/;
const FORM = 'application/x-www-form-urlencoded';

/** Go's url.QueryEscape: unreserved bytes kept, space as '+', every other byte %XX (upper case). */
export function goQueryEscape(bytes: Buffer): string {
  let out = '';
  for (const b of bytes) {
    const c = String.fromCharCode(b);
    if ((b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5a) || (b >= 0x61 && b <= 0x7a) || c === '-' || c === '_' || c === '.' || c === '~') out += c;
    else if (c === ' ') out += '+';
    else out += `%${b.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

/**
 * go-ftw's encodeDataParameters: with a form Content-Type (exact, any case) and data that
 * url.QueryUnescape would leave unchanged (no '%', no '+'), each name and value is escaped;
 * otherwise the data is sent as written.
 */
export function encodeFormData(headers: readonly HeaderTuple[], data: Buffer): Buffer {
  const form = headers.some((t) => lower(t.name) === 'content-type' && lower(t.value) === FORM);
  if (!form || data.includes(0x25) || data.includes(0x2b)) return data;
  const parts: string[] = [];
  let rest = data;
  while (rest.length > 0) {
    const amp = rest.indexOf(0x26);
    const token = amp < 0 ? rest : rest.subarray(0, amp);
    rest = amp < 0 ? Buffer.alloc(0) : rest.subarray(amp + 1);
    const eq = token.indexOf(0x3d);
    parts.push(eq < 0 ? goQueryEscape(token) : `${goQueryEscape(token.subarray(0, eq))}=${goQueryEscape(token.subarray(eq + 1))}`);
    // Go's loop ends when nothing remains: a trailing '&' adds no empty part
  }
  return Buffer.from(parts.join('&'), 'latin1');
}

/** Every LF as CRLF (a CR already there stays: go-ftw replaces bytes, as here). */
const crlf = (b: Buffer): Buffer => Buffer.from(b.toString('latin1').replaceAll('\n', '\r\n'), 'latin1');

/**
 * The request bytes of an input. `cookies`: a Cookie header value kept from earlier stages
 * (`save_cookie`), added when the input has none.
 */
export function buildRequest(input: FtwInput, cookies: string | null = null): Buffer {
  if (input.encodedRequest !== null) return input.encodedRequest;
  const headers: HeaderTuple[] = [...input.headers];
  if (cookies !== null && cookies !== '' && !has(headers, 'cookie')) headers.push({ name: 'Cookie', value: cookies });
  let data = input.data ?? Buffer.alloc(0);
  if (data.length > 0 && input.autocompleteHeaders) {
    if (!has(headers, 'content-type')) headers.push({ name: 'Content-Type', value: FORM });
    data = encodeFormData(headers, data);
  }
  if (headers.some((t) => lower(t.name) === 'content-type' && lower(t.value).includes('multipart/form-data;'))) data = crlf(data);
  if (input.autocompleteHeaders) {
    if (!has(headers, 'connection')) headers.push({ name: 'Connection', value: 'close' });
    if (!has(headers, 'content-length') && (data.length > 0 || METHOD_WITH_BODY.test(input.method)))
      headers.push({ name: 'Content-Length', value: String(data.length) });
  }
  let head = `${input.method} ${input.uri} ${input.version}\r\n`;
  for (const h of headers) head += `${h.name}: ${h.value}\r\n`;
  head += '\r\n';
  // header text as UTF-8 (YAML strings are Unicode; Go writes their UTF-8 bytes)
  return Buffer.concat([Buffer.from(head, 'utf8'), data]);
}
