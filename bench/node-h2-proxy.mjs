// The HTTP/2 "Node limit": a node:http2 cleartext (h2c) server through its compatibility API +
// undici Pool.stream to an HTTP/1.1 upstream (keep-alive, streaming, no parsing, no security): what
// the gateway's HTTP/2 listener is compared with. Env: PORT, HOST, UPSTREAM, POOL_CONNS.
import http2 from 'node:http2';
import { filterHeaders, forward, UPSTREAM } from './limit-proxy.mjs';

const PORT = Number(process.env.PORT || 18231);
const HOST = process.env.HOST || '127.0.0.1';
const server = http2.createServer({ settings: { maxConcurrentStreams: 100 } });
server.on('request', (req, res) => {
  const headers = filterHeaders(req.headers);
  headers.host = req.headers[':authority'] ?? '';
  headers['x-forwarded-for'] = req.socket.remoteAddress;
  forward(req, res, headers);
});
server.listen(PORT, HOST, () => console.log(`node-h2 proxy on http://${HOST}:${PORT} -> ${UPSTREAM}`));
process.on('SIGTERM', () => process.exit(0));
