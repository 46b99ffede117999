/** Config loading: problems found by the fuzz run (test/fuzz) come back as located config errors. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigErrors } from './errors.js';
import { parseConfig } from './load.js';
import { STAGES } from '../stages/index.js';
import { isHttpUrl } from './ajv-options.js';

const withUrl = (url: string): string => `version: 1
listeners: [{ port: 8080 }]
upstreams:
  a:
    targets:
      - url: ${JSON.stringify(url)}
routes: []
`;

test('an upstream URL that WHATWG URL parsing refuses is a config error naming file, line and key, not a crash at compile', () => {
  for (const url of ['http://\u0000127.0.0.1:8081', 'http://', 'https://user:pw@127.0.0.1', 'http://[::1']) {
    assert.throws(
      () => parseConfig(withUrl(url), '/etc/portcullis/p.yaml', STAGES),
      (e: unknown) =>
        e instanceof ConfigErrors &&
        e.errors.some(
          (x) => x.file === '/etc/portcullis/p.yaml' && x.line === 6 && x.keyPath === 'upstreams.a.targets[0].url' && /http or https URL/.test(x.message),
        ),
      url,
    );
  }
  assert.doesNotThrow(() => parseConfig(withUrl('http://127.0.0.1:8081/base'), '/etc/portcullis/p.yaml', STAGES));
});

test('isHttpUrl accepts absolute http(s) URLs with a host and nothing else', () => {
  for (const ok of ['http://127.0.0.1:1', 'https://[::1]:8443/x', 'http://upstream.internal']) assert.equal(isHttpUrl(ok), true, ok);
  for (const bad of ['ftp://x', 'http:/x', '//x', 'http://u@x', 'file:///etc/passwd', 'http://x y']) assert.equal(isHttpUrl(bad), false, bad);
});

test('a mapping used as a key is a config error at its line, not a stringified key with a process warning (found by the fuzz run)', () => {
  const warnings: string[] = [];
  const onWarning = (w: Error): void => void warnings.push(w.message);
  process.on('warning', onWarning);
  try {
    assert.throws(
      () => parseConfig('version: 1\nlisteners: [{ port: 8080 }]\nupstreams:\n  ? { secret: x }\n  : { targets: [] }\nroutes: []\n', '/etc/p.yaml', STAGES),
      (e: unknown) => e instanceof ConfigErrors && e.errors.some((x) => x.line === 4 && /plain value/.test(x.message)),
    );
  } finally {
    process.off('warning', onWarning);
  }
  assert.deepEqual(warnings, []);
});

test('an alias to an anchor defined nowhere is a config error at its line, not a ReferenceError (found by the fuzz run)', () => {
  assert.throws(
    () => parseConfig('version: 1\nlisteners: [{ port: 8080 }]\nroutes: *nowhere\n', '/etc/p.yaml', STAGES),
    (e: unknown) => e instanceof ConfigErrors && e.errors.some((x) => x.line === 3 && /alias \*nowhere names no anchor/.test(x.message)),
  );
  // an alias to an anchor set before it is fine
  const anchored =
    'version: 1\nlisteners: [{ port: 8080 }]\nupstreams:\n  a: { targets: [{ url: &u "http://127.0.0.1:1" }] }\n  b: { targets: [{ url: *u }] }\nroutes: []\n';
  assert.doesNotThrow(() => parseConfig(anchored, '/etc/p.yaml', STAGES));
});
