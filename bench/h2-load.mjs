// A small HTTP/2 load generator (h2load is not installed here): SESSIONS cleartext h2c connections,
// STREAMS requests in flight on each, GET PATH for DURATION_MS. Prints one JSON line: requests,
// requests/s, non-2xx, errors, latency p50/p99 in ms. Env: PORT, PATH_, SESSIONS, STREAMS,
// DURATION_MS, WARMUP_MS.
import http2 from 'node:http2';

const PORT = Number(process.env.PORT);
const PATH = process.env.PATH_ || '/api/items/42';
const SESSIONS = Number(process.env.SESSIONS || 8);
const STREAMS = Number(process.env.STREAMS || 8);
const DURATION = Number(process.env.DURATION_MS || 5000);
const WARMUP = Number(process.env.WARMUP_MS || 1000);

const latencies = [];
let requests = 0;
let non2xx = 0;
let errors = 0;
let measuring = false;
let stopped = false;

function one(session) {
  return new Promise((resolve) => {
    const t0 = process.hrtime.bigint();
    const s = session.request({ ':path': PATH, ':authority': 'api.local' });
    let status = 0;
    s.on('response', (h) => (status = h[':status']));
    s.on('data', () => {});
    s.on('end', () => {
      if (measuring) {
        requests++;
        if (status < 200 || status > 299) non2xx++;
        latencies.push(Number(process.hrtime.bigint() - t0) / 1e6);
      }
      resolve();
    });
    s.on('error', () => {
      if (measuring) errors++;
      resolve();
    });
    s.end();
  });
}

async function worker(session) {
  while (!stopped) await one(session);
}

const sessions = await Promise.all(
  Array.from(
    { length: SESSIONS },
    () =>
      new Promise((resolve, reject) => {
        const s = http2.connect(`http://127.0.0.1:${PORT}`);
        s.once('connect', () => resolve(s));
        s.once('error', reject);
      }),
  ),
);
const running = sessions.flatMap((s) => Array.from({ length: STREAMS }, () => worker(s)));
await new Promise((r) => setTimeout(r, WARMUP));
measuring = true;
const start = process.hrtime.bigint();
await new Promise((r) => setTimeout(r, DURATION));
measuring = false;
const seconds = Number(process.hrtime.bigint() - start) / 1e9;
stopped = true;
await Promise.all(running);
for (const s of sessions) s.close();
latencies.sort((a, b) => a - b);
const at = (p) => latencies[Math.min(latencies.length - 1, Math.floor(latencies.length * p))] ?? null;
process.stdout.write(`${JSON.stringify({ requests, rps: requests / seconds, non2xx, errors, p50_ms: at(0.5), p99_ms: at(0.99) })}\n`);
