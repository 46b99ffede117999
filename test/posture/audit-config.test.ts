/**
 * `portcullis audit-config`, run as users run it (bin/portcullis.js): the deliberately weak example
 * shows every rule at the line that causes it (each such line names its rule in a comment), with
 * its OWASP mapping, and fails `--fail-on high`; the quickstart passes it; the SARIF output
 * validates against the OASIS SARIF 2.1.0 schema.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Ajv } from 'ajv';
import addFormatsModule from 'ajv-formats';
import { RULES } from '../../src/posture/rules.js';

const ROOT = resolve(import.meta.dirname, '..', '..', '..');
const BIN = join(ROOT, 'bin', 'portcullis.js');
const WEAK = 'examples/weak/portcullis.yaml';
const QUICKSTART = 'examples/quickstart/portcullis.yaml';

function cli(args: string[]) {
  const r = spawnSync(process.execPath, [BIN, 'audit-config', ...args], { encoding: 'utf8', timeout: 60000, cwd: ROOT });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

interface JsonFinding {
  id: string;
  severity: string;
  file: string;
  line: number;
  column: number;
  keyPath: string;
  owasp: string[];
  message: string;
}

const weak = cli(['-c', WEAK, '--format', 'json', '--fail-on', 'high']);
const weakReport = JSON.parse(weak.out) as { findings: JsonFinding[]; summary: { owasp: { id: string; status: string }[] } };

test('the weak example reports every rule (admin.no-token excepted: it excludes admin.exposed), each once at least', () => {
  const ids = new Set(weakReport.findings.map((f) => f.id));
  const missing = RULES.map((r) => r.meta.id).filter((id) => !ids.has(id) && id !== 'admin.no-token');
  assert.deepEqual(missing, []);
});

test("each finding of the weak example points at the line that causes it (the example's comment there names the rule) with the rule's OWASP items", () => {
  const lines = readFileSync(join(ROOT, WEAK), 'utf8').split('\n');
  for (const f of weakReport.findings) {
    assert.equal(f.file, WEAK);
    assert.ok(lines[f.line - 1]?.includes(f.id), `${f.id} at line ${f.line}: ${lines[f.line - 1]}`);
    assert.ok(f.column >= 1 && f.column <= (lines[f.line - 1]?.length ?? 0), `${f.id} column ${f.column}`);
    assert.deepEqual(f.owasp, RULES.find((r) => r.meta.id === f.id)!.meta.owasp, f.id);
  }
  // routes generated from the OpenAPI document point at the key that brings the API in
  const spec = lines.findIndex((l) => l.trimStart().startsWith('spec:')) + 1;
  const generated = weakReport.findings.filter((f) => f.message.includes("'items.publicStatus'") && f.id === 'auth.unmarked-public');
  assert.deepEqual(
    generated.map((f) => [f.line, f.keyPath]),
    [[spec, 'apis[0].spec']],
  );
});

test('the weak example exits 1 with --fail-on high, and 0 without --fail-on', () => {
  assert.equal(weak.code, 1, weak.err);
  assert.equal(cli(['-c', WEAK]).code, 0);
});

test('the weak example summary marks OWASP API items with findings, and API7 as not assessed', () => {
  const status = Object.fromEntries(weakReport.summary.owasp.map((o) => [o.id, o.status]));
  for (const id of ['API1', 'API2', 'API3', 'API4', 'API5', 'API6', 'API8', 'API9', 'API10']) assert.equal(status[`${id}:2023`], 'findings', id);
  assert.equal(status['API7:2023'], 'not-assessed');
});

test('the quickstart exits 0 with --fail-on high: no high or critical finding', () => {
  const r = cli(['-c', QUICKSTART, '--fail-on', 'high']);
  assert.equal(r.code, 0, r.out + r.err);
  assert.match(r.out, /Findings: 0 critical, 0 high,/);
  assert.match(r.out, /admin\.no-token .*examples\/quickstart\/portcullis\.yaml:\d+:\d+/);
});

test('the quickstart scores clean: no finding above low (what is left is listed in the README)', () => {
  const r = cli(['-c', QUICKSTART, '--format', 'json', '--fail-on', 'medium']);
  assert.equal(r.code, 0, r.out + r.err);
  const findings = (JSON.parse(r.out) as { findings: JsonFinding[] }).findings;
  assert.deepEqual(
    findings.filter((f) => f.severity !== 'low' && f.severity !== 'info').map((f) => `${f.severity} ${f.id} ${f.keyPath}`),
    [],
  );
  assert.ok(findings.length > 0, 'the low findings are still reported');
});

test("the README's audit-config output on the quickstart is the command's real output", () => {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const m = /npx portcullis audit-config -c examples\/quickstart\/portcullis\.yaml --fail-on high[^\n]*\n```\n\n```text\n([\s\S]*?)```/.exec(readme);
  assert.ok(m, 'the README shows audit-config on the quickstart');
  const r = cli(['-c', QUICKSTART, '--fail-on', 'high']);
  assert.equal(r.code, 0);
  assert.equal(m[1], r.out);
});

test('the SARIF output validates against the SARIF 2.1.0 schema and carries rules, regions, levels and OWASP tags', () => {
  const r = cli(['-c', WEAK, '--format', 'sarif']);
  assert.equal(r.code, 0, r.err);
  const sarif = JSON.parse(r.out) as any;
  const schema = JSON.parse(readFileSync(join(ROOT, 'test/posture/fixtures/sarif-schema-2.1.0.json'), 'utf8'));
  // unicodeRegExp off: the schema's `language` pattern has a stray `]`, an error under the u flag only
  const ajv = new Ajv({ allErrors: true, strict: false, unicodeRegExp: false });
  (addFormatsModule as unknown as (a: Ajv) => Ajv)(ajv);
  const validate = ajv.compile<any>(schema);
  assert.ok(validate(sarif), JSON.stringify(validate.errors?.slice(0, 5)));
  // the check can fail: a result without a message is refused
  const broken = structuredClone(sarif);
  delete broken.runs[0].results[0].message;
  assert.equal(validate(broken), false);

  const run = sarif.runs[0];
  assert.equal(sarif.version, '2.1.0');
  assert.deepEqual(
    run.tool.driver.rules.map((x: any) => x.id),
    RULES.map((x) => x.meta.id),
  );
  assert.equal(run.results.length, weakReport.findings.length);
  for (const [i, res] of run.results.entries()) {
    const f = weakReport.findings[i]!;
    assert.equal(res.ruleId, f.id);
    assert.equal(run.tool.driver.rules[res.ruleIndex].id, f.id);
    assert.equal(res.level, { critical: 'error', high: 'error', medium: 'warning', low: 'note', info: 'note' }[f.severity]);
    assert.deepEqual(res.locations[0].physicalLocation.region, { startLine: f.line, startColumn: f.column });
    assert.equal(res.locations[0].physicalLocation.artifactLocation.uri, WEAK);
  }
  const rule = run.tool.driver.rules.find((x: any) => x.id === 'cache.shared-across-principals');
  assert.deepEqual(rule.properties.tags, ['security', 'API1:2023', 'API3:2023']);
  assert.match(rule.helpUri, /^https:\/\/owasp\.org\/API-Security\/editions\/2023\/en\/0xa1-/);
  assert.ok(rule.fullDescription.text.length > 20);
});

test('markdown and table name every finding; --output writes the report to a file', () => {
  const md = cli(['-c', WEAK, '--format', 'markdown']);
  const table = cli(['-c', WEAK]);
  for (const f of weakReport.findings) {
    assert.ok(md.out.includes(`\`${f.id}\``), f.id);
    assert.ok(table.out.includes(`${WEAK}:${f.line}:${f.column}`), f.id);
  }
  assert.match(md.out, /\| API7:2023 \| Server Side Request Forgery \| not assessed \|/);
  const out = join(mkdtempSync(join(tmpdir(), 'portcullis-posture-')), 'report.sarif');
  const r = cli(['-c', WEAK, '--format', 'sarif', '--output', out, '--fail-on', 'critical']);
  assert.equal(r.code, 0);
  assert.equal(r.out, '');
  assert.equal(JSON.parse(readFileSync(out, 'utf8')).version, '2.1.0');
});

test('an invalid config exits 2 with FILE:LINE:COLUMN errors; bad options exit 2 with the usage', () => {
  const dir = mkdtempSync(join(tmpdir(), 'portcullis-posture-'));
  const bad = join(dir, 'bad.yaml');
  writeFileSync(bad, 'version: 1\nlisteners:\n  - port: 8080\n    bogus: 1\nupstreams: {}\n');
  const r = cli(['-c', bad]);
  assert.equal(r.code, 2);
  assert.ok(r.err.includes(`${bad}:4:5: unknown key 'bogus'`), r.err);
  assert.equal(cli([]).code, 2);
  const f = cli(['-c', WEAK, '--format', 'xml']);
  assert.equal(f.code, 2);
  assert.match(f.err, /unknown format 'xml'/);
  assert.equal(cli(['-c', WEAK, '--fail-on', 'info']).code, 2);
});

test('docs/posture.md lists every rule with its severity and OWASP items', () => {
  const doc = readFileSync(join(ROOT, 'docs/posture.md'), 'utf8');
  for (const r of RULES) {
    const row = doc.split('\n').find((l) => l.startsWith(`| \`${r.meta.id}\` |`));
    assert.ok(row, r.meta.id);
    assert.ok(row.startsWith(`| \`${r.meta.id}\` | ${r.meta.severity} |`), row);
    for (const o of r.meta.owasp) assert.ok(row.includes(o.replace(':2023', '')), `${r.meta.id} ${o}`);
  }
});
