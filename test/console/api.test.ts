/**
 * The live console's endpoints on a running gateway (no browser): the static files are public
 * and carry the CSP, the data needs the admin token, the stream sends a snapshot each second, is
 * bounded in number and ends on a reload, and refusals are found by request id.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'undici';
import { startGateway } from '../helpers/gateway.js';
import { startUpstream } from '../helpers/upstream.js';
import { CSP, MAX_STREAMS } from '../../src/admin/console/handlers.js';

const TOKEN = 'console-api-token-0123456789';
const auth = { authorization: `Bearer ${TOKEN}` };

const CONFIG = `
version: 1
listeners: [{ port: 0 }]
admin: { port: 0, token: ${TOKEN} }
waf: { mode: enforce }
upstreams: { app: { targets: [{ url: '{{UP}}' }] } }
routes:
  - { id: api, match: { prefix: /api }, upstream: app, auth: none }
`;

/** Reads a stream's events until `enough` says stop; returns them (event name and data text). */
async function readEvents(body: AsyncIterable<Buffer>, enough: (events: { event: string; data: string }[], comments: number) => boolean) {
  const events: { event: string; data: string }[] = [];
  let comments = 0;
  let buf = '';
  for await (const chunk of body) {
    buf += chunk.toString('utf8');
    let cut: number;
    while ((cut = buf.indexOf('\n\n')) >= 0) {
      const block = buf.slice(0, cut);
      buf = buf.slice(cut + 2);
      if (block.startsWith(':')) comments++;
      const event = /^event: (.*)$/m.exec(block)?.[1];
      const data = /^data: (.*)$/m.exec(block)?.[1];
      if (event !== undefined) events.push({ event, data: data ?? '' });
    }
    if (enough(events, comments)) break;
  }
  return { events, ended: buf === '' };
}

test('the console files are served without the token, with the strict CSP; its data needs the token', async () => {
  const up = await startUpstream();
  const gw = await startGateway(CONFIG, { vars: { UP: up.url } });
  try {
    for (const [path, type] of [
      ['/console', 'text/html'],
      ['/console/app.js', 'text/javascript'],
      ['/console/app.css', 'text/css'],
    ] as const) {
      const r = await request(`${gw.adminUrl}${path}`);
      const body = await r.body.text();
      assert.equal(r.statusCode, 200, path);
      assert.equal(r.headers['content-security-policy'], CSP);
      assert.equal(r.headers['x-content-type-options'], 'nosniff');
      assert.ok(String(r.headers['content-type']).startsWith(type), path);
      assert.ok(body.length > 100);
      // no inline script or style for the CSP to refuse
      if (path === '/console') assert.doesNotMatch(body, /<script>|<style|\sstyle=|\son[a-z]+=/i);
    }
    for (const path of ['/admin/live', '/admin/live/stream', '/admin/refusals', '/admin/refusals/x', '/console/other.js']) {
      const r = await request(`${gw.adminUrl}${path}`);
      await r.body.text();
      assert.equal(r.statusCode, 401, path);
    }
    const post = await request(`${gw.adminUrl}/console`, { method: 'POST' });
    await post.body.text();
    assert.equal(post.statusCode, 401, 'only GET and HEAD of the files are public');
  } finally {
    await gw.close();
    await up.close();
  }
});

test('a refusal is found by its request id and by search, with its stage, code and WAF rule; an unknown id is 404', async () => {
  const up = await startUpstream();
  const gw = await startGateway(CONFIG, { vars: { UP: up.url } });
  try {
    const ok = await request(`${gw.url}/api/items`);
    await ok.body.text();
    const r = await request(`${gw.url}/api/items?id=${encodeURIComponent("1' UNION SELECT password FROM users--")}&access_token=s3cret`);
    await r.body.text();
    assert.equal(r.statusCode, 403);
    const id = r.headers['x-request-id'] as string;
    const one = await request(`${gw.adminUrl}/admin/refusals/${encodeURIComponent(id)}`, { headers: auth });
    const d = (await one.body.json()) as Record<string, any>;
    assert.equal(one.statusCode, 200);
    assert.equal(one.headers['content-security-policy'], CSP);
    assert.equal(d.stage, 'waf');
    assert.equal(d.code, 'PC_ERR_WAF_BLOCKED');
    assert.ok(
      (d.waf.rules as string[]).some((x) => x.startsWith('sqli')),
      JSON.stringify(d.waf),
    );
    assert.ok(!String(d.query).includes('s3cret'), `the query is redacted: ${d.query}`);
    const found = await request(`${gw.adminUrl}/admin/refusals?q=${encodeURIComponent(id)}`, { headers: auth });
    assert.deepEqual(
      ((await found.body.json()) as { refusals: { id: string }[] }).refusals.map((x) => x.id),
      [id],
    );
    const none = await request(`${gw.adminUrl}/admin/refusals/not-a-request`, { headers: auth });
    await none.body.text();
    assert.equal(none.statusCode, 404);
    const live = await request(`${gw.adminUrl}/admin/live?seconds=30`, { headers: auth });
    const snap = (await live.body.json()) as Record<string, any>;
    assert.equal(snap.totals.requests, 2);
    assert.equal(snap.series.requests.length, 30);
    assert.deepEqual(snap.refusals_by, [{ stage: 'waf', code: 'PC_ERR_WAF_BLOCKED', count: 1 }]);
    assert.ok(Array.isArray(snap.alerts));
  } finally {
    await gw.close();
    await up.close();
  }
});

test('the live stream sends a snapshot a second, refuses streams beyond its bound with 503, and ends with a reload event when the config is reloaded', {
  timeout: 30_000,
}, async () => {
  const up = await startUpstream();
  const gw = await startGateway(CONFIG, { vars: { UP: up.url } });
  const open: { body: { destroy(): void } }[] = [];
  try {
    const s = await request(`${gw.adminUrl}/admin/live/stream`, { headers: auth });
    assert.equal(s.statusCode, 200);
    assert.equal(s.headers['content-type'], 'text/event-stream; charset=utf-8');
    assert.equal(s.headers['content-security-policy'], CSP);
    const first = await readEvents(s.body, (e) => e.length >= 2);
    assert.deepEqual(
      first.events.map((e) => e.event),
      ['snapshot', 'snapshot'],
    );
    const snap = JSON.parse(first.events[1]!.data) as { time: string; totals: { requests: number } };
    const t0 = Date.parse(JSON.parse(first.events[0]!.data).time as string);
    assert.ok(Date.parse(snap.time) - t0 >= 900, 'one snapshot a second');
    s.body.destroy();

    for (let i = 0; i < MAX_STREAMS; i++) {
      const r = await request(`${gw.adminUrl}/admin/live/stream`, { headers: auth });
      assert.equal(r.statusCode, 200, `stream ${i + 1}`);
      open.push(r);
    }
    const over = await request(`${gw.adminUrl}/admin/live/stream`, { headers: auth });
    await over.body.text();
    assert.equal(over.statusCode, 503);
    for (const r of open.splice(0)) r.body.destroy();

    // a stream ends on reload (its reader reconnects and is checked against the new config)
    let again = await request(`${gw.adminUrl}/admin/live/stream`, { headers: auth });
    for (let i = 0; again.statusCode === 503 && i < 50; i++) {
      // the closed streams are counted down when their sockets close
      await again.body.text();
      await new Promise((r) => setTimeout(r, 50));
      again = await request(`${gw.adminUrl}/admin/live/stream`, { headers: auth });
    }
    assert.equal(again.statusCode, 200);
    const reading = readEvents(again.body, (e) => e.some((x) => x.event === 'reload'));
    assert.equal(await gw.reload(), true);
    const after = await reading;
    assert.equal(after.events.at(-1)?.event, 'reload');
  } finally {
    for (const r of open) r.body.destroy();
    await gw.close();
    await up.close();
  }
});
