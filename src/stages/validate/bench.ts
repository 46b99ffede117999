/**
 * Benchmark of the validation stage's cost: POST of a ~1 KB JSON body through a validated
 * OpenAPI operation against the same upstream through a plain route, in the same run
 * (alternating phases, so that machine noise hits both). Not a test; run it with
 *   node dist/src/stages/validate/bench.js [seconds-per-phase] [connections] [rounds]
 * It prints a markdown table (for bench/results.md) and the ratio validated / plain.
 */
import * as http from 'node:http';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { AddressInfo } from 'node:net';
import { Worker } from 'node:worker_threads';
import pino from 'pino';
import { Gateway } from '../../gateway.js';
import { validateStage } from './index.js';

const seconds = Number(process.argv[2] ?? 4);
const connections = Number(process.argv[3] ?? 32);
const rounds = Number(process.argv[4] ?? 5);
const SPEC = fileURLToPath(new URL('../../../../test/openapi/fixtures/shop-3.0.yaml', import.meta.url));

const body = JSON.stringify({
  name: 'A sturdy widget with a long descriptive name for the benchmark body, padded to the maximum len',
  price: 129.95,
  tags: ['hardware', 'tools', 'garden', 'outdoor', 'steel', 'blue', 'sale', 'new-arrival', 'bestseller', 'eco'],
  description:
    'This widget is made of stainless steel and designed for daily use in the garden and the workshop. It resists rust, it is easy to clean and it comes with a five year warranty. Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor incididunt ut labore et dolore magna aliqua. Ut enim ad minim veniam, quis nostrud exercitation ullamco laboris nisi ut aliquip ex ea commodo consequat. Duis aute irure dolor in reprehenderit.',
  discount: 12.5,
  category: { name: 'tools', children: [{ name: 'garden' }, { name: 'workshop', children: [{ name: 'hand tools' }, { name: 'power tools' }] }, { name: 'outdoor living and patio' }, { name: 'kitchen and household goods' }, { name: 'seasonal and holiday decoration' }] },
});

const upstream = http.createServer((req, res) => {
  req.resume();
  req.on('end', () => {
    res.writeHead(201, { 'content-type': 'application/json', 'content-length': 2 });
    res.end('{}');
  });
});
await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
const upPort = (upstream.address() as AddressInfo).port;

const dir = mkdtempSync(join(tmpdir(), 'pc-bench-validate-'));
const file = join(dir, 'portcullis.yaml');
writeFileSync(
  file,
  `version: 1
listeners:
  - port: 0
admin:
  enabled: false
access_log:
  enabled: false
upstreams:
  shop:
    targets:
      - url: http://127.0.0.1:${upPort}
    max_connections: 64
routes:
  - id: plain
    match:
      path: /plain/items
      methods: [POST]
    upstream: shop
    rewrite: /api/items
apis:
  - id: shop
    spec: ${SPEC}
    upstream: shop
`,
);
const gw = await Gateway.start({ file, modules: [validateStage], logger: pino({ level: 'warn' }), watch: false, handleSignals: false, portOverride: () => 0 });
const port = gw.ports()[0] as number;

const WORKER = `
const { parentPort, workerData } = require('node:worker_threads');
const http = require('node:http');
const { port, path, body, seconds, connections } = workerData;
const agent = new http.Agent({ keepAlive: true, maxSockets: connections });
let done = 0, errors = 0, bad = 0;
const end = Date.now() + seconds * 1000;
const headers = { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) };
function one() {
  if (Date.now() >= end) return finish();
  const req = http.request({ host: '127.0.0.1', port, path, method: 'POST', headers, agent }, (res) => {
    if (res.statusCode !== 201) bad++;
    res.resume();
    res.on('end', () => { done++; one(); });
  });
  req.on('error', () => { errors++; one(); });
  req.end(body);
}
let live = connections;
function finish() { if (--live === 0) { agent.destroy(); parentPort.postMessage({ done, errors, bad }); } }
for (let i = 0; i < connections; i++) one();
`;

/**
 * Throughput, plus the gateway thread's busy time per request (event-loop utilisation × time /
 * requests): the latter is robust when other processes compete for the CPU.
 */
function phase(path: string): Promise<{ rps: number; busyUs: number; errors: number; bad: number }> {
  const elu0 = performance.eventLoopUtilization();
  return new Promise((resolve, reject) => {
    const w = new Worker(WORKER, { eval: true, workerData: { port, path, body, seconds, connections } });
    w.once('message', (m: { done: number; errors: number; bad: number }) => {
      void w.terminate();
      const elu = performance.eventLoopUtilization(elu0);
      resolve({ rps: m.done / seconds, busyUs: (elu.active * 1000) / Math.max(1, m.done), errors: m.errors, bad: m.bad });
    });
    w.once('error', reject);
  });
}

await phase('/plain/items'); // warm-up (JIT, pools)
const plain: number[] = [];
const validated: number[] = [];
const plainBusy: number[] = [];
const validatedBusy: number[] = [];
for (let round = 0; round < rounds; round++) {
  const p = await phase('/plain/items');
  const v = await phase('/api/items');
  if (p.errors + p.bad + v.errors + v.bad > 0) console.error(`round ${round}: errors plain ${p.errors}/${p.bad}, validated ${v.errors}/${v.bad}`);
  plain.push(p.rps);
  validated.push(v.rps);
  plainBusy.push(p.busyUs);
  validatedBusy.push(v.busyUs);
}
const sum = (a: number[]) => a.reduce((x, y) => x + y, 0);
const mean = (a: number[]) => sum(a) / a.length;
const ratio = sum(validated) / sum(plain);
const busyRatio = mean(plainBusy) / mean(validatedBusy);
const perRound = validated.map((v, i) => v / (plain[i] as number)).sort((a, b) => a - b);
const median = perRound[Math.floor(perRound.length / 2)] as number;
console.log(`| route | req/s per round | mean req/s | gateway-thread µs per request |`);
console.log(`|---|---|---|---|`);
console.log(`| plain route, no stages | ${plain.map((x) => x.toFixed(0)).join(', ')} | ${mean(plain).toFixed(0)} | ${mean(plainBusy).toFixed(1)} |`);
console.log(`| OpenAPI createItem, request validation | ${validated.map((x) => x.toFixed(0)).join(', ')} | ${mean(validated).toFixed(0)} | ${mean(validatedBusy).toFixed(1)} |`);
console.log(
  `\nbody ${Buffer.byteLength(body)} bytes, ${connections} connections, ${seconds} s per phase, ${rounds} rounds; ` +
    `throughput ratio validated/plain = ${ratio.toFixed(3)} (median of rounds ${median.toFixed(3)}); capacity ratio (busy time plain/validated) = ${busyRatio.toFixed(3)}`,
);
await gw.stop(0);
upstream.close();
