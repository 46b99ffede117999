/** Config errors of `apis` and the per-route limits and response monitor mode of the validate key. */
import { test, after } from 'node:test';
import { strict as assert } from 'node:assert';
import { startGateway } from '../helpers/gateway.js';
import { startUpstream } from '../helpers/upstream.js';
import { validateStage } from '../../src/stages/validate/index.js';
import { SHOP, BROKEN_REF, FIXTURES } from './fixtures.js';
import { cpSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

// one array for every gateway of this file: the config schema is composed once per module list
const MODULES = [validateStage];

const up = await startUpstream((req, res) => {
  const t = JSON.stringify(req.url?.startsWith('/api/items/9') ? { id: 9, name: 'x', price: -1 } : [{ id: 1, name: 'a', price: 1 }]);
  res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(t) });
  res.end(t);
});
after(() => up.close());

const base = (apis: string, routes = 'routes: []') => `
version: 1
listeners:
  - port: 0
upstreams:
  shop:
    targets:
      - url: ${up.url}
${routes}
apis:
${apis}
`;

async function configError(apis: string): Promise<string> {
  try {
    const gw = await startGateway(base(apis), { modules: MODULES });
    await gw.close();
  } catch (e) {
    return (e as Error).message;
  }
  throw new Error('the config was accepted');
}

test('an unresolvable $ref in a spec refuses the config, naming the spec file and the config key', async () => {
  const msg = await configError(`  - id: b\n    spec: ${BROKEN_REF}\n    upstream: shop\n`);
  assert.match(msg, /broken-ref\.yaml/);
  assert.match(msg, /unresolvable \$ref/);
  assert.match(msg, /apis\[0\]\.spec/);
});

test('an override for an operation the spec does not have is a config error', async () => {
  const msg = await configError(`  - id: s\n    spec: ${SHOP}\n    upstream: shop\n    overrides:\n      getItme:\n        validate: { response: filter }\n`);
  assert.match(msg, /no operation 'getItme'/);
  assert.match(msg, /apis\[0\]\.overrides\.getItme/);
});

test('an invalid override value is a config error found in the generated route', async () => {
  const msg = await configError(
    `  - id: s\n    spec: ${SHOP}\n    upstream: shop\n    overrides:\n      getItem:\n        validate: { response: sometimes }\n`,
  );
  assert.match(msg, /generated route for operation 'getItem' is not valid/);
});

test('two APIs claiming the same operation path and method is a config error', async () => {
  const msg = await configError(`  - id: a\n    spec: ${SHOP}\n    upstream: shop\n  - id: b\n    spec: ${SHOP}\n    upstream: shop\n`);
  assert.match(msg, /collides with route 'a\.listItems'/);
});

test('an unknown upstream and a missing spec file are config errors', async () => {
  assert.match(await configError(`  - id: s\n    spec: ${SHOP}\n    upstream: nope\n`), /unknown upstream 'nope'/);
  assert.match(await configError(`  - id: s\n    spec: /nonexistent/spec.yaml\n    upstream: shop\n`), /spec\.yaml/);
});

test('per-route limits refuse long URLs, large headers and too many query parameters', async () => {
  const gw = await startGateway(
    base(
      `  - id: s\n    spec: ${SHOP}\n    upstream: shop\n    validate:\n      max_url_bytes: 100\n      max_header_bytes: 2048\n      max_query_params: 3\n`,
    ),
    { modules: MODULES },
  );
  try {
    const before = up.count();
    const r1 = await fetch(`${gw.url}/api/items?limit=5&sort=name&tags=a&tags=b`);
    assert.equal(r1.status, 400);
    assert.equal(((await r1.json()) as { code: string }).code, 'PC_ERR_TOO_MANY_PARAMETERS');
    const r2 = await fetch(`${gw.url}/api/items?tags=${'a'.repeat(100)}`);
    assert.equal(r2.status, 414);
    const r3 = await fetch(`${gw.url}/api/items`, { headers: { 'x-padding': 'p'.repeat(3000) } });
    assert.equal(r3.status, 431);
    assert.equal(up.count(), before);
    assert.equal((await fetch(`${gw.url}/api/items?limit=5&sort=name`)).status, 200);
  } finally {
    await gw.close();
  }
});

test('request monitor mode lets an invalid request through and records what it would have refused', async () => {
  const gw = await startGateway(base(`  - id: s\n    spec: ${SHOP}\n    upstream: shop\n    validate:\n      mode: monitor\n      response: monitor\n`), {
    modules: MODULES,
  });
  try {
    const before = up.count();
    const r = await fetch(`${gw.url}/api/items?limit=100000`);
    assert.equal(r.status, 200);
    assert.equal(up.count(), before + 1);
    // response monitor: an invalid response passes unchanged and is counted
    const r2 = await fetch(`${gw.url}/api/items/9`);
    assert.equal(r2.status, 200);
    assert.deepEqual(await r2.json(), { id: 9, name: 'x', price: -1 });
    const metrics = await gw.gateway.services.metrics.render();
    assert.match(metrics, /portcullis_monitor_denials_total\{stage="validate",code="PC_ERR_VALIDATION"\} 1/);
    assert.match(metrics, /portcullis_response_validation_failures_total\{route="s.getItem",mode="monitor"\} 1/);
  } finally {
    await gw.close();
  }
});

test('a spec path is resolved relative to the config file', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'pc-rel-'));
  cpSync(FIXTURES, join(dir, 'specs'), { recursive: true });
  const gw = await startGateway(base(`  - id: s\n    spec: specs/shop-3.0.yaml\n    upstream: shop\n`), { modules: MODULES, dir });
  try {
    assert.equal((await fetch(`${gw.url}/api/items?limit=5`)).status, 200);
    assert.equal((await fetch(`${gw.url}/api/items?limit=500`)).status, 400);
    // a reload with a broken spec keeps the old snapshot; a fixed one takes effect
    const specFile = join(dir, 'specs', 'shop-3.0.yaml');
    const original = readFileSync(specFile, 'utf8');
    writeFileSync(specFile, original.replace("'./common.yaml#/components/schemas/Money'", "'./common.yaml#/components/schemas/Gone'"));
    assert.equal(await gw.reload(), false);
    assert.equal((await fetch(`${gw.url}/api/items?limit=500`)).status, 400);
    writeFileSync(specFile, original);
    // the limit parameter lives in the shared components file: raise its maximum
    writeFileSync(join(dir, 'specs', 'common.yaml'), readFileSync(join(dir, 'specs', 'common.yaml'), 'utf8').replace('maximum: 100\n', 'maximum: 1000\n'));
    assert.equal(await gw.reload(), true);
    assert.equal((await fetch(`${gw.url}/api/items?limit=500`)).status, 200);
  } finally {
    await gw.close();
  }
});

test("a schema format Ajv does not know is reported in the gateway's JSON log, not on the console", async () => {
  const dir = mkdtempSync(join(tmpdir(), 'pc-openapi-format-'));
  const spec = join(dir, 'typo.yaml');
  cpSync(join(FIXTURES, 'common.yaml'), join(dir, 'common.yaml'));
  writeFileSync(spec, readFileSync(SHOP, 'utf8').replace(/type: string\n/, 'type: string\n          format: emial\n'));
  const printed: string[] = [];
  const warn = console.warn;
  console.warn = (...a: unknown[]) => void printed.push(a.map(String).join(' '));
  try {
    const gw = await startGateway(base(`  - id: s\n    spec: ${spec}\n    upstream: shop\n`), { modules: MODULES });
    const warned = gw.eventLines().filter((l) => l['event'] === 'openapi_schema_warning');
    await gw.close();
    assert.ok(
      warned.some((l) => /unknown format "emial"/.test(String(l['warning'])) && l['api'] === 's'),
      JSON.stringify(warned),
    );
    assert.deepEqual(printed, []);
  } finally {
    console.warn = warn;
  }
});
