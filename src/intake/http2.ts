/**
 * The HTTP/2 part of intake: what RFC 9113 asks of a server beyond what nghttp2 already enforces,
 * and the request's headers brought to the form every stage reads over HTTP/1.1.
 *
 * nghttp2 (under node:http2) resets a malformed stream with PROTOCOL_ERROR before the gateway sees
 * it, as RFC 9113 section 8.1.1 requires: connection-specific fields (`connection`, `keep-alive`,
 * `proxy-connection`, `transfer-encoding`, `upgrade`, a `te` other than `trailers`), missing,
 * repeated, unknown or misplaced pseudo-headers, upper-case names, an empty or absolute `:path`,
 * two `host` fields, `:protocol`. The same checks are repeated here (a 400 problem reply), so that
 * the gateway's reading never depends on how the HTTP/2 library is configured. Added here: `host`
 * and `:authority` must agree (section 8.3.1: a proxy could route by one and the upstream by the
 * other), `:authority` carries no userinfo, `:scheme` is the listener's, and CONNECT is refused.
 */
import type { IncomingHttpHeaders, IncomingMessage } from 'node:http';

/** Fields RFC 9113 section 8.2.2 forbids in an HTTP/2 message (`te` is checked apart). */
const CONNECTION_SPECIFIC: ReadonlySet<string> = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade']);
const REQUEST_PSEUDO: ReadonlySet<string> = new Set([':method', ':scheme', ':authority', ':path']);

/** What node:http2's compatibility request adds to the shape of an IncomingMessage. */
interface Http2Request {
  readonly headers: IncomingHttpHeaders;
  readonly rawHeaders: string[];
  readonly stream?: { readonly endAfterHeaders?: boolean };
  /** the listener's request class (src/server/http2.ts) reads `headers` and `rawHeaders` from these once set */
  h1Headers?: IncomingHttpHeaders | null;
  h1RawHeaders?: string[] | null;
}

/**
 * Checks an HTTP/2 request's header block and replaces its `headers` and `rawHeaders` by the
 * HTTP/1.1 form (no pseudo-headers; `host` from `:authority`), so that every stage, the signature
 * verifier and the forwarder read the same fields as over HTTP/1.1. Returns why the request is
 * refused, or null.
 */
export function readHttp2Request(request: IncomingMessage, tls: boolean): string | null {
  const req = request as unknown as Http2Request;
  const raw = req.rawHeaders;
  const headers: IncomingHttpHeaders = {};
  const list: string[] = [];
  let authority: string | undefined;
  let host: string | undefined;
  let regular = false;
  let method: string | undefined;
  let scheme: string | undefined;
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = raw[i] as string;
    const value = raw[i + 1] as string;
    if (name.charCodeAt(0) === 0x3a) {
      if (regular) return `pseudo-header ${name} after a regular field`;
      if (!REQUEST_PSEUDO.has(name)) return `pseudo-header ${name} is not a request pseudo-header`;
      if (name === ':authority') {
        if (authority !== undefined) return 'pseudo-header :authority given twice';
        authority = value;
      } else if (name === ':method') method = value;
      else if (name === ':scheme') scheme = value;
      continue;
    }
    regular = true;
    if (name !== name.toLowerCase()) return `field name ${name} is not lower-case`;
    if (CONNECTION_SPECIFIC.has(name)) return `connection-specific field ${name}`;
    if (name === 'te' && value.trim().toLowerCase() !== 'trailers') return 'te other than trailers';
    if (name === 'host') {
      if (host !== undefined) return 'host given twice';
      host = value;
    }
    list.push(name, value);
  }
  if (method === 'CONNECT') return 'CONNECT is not proxied';
  if (scheme !== (tls ? 'https' : 'http')) return `:scheme is not ${tls ? 'https' : 'http'}`;
  if (authority !== undefined) {
    if (authority.indexOf('@') >= 0) return ':authority carries userinfo';
    if (host !== undefined && host.toLowerCase() !== authority.toLowerCase()) return 'host and :authority differ';
  }
  const hostValue = authority ?? host;
  if (hostValue === undefined || hostValue === '') return 'neither :authority nor host';
  // the one Host every stage reads (first, as an HTTP/1.1 client writes it, when only :authority came)
  if (host === undefined) list.unshift('host', hostValue);
  else
    for (let i = 0; i < list.length; i += 2)
      if (list[i] === 'host') {
        list[i + 1] = hostValue;
        break;
      }
  // node:http2 joined repeated fields as node:http does (the first of a singleton, cookie with '; ')
  for (let i = 0; i < list.length; i += 2) {
    const name = list[i] as string;
    headers[name] = name === 'host' ? hostValue : req.headers[name];
  }
  if (req.h1Headers !== undefined) {
    req.h1Headers = headers;
    req.h1RawHeaders = list;
  } else {
    // another compatibility request class: own properties over its getters (slower, same reading)
    Object.defineProperty(request, 'headers', { value: headers, configurable: true, enumerable: true, writable: true });
    Object.defineProperty(request, 'rawHeaders', { value: list, configurable: true, enumerable: true, writable: true });
  }
  return null;
}

/** An HTTP/2 request whose length is not declared still has a body unless its HEADERS ended the stream. */
export function http2BodyFollows(request: IncomingMessage): boolean {
  return (request as unknown as Http2Request).stream?.endAfterHeaders !== true;
}
