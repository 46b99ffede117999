/**
 * Header hygiene, both ways: hop-by-hop headers (RFC 9110 section 7.6.1) and any header named in
 * Connection are never forwarded; identity headers that only the gateway may set are stripped
 * from every incoming request; forwarding headers are set from what the gateway knows.
 */
import type { IncomingHttpHeaders } from 'node:http';
import { headerNameToString, parseRawHeaders } from './undici-internals.js';
import { resolveClientHop, type TrustedProxies } from './client-ip.js';

export const HOP_BY_HOP: ReadonlySet<string> = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'transfer-encoding',
  'te',
  'trailer',
  'upgrade',
  'proxy-authorization',
  'proxy-authenticate',
  'http2-settings',
]);

/**
 * Request headers that upstream frameworks and their middleware read as the request's path,
 * method, scheme, client address or user. A client's copy would make the upstream act on what
 * the gateway never checked (a path behind a stricter route, a DELETE sent as POST, another
 * user), so they are stripped by default; `client_headers.keep` forwards one a deployment needs.
 */
export const CLIENT_OVERRIDE_HEADERS: readonly string[] = [
  // path: IIS URL Rewrite, Symfony and Laminas read these as the request path
  'x-original-url',
  'x-rewrite-url',
  'x-original-uri',
  'x-forwarded-uri',
  'x-forwarded-path',
  'x-envoy-original-path',
  // method: method-override middleware (Express, Rails, Spring's HiddenHttpMethodFilter variants)
  'x-http-method-override',
  'x-http-method',
  'x-method-override',
  // client address and scheme: nginx's realip, Rails' RemoteIp, Rack's scheme detection
  'x-real-ip',
  'client-ip',
  'x-client-ip',
  'x-cluster-client-ip',
  'true-client-ip',
  'x-forwarded-port',
  'x-forwarded-prefix',
  'x-forwarded-server',
  'x-forwarded-ssl',
  'x-forwarded-scheme',
  'x-url-scheme',
  'front-end-https',
  'x-host',
  'x-original-host',
  // identity: container and proxy authentication (Tomcat, Apache mod_auth, oauth2-proxy)
  'remote-user',
  'x-remote-user',
  'x-forwarded-user',
  'x-forwarded-email',
  'x-forwarded-preferred-username',
  'x-auth-request-user',
  'x-auth-request-email',
  // Expect is answered by the gateway (100 Continue); undici refuses to send it
  'expect',
];

/** Headers whose names start with this prefix are reserved for the gateway. */
export const RESERVED_PREFIX = 'x-portcullis-';

/**
 * Connection header values that name no other header (the usual spellings): no parsing needed.
 * Compared, not looked up in a Set: the value is a new string per request, which a Set hashes first.
 */
const isPlainConnection = (v: string): boolean => v === 'keep-alive' || v === 'close' || v === 'Keep-Alive' || v === 'Close';

function connectionTokens(v: string | string[] | undefined): string[] | null {
  if (v === undefined || (typeof v === 'string' && isPlainConnection(v))) return null;
  const s = Array.isArray(v) ? v.join(',') : v;
  const out: string[] = [];
  for (const tok of s.split(',')) {
    const t = tok.trim().toLowerCase();
    if (t !== '' && t !== 'close' && t !== 'keep-alive') out.push(t);
  }
  return out.length > 0 ? out : null;
}

export interface ForwardInfo {
  readonly clientIp: string;
  readonly peerIp: string;
  readonly peerTrusted: boolean;
  /** the trusted proxies and the one forwarding header read from them */
  readonly trusted: TrustedProxies;
  readonly proto: 'http' | 'https';
  readonly host: string;
  /** lowercase */
  readonly requestIdHeader: string;
  readonly requestId: string;
  /** Host header sent upstream; null: the target's own (undici writes it from the pool's origin) */
  readonly upstreamHost: string | null;
}

/** the forwarding headers the gateway writes itself */
const FORWARDING = ['x-forwarded-for', 'x-forwarded-proto', 'x-forwarded-host', 'forwarded'];
/** a URI scheme, as a Forwarded `proto` value */
const SCHEME = /^[A-Za-z][A-Za-z0-9+.-]{0,15}$/;

/**
 * The request header names never copied upstream (lowercase): hop-by-hop headers, the identity
 * headers in `strip`, and those the gateway writes itself (Host, the forwarding headers, the
 * request-id header). One set per snapshot, so that each incoming header costs one lookup.
 */
export function notForwardedHeaders(strip: Iterable<string>, requestIdHeader: string): ReadonlySet<string> {
  return new Set([...HOP_BY_HOP, 'host', ...strip, ...FORWARDING, requestIdHeader]);
}

/**
 * Builds the upstream request headers as a flat [name, value, name, value, ...] list (undici takes
 * it as is; a list needs no object shape per request). `drop`: from notForwardedHeaders.
 * `bodyLength`: the length of a buffered body, sent as Content-Length in place of the client's.
 * `decoded`: that body was decoded from its Content-Encoding, which is then not sent.
 */
export function upstreamRequestHeaders(
  src: IncomingHttpHeaders,
  drop: ReadonlySet<string>,
  f: ForwardInfo,
  extra: Readonly<Record<string, string>> | null,
  bodyLength: number | null,
  decoded = false,
): string[] {
  const out: string[] = [];
  const conn = connectionTokens(src.connection);
  for (const k in src) {
    if (drop.has(k) || k.startsWith(RESERVED_PREFIX)) continue;
    if (conn !== null && conn.includes(k)) continue;
    if (bodyLength !== null && k === 'content-length') continue;
    if (decoded && k === 'content-encoding') continue;
    if (extra !== null && extra[k] !== undefined) continue;
    const v = src[k];
    if (typeof v === 'string') out.push(k, v);
    else if (v !== undefined) for (const x of v) out.push(k, x);
  }
  // The forwarding headers carry the gateway's one reading of the client, never a chain a
  // client could have written: upstream frameworks read the left-most (Spring, Express with
  // `trust proxy: true`) or the right-most untrusted entry (Express with a hop count, Rails,
  // Tomcat's RemoteIpValve), and both are then the client the stages saw (docs/client-ip.md).
  let proto: string;
  let host: string;
  if (f.peerTrusted && f.trusted.header === 'forwarded') {
    const hop = resolveClientHop(f.peerIp, src.forwarded, f.trusted);
    proto = hop.proto ?? f.proto;
    host = hop.host ?? f.host;
  } else {
    const inProto = src['x-forwarded-proto'];
    const inHost = src['x-forwarded-host'];
    proto = f.peerTrusted && typeof inProto === 'string' ? inProto : f.proto;
    host = f.peerTrusted && typeof inHost === 'string' ? inHost : f.host;
  }
  const client = f.clientIp;
  const forNode = client === '' ? 'unknown' : client.includes(':') ? `"[${client}]"` : client;
  const fwdProto = proto === f.proto || SCHEME.test(proto) ? proto : f.proto;
  const fwdHost = host.indexOf('"') < 0 && host.indexOf('\\') < 0 ? host : host.replace(/["\\]/g, '');
  if (f.upstreamHost !== null) out.push('host', f.upstreamHost);
  out.push(
    'x-forwarded-for',
    client,
    'x-forwarded-proto',
    proto,
    'x-forwarded-host',
    host,
    'forwarded',
    `for=${forNode};proto=${fwdProto};host="${fwdHost}"`,
    f.requestIdHeader,
    f.requestId,
  );
  if (bodyLength !== null) out.push('content-length', String(bodyLength));
  if (extra !== null) for (const k in extra) out.push(k, extra[k] as string);
  return out;
}

/** The response header names never sent to clients: hop-by-hop ones and `strip` (responses.strip_headers). */
export function notReturnedHeaders(strip: Iterable<string>): ReadonlySet<string> {
  const out = new Set(HOP_BY_HOP);
  for (const h of strip) out.add(h.toLowerCase());
  return out;
}

/** Filters upstream response headers (`drop`: notReturnedHeaders; Connection-listed removed). */
export function clientResponseHeaders(
  src: Record<string, string | string[] | undefined>,
  drop: ReadonlySet<string> = HOP_BY_HOP,
): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  const conn = connectionTokens(src.connection);
  for (const k in src) {
    if (drop.has(k)) continue;
    if (conn !== null && conn.includes(k)) continue;
    const v = src[k];
    if (v !== undefined) out[k] = v;
  }
  return out;
}

/**
 * The upstream response headers for the client as a flat [name, value, ...] list (what
 * `writeHead` takes without building an object), from undici's raw header buffers: names
 * lowercase, hop-by-hop, stripped (`drop`: notReturnedHeaders) and Connection-listed headers
 * removed, and headers the gateway sets itself left out (`own`: the request-id header,
 * lowercase; `extra`: stage response headers).
 */
export function clientResponseHeaderList(
  raw: readonly Buffer[],
  own: string,
  extra: Readonly<Record<string, string>> | null,
  drop: ReadonlySet<string> = HOP_BY_HOP,
): string[] {
  const out: string[] = [];
  let conn: string[] | null = null;
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = headerNameToString(raw[i] as Buffer);
    if (drop.has(name)) {
      if (name === 'connection') {
        const t = connectionTokens((raw[i + 1] as Buffer).toString('latin1'));
        if (t !== null) conn = conn === null ? t : conn.concat(t);
      }
      continue;
    }
    if (name === own || (extra !== null && extra[name] !== undefined)) continue;
    out.push(name, (raw[i + 1] as Buffer).toString('latin1'));
  }
  if (conn === null) return out;
  const kept: string[] = [];
  for (let i = 0; i < out.length; i += 2) if (!conn.includes(out[i] as string)) kept.push(out[i] as string, out[i + 1] as string);
  return kept;
}

/** Raw [name, value, ...] header buffers as an object (names lowercase, repeated names as arrays). */
export function rawHeaderObject(raw: readonly Buffer[]): Record<string, string | string[]> {
  return parseRawHeaders(raw);
}
