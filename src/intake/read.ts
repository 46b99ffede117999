/**
 * The intake step: the gateway's one reading of a request's line, target and headers, before
 * routing (docs/security-model.md). The client address (from one forwarding header of trusted
 * proxies), the protocol checks (HTTP/1.x only, no CL with TE, chunked only, one Host and one
 * Content-Type), the query decoded once, the path normalised once, the host, and the media type
 * read once and forwarded in its canonical form. A request that cannot be read one way is refused
 * with a stable code. Compiled once per snapshot; synchronous.
 */
import type { CanonicalConfig, ListenerConfig } from '../core/config.js';
import type { Deny } from '../core/decision.js';
import type { Intake } from '../core/stage.js';
import { parsePairs } from '../body/form.js';
import { readRequestContentType } from '../body/media.js';
import { hostWithoutPort, normalisePath } from '../router/normalise.js';
import { resolveClientIp, stripMapped, type TrustedProxies } from '../proxy/client-ip.js';
import type { RequestContext } from '../core/stage.js';
import { http2BodyFollows, readHttp2Request } from './http2.js';

const CHUNKED = /^\s*chunked\s*$/i;

/** Names of headers that must appear once, compared on the raw header list. */
export function duplicateHeader(raw: readonly string[]): string | null {
  let host = 0;
  let ct = 0;
  for (let i = 0; i < raw.length; i += 2) {
    const n = raw[i] as string;
    // lengths first: most names are neither
    if (n.length === 4 && (n === 'Host' || n === 'host' || n.toLowerCase() === 'host')) host++;
    else if (n.length === 12 && (n === 'Content-Type' || n === 'content-type' || n.toLowerCase() === 'content-type')) ct++;
  }
  return host > 1 ? 'host' : ct > 1 ? 'content-type' : null;
}

/** The intake of one snapshot: its limits and trusted proxies. */
export function createIntake(config: CanonicalConfig, trusted: TrustedProxies): Intake {
  const limits = config.limits;
  const refuseQuerySemicolons = limits.query_semicolons === 'refuse';
  const refuseDotDot = limits.dot_segments === 'refuse';
  const pathParameters = limits.path_parameters;
  const maxQueryParams = limits.max_query_params;

  return (ctx: RequestContext, listener: ListenerConfig): Deny | undefined => {
    const req = ctx.req;
    // HTTP/2: the header block checked (RFC 9113) and brought to the HTTP/1.1 form first
    const h2Refusal = ctx.http2 ? readHttp2Request(req, ctx.listener.tls) : null;
    const h = req.headers;
    // the client first: every reply, refusals included, is logged and counted against it
    ctx.clientIp = ctx.peerTrusted ? resolveClientIp(ctx.peerIp, h[trusted.header], trusted) : stripMapped(ctx.peerIp);
    // before any refusal: a reply to a request whose body was not read closes the connection
    ctx.bodyLengthUnknown = ctx.http2 ? h['content-length'] === undefined && http2BodyFollows(req) : h['transfer-encoding'] !== undefined;
    if (h2Refusal !== null) return { code: 'PC_ERR_PROTOCOL', reason: h2Refusal };
    const url = req.url ?? '/';
    if (url.length > listener.max_url_bytes) return { code: 'PC_ERR_URL_TOO_LONG' };
    if (url.charCodeAt(0) !== 0x2f) return { code: 'PC_ERR_PROTOCOL', reason: 'request target is not in origin form' };
    // an HTTP/0.9 request line (no version) is refused, as RFC 9112 section 2.3 asks of HTTP/1.1
    // servers; HTTP/2 has no Transfer-Encoding (refused above): an undeclared length is DATA frames
    if (!ctx.http2) {
      if (req.httpVersionMajor !== 1) return { code: 'PC_ERR_PROTOCOL', reason: 'not an HTTP/1.x request line' };
      if (h['transfer-encoding'] !== undefined) {
        if (h['content-length'] !== undefined) return { code: 'PC_ERR_PROTOCOL', reason: 'both Content-Length and Transfer-Encoding' };
        if (!CHUNKED.test(h['transfer-encoding'])) return { code: 'PC_ERR_PROTOCOL', reason: 'unsupported transfer-encoding' };
      }
    }
    // Node keeps the first of repeated Host and Content-Type lines; others may read the last
    const dup = duplicateHeader(req.rawHeaders);
    if (dup !== null) return { code: 'PC_ERR_PROTOCOL', reason: `${dup} header given twice` };
    const qi = url.indexOf('?');
    const rawPath = qi < 0 ? url : url.slice(0, qi);
    if (qi >= 0) {
      const query = url.slice(qi + 1);
      ctx.query = query;
      if (query.length > 0) {
        if (refuseQuerySemicolons && query.indexOf(';') >= 0)
          return { code: 'PC_ERR_QUERY_AMBIGUOUS', reason: "';' in the query (read as a separator by some frameworks)" };
        // '??a=1': URL parsers that strip a leading '?' read `a`, node:querystring reads `?a`
        if (query.charCodeAt(0) === 0x3f) return { code: 'PC_ERR_QUERY_AMBIGUOUS', reason: "query starts with '?'" };
        const pairs = parsePairs(query, { maxParams: maxQueryParams, maxValueLength: listener.max_url_bytes });
        if (!pairs.ok)
          return { code: pairs.code === 'too_many_params' ? 'PC_ERR_TOO_MANY_PARAMETERS' : 'PC_ERR_QUERY_AMBIGUOUS', reason: `query: ${pairs.reason}` };
        ctx.queryPairs = pairs.pairs;
      }
    }
    const norm = normalisePath(rawPath, pathParameters);
    if (!norm.ok) return { code: norm.injection ? 'PC_ERR_PATH_INJECTION' : 'PC_ERR_PATH_AMBIGUOUS', reason: norm.reason };
    // Clients resolve dot segments before sending (browsers, curl, HTTP libraries); a '..' on
    // the wire is a traversal attempt, refused unless the config asks to resolve it.
    if (norm.dotDot && refuseDotDot) return { code: 'PC_ERR_PATH_TRAVERSAL', reason: 'dot-dot segment' };
    ctx.path = norm.path;
    ctx.pathHasParameters = norm.semicolon;
    ctx.host = hostWithoutPort(h.host ?? '');
    const ct = h['content-type'];
    if (ct !== undefined) {
      const media = readRequestContentType(ct);
      if (!media.ok)
        return { code: media.unsupported ? 'PC_ERR_UNSUPPORTED_MEDIA_TYPE' : 'PC_ERR_MEDIA_TYPE_INVALID', reason: `content-type: ${media.reason}` };
      ctx.media = media.media;
      // the upstream receives the one serialisation the gateway read
      if (media.media.canonical !== ct) ctx.upstreamHeaders['content-type'] = media.media.canonical;
    }
    if (h.expect !== undefined) ctx.continuePending = true;
    return undefined;
  };
}
