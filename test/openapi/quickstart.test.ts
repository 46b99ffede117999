/** The quickstart's OpenAPI document in front of the real demo API: invalid JSON gets 400 and never reaches it. */
import { test, after } from 'node:test';
import { strict as assert } from 'node:assert';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { startGateway } from '../helpers/gateway.js';
import { validateStage } from '../../src/stages/validate/index.js';

const QUICKSTART = fileURLToPath(new URL('../../../examples/quickstart/', import.meta.url));
const demoPath = new URL('../../../examples/quickstart/demo-api.mjs', import.meta.url).href;
const { createDemoApi } = (await import(demoPath)) as { createDemoApi: () => Server };

let received = 0;
const demo = createDemoApi();
demo.on('request', () => received++);
await new Promise<void>((r) => demo.listen(0, '127.0.0.1', r));
const demoUrl = `http://127.0.0.1:${(demo.address() as AddressInfo).port}`;

const gw = await startGateway(
  `
version: 1
listeners:
  - port: 0
upstreams:
  demo:
    targets:
      - url: ${demoUrl}
routes: []
apis:
  - id: demo
    spec: ${QUICKSTART}openapi.yaml
    upstream: demo
    base_path: ''
    validate:
      response: filter
`,
  { modules: [validateStage] },
);
after(async () => {
  await gw.close();
  await new Promise((r) => demo.close(r));
});

const post = (path: string, body: string) => fetch(`${gw.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });

test('the quickstart document generates one route per demo API operation', () => {
  assert.deepEqual(
    gw.gateway.config.routes.map((r) => `${r.id} ${r.match.methods?.join(',')} ${r.match.path}`),
    [
      'demo.listItems GET /api/items',
      'demo.createItem POST /api/items',
      'demo.getItem GET /api/items/{id}',
      'demo.replaceItem PUT /api/items/{id}',
      'demo.deleteItem DELETE /api/items/{id}',
      'demo.publicStatus GET /api/public/status',
    ],
  );
});

test('invalid JSON, a wrong type and an unknown field get 400 and the demo API receives none', async () => {
  const before = received;
  for (const body of ['{"name": "Widget", "price": ', '{"name": "Widget", "price": "cheap"}', '{"name": "Widget", "price": 1, "admin": true}']) {
    const r = await post('/api/items', body);
    assert.equal(r.status, 400, body);
    assert.equal(r.headers.get('content-type'), 'application/problem+json');
  }
  assert.equal((await fetch(`${gw.url}/api/items/abc`)).status, 400);
  assert.equal(received, before);
});

test('a valid item is created and read back through the gateway with the response validated', async () => {
  const r = await post('/api/items', JSON.stringify({ name: 'Sprocket', price: 2.5, tags: ['new'] }));
  assert.equal(r.status, 201);
  const created = (await r.json()) as { id: string };
  const got = await fetch(`${gw.url}/api/items/${created.id}`);
  assert.equal(got.status, 200);
  assert.deepEqual(await got.json(), { id: created.id, name: 'Sprocket', price: 2.5, tags: ['new'] });
  assert.equal((await fetch(`${gw.url}/api/public/status`)).status, 200);
});
