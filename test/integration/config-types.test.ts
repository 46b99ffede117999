/**
 * The config types the code casts the validated config to are checked against the schemas that
 * fill and validate it: every schema property is a property of the type and back, a property the
 * schema always fills (a default, or required) is not optional in the type and one it may leave
 * out is optional, nested objects, arrays and maps alike. Defaults live only in the schemas; this
 * keeps the hand-written types from drifting from them (read with the TypeScript compiler).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join, resolve } from 'node:path';
import ts from 'typescript';
import type { JsonSchema } from '../../src/core/json-schema.js';
import { coreSchema } from '../../src/config/schema.js';
import { cacheGlobalSchema } from '../../src/stages/cache/schema.js';
import { corsGlobalSchema } from '../../src/stages/cors/schema.js';
import { wafGlobalSchema } from '../../src/stages/waf/schema.js';

const root = resolve(import.meta.dirname, '..', '..', '..');

type S = JsonSchema & { properties?: Record<string, S>; required?: string[]; items?: S; additionalProperties?: S | boolean; default?: unknown };

const CASES: { file: string; type: string; schema: () => S }[] = [
  { file: 'src/core/config.ts', type: 'CanonicalConfig', schema: () => coreSchema() as S },
  { file: 'src/stages/cache/index.ts', type: 'GlobalCache', schema: () => cacheGlobalSchema() as S },
  { file: 'src/stages/cors/index.ts', type: 'GlobalCors', schema: () => corsGlobalSchema() as S },
  { file: 'src/stages/waf/index.ts', type: 'WafGlobal', schema: () => wafGlobalSchema() as S },
];

/** Filled by code, not by a schema default, with why. */
const FILLED_BY_CODE: Record<string, string> = {
  // `address:port` when absent (src/config/snapshot.ts): a default a schema cannot compute
  'listeners[].name': 'the schema may leave it out, the type says it is always there',
};

const program = ts.createProgram(
  CASES.map((c) => join(root, c.file)),
  {
    strict: true,
    exactOptionalPropertyTypes: true,
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    target: ts.ScriptTarget.ES2023,
    noEmit: true,
    skipLibCheck: true,
  },
);
const checker = program.getTypeChecker();

function declared(file: string, name: string): ts.Type {
  const sf = program.getSourceFile(join(root, file));
  assert.ok(sf, `${file} is read`);
  let found: ts.Node | undefined;
  sf.forEachChild((n) => {
    if ((ts.isInterfaceDeclaration(n) || ts.isTypeAliasDeclaration(n)) && n.name.text === name) found = n.name;
  });
  assert.ok(found, `${name} is declared in ${file}`);
  return checker.getTypeAtLocation(found);
}

/** The object schema of a property (null when it is not one plain object schema). */
const objectSchema = (s: S): S | null => (s.properties !== undefined ? s : null);

/** Differences between a type and a schema, as "path: what". */
function compare(type: ts.Type, schema: S, path: string, out: string[], depth = 0): void {
  if (depth > 6) return;
  const props = schema.properties ?? {};
  const required = new Set(schema.required ?? []);
  const typed = new Map(type.getProperties().map((p) => [p.name, p]));
  for (const [name, sub] of Object.entries(props)) {
    const sym = typed.get(name);
    const at = path === '' ? name : `${path}.${name}`;
    if (sym === undefined) {
      if (type.getStringIndexType() === undefined) out.push(`${at}: in the schema, not in the type`);
      continue;
    }
    const optional = (sym.flags & ts.SymbolFlags.Optional) !== 0;
    const filled = sub.default !== undefined || required.has(name);
    if (filled && optional) out.push(`${at}: the schema always fills it (${sub.default !== undefined ? 'default' : 'required'}), the type says optional`);
    if (!filled && !optional) out.push(`${at}: the schema may leave it out, the type says it is always there`);
    const t = checker.getNonNullableType(checker.getTypeOfSymbol(sym));
    const obj = objectSchema(sub);
    if (obj !== null && t.getProperties().length > 0) compare(t, obj, at, out, depth + 1);
    if (sub.items !== undefined && objectSchema(sub.items) !== null && checker.isArrayType(t)) {
      const el = checker.getTypeArguments(t as ts.TypeReference)[0];
      if (el !== undefined) compare(el, sub.items, `${at}[]`, out, depth + 1);
    }
    if (typeof sub.additionalProperties === 'object' && objectSchema(sub.additionalProperties) !== null) {
      const v = t.getStringIndexType();
      if (v !== undefined) compare(v, sub.additionalProperties, `${at}.*`, out, depth + 1);
    }
  }
  for (const name of typed.keys()) if (!(name in props)) out.push(`${path === '' ? name : `${path}.${name}`}: in the type, not in the schema`);
}

for (const c of CASES) {
  test(`${c.type} (${c.file}) matches the schema that fills it`, () => {
    const out: string[] = [];
    compare(declared(c.file, c.type), c.schema(), '', out);
    assert.deepEqual(
      out.filter((d) => !Object.entries(FILLED_BY_CODE).some(([at, why]) => d === `${at}: ${why}`)),
      [],
    );
  });
}

test('the comparison sees a drifted type', () => {
  const out: string[] = [];
  compare(
    declared('src/stages/cache/index.ts', 'GlobalCache'),
    { type: 'object', properties: { store: { type: 'string' }, extra: { type: 'string', default: 'x' } } } as S,
    '',
    out,
  );
  assert.ok(out.includes('store: the schema may leave it out, the type says it is always there'), out.join('\n'));
  assert.ok(out.includes('extra: in the schema, not in the type'), out.join('\n'));
  assert.ok(out.includes('max_bytes: in the type, not in the schema'), out.join('\n'));
});
