// The quickstart's demo API: a small in-memory items service on 127.0.0.1:8081.
//   GET    /healthz              -> 200 {"status":"ok"}
//   GET    /api/items            -> 200 [items]
//   POST   /api/items            -> 201 item   (JSON body {name: string, price: number, tags?: string[]})
//   GET    /api/items/{id}       -> 200 item | 404
//   PUT    /api/items/{id}       -> 200 item | 404
//   DELETE /api/items/{id}       -> 204 | 404
//   GET    /api/public/status    -> 200 {"service":"demo","status":"ok"}
//   GET    /ws/echo (WebSocket)  -> each message sent back as `echo: <message>`
// It trusts the gateway: it does no validation of its own, which is the point of the demo.
import http from 'node:http';
import { pathToFileURL } from 'node:url';
import { WebSocketServer } from 'ws';

const MAX_ITEMS = 1000;

export function createDemoApi() {
  const items = new Map();
  let next = 1;
  for (const [name, price] of [
    ['Widget', 9.5],
    ['Gadget', 24],
    ['Doohickey', 3.25],
  ]) {
    const id = String(next++);
    items.set(id, { id, name, price, tags: [] });
  }
  const send = (res, status, body) => {
    const text = body === undefined ? '' : JSON.stringify(body);
    res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
    res.end(text);
  };
  const server = http.createServer((req, res) => {
    const chunks = [];
    let size = 0;
    req.on('data', (c) => {
      size += c.length;
      if (size <= 1 << 20) chunks.push(c);
    });
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://demo');
      const path = url.pathname;
      let body;
      try {
        body = chunks.length ? JSON.parse(Buffer.concat(chunks).toString('utf8')) : undefined;
      } catch {
        body = undefined;
      }
      if (path === '/healthz') return send(res, 200, { status: 'ok' });
      if (path === '/api/public/status') return send(res, 200, { service: 'demo', status: 'ok', items: items.size });
      if (path === '/api/items' && req.method === 'GET') return send(res, 200, [...items.values()].slice(0, 100));
      if (path === '/api/items' && req.method === 'POST') {
        if (items.size >= MAX_ITEMS) return send(res, 507, { error: 'demo store full' });
        const id = String(next++);
        const item = { id, name: body?.name, price: body?.price, tags: body?.tags ?? [] };
        items.set(id, item);
        return send(res, 201, item);
      }
      const m = /^\/api\/items\/([^/]+)$/.exec(path);
      if (m) {
        const id = decodeURIComponent(m[1]);
        const item = items.get(id);
        if (req.method === 'GET') return item ? send(res, 200, item) : send(res, 404, { error: 'not found' });
        if (req.method === 'PUT') {
          if (!item) return send(res, 404, { error: 'not found' });
          const updated = { ...item, ...body, id };
          items.set(id, updated);
          return send(res, 200, updated);
        }
        if (req.method === 'DELETE') {
          if (!item) return send(res, 404, { error: 'not found' });
          items.delete(id);
          return send(res, 204);
        }
      }
      send(res, 404, { error: 'not found' });
    });
  });
  // a WebSocket echo (the gateway checked the handshake's token before this sees it)
  const wss = new WebSocketServer({ noServer: true, maxPayload: 64 * 1024 });
  server.on('upgrade', (req, socket, head) => {
    if (new URL(req.url ?? '/', 'http://demo').pathname !== '/ws/echo') return void socket.end('HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\n\r\n');
    wss.handleUpgrade(req, socket, head, (ws) => {
      ws.on('message', (data, isBinary) => ws.send(isBinary ? data : `echo: ${data.toString()}`, { binary: isBinary }));
    });
  });
  server.on('close', () => {
    for (const ws of wss.clients) ws.terminate();
  });
  return server;
}

export function startDemoApi(port = 8081, host = '127.0.0.1') {
  const server = createDemoApi();
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve(server));
  });
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const port = Number(process.env.PORT ?? 8081);
  await startDemoApi(port);
  console.log(`demo API on http://127.0.0.1:${port}`);
}
