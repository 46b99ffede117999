/** False positives: the legitimate API corpus (test/waf/legit-corpus.ndjson) is at most 1% blocked. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compileRules, evaluate } from '../../src/waf/engine.js';
import { BUILTIN_RULES } from '../../src/waf/rules/index.js';
import { loadCorpus, toWafRequest } from './corpus.js';

const compiled = compileRules(BUILTIN_RULES);
const policy = { paranoia: 1 as const, threshold: 5, exclusions: [] };

test('the legitimate corpus holds at least 300 requests of every kind the issue lists', () => {
  const corpus = loadCorpus('legit-corpus.ndjson');
  assert.ok(corpus.length >= 300, `${corpus.length} requests`);
  const types = new Set(corpus.map((e) => e.headers?.['content-type']?.split(';')[0]).filter((x) => x !== undefined));
  for (const t of [
    'application/json',
    'application/merge-patch+json',
    'application/vnd.api+json',
    'application/x-ndjson',
    'application/graphql',
    'application/x-www-form-urlencoded',
    'application/xml',
  ]) {
    assert.ok(types.has(t), `corpus has ${t}`);
  }
});

test('at most 1% of the legitimate corpus is blocked at the default settings', () => {
  const corpus = loadCorpus('legit-corpus.ndjson');
  const blocked: string[] = [];
  for (const e of corpus) {
    const r = evaluate(toWafRequest(e), compiled, policy, { allMatches: true });
    if (r.blocked)
      blocked.push(`${e.method} ${e.url.slice(0, 60)} [${e.note ?? ''}] ${r.matches.map((m) => `${m.ruleId}@${m.target}:${m.matched}`).join(' ')}`);
  }
  assert.ok(blocked.length <= corpus.length / 100, `${blocked.length}/${corpus.length} blocked:\n${blocked.join('\n')}`);
});
