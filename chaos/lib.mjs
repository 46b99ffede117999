// Chaos harness parts: a private redis-server, the built gateway as a child process, a loopback
// upstream whose behaviour can be switched (ok, hang, reset, 500, down), and a fixed-concurrency
// load generator that records every request's outcome. Loopback only, everything bounded.
import { spawn, spawnSync } from 'node:child_process';
import { createHmac, randomUUID } from 'node:crypto';
import { writeFileSync, mkdtempSync, readFileSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { Agent, request } from 'undici';
import { freePort, waitPort } from '../bench/net.mjs';

export { freePort, waitPort, sleep };
export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
export const BIN = join(ROOT, 'bin', 'portcullis.js');
export const ADMIN_TOKEN = 'chaos-admin-token-0123456789abcdef';

const children = new Set();
export function track(child) {
  children.add(child);
  child.on('exit', () => children.delete(child));
  return child;
}
export function killAll() {
  for (const c of children) c.kill('SIGKILL');
}
process.on('exit', killAll);

export function workDir(name) {
  return mkdtempSync(join(tmpdir(), `portcullis-chaos-${name}-`));
}

/** A redis-server on a free port (never 6379), append-only with fsync every second (a SIGKILL loses at most the last second of writes). */
export async function startRedis(dir) {
  const port = await freePort();
  let proc = null;
  const r = {
    port,
    url: `redis://127.0.0.1:${port}`,
    async start() {
      proc = track(
        spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--appendonly', 'yes', '--appendfsync', 'everysec', '--save', ''], {
          stdio: 'ignore',
        }),
      );
      await waitPort(port, 10000);
      // accepting connections is not yet serving: wait for PONG (the AOF is loaded)
      for (let i = 0; i < 200; i++) {
        if (spawnSync('redis-cli', ['-p', String(port), 'ping'], { encoding: 'utf8' }).stdout.trim() === 'PONG') return;
        await sleep(10);
      }
      throw new Error('redis did not answer PING');
    },
    /** SIGKILL: the abrupt stop (the AOF keeps every acknowledged write). */
    async kill() {
      const p = proc;
      if (!p || p.exitCode !== null) return;
      await new Promise((res) => {
        p.once('exit', res);
        p.kill('SIGKILL');
      });
    },
    cli(...args) {
      return spawnSync('redis-cli', ['-p', String(port), ...args], { encoding: 'utf8' }).stdout.trim();
    },
  };
  await r.start();
  return r;
}

/**
 * The built gateway (`bin/portcullis.js start -c FILE`) as a child process; `config` is YAML text.
 * `port`: the traffic port written in the config (waited for). stderr kept (last 200 KB) for checks.
 */
export async function startGateway(dir, config, { port, env = {}, nodeArgs = [], wait = true } = {}) {
  const file = join(dir, 'portcullis.yaml');
  writeFileSync(file, config);
  const proc = track(spawn(process.execPath, [...nodeArgs, BIN, 'start', '-c', file], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] }));
  let err = '';
  proc.stderr.on('data', (d) => (err = (err + d.toString()).slice(-200000)));
  proc.stdout.on('data', () => {});
  const exits = [];
  proc.on('exit', (code, signal) => exits.push({ code, signal, at: Date.now() }));
  const g = {
    proc,
    file,
    exits,
    stderr: () => err,
    alive: () => proc.exitCode === null && proc.signalCode === null,
    write(text) {
      writeFileSync(file, text);
    },
    async stop() {
      if (!g.alive()) return;
      await new Promise((res) => {
        const t = setTimeout(() => proc.kill('SIGKILL'), 8000);
        proc.once('exit', () => {
          clearTimeout(t);
          res();
        });
        proc.kill('SIGTERM');
      });
    },
  };
  if (wait) {
    try {
      await Promise.race([
        waitPort(port, 60000),
        new Promise((_, rej) => proc.once('exit', (code) => rej(new Error(`gateway exited ${code} before listening`)))),
      ]);
    } catch (e) {
      throw new Error(`${e.message}; gateway stderr:\n${err.slice(-3000)}`);
    }
  }
  return g;
}

/**
 * A loopback upstream. `mode(m)` switches what it does: `ok` (200 JSON), `500`, `hang` (accept, read,
 * never answer), `reset` (destroy the socket on the request), `down` (close the listener: connection
 * refused). GET /cached answers with Cache-Control: public, max-age=600. Counts requests seen.
 */
export async function startUpstream(port0 = 0) {
  let mode = 'ok';
  const sockets = new Set();
  let seen = 0;
  let served = 0;
  let delayMs = 0;
  const handler = (req, res, delayed = false) => {
    if (!delayed && delayMs > 0 && req.url !== '/healthz') {
      setTimeout(() => handler(req, res, true), delayMs);
      return;
    }
    seen++;
    const m = mode;
    if (req.url !== '/healthz' && m === 'ok') served++;
    if (req.url === '/healthz' && m !== 'hang' && m !== 'reset') {
      res.writeHead(m === '500' ? 500 : 200, { 'content-length': 2 });
      return res.end('ok');
    }
    if (m === 'hang') return;
    if (m === 'reset') return req.socket.destroy();
    const body = JSON.stringify({ ok: m === 'ok', path: req.url, id: randomUUID() });
    const headers = { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) };
    if (req.url.startsWith('/cached')) headers['cache-control'] = 'public, max-age=600';
    res.writeHead(m === '500' ? 500 : 200, headers);
    req.resume();
    req.on('end', () => res.end(body));
  };
  let server = null;
  let port = port0;
  const listen = () =>
    new Promise((res) => {
      server = http.createServer({ keepAliveTimeout: 60000 }, (req, res) => handler(req, res));
      server.on('connection', (s) => {
        sockets.add(s);
        s.on('close', () => sockets.delete(s));
      });
      server.listen(port, '127.0.0.1', () => {
        port = server.address().port;
        res();
      });
    });
  await listen();
  const u = {
    get port() {
      return port;
    },
    get url() {
      return `http://127.0.0.1:${port}`;
    },
    get seen() {
      return seen;
    },
    /** requests other than health probes answered 200 */
    get served() {
      return served;
    },
    get mode() {
      return mode;
    },
    /** answers after `ms` (0: at once) */
    setDelay(ms) {
      delayMs = ms;
    },
    async setMode(m) {
      if (m === 'down' && mode !== 'down') {
        mode = m;
        for (const s of sockets) s.destroy();
        await new Promise((res) => server.close(res));
        return;
      }
      if (m !== 'down' && mode === 'down') await listen();
      if (m === 'hang' || m === 'reset') for (const s of sockets) s.destroy(); // fresh connections see the new mode at once
      mode = m;
    },
    async close() {
      for (const s of sockets) s.destroy();
      if (mode !== 'down') await new Promise((res) => server.close(res));
    },
  };
  return u;
}

/** The problem code of a problem+json body, or null. */
function problemCode(text) {
  try {
    const j = JSON.parse(text);
    return typeof j?.code === 'string' ? j.code : null;
  } catch {
    return null;
  }
}

/**
 * Fixed-concurrency load: `concurrency` loops, each sending `next(i)` → { path, headers?, method?,
 * lane? } one after the other until `stop()` (or `durationMs`). Every outcome is recorded:
 * { lane, start, end (ms since t0, monotonic), status, code, err, headers }. `timeoutMs` bounds
 * each request (a hang shows as err UND_ERR_HEADERS_TIMEOUT at timeoutMs).
 */
export function load({ origin, concurrency, next, durationMs = 60000, timeoutMs = 10000, localAddress, keepHeaders = [], t0 = performance.now() }) {
  const agent = new Agent({
    connections: concurrency,
    headersTimeout: timeoutMs,
    bodyTimeout: timeoutMs,
    keepAliveTimeout: 10000,
    ...(localAddress ? { localAddress } : {}),
  });
  const out = [];
  let stopping = false;
  let seq = 0;
  const until = performance.now() + durationMs;
  const loop = async () => {
    while (!stopping && performance.now() < until) {
      const i = seq++;
      const r = next(i);
      const rec = { lane: r.lane ?? 'default', start: performance.now() - t0, end: 0, status: 0, code: null, err: null, headers: {}, tag: r.tag };
      try {
        const res = await request(`${origin}${r.path}`, { method: r.method ?? 'GET', headers: r.headers, body: r.body, dispatcher: agent });
        const text = await res.body.text();
        rec.status = res.statusCode;
        if (res.statusCode >= 400) rec.code = problemCode(text);
        for (const h of keepHeaders) if (res.headers[h] !== undefined) rec.headers[h] = String(res.headers[h]);
      } catch (e) {
        rec.err = e.code ?? e.message;
        await sleep(5); // no hot spin while the gateway is unreachable
      }
      rec.end = performance.now() - t0;
      out.push(rec);
      if (r.pauseMs) await sleep(r.pauseMs);
    }
  };
  const loops = Array.from({ length: concurrency }, loop);
  const done = Promise.all(loops).then(async () => {
    await agent.close().catch(() => undefined);
    return out;
  });
  return {
    records: out,
    stop() {
      stopping = true;
      return done;
    },
    done,
  };
}

/** Summary figures of records: count, by status/code, latency percentiles (ms). */
export function summarize(records) {
  const lat = records.map((r) => r.end - r.start).sort((a, b) => a - b);
  const pct = (p) => (lat.length === 0 ? 0 : lat[Math.min(lat.length - 1, Math.floor((p / 100) * lat.length))]);
  const by = {};
  for (const r of records) {
    const k = r.err ? `error ${r.err}` : r.code ? `${r.status} ${r.code}` : String(r.status);
    by[k] = (by[k] ?? 0) + 1;
  }
  return { n: records.length, by, p50: pct(50), p99: pct(99), max: lat.length ? lat[lat.length - 1] : 0 };
}

export const fmtBy = (by) =>
  Object.entries(by)
    .sort((a, b) => b[1] - a[1])
    .map(([k, v]) => `${k}: ${v}`)
    .join(', ');

/** GET an admin path (with the admin token) → { status, text }. */
export async function admin(port, path, { method = 'GET', body } = {}) {
  const res = await request(`http://127.0.0.1:${port}${path}`, {
    method,
    headers: { authorization: `Bearer ${ADMIN_TOKEN}`, ...(body ? { 'content-type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
    headersTimeout: 5000,
    bodyTimeout: 5000,
  });
  return { status: res.statusCode, text: await res.body.text() };
}

/** The value of a Prometheus series (sum over series whose labels include every `labels` pair). */
export function metric(text, name, labels = {}) {
  let sum = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(name)) continue;
    const m = /^([a-zA-Z_:][\w:]*)(\{[^}]*\})?\s+(\S+)/.exec(line);
    if (!m || m[1] !== name) continue;
    const ls = m[2] ?? '';
    if (Object.entries(labels).every(([k, v]) => ls.includes(`${k}="${v}"`))) sum += Number(m[3]);
  }
  return sum;
}

/** HS256 JWT (the gateway's `secret` providers). */
export function jwtHs256(claims, secret) {
  const b64 = (o) => Buffer.from(JSON.stringify(o)).toString('base64url');
  const head = `${b64({ alg: 'HS256', typ: 'JWT' })}.${b64(claims)}`;
  return `${head}.${createHmac('sha256', Buffer.from(secret)).update(head).digest('base64url')}`;
}

/** `portcullis audit verify FILE` → { code, out }. */
export function auditVerify(file) {
  const r = spawnSync(process.execPath, [BIN, 'audit', 'verify', file], { encoding: 'utf8' });
  return { code: r.status, out: `${r.stdout}${r.stderr}`.trim() };
}

export function auditEvents(file) {
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => {
      try {
        return JSON.parse(l);
      } catch {
        return { event: '(malformed)' };
      }
    });
}

/** A check: what was expected, what was measured, and whether it holds. */
export const check = (what, expected, measured, ok) => ({ what, expected, measured, ok: Boolean(ok) });
