import { test } from 'node:test';
import { strict as assert } from 'node:assert';
import { loadOpenApi } from './load.js';
import { listOperations } from './operations.js';
import { ConfigError } from '../config/errors.js';
import { SHOP, LIBRARY, BROKEN_REF, MISSING_FILE } from '../../test/openapi/fixtures.js';

test('loads a 3.0 document and dereferences relative-file $refs into shared components', async () => {
  const spec = await loadOpenApi(SHOP);
  assert.equal(spec.version, '3.0');
  const ops = listOperations(spec);
  assert.deepEqual(
    ops.map((o) => o.key),
    ['listItems', 'createItem', 'getItem', 'replaceItem', 'deleteItem', 'POST /items/{id}/notes', 'createCategory'],
  );
  const create = ops.find((o) => o.key === 'createItem');
  const schema = create?.requestBody?.content['application/json']?.schema as Record<string, any>;
  assert.equal(schema['properties']['price']['type'], 'number');
  assert.equal(schema['properties']['tags']['items']['pattern'], '^[a-z0-9-]+$');
  // the recursive Category stays a (circular) object graph, no $ref left
  const cat = schema['properties']['category'];
  assert.equal(cat['properties']['children']['items'], cat);
  // path-level parameters are merged into each operation; $ref'd parameters are resolved
  const get = ops.find((o) => o.key === 'getItem');
  assert.deepEqual(
    get?.parameters.map((p) => `${p.in}:${p.name}`),
    ['path:id', 'header:X-Trace-Tag', 'cookie:session'],
  );
  const list = ops.find((o) => o.key === 'listItems');
  assert.equal(list?.parameters[0]?.name, 'limit');
  assert.deepEqual(list?.security, []);
  assert.deepEqual(ops.find((o) => o.key === 'createItem')?.security, [{ bearer: [] }, { apiKey: [] }]);
  assert.deepEqual(create?.extensions, { validate: { max_errors: 5 }, 'max-body-bytes': 65536 });
});

test('loads a 3.1 document with shared components from the same separate file', async () => {
  const spec = await loadOpenApi(LIBRARY);
  assert.equal(spec.version, '3.1');
  const ops = listOperations(spec);
  assert.deepEqual(
    ops.map((o) => o.key),
    ['listBooks', 'createBook', 'getBook', 'patchBook', 'uploadCover'],
  );
  const book = ops[1]?.requestBody?.content['application/json']?.schema as Record<string, any>;
  assert.equal(book['allOf'][1]['properties']['tags']['items']['maxLength'], 20);
});

test('an unresolvable $ref pointer is a ConfigError naming the file', async () => {
  await assert.rejects(loadOpenApi(BROKEN_REF), (e: unknown) => {
    assert.ok(e instanceof ConfigError);
    assert.match(e.message, /broken-ref\.yaml/);
    assert.match(e.message, /unresolvable \$ref/);
    assert.match(e.message, /DoesNotExist/);
    return true;
  });
});

test('a $ref to a missing file is a ConfigError naming the file, located at the config key', async () => {
  await assert.rejects(loadOpenApi(MISSING_FILE, { configFile: '/etc/p.yaml', keyPath: 'apis[0].spec' }), (e: unknown) => {
    assert.ok(e instanceof ConfigError);
    assert.equal(e.file, '/etc/p.yaml');
    assert.equal(e.keyPath, 'apis[0].spec');
    assert.match(e.message, /missing-file\.yaml/);
    assert.match(e.message, /nowhere\.yaml/);
    return true;
  });
});

test('a document that is not OpenAPI 3.x is refused', async () => {
  const { writeFileSync, mkdtempSync } = await import('node:fs');
  const { join } = await import('node:path');
  const { tmpdir } = await import('node:os');
  const dir = mkdtempSync(join(tmpdir(), 'pc-oas-'));
  writeFileSync(join(dir, 'swagger.yaml'), 'swagger: "2.0"\npaths: {}\n');
  await assert.rejects(loadOpenApi(join(dir, 'swagger.yaml')), /Swagger 2\.0 is not supported/);
  writeFileSync(
    join(dir, 'remote.yaml'),
    'openapi: 3.0.0\npaths:\n  /x:\n    get:\n      parameters:\n        - $ref: "http://127.0.0.1:1/p.yaml"\n      responses: {}\n',
  );
  await assert.rejects(loadOpenApi(join(dir, 'remote.yaml')), ConfigError);
});
