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
  {
    name: 'shop createItem (3.0: nullable, exclusiveMaximum, $ref to a separate file)',
    api: shop,
    ops: shopOps,
    key: 'createItem',
    v31: false,
    params: {},
    ct: 'application/json',
  },
  { name: 'shop createCategory (recursive schema)', api: shop, ops: shopOps, key: 'createCategory', v31: false, params: {}, ct: 'application/json' },
  {
    name: 'library createBook (3.1: allOf + unevaluatedProperties, type arrays, date format)',
    api: library,
    ops: libOps,
    key: 'createBook',
    v31: true,
    params: {},
    ct: 'application/json',
  },
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

// ---- query parameters: form (explode), form without explode, deepObject, enum --------------
const listItems = shop.operations.get('listItems');
const enc = encodeURIComponent;
const tag = fc.stringMatching(/^[a-z0-9-]{1,20}$/);
const queryModel = fc.record(
  {
    limit: fc.integer({ min: 1, max: 100 }),
    tags: fc.array(tag, { maxLength: 5 }),
    ids: fc.array(fc.integer({ min: -1000, max: 1000 }), { minLength: 1, maxLength: 4 }),
    filter: fc.record({ name: fc.string({ maxLength: 10 }), minPrice: fc.double({ min: 0, max: 1000, noNaN: true }) }, { requiredKeys: [] }),
    sort: fc.constantFrom('name', 'price'),
  },
  { requiredKeys: [] },
);
type Q = { limit?: number; tags?: string[]; ids?: number[]; filter?: { name?: string; minPrice?: number }; sort?: string };
function serialise(q: Q): string {
  const parts: string[] = [];
  if (q.limit !== undefined) parts.push(`limit=${q.limit}`);
  for (const t of q.tags ?? []) parts.push(`tags=${enc(t)}`);
  if (q.ids !== undefined) parts.push(`ids=${q.ids.join(',')}`);
  for (const [k, v] of Object.entries(q.filter ?? {})) parts.push(`filter[${k}]=${enc(String(v))}`);
  if (q.sort !== undefined) parts.push(`sort=${q.sort}`);
  return parts.join('&');
}
const queryMutations: ((q: Q) => string)[] = [
  (q) => serialise({ ...q, limit: 0 }),
  (q) => serialise({ ...q, limit: 101 }),
  (q) => `${serialise(q)}&limit=abc`,
  (q) => `${serialise({ ...q, limit: 5 })}&limit=6`,
  (q) => serialise({ ...q, tags: ['ok', 'NOT OK'] }),
  (q) => serialise({ ...q, tags: ['a', 'b', 'c', 'd', 'e', 'f'] }),
  ({ ids: _ids, ...q }) => `${serialise(q)}&ids=1,x`,
  (q) => `${serialise(q)}&filter[zz]=1`,
  ({ filter: _filter, ...q }) => `${serialise(q)}&filter[minPrice]=cheap`,
  (q) => serialise({ ...q, sort: 'bogus' }),
];

test('listItems: every query serialised from the parameter schemas is accepted', () => {
  fc.assert(
    fc.property(queryModel, (q) => {
      const query = serialise(q as Q);
      const { deny } = run(listItems, { query });
      if (deny !== undefined) throw new Error(`${query} refused: ${JSON.stringify(deny.errors ?? deny.reason)}`);
    }),
    { numRuns: 200 },
  );
});

test('listItems: every query mutated to break one parameter constraint is rejected', () => {
  fc.assert(
    fc.property(queryModel, fc.nat({ max: queryMutations.length - 1 }), (q, k) => {
      const query = (queryMutations[k] as (q: Q) => string)(q as Q);
      const { deny } = run(listItems, { query });
      if (deny === undefined) throw new Error(`mutation ${k}: ${query} was accepted`);
      assert.equal(deny.code, 'PC_ERR_VALIDATION');
    }),
    { numRuns: 200 },
  );
});
