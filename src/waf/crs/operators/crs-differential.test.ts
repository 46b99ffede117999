/**
 * Differential checks of the `@rx` translation on every CRS v4 pattern, with request strings from
 * the CRS regression suite (../shared/waf-corpus/crs-v4/tests/regression, read at test time):
 * - against the original pattern on V8's backtracking engine (flags i, s, m): on ASCII without CR
 *   the two regex dialects mean the same, so the compiled operator must agree;
 * - the Pike VM against V8 on the translated pattern: same match and groups, on any bytes.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { CrsUnsupported } from '../contract.js';
import { CR_SENTINEL, translatePcre } from './pcre.js';
import { compilePike } from './pike-vm.js';
import { compileRx } from './rx.js';

const ROOT = fileURLToPath(new URL('../../../../../', import.meta.url));
const CRS = join(ROOT, '..', 'shared', 'waf-corpus', 'crs-v4');

/** `@rx` parameters of the rule files (a plain reading: enough for the patterns). */
function rxPatterns(): string[] {
  const out: string[] = [];
  const dir = join(CRS, 'rules');
  for (const f of readdirSync(dir).filter((x) => x.endsWith('.conf'))) {
    const text = readFileSync(join(dir, f), 'latin1').replace(/\\\r?\n\s*/g, ' ');
    for (const m of text.matchAll(/^\s*SecRule\s+\S+\s+"!?@rx ((?:[^"\\]|\\.)*)"/gm)) out.push(m[1]!.replaceAll('\\"', '"'));
  }
  return out;
}

let all: string[] | null = null;

/** every `every`-th of the regression tests' uri, body and header strings (and URL-decoded forms), as bytes */
function samples(every: number): string[] {
  all ??= loadSamples();
  return all.filter((_, k) => k % every === 0);
}

function loadSamples(): string[] {
  const set = new Set<string>();
  const add = (v: unknown): void => {
    if (typeof v !== 'string' || v.length > 2000) return;
    set.add(v);
    try {
      set.add(decodeURIComponent(v.replace(/\+/g, ' ')));
    } catch {
      // not URL-encoded text
    }
  };
  const walk = (d: string): void => {
    for (const n of readdirSync(d).sort()) {
      const p = join(d, n);
      if (statSync(p).isDirectory()) walk(p);
      else if (n.endsWith('.yaml')) {
        const doc = parse(readFileSync(p, 'utf8')) as { tests?: { stages?: { input?: Record<string, unknown> }[] }[] } | null;
        for (const t of doc?.tests ?? []) {
          for (const s of t.stages ?? []) {
            const i = s.input ?? {};
            add(i.uri);
            add(i.data);
            for (const v of Object.values((i.headers as Record<string, unknown> | undefined) ?? {})) add(v);
          }
        }
      }
    }
  };
  walk(join(CRS, 'tests', 'regression', 'tests'));
  return [...set].map((s) => Buffer.from(s, 'utf8').toString('latin1'));
}

test('every CRS @rx agrees with its original pattern on ASCII regression strings', () => {
  const inputs = samples(15).filter((s) => /^[\x00-\x0c\x0e-\x7f]*$/.test(s));
  assert.ok(inputs.length > 200, `${inputs.length} inputs`);
  const diffs: string[] = [];
  let compared = 0;
  for (const p of rxPatterns()) {
    let op: ReturnType<typeof compileRx>;
    try {
      op = compileRx(p);
    } catch (err) {
      if (err instanceof CrsUnsupported) continue; // listed in crs-coverage.test.ts
      throw err;
    }
    const ci = p.startsWith('(?i)');
    let ref: RegExp;
    try {
      ref = new RegExp(ci ? p.slice(4) : p, ci ? 'ism' : 'sm');
    } catch {
      continue; // a PCRE-only form: the translation vectors cover it
    }
    compared++;
    for (const s of inputs) {
      if (op(s, { captures: null }) !== ref.test(s)) {
        diffs.push(`${p.slice(0, 60)} on ${JSON.stringify(s).slice(0, 60)}`);
        break;
      }
    }
  }
  assert.ok(compared > 250, `${compared} patterns compared`);
  assert.deepEqual(diffs, []);
});

test('the Pike VM gives V8 match and groups for every CRS @rx on regression strings', () => {
  const inputs = [...samples(40), 'a\r\nb\n', '\r\n\r\n', '\xff\xfe\x00'];
  const diffs: string[] = [];
  for (const p of rxPatterns()) {
    let t: ReturnType<typeof translatePcre>;
    try {
      t = translatePcre(p);
    } catch {
      continue;
    }
    const v8 = new RegExp(t.source, t.flags);
    const vm = compilePike(translatePcre(p, false).source, t.flags);
    for (const s of inputs) {
      const m = v8.exec(t.crSentinel ? s.replaceAll('\r', CR_SENTINEL) : s);
      const expected = m === null ? null : [...m].map((g) => g?.replaceAll(CR_SENTINEL, '\r'));
      if (JSON.stringify(vm.exec(s)) !== JSON.stringify(expected)) {
        diffs.push(`${p.slice(0, 60)} on ${JSON.stringify(s).slice(0, 60)}`);
        break;
      }
    }
  }
  assert.deepEqual(diffs, []);
});
