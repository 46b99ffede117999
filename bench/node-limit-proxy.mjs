// The "Node limit": node:http server + undici Pool.stream (keep-alive, streaming, no parsing,
// no security). Same design as ../shared/bench/node-limit-proxy.mjs, using this project's undici.
// Env: PORT, HOST, UPSTREAM, POOL_CONNS.
import http from 'node:http';
import { Pool } from 'undici';

const PORT = Number(process.env.PORT || 18221);
const HOST = process.env.HOST || '127.0.0.1';
const UPSTREAM = process.env.UPSTREAM || 'http://127.0.0.1:18201';
const pool = new Pool(UPSTREAM, { connections: Number(process.env.POOL_CONNS || 128), pipelining: 1, keepAliveTimeout: 60_000, keepAliveMaxTimeout: 600_000 });
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
function filterHeaders(src) {
  const out = {};
  for (const k in src) if (!HOP.has(k)) out[k] = src[k];
  return out;
}
const server = http.createServer((req, res) => {
  const headers = filterHeaders(req.headers);
  const xff = req.headers['x-forwarded-for'];
  const ip = req.socket.remoteAddress;
  headers['x-forwarded-for'] = xff ? `${xff}, ${ip}` : ip;
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
server.keepAliveTimeout = 65_000;
server.headersTimeout = 66_000;
server.maxRequestsPerSocket = 0;
server.listen(PORT, HOST, () => console.log(`node-limit proxy on http://${HOST}:${PORT} -> ${UPSTREAM}`));
for (const sig of ['SIGINT', 'SIGTERM'])
  process.on(sig, () => {
    server.close();
    pool.close().finally(() => process.exit(0));
  });
