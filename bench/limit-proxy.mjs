// What the two "Node limit" proxies share (node-limit-proxy.mjs over HTTP/1.1, node-h2-proxy.mjs
// over h2c): an undici Pool to the upstream and one streamed exchange per request, with hop-by-hop
// fields (and HTTP/2 pseudo-headers) left out both ways. Env: UPSTREAM, POOL_CONNS.
import { Pool } from 'undici';

export const UPSTREAM = process.env.UPSTREAM || 'http://127.0.0.1:18201';
export const pool = new Pool(UPSTREAM, {
  connections: Number(process.env.POOL_CONNS || 128),
  pipelining: 1,
  keepAliveTimeout: 60_000,
  keepAliveMaxTimeout: 600_000,
});
const HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'transfer-encoding',
  'te',
  'trailer',
  'upgrade',
  'proxy-authorization',
  'proxy-authenticate',
]);

export function filterHeaders(src) {
  const out = {};
  for (const k in src) if (!HOP.has(k) && k.charCodeAt(0) !== 58) out[k] = src[k];
  return out;
}

/** Streams `req` to the upstream with `headers` and its response into `res`; 502 when it fails before the head. */
export function forward(req, res, headers) {
  const hasBody = req.method !== 'GET' && req.method !== 'HEAD';
  pool.stream(
    { method: req.method, path: req.url, headers, body: hasBody ? req : null },
    ({ statusCode, headers: up }) => {
      res.writeHead(statusCode, filterHeaders(up));
      return res;
    },
    (err) => {
      if (!err) return;
      if (!res.headersSent) {
        res.writeHead(502, { 'content-type': 'application/json' });
        res.end('{"error":"bad gateway"}');
      } else res.destroy(err);
    },
  );
}
