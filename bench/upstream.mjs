// Bench upstream (node:http, keep-alive): GET /api/items/:id -> ~235-byte JSON, GET /api/catalog/:id
// -> ~1 KB JSON with Cache-Control: public, max-age=600 (the cache scenarios),
// POST /api/items -> 201 small JSON, /healthz -> 200. Env: PORT, HOST.
import http from 'node:http';

const PORT = Number(process.env.PORT || 18201);
const HOST = process.env.HOST || '127.0.0.1';

function item(id) {
  return JSON.stringify({
    id,
    name: `Widget ${id}`,
    sku: `SKU-${String(id).padStart(8, '0')}`,
    price: 19.99,
    currency: 'EUR',
    inStock: true,
    tags: ['alpha', 'beta', 'gamma'],
    updatedAt: '2024-01-01T00:00:00.000Z',
    description: 'A small JSON document used as a benchmark payload.',
  });
}

/** ~1 KB: a catalogue page of four items. */
function catalog(id) {
  return JSON.stringify({ page: id, items: [1, 2, 3, 4].map((i) => JSON.parse(item(`${id}-${i}`))) });
}

const server = http.createServer((req, res) => {
  const url = req.url;
  if (req.method === 'GET' && url.startsWith('/api/catalog/')) {
    const body = catalog(url.slice(13).split('?')[0]);
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), 'cache-control': 'public, max-age=600' });
    return res.end(body);
  }
  if (req.method === 'GET' && url.startsWith('/api/items/')) {
    const body = item(url.slice(11).split('?')[0]);
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
    return res.end(body);
  }
  if (req.method === 'POST' && url.startsWith('/api/items')) {
    let n = 0;
    req.on('data', (c) => (n += c.length));
    req.on('end', () => {
      const body = JSON.stringify({ created: true, id: 'item-0001', receivedBytes: n });
      res.writeHead(201, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
      res.end(body);
    });
    return;
  }
  if (url === '/healthz') {
    res.writeHead(200, { 'content-type': 'text/plain', 'content-length': 2 });
    return res.end('ok');
  }
  res.writeHead(404, { 'content-type': 'application/json', 'content-length': 21 });
  res.end('{"error":"not found"}');
});
server.keepAliveTimeout = 65_000;
server.headersTimeout = 66_000;
server.maxRequestsPerSocket = 0;
server.listen(PORT, HOST, () => console.log(`bench upstream on http://${HOST}:${PORT}`));
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => server.close(() => process.exit(0)));
