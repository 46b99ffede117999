import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const here = (p: string): string => JSON.stringify(fileURLToPath(new URL(p, import.meta.url)));
const quickstart = fileURLToPath(new URL('../../../examples/quickstart/portcullis.yaml', import.meta.url));

// In a fresh process (natives syntax lets it ask V8 whether two objects share a shape, and a
// large heap keeps a full garbage collection, which clears unused transitions, from hiding the
// result): load and compile the quickstart config (the config schema and an OpenAPI document),
// then check that objects built key by key with new keys still share one shape. The control
// compiles the same config schema with ajv's default options and must fill the root map.
const script = `
import { loadConfigFile } from ${here('../../src/config/load.js')};
import { compileSnapshot, UpstreamCache } from ${here('../../src/config/snapshot.js')};
import { createServices } from ${here('../../src/create-services.js')};
import { createLogger } from ${here('../../src/observe/logger.js')};
import { STAGES } from ${here('../../src/stages/index.js')};
import { composeSchema } from ${here('../../src/config/schema.js')};
import { Ajv2020 } from 'ajv/dist/2020.js';
const sameShape = new Function('a', 'b', 'return %HaveSameMap(a, b)');
const shared = (k) => { const mk = () => { const o = {}; o[k + '_a'] = 1; o[k + '_b'] = 2; return o; }; return sameShape(mk(), mk()); };
const loaded = loadConfigFile(${JSON.stringify(quickstart)}, STAGES);
// the quickstart's audit log off: the test writes nothing next to the example
const services = await createServices({ ...loaded.config, audit: { ...loaded.config.audit, enabled: false } }, createLogger('stderr', 'test'), loaded.baseDir);
const snap = await compileSnapshot(loaded, STAGES, services, new UpstreamCache(), () => {});
const ours = shared('after_ours');
for (let i = 0; i < 3; i++) new Ajv2020({ allErrors: true, useDefaults: true, strict: false, allowUnionTypes: true }).compile(composeSchema(STAGES));
const control = shared('after_control');
console.log(JSON.stringify({ ours, control }));
process.exit(0);
`;

test("compiling the config's schemas leaves V8's root object shape room for the request path", () => {
  const out = execFileSync(process.execPath, ['--allow-natives-syntax', '--initial-heap-size=1024', '--input-type=module', '-e', script], {
    encoding: 'utf8',
    cwd: fileURLToPath(new URL('../../../', import.meta.url)),
  });
  const r = JSON.parse(out.trim().split('\n').pop()!) as { ours: boolean; control: boolean };
  assert.equal(r.ours, true, 'after the gateway compiled its config, new objects built the same way share one shape');
  assert.equal(r.control, false, "control: ajv's default name optimisation fills the root map (the probe sees it)");
});
