// The HTTP/2 "Node limit": a node:http2 cleartext (h2c) server through its compatibility API +
// undici Pool.stream to an HTTP/1.1 upstream (keep-alive, streaming, no parsing, no security): what
// the gateway's HTTP/2 listener is compared with. Env: PORT, HOST, UPSTREAM, POOL_CONNS.
import http2 from 'node:http2';
import { Pool } from 'undici';

const PORT = Number(process.env.PORT || 18231);
const HOST = process.env.HOST || '127.0.0.1';
const UPSTREAM = process.env.UPSTREAM || 'http://127.0.0.1:18201';
const pool = new Pool(UPSTREAM, { connections: Number(process.env.POOL_CONNS || 128), pipelining: 1, keepAliveTimeout: 60_000, keepAliveMaxTimeout: 600_000 });
// connection-specific and hop-by-hop fields, and the pseudo-headers of HTTP/2
const DROP = new Set([
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
function filterHeaders(src) {
  const out = {};
  for (const k in src) if (!DROP.has(k) && k.charCodeAt(0) !== 58) out[k] = src[k];
  return out;
}
const server = http2.createServer({ settings: { maxConcurrentStreams: 100 } });
server.on('request', (req, res) => {
  const headers = filterHeaders(req.headers);
  headers.host = req.headers[':authority'] ?? '';
  const ip = req.socket.remoteAddress;
  headers['x-forwarded-for'] = ip;
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
});
server.listen(PORT, HOST);
process.on('SIGTERM', () => process.exit(0));
