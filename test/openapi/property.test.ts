import { test } from 'node:test';
import { strict as assert } from 'node:assert';
import fc from 'fast-check';
import { compiled, run } from './compiled.js';
import { arb, mutations } from './arbitrary.js';
import { loadOpenApi } from '../../src/openapi/load.js';
import { listOperations } from '../../src/openapi/operations.js';
import { SHOP, LIBRARY } from './fixtures.js';

const { shop, library } = await compiled();
const shopOps = listOperations(await loadOpenApi(SHOP));
const libOps = listOperations(await loadOpenApi(LIBRARY));

const cases: { name: string; api: typeof shop; ops: typeof shopOps; key: string; v31: boolean; params: Record<string, string>; ct: string }[] = [
  { name: 'shop createItem (3.0: nullable, exclusiveMaximum, $ref to a separate file)', api: shop, ops: shopOps, key: 'createItem', v31: false, params: {}, ct: 'application/json' },
  { name: 'shop createCategory (recursive schema)', api: shop, ops: shopOps, key: 'createCategory', v31: false, params: {}, ct: 'application/json' },
  { name: 'library createBook (3.1: allOf + unevaluatedProperties, type arrays, date format)', api: library, ops: libOps, key: 'createBook', v31: true, params: {}, ct: 'application/json' },
  { name: 'shop replaceItem (readOnly id)', api: shop, ops: shopOps, key: 'replaceItem', v31: false, params: { id: '5' }, ct: 'application/json' },
];

for (const c of cases) {
  const info = c.ops.find((o) => o.key === c.key);
  const schema = info?.requestBody?.content[c.ct]?.schema as Record<string, unknown>;
  const op = c.api.operations.get(c.key);
  assert.ok(schema && op);

  test(`${c.name}: every instance generated from the schema is accepted`, () => {
    fc.assert(
      fc.property(arb(schema, c.v31), (value) => {
        const { deny } = run(op, { params: c.params, body: value as object, headers: { 'content-type': c.ct } });
        if (deny !== undefined) throw new Error(`${JSON.stringify(value)} refused: ${JSON.stringify(deny.errors ?? deny.reason)}`);
      }),
      { numRuns: 150 },
    );
  });

  test(`${c.name}: every instance mutated to break one constraint is rejected`, () => {
    let applied = 0;
    fc.assert(
      fc.property(arb(schema, c.v31), fc.nat(), (value, k) => {
        const sites = mutations(schema as Record<string, any>, value, c.v31);
        if (sites.length === 0) return;
        const m = sites[k % sites.length]!;
        const bad = m.apply(value);
        applied++;
        const { deny } = run(op, { params: c.params, body: bad as object, headers: { 'content-type': c.ct } });
        if (deny === undefined) throw new Error(`${m.what}: ${JSON.stringify(bad)} was accepted`);
        assert.equal(deny.code, 'PC_ERR_VALIDATION');
      }),
      { numRuns: 200 },
    );
    assert.ok(applied > 100, 'mutations were applied');
  });
}
