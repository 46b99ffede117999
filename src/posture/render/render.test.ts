import { test } from 'node:test';
import assert from 'node:assert/strict';
import { summarise } from '../audit.js';
import { RULES } from '../rules.js';
import type { Finding, Report } from '../types.js';
import { renderMarkdown } from './markdown.js';
import { renderSarif } from './sarif.js';
import { renderTable } from './table.js';

const rule = RULES.find((r) => r.meta.id === 'waf.off')!.meta;

function report(findings: Finding[]): Report {
  return { file: 'conf/p.yaml', findings, summary: summarise(findings, RULES), rules: RULES.map((r) => r.meta) };
}

const finding: Finding = {
  id: rule.id,
  severity: 'high',
  title: rule.title,
  message: "the WAF is off on route 'a|b'",
  file: 'conf/p.yaml',
  line: 7,
  column: 5,
  keyPath: 'routes[0].waf',
  why: rule.why,
  fix: rule.fix,
  owasp: rule.owasp,
};

test('a report without findings says so in the table and in Markdown, and lists every OWASP item', () => {
  const r = report([]);
  assert.match(renderTable(r), /^conf\/p\.yaml: no findings\n/);
  assert.match(renderTable(r), /API10:2023 +covered/);
  assert.match(renderMarkdown(r), /## Findings\n\nNone\.\n/);
  assert.equal(renderMarkdown(r).match(/^\| API\d+:2023 \|/gm)?.length, 10);
});

test('Markdown escapes pipes in table cells and explains only the rules found', () => {
  const md = renderMarkdown(report([finding]));
  assert.ok(md.includes("route 'a\\|b'"), md);
  assert.ok(md.includes('### `waf.off`: WAF off'));
  assert.ok(!md.includes('### `audit.off`'));
});

test('SARIF: a relative file is relative to %SRCROOT%, an absolute one outside the working directory a file URI', () => {
  const rel = JSON.parse(renderSarif(report([finding]), { version: '1.2.3', cwd: '/work/x' }));
  assert.deepEqual(rel.runs[0].results[0].locations[0].physicalLocation.artifactLocation, { uri: 'conf/p.yaml', uriBaseId: '%SRCROOT%' });
  assert.equal(rel.runs[0].originalUriBaseIds['%SRCROOT%'].uri, 'file:///work/x/');
  assert.equal(rel.runs[0].tool.driver.semanticVersion, '1.2.3');
  const abs = JSON.parse(renderSarif({ ...report([{ ...finding, file: '/etc/p.yaml' }]), file: '/etc/p.yaml' }, { version: '1', cwd: '/work/x' }));
  assert.deepEqual(abs.runs[0].results[0].locations[0].physicalLocation.artifactLocation, { uri: 'file:///etc/p.yaml' });
  assert.equal(abs.runs[0].originalUriBaseIds, undefined);
});
