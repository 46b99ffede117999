/**
 * Every operator and every `@rx` / `@pm` / `@pmFromFile` parameter of the CRS v4 rule files
 * (../shared/waf-corpus/crs-v4/rules, read at test time) compiles, or is in KNOWN_UNSUPPORTED
 * with its reason.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CrsUnsupported, type OperatorContext } from '../contract.js';
import { CRS_OPERATOR_NAMES, compileCrsOperator } from './index.js';
import { compileRxWithEngine } from './rx.js';

const ROOT = fileURLToPath(new URL('../../../../../', import.meta.url));
const RULES = join(ROOT, '..', 'shared', 'waf-corpus', 'crs-v4', 'rules');

/** Rules whose `@rx` cannot run exactly in linear time, and why (none in CRS v4.28.0). */
const KNOWN_UNSUPPORTED: Readonly<Record<string, RegExp>> = {};

/**
 * Rules whose `@rx` is beyond V8's automaton and runs on the Pike VM: counted repetitions over 16
 * copies, and 942200 (`(?:$|...|(?:\\r?\\n)?\\z)`: a line end and the string end in one pattern).
 */
const ON_PIKE_VM = new Set([
  '920201',
  '932300',
  '932301',
  '932310',
  '932311',
  '932320',
  '933220',
  '934120',
  '941120',
  '942200',
  '942380',
  '942390',
  '942480',
  '942510',
  '942511',
  '951120',
  '951210',
  '951220',
  '951230',
  '951240',
  '951260',
  '954110',
  '954130',
]);

interface RuleOp {
  readonly file: string;
  readonly id: string;
  readonly name: string;
  readonly param: string;
}

/** The operator of every SecRule (chained rules take the id of their chain's start). */
function ruleOps(): RuleOp[] {
  const out: RuleOp[] = [];
  for (const file of readdirSync(RULES)
    .filter((f) => f.endsWith('.conf'))
    .sort()) {
    // read as bytes, as the interpreter does
    const text = readFileSync(join(RULES, file), 'latin1').replace(/\\\r?\n\s*/g, ' ');
    let chainId = '';
    let chained = false;
    for (const raw of text.split('\n')) {
      const line = raw.trim();
      if (!line.startsWith('SecRule ')) continue;
      const toks = tokens(line.slice(8));
      let op = toks[1] ?? '';
      if (op.startsWith('!')) op = op.slice(1);
      let name = 'rx';
      let param = op;
      if (op.startsWith('@')) {
        const sp = op.indexOf(' ');
        name = (sp < 0 ? op.slice(1) : op.slice(1, sp)).toLowerCase();
        param = sp < 0 ? '' : op.slice(sp + 1);
      }
      const actions = toks[2] ?? '';
      const id = /\bid:(\d+)/.exec(actions)?.[1];
      if (!chained) chainId = id ?? '';
      out.push({ file, id: chainId, name, param });
      chained = /\bchain\b/.test(actions);
    }
  }
  return out;
}

/** SecLang tokens: bare words or double-quoted strings (`\"` is a quote). */
function tokens(s: string): string[] {
  const out: string[] = [];
  let i = 0;
  while (i < s.length) {
    while (s[i] === ' ') i++;
    if (i >= s.length) break;
    if (s[i] === '"') {
      let j = i + 1;
      let tok = '';
      while (j < s.length && s[j] !== '"') {
        if (s[j] === '\\' && s[j + 1] === '"') {
          tok += '"';
          j += 2;
        } else tok += s[j++];
      }
      out.push(tok);
      i = j + 1;
    } else {
      const j = s.indexOf(' ', i);
      out.push(s.slice(i, j < 0 ? s.length : j));
      i = j < 0 ? s.length : j;
    }
  }
  return out;
}

const ctx: OperatorContext = { dir: RULES, readFile: (p) => readFileSync(p, 'latin1') };

test('the CRS v4 rule files hold the operators expected (the reader works)', () => {
  const ops = ruleOps();
  assert.ok(ops.length > 600, `${ops.length} SecRules`);
  assert.ok(ops.filter((o) => o.name === 'rx').length > 300);
  assert.ok(ops.some((o) => o.name === 'pmfromfile'));
});

test('every operator name in the CRS v4 rule files is known to the compiler', () => {
  const unknown = [...new Set(ruleOps().map((o) => o.name))].filter((n) => !CRS_OPERATOR_NAMES.has(n));
  assert.deepEqual(unknown, []);
});

test('every @rx, @pm and @pmFromFile of CRS v4 compiles (23 @rx on the Pike VM), or is listed with its reason', () => {
  const failures: string[] = [];
  const refused = new Set<string>();
  const pike = new Set<string>();
  for (const o of ruleOps()) {
    if (o.name !== 'rx' && o.name !== 'pm' && o.name !== 'pmfromfile') continue;
    if (o.param.includes('%{')) continue; // macros are expanded by the interpreter first
    try {
      if (o.name === 'rx') {
        const { engine } = compileRxWithEngine(o.param);
        if (engine === 'pike') pike.add(o.id);
      } else compileCrsOperator(o.name, o.param, ctx);
    } catch (err) {
      const why = KNOWN_UNSUPPORTED[o.id];
      const reason = err instanceof CrsUnsupported ? err.reason : String(err);
      if (why === undefined || !why.test(reason)) failures.push(`${o.id} (${o.file}): ${reason}`);
      else refused.add(o.id);
    }
  }
  for (const id of Object.keys(KNOWN_UNSUPPORTED)) if (!refused.has(id)) failures.push(`${id} compiles now: drop it from the list`);
  assert.deepEqual(failures, []);
  assert.deepEqual([...pike].sort(), [...ON_PIKE_VM].sort(), 'the rules on the Pike VM');
});

test('every other operator of CRS v4 compiles (macros aside)', () => {
  const failures: string[] = [];
  for (const o of ruleOps()) {
    if (['rx', 'pm', 'pmfromfile'].includes(o.name) || o.param.includes('%{')) continue;
    try {
      compileCrsOperator(o.name, o.param, ctx);
    } catch (err) {
      failures.push(`${o.id} @${o.name} ${o.param}: ${String(err)}`);
    }
  }
  assert.deepEqual(failures, []);
});
