/**
 * Issue 27: SIGTERM ends a `portcullis start` process within `grace_ms` plus the bounded close
 * time, whatever a log sink or dependency does: stdout into a pipe nobody reads, a request in
 * flight to an upstream that never answers, a Redis store that cannot be reached; and a second
 * SIGTERM during the stop exits at once.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createServer, type AddressInfo, type Socket } from 'node:net';
import { request, Agent } from 'undici';
import { freePort } from '../helpers/net.js';
import { startGateway } from '../helpers/gateway.js';
import { startUpstream, type TestUpstream } from '../helpers/upstream.js';
import { tracked } from '../helpers/children.js';

const BIN = resolve(import.meta.dirname, '..', '..', '..', 'bin', 'portcullis.js');
const GRACE_MS = 1000;
/** what the issue allows from SIGTERM to exit: grace_ms + 3 s */
const BOUND_MS = GRACE_MS + 3000;

interface Running {
  readonly child: ChildProcessWithoutNullStreams;
  readonly port: number;
  stderr(): string;
  events(): Record<string, unknown>[];
}

/** Starts the CLI with `body` (listeners and admin added); its stdout is a pipe this test never reads. */
async function start(body: string, graceMs = GRACE_MS): Promise<Running> {
  const port = await freePort();
  const admin = await freePort();
  const file = join(mkdtempSync(join(tmpdir(), 'pc-shutdown-')), 'portcullis.yaml');
  writeFileSync(file, `version: 1\nlisteners: [{ port: ${port} }]\nadmin: { port: ${admin} }\nshutdown: { grace_ms: ${graceMs} }\n${body}`);
  const child = tracked(spawn(process.execPath, [BIN, 'start', '-c', file], { stdio: ['pipe', 'pipe', 'pipe'] }));
  child.stdout.pause(); // never read: once the pipe and this side's buffer are full, writes stall
  let err = '';
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const events = (): Record<string, unknown>[] =>
    err
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as Record<string, unknown>);
  for (let i = 0; i < 400 && !err.includes('"started"'); i++) {
    if (child.exitCode !== null) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  assert.ok(err.includes('"started"'), `gateway did not start: ${err}`);
  return { child, port, stderr: () => err, events };
}

/**
 * Sends SIGTERM and resolves with the exit code and the milliseconds until the exit; gives up
 * (ms: Infinity) at twice the bound, so that a gateway that does not stop fails the test rather
 * than hanging it.
 */
async function terminate(g: Running): Promise<{ code: number | null; ms: number }> {
  const exited = new Promise<number | null>((r) => g.child.once('exit', (code) => r(code)));
  let timer: NodeJS.Timeout | undefined;
  const gaveUp = new Promise<'running'>((r) => (timer = setTimeout(() => r('running'), 2 * BOUND_MS)));
  const t0 = performance.now();
  g.child.kill('SIGTERM');
  const code = await Promise.race([exited, gaveUp]);
  clearTimeout(timer);
  return code === 'running' ? { code: null, ms: Number.POSITIVE_INFINITY } : { code, ms: performance.now() - t0 };
}

async function waitFor(what: string, cond: () => boolean): Promise<void> {
  for (let i = 0; i < 200 && !cond(); i++) await new Promise((r) => setTimeout(r, 25));
  assert.ok(cond(), `timed out waiting for ${what}`);
}

/** A black hole for Redis: TCP connects, nothing ever answers (a hung server, a half-open path). */
async function blackHole(): Promise<{ port: number; close(): void }> {
  const sockets = new Set<Socket>();
  const server = createServer((s) => {
    sockets.add(s);
    s.on('error', () => undefined);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    port: (server.address() as AddressInfo).port,
    close: () => {
      for (const s of sockets) s.destroy();
      server.close();
    },
  };
}

/** An upstream that reads requests and never answers them. */
function silentUpstream(): Promise<TestUpstream> {
  return startUpstream(() => undefined);
}

test('with stdout into a pipe nobody reads, SIGTERM after a few hundred requests exits within grace_ms + 3 s, naming the access log', async (t) => {
  const up = await startUpstream();
  const g = await start(`access_log: { path: stdout }
upstreams: { u: { targets: [{ url: "${up.url}" }] } }
routes: [{ id: r, match: { prefix: / }, upstream: u, auth: none }]
`);
  const agent = new Agent({ connections: 16 });
  try {
    // long paths make long access-log lines: 400 of them fill the pipe and this side's buffer
    const long = `/p/${'x'.repeat(2000)}`;
    for (let i = 0; i < 25; i++) {
      const batch = Array.from({ length: 16 }, () =>
        request(`http://127.0.0.1:${g.port}${long}`, { dispatcher: agent }).then(async (r) => {
          await r.body.dump();
          return r.statusCode;
        }),
      );
      for (const status of await Promise.all(batch)) assert.equal(status, 200);
    }
    await agent.close();
    // the gateway goes on serving while its stdout is stalled
    const res = await request(`http://127.0.0.1:${g.port}/still-serving`);
    await res.body.dump();
    assert.equal(res.statusCode, 200);
    const { code, ms } = await terminate(g);
    t.diagnostic(`exit ${code} after ${Math.round(ms)} ms`);
    assert.ok(ms < BOUND_MS, `exited after ${Math.round(ms)} ms (bound ${BOUND_MS})`);
    assert.equal(code, 1, 'a stop that dropped access-log lines is not clean');
    const incomplete = g.events().find((e) => e.event === 'stop_incomplete');
    assert.ok(incomplete, g.stderr());
    assert.deepEqual(incomplete.unfinished, ['access log']);
    assert.ok((incomplete.access_log_dropped as number) > 0, 'lines not handed over are counted');
  } finally {
    g.child.kill('SIGKILL');
    await up.close();
  }
});

test('SIGTERM with a request in flight to an upstream that never answers exits within grace_ms + 3 s', async (t) => {
  const up = await silentUpstream();
  const g = await start(`access_log: { enabled: false }
upstreams: { u: { targets: [{ url: "${up.url}" }], response_timeout_ms: 600000 } }
routes: [{ id: r, match: { prefix: / }, upstream: u, auth: none }]
`);
  try {
    const pending = request(`http://127.0.0.1:${g.port}/never`).then(
      (r) => r.statusCode,
      (e: Error) => e.message,
    );
    await waitFor('the upstream to receive the request', () => up.count() === 1);
    const { code, ms } = await terminate(g);
    t.diagnostic(`exit ${code} after ${Math.round(ms)} ms`);
    assert.ok(ms < BOUND_MS, `exited after ${Math.round(ms)} ms (bound ${BOUND_MS})`);
    assert.notEqual(await pending, 200, 'the in-flight request was cut, not answered');
    assert.ok(
      g.events().some((e) => e.event === 'stopped' || e.event === 'stop_incomplete'),
      g.stderr(),
    );
  } finally {
    g.child.kill('SIGKILL');
    await up.close();
  }
});

test('SIGTERM with the Redis store unreachable (connections accepted, never answered) exits within grace_ms + 3 s', async (t) => {
  const up = await startUpstream();
  const hole = await blackHole();
  const nobody = hole.port;
  const g = await start(`access_log: { enabled: false }
state:
  store: redis
  redis: { url: "redis://127.0.0.1:${nobody}", command_timeout_ms: 60000 }
upstreams: { u: { targets: [{ url: "${up.url}" }] } }
routes:
  - id: r
    match: { prefix: / }
    upstream: u
    auth: none
    rate_limit: [{ name: per-ip, key: [ip], rate: 100/s, burst: 100 }]
`);
  try {
    const pending = request(`http://127.0.0.1:${g.port}/limited`).then(
      (r) => r.statusCode,
      (e: Error) => e.message,
    );
    await new Promise((r) => setTimeout(r, 200)); // the request reaches the limit check
    const { code, ms } = await terminate(g);
    t.diagnostic(`exit ${code} after ${Math.round(ms)} ms`);
    assert.ok(ms < BOUND_MS, `exited after ${Math.round(ms)} ms (bound ${BOUND_MS})`);
    await pending;
    const incomplete = g.events().find((e) => e.event === 'stop_incomplete');
    assert.ok(incomplete, g.stderr());
    assert.ok((incomplete.unfinished as string[]).includes('state store (redis)'), g.stderr());
    assert.equal(code, 1);
  } finally {
    g.child.kill('SIGKILL');
    await up.close();
    hole.close();
  }
});

test('Gateway.stop() resolves within grace_ms + CLOSE_MS with a Redis that never answers, naming the store', async () => {
  const hole = await blackHole();
  const up = await startUpstream();
  const tg = await startGateway(`version: 1
listeners: [{ port: 0 }]
state:
  store: redis
  redis: { url: "redis://127.0.0.1:${hole.port}", command_timeout_ms: 60000 }
upstreams: { u: { targets: [{ url: "${up.url}" }] } }
routes:
  - { id: r, match: { prefix: / }, upstream: u, auth: none, rate_limit: [{ name: per-ip, key: [ip], rate: 100/s, burst: 100 }] }
`);
  try {
    // a request waits for the store, so the store's close waits behind it
    const pending = request(`${tg.url}/limited`).then(
      (r) => r.statusCode,
      (e: Error) => e.message,
    );
    await new Promise((r) => setTimeout(r, 200));
    // no timer here: the outcome says whether stop() gave up on the store rather than waiting for it
    const outcome = await tg.close(0);
    assert.equal(outcome.clean, false);
    assert.deepEqual(outcome.unfinished, ['state store (redis)']);
    const incomplete = tg.eventLines().find((e) => e.event === 'stop_incomplete');
    assert.deepEqual(incomplete?.unfinished, ['state store (redis)']);
    await pending;
  } finally {
    hole.close();
    await up.close();
  }
});

test('a second SIGTERM during the stop exits at once, with exit code 1', async (t) => {
  const up = await silentUpstream();
  const g = await start(
    `access_log: { enabled: false }
upstreams: { u: { targets: [{ url: "${up.url}" }], response_timeout_ms: 600000 } }
routes: [{ id: r, match: { prefix: / }, upstream: u, auth: none }]
`,
    60000,
  );
  try {
    const pending = request(`http://127.0.0.1:${g.port}/never`).catch(() => undefined);
    await waitFor('the upstream to receive the request', () => up.count() === 1);
    const exited = new Promise<number | null>((r) => g.child.once('exit', (code) => r(code)));
    g.child.kill('SIGTERM');
    await waitFor('the stop to begin', () => g.stderr().includes('"stopping"'));
    assert.equal(g.child.exitCode, null, 'still waiting for the in-flight request (grace_ms: 60000)');
    const t0 = performance.now();
    g.child.kill('SIGTERM');
    assert.equal(await exited, 1);
    t.diagnostic(`exit 1 ${Math.round(performance.now() - t0)} ms after the second SIGTERM`);
    assert.ok(
      g.events().some((e) => e.event === 'stop_forced'),
      g.stderr(),
    );
    await pending;
  } finally {
    g.child.kill('SIGKILL');
    await up.close();
  }
});
