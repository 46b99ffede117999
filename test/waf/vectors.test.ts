/** Detection vectors per category (test/waf/attack-vectors.ndjson): each is blocked at the defaults. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compileRules, evaluate } from '../../src/waf/engine.js';
import { BUILTIN_RULES } from '../../src/waf/rules/index.js';
import { loadCorpus, toWafRequest, type CorpusEntry } from './corpus.js';

const compiled = compileRules(BUILTIN_RULES);
const policy = { paranoia: 1 as const, threshold: 5, exclusions: [] };
const vectors = loadCorpus('attack-vectors.ndjson') as (CorpusEntry & { category: string })[];
const categories = [...new Set(vectors.map((v) => v.category))];

test('the attack vectors cover every category of the built-in rule set', () => {
  for (const c of [
    'sqli',
    'nosql',
    'xss',
    'lfi',
    'rfi',
    'rce',
    'ssrf',
    'ssti',
    'log4shell',
    'xxe',
    'prototype-pollution',
    'crlf',
    'deserialization',
    'php',
    'java',
    'scanner',
    'protocol',
  ]) {
    assert.ok(categories.includes(c), `vectors for ${c}`);
  }
});

for (const cat of categories) {
  test(`every ${cat} vector is blocked at the default settings`, () => {
    const missed: string[] = [];
    for (const v of vectors.filter((x) => x.category === cat)) {
      const r = evaluate(toWafRequest(v), compiled, policy);
      if (!r.blocked) missed.push(`${v.method} ${v.url} ${v.body ?? ''} ${JSON.stringify(v.headers ?? {})}`);
    }
    assert.deepEqual(missed, []);
  });
}
