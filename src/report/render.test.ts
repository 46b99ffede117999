import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ReportAggregator } from './aggregate.js';
import { renderReport } from './index.js';

const FROM = new Date('2026-07-01T00:00:00Z');
const TO = new Date('2026-07-02T00:00:00Z');

/** A report whose keys come from a hostile client: markup, pipes, newlines, URLs. */
function hostile(): ReturnType<ReportAggregator['finish']> {
  const a = new ReportAggregator({ from: FROM, to: TO });
  a.addAccess({
    time: '2026-07-01T01:00:00.000Z',
    client_ip: '10.0.0.1',
    status: 401,
    route_id: '<img src=https://evil.test/x>|`x`',
    tenant: '<script>alert(1)</script>\n| forged | row |',
    decision: { stage: 'auth', code: 'PC_ERR_AUTH_REQUIRED', reason: null },
  });
  a.addAudit({ time: '2026-07-01T02:00:00.000Z', event: 'admin_ban_added', data: { by: '"><link href=//evil.test>', client: '10.0.0.1' } });
  return a.finish({ accessLogs: [], auditLog: null }, { checked: false, ok: null, entries: null, message: 'none', checkpoints: null }, TO);
}

test('HTML escapes every value from the logs: no element or attribute from them survives (URLs stay inert text)', () => {
  const html = renderReport(hostile(), 'html');
  assert.doesNotMatch(html, /<script|<img|<link/i);
  assert.ok(html.includes('&lt;script&gt;alert(1)&lt;/script&gt;'));
  assert.ok(html.includes('&lt;img src=https://evil.test/x&gt;'), 'the text is shown, inert');
  assert.match(html, /<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">/);
});

test('Markdown keeps a hostile value inside its cell: no new row, no raw HTML', () => {
  const md = renderReport(hostile(), 'markdown');
  assert.ok(!md.includes('\n| forged | row |'), 'the newline does not start a row');
  assert.ok(md.includes('\\<script\\>alert(1)\\</script\\> \\| forged \\| row \\|'));
  assert.doesNotMatch(md, /[^\\]<img/);
});

test('JSON is the Report as data, with the control mapping', () => {
  const r = JSON.parse(renderReport(hostile(), 'json')) as { authFailures: { total: number }; controls: { section: string }[] };
  assert.equal(r.authFailures.total, 1);
  assert.deepEqual(
    r.controls.map((c) => c.section),
    ['traffic', 'authFailures', 'refusals', 'waf', 'topRefusedClients', 'bans', 'adminActions', 'configVersions', 'auditChain', 'tenants'],
  );
});
