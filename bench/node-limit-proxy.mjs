// The "Node limit": node:http server + undici Pool.stream (keep-alive, streaming, no parsing,
// no security). Same design as ../shared/bench/node-limit-proxy.mjs, using this project's undici.
// Env: PORT, HOST, UPSTREAM, POOL_CONNS.
import http from 'node:http';
import { filterHeaders, forward, pool, UPSTREAM } from './limit-proxy.mjs';

const PORT = Number(process.env.PORT || 18221);
const HOST = process.env.HOST || '127.0.0.1';
const server = http.createServer((req, res) => {
  const headers = filterHeaders(req.headers);
  const xff = req.headers['x-forwarded-for'];
  const ip = req.socket.remoteAddress;
  headers['x-forwarded-for'] = xff ? `${xff}, ${ip}` : ip;
  forward(req, res, headers);
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
