/**
 * `portcullis probe URL`: runs the seed tutorial's security validation steps against a live
 * gateway and prints a pass/fail table. Exit 0 only when every step that ran passed; 1 when one
 * failed; 2 on usage errors. Only loopback targets unless --allow-remote.
 *
 * Steps: no token -> 401/403; invalid JSON -> 400; a path with ../ -> 403; a SQL injection -> 403;
 * the same call without a token over HTTP/2 (ALPN h2, or h2c with --h2c) and a WebSocket handshake
 * without a token (src/cli/probe-protocols.ts) -> 401/403, never a 101;
 * more than `burst` quick requests -> 429 with Retry-After; on an mTLS listener (with --cert/--key)
 * no client certificate fails and one succeeds; the refusals are in the gateway's access trail and
 * raised an alert (read through the admin API).
 */
import { parseArgs } from 'node:util';
import { readFileSync, existsSync } from 'node:fs';
import { execFile } from 'node:child_process';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isIP } from 'node:net';
import { Client, Pool, type Dispatcher } from 'undici';
import { codeOf, probeHttp2, probeWebSocket, type ProtocolRefusal } from './probe-protocols.js';

export interface StepResult {
  readonly name: string;
  readonly expected: string;
  readonly got: string;
  readonly status: 'pass' | 'fail' | 'skip';
}

interface Reply {
  readonly status: number;
  readonly code: string | null;
  readonly requestId: string | null;
  readonly retryAfter: string | null;
  readonly error: string | null;
}

const HELP = `usage: portcullis probe URL [options]

Runs the security validation steps against a live gateway (loopback only unless --allow-remote).

  --route PATH          protected route probed (default /api/items)
  --json-route PATH     route that accepts a JSON POST (default: --route)
  --limit-route PATH    rate-limited route (default: --route)
  --ws-route PATH       route probed with a WebSocket handshake (default /ws/echo; skipped when it
                        offers no WebSocket)
  --h2c                 also probe HTTP/2 with prior knowledge on an http target (https targets
                        are probed over HTTP/2 when ALPN offers h2)
  --token TOKEN         bearer token for the protected route (default: $PORTCULLIS_TOKEN, else
                        the output of \`portcullis token --dev\`)
  --no-dev-token        do not run \`portcullis token --dev\` when no token is given
  --admin URL           admin listener (default http://127.0.0.1:9090)
  --admin-token TOKEN   admin API token (default: $PORTCULLIS_ADMIN_TOKEN)
  --mtls-url URL        mTLS listener (default: URL when it is https)
  --cert FILE --key FILE  client certificate for the mTLS step (skipped without them)
  --ca FILE             CA of the gateway's server certificate (https targets)
  --max-burst N         most requests sent while looking for a 429 (default 300)
  --alert-wait-ms MS    how long to wait for the alert (default 5000)
  --timeout-ms MS       per-request timeout (default 5000)
  --allow-remote        allow targets that are not loopback addresses
`;

function isLoopback(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  if (h === 'localhost' || h.endsWith('.localhost')) return true;
  if (isIP(h) === 4) return h.startsWith('127.');
  if (isIP(h) === 6) return h === '::1' || h.startsWith('::ffff:127.');
  return false;
}

function describe(r: Reply): string {
  if (r.error) return `error ${r.error}`;
  return `${r.status}${r.code ? ` ${r.code}` : ''}`;
}

async function send(
  client: Dispatcher,
  opts: { method: string; path: string; headers?: Record<string, string>; body?: string },
  timeoutMs: number,
): Promise<Reply> {
  try {
    const res = await client.request({
      method: opts.method as Dispatcher.HttpMethod,
      path: opts.path,
      headers: opts.headers ?? {},
      ...(opts.body !== undefined ? { body: opts.body } : {}),
      headersTimeout: timeoutMs,
      bodyTimeout: timeoutMs,
    });
    const text = (await res.body.text()).slice(0, 65536);
    const { code, requestId } = codeOf(text);
    const h = (n: string): string | null => {
      const v = res.headers[n];
      return typeof v === 'string' ? v : Array.isArray(v) ? (v[0] ?? null) : null;
    };
    return { status: res.statusCode, code, requestId: requestId ?? h('x-request-id'), retryAfter: h('retry-after'), error: null };
  } catch (e) {
    const err = e as { code?: string; message?: string };
    return { status: 0, code: null, requestId: null, retryAfter: null, error: err.code ?? err.message ?? 'error' };
  }
}

function devToken(timeoutMs: number): Promise<string | null> {
  const bin = resolve(dirname(fileURLToPath(import.meta.url)), '../../../bin/portcullis.js');
  if (!existsSync(bin)) return Promise.resolve(null);
  return new Promise((res) => {
    execFile(process.execPath, [bin, 'token', '--dev'], { timeout: timeoutMs, maxBuffer: 65536 }, (err, stdout) => {
      if (err) return res(null);
      const lines = stdout
        .split('\n')
        .map((l) => l.trim())
        .filter((l) => /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/.test(l));
      res(lines[lines.length - 1] ?? null);
    });
  });
}

/**
 * The traversal path: `../` segments that climb out of the route and back into it, so that after
 * normalisation it still names the route (a gateway that only resolved dot segments would serve
 * it; one that inspects the raw path refuses it).
 */
export function traversalPath(route: string): string {
  const segs = route.split('/').filter((s) => s !== '');
  return `${route.replace(/\/$/, '')}/${'../'.repeat(segs.length)}${segs.join('/')}`;
}

export function formatTable(rows: readonly StepResult[]): string {
  const head: StepResult = { name: 'STEP', expected: 'EXPECTED', got: 'GOT', status: 'pass' };
  const all = [head, ...rows];
  const w = [0, 1, 2].map((i) => Math.max(...all.map((r) => [r.name, r.expected, r.got][i]!.length)));
  const line = (r: StepResult, result: string): string => `${r.name.padEnd(w[0]!)}  ${r.expected.padEnd(w[1]!)}  ${r.got.padEnd(w[2]!)}  ${result}`;
  return [line(head, 'RESULT'), ...rows.map((r) => line(r, r.status.toUpperCase()))].join('\n');
}

/** What the probe reports when the admin API did not answer 200. */
function adminFailure(r: { status: number; text: string }, token: string | null): string {
  if (r.status === 0) return `admin API unreachable (${r.text})`;
  if (r.status === 401)
    return token ? 'admin API answered 401: the admin token was refused' : 'admin API answered 401: pass --admin-token or set PORTCULLIS_ADMIN_TOKEN';
  return `admin API answered ${r.status}`;
}

export async function probeCommand(
  argv: readonly string[],
  out: (s: string) => void = (s) => process.stdout.write(`${s}\n`),
  err: (s: string) => void = (s) => process.stderr.write(`${s}\n`),
): Promise<number> {
  let values: Record<string, string | boolean | undefined>;
  let positionals: string[];
  try {
    ({ values, positionals } = parseArgs({
      args: [...argv],
      allowPositionals: true,
      strict: true,
      options: {
        route: { type: 'string' },
        'json-route': { type: 'string' },
        'limit-route': { type: 'string' },
        'ws-route': { type: 'string' },
        h2c: { type: 'boolean' },
        token: { type: 'string' },
        'no-dev-token': { type: 'boolean' },
        admin: { type: 'string' },
        'admin-token': { type: 'string' },
        'mtls-url': { type: 'string' },
        cert: { type: 'string' },
        key: { type: 'string' },
        ca: { type: 'string' },
        'max-burst': { type: 'string' },
        'alert-wait-ms': { type: 'string' },
        'timeout-ms': { type: 'string' },
        'allow-remote': { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    }) as { values: Record<string, string | boolean | undefined>; positionals: string[] });
  } catch (e) {
    err(`${(e as Error).message}\n\n${HELP}`);
    return 2;
  }
  if (values.help) {
    out(HELP);
    return 0;
  }
  const str = (k: string): string | undefined => (typeof values[k] === 'string' ? (values[k] as string) : undefined);
  const num = (k: string, d: number): number => {
    const v = str(k);
    const n = v === undefined ? d : Number(v);
    return Number.isFinite(n) && n > 0 ? Math.floor(n) : d;
  };
  const target = positionals[0];
  if (!target || positionals.length > 1) {
    err(HELP);
    return 2;
  }
  let base: URL;
  let adminBase: URL;
  let mtlsBase: URL | null;
  try {
    base = new URL(target);
    adminBase = new URL(str('admin') ?? 'http://127.0.0.1:9090');
    const m = str('mtls-url');
    mtlsBase = m ? new URL(m) : base.protocol === 'https:' ? base : null;
  } catch {
    err('error: URL, --admin and --mtls-url must be absolute http(s) URLs');
    return 2;
  }
  for (const u of [base, adminBase, ...(mtlsBase ? [mtlsBase] : [])]) {
    if (u.protocol !== 'http:' && u.protocol !== 'https:') {
      err(`error: ${u.href} is not http(s)`);
      return 2;
    }
    if (!values['allow-remote'] && !isLoopback(u.hostname)) {
      err(`error: ${u.host} is not a loopback address; the probe sends attack traffic, pass --allow-remote to target it`);
      return 2;
    }
  }
  const timeoutMs = num('timeout-ms', 5000);
  const route = str('route') ?? '/api/items';
  const jsonRoute = str('json-route') ?? route;
  const limitRoute = str('limit-route') ?? route;
  const wsRoute = str('ws-route') ?? '/ws/echo';
  const read = (k: string): Buffer | undefined => {
    const f = str(k);
    return f === undefined ? undefined : readFileSync(f);
  };
  let ca: Buffer | undefined;
  let cert: Buffer | undefined;
  let key: Buffer | undefined;
  try {
    ca = read('ca');
    cert = read('cert');
    key = read('key');
  } catch (e) {
    err(`error: ${(e as Error).message}`);
    return 2;
  }
  let token = str('token') ?? process.env.PORTCULLIS_TOKEN ?? null;
  if (token === null && !values['no-dev-token']) token = await devToken(timeoutMs * 2);
  const adminToken = str('admin-token') ?? process.env.PORTCULLIS_ADMIN_TOKEN ?? null;
  const auth: Record<string, string> = token ? { authorization: `Bearer ${token}` } : {};

  const tls = ca ? { ca } : {};
  const client = new Client(base.origin, { connect: { ...tls, ...(cert && key && base.protocol === 'https:' ? { cert, key } : {}) }, pipelining: 1 });
  const admin = new Client(adminBase.origin);
  const rows: StepResult[] = [];
  const refused: { step: string; reply: Reply }[] = [];
  const started = Date.now();
  const prefix = base.pathname.replace(/\/$/, '');
  const p = (path: string): string => `${prefix}${path}`;

  try {
    // 1. no token
    {
      const r = await send(client, { method: 'GET', path: p(route) }, timeoutMs);
      const ok = r.status === 401 || r.status === 403;
      rows.push({ name: 'call without a token', expected: '401 or 403', got: describe(r), status: ok ? 'pass' : 'fail' });
      if (ok) refused.push({ step: 'no token', reply: r });
    }
    // 2. invalid JSON
    {
      const r = await send(
        client,
        { method: 'POST', path: p(jsonRoute), headers: { ...auth, 'content-type': 'application/json' }, body: '{"name": "probe", "price": ' },
        timeoutMs,
      );
      const ok = r.status === 400;
      rows.push({ name: 'invalid JSON body', expected: '400', got: describe(r), status: ok ? 'pass' : 'fail' });
      if (ok) refused.push({ step: 'invalid JSON', reply: r });
    }
    // 2b. one reading: a Content-Type whose charset could be read two ways (Express reads the last)
    {
      const r = await send(
        client,
        {
          method: 'POST',
          path: p(jsonRoute),
          headers: { ...auth, 'content-type': 'application/json; charset=utf-8; charset=utf-7' },
          body: '{"name": "probe", "price": 1}',
        },
        timeoutMs,
      );
      const ok = r.status === 400;
      rows.push({ name: 'Content-Type read two ways', expected: '400', got: describe(r), status: ok ? 'pass' : 'fail' });
      if (ok) refused.push({ step: 'ambiguous content-type', reply: r });
    }
    // 3. path traversal (the raw path is sent as written)
    {
      const r = await send(client, { method: 'GET', path: p(traversalPath(route)), headers: auth }, timeoutMs);
      const ok = r.status === 403;
      rows.push({ name: 'path with ../', expected: '403', got: describe(r), status: ok ? 'pass' : 'fail' });
      if (ok) refused.push({ step: 'traversal', reply: r });
    }
    // 4. SQL injection
    {
      const q = encodeURIComponent("1' OR '1'='1' UNION SELECT username, password FROM users--");
      const r = await send(client, { method: 'GET', path: p(`${route}?id=${q}`), headers: auth }, timeoutMs);
      const ok = r.status === 403;
      rows.push({ name: 'SQL injection', expected: '403', got: describe(r), status: ok ? 'pass' : 'fail' });
      if (ok) refused.push({ step: 'sql injection', reply: r });
    }
    // 4b. the same protections over the other protocols: HTTP/2 and a WebSocket handshake
    {
      const proto = { base, tls: { ...tls, ...(cert && key && base.protocol === 'https:' ? { cert, key } : {}) }, timeoutMs };
      const asRefusal = (x: ProtocolRefusal | null): void => {
        if (x !== null) refused.push({ step: x.step, reply: { status: 401, code: null, requestId: x.requestId, retryAfter: null, error: null } });
      };
      const h2 = await probeHttp2(proto, p(route), values.h2c === true);
      rows.push(h2.row);
      asRefusal(h2.refusal);
      const ws = await probeWebSocket(proto, p(wsRoute), auth);
      rows.push(...ws.rows);
      asRefusal(ws.refusal);
    }
    // 5. mTLS (before the burst, which exhausts the client's rate limit)
    if (mtlsBase && cert && key) {
      const bare = new Client(mtlsBase.origin, { connect: { ...tls } });
      const withCert = new Client(mtlsBase.origin, { connect: { ...tls, cert, key } });
      try {
        const path = `${mtlsBase.pathname.replace(/\/$/, '')}${route}`;
        const a = await send(bare, { method: 'GET', path, headers: auth }, timeoutMs);
        const aOk = a.error !== null || a.status === 401 || a.status === 403;
        rows.push({ name: 'mTLS: no client certificate', expected: 'handshake refused (or 401/403)', got: describe(a), status: aOk ? 'pass' : 'fail' });
        const b = await send(withCert, { method: 'GET', path, headers: auth }, timeoutMs);
        const bOk = b.error === null && b.status >= 200 && b.status < 300;
        rows.push({ name: 'mTLS: with client certificate', expected: '2xx', got: describe(b), status: bOk ? 'pass' : 'fail' });
      } finally {
        await bare.close().catch(() => undefined);
        await withCert.close().catch(() => undefined);
      }
    } else {
      rows.push({ name: 'mTLS client certificate', expected: 'needs --cert/--key (https)', got: 'not run', status: 'skip' });
    }
    // 6. burst: quick requests until one is refused with 429
    {
      const max = num('max-burst', 300);
      let sent = 0;
      let limited: Reply | null = null;
      let lastOther: Reply | null = null;
      const pool = new Pool(base.origin, { connect: { ...tls, ...(cert && key && base.protocol === 'https:' ? { cert, key } : {}) }, connections: 10 });
      try {
        while (sent < max && !limited) {
          const n = Math.min(10, max - sent);
          const batch = await Promise.all(Array.from({ length: n }, () => send(pool, { method: 'GET', path: p(limitRoute), headers: auth }, timeoutMs)));
          sent += n;
          for (const r of batch) {
            if (r.status === 429 && !limited) limited = r;
            else lastOther = r;
          }
          if (batch.every((r) => r.error !== null)) break;
        }
      } finally {
        await pool.close().catch(() => undefined);
      }
      const ok = limited !== null && limited.retryAfter !== null;
      rows.push({
        name: 'quick requests beyond the burst',
        expected: '429 with Retry-After',
        got: limited
          ? `429${limited.retryAfter ? ` Retry-After ${limited.retryAfter}` : ' without Retry-After'} after ${sent} requests`
          : `no 429 in ${sent} requests (last ${lastOther ? describe(lastOther) : '-'})`,
        status: ok ? 'pass' : 'fail',
      });
      if (limited) refused.push({ step: 'rate limit', reply: limited });
    }
    // 7. the refusals are in the gateway's trail (admin API: recent denials; it needs the admin token when one is set)
    const adminAuth: Record<string, string> = adminToken ? { authorization: `Bearer ${adminToken}` } : {};
    {
      const ids = refused.map((x) => x.reply.requestId).filter((x): x is string => x !== null);
      let found = 0;
      let got = '';
      const deadline = Date.now() + 2000;
      for (;;) {
        const r = await admin
          .request({
            method: 'GET',
            path: `/admin/events?since=${started - 1000}&limit=1000`,
            headers: adminAuth,
            headersTimeout: timeoutMs,
            bodyTimeout: timeoutMs,
          })
          .then(async (res) => ({ status: res.statusCode, text: await res.body.text() }))
          .catch((e: unknown) => ({ status: 0, text: (e as { code?: string }).code ?? 'error' }));
        if (r.status !== 200) {
          got = adminFailure(r, adminToken);
          break;
        }
        let events: { request_id?: string }[] = [];
        try {
          events = (JSON.parse(r.text) as { denials?: { request_id?: string }[] }).denials ?? [];
        } catch {
          /* */
        }
        const seen = new Set(events.map((e) => e.request_id));
        found = ids.filter((id) => seen.has(id)).length;
        got = `${found} of ${ids.length} refusals recorded`;
        if (found === ids.length || Date.now() > deadline) break;
        await new Promise((res) => setTimeout(res, 100));
      }
      const ok = ids.length > 0 && found === ids.length;
      rows.push({ name: 'refusals in the access trail', expected: 'every refusal, by request id', got, status: ok ? 'pass' : 'fail' });
    }
    // 8. an alert was raised
    {
      const wait = num('alert-wait-ms', 5000);
      const deadline = Date.now() + wait;
      let got = 'no alert';
      let ok = false;
      for (;;) {
        const r = await admin
          .request({ method: 'GET', path: '/admin/alerts', headers: adminAuth, headersTimeout: timeoutMs, bodyTimeout: timeoutMs })
          .then(async (res) => ({ status: res.statusCode, text: await res.body.text() }))
          .catch((e: unknown) => ({ status: 0, text: (e as { code?: string }).code ?? 'error' }));
        if (r.status !== 200) {
          got = adminFailure(r, adminToken);
          break;
        }
        try {
          const j = JSON.parse(r.text) as { active?: { name: string; since: string }[]; recent?: { name: string; status: string; at: string }[] };
          const fresh = [
            ...(j.active ?? []).map((a) => a.name),
            ...(j.recent ?? []).filter((n) => n.status === 'firing' && Date.parse(n.at) >= started - 1000).map((n) => n.name),
          ];
          if (fresh.length > 0) {
            ok = true;
            got = [...new Set(fresh)].slice(0, 3).join(', ');
            break;
          }
        } catch {
          got = 'unreadable admin reply';
          break;
        }
        if (Date.now() > deadline) break;
        await new Promise((res) => setTimeout(res, 200));
      }
      rows.push({ name: 'an alert was raised', expected: 'a firing alert (admin API)', got, status: ok ? 'pass' : 'fail' });
    }
  } finally {
    await client.close().catch(() => undefined);
    await admin.close().catch(() => undefined);
  }
  out(`portcullis probe ${base.origin}${token ? '' : ' (no token: the authenticated steps cannot pass)'}`);
  out(formatTable(rows));
  if (rows.some((r) => r.got.includes('PC_ERR_CLIENT_BANNED') || r.got.includes('PC_ERR_THROTTLED'))) {
    out(
      "note: the gateway's abuse detection banned or throttled this client (repeated probe runs add up); see GET /admin/bans and lift it with DELETE /admin/bans/<client>",
    );
  }
  const failed = rows.filter((r) => r.status === 'fail').length;
  out(failed === 0 ? 'all steps passed' : `${failed} step${failed === 1 ? '' : 's'} failed`);
  return failed === 0 ? 0 : 1;
}
