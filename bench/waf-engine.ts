/**
 * Micro-benchmark of the WAF engine alone: time per request for JSON bodies of about 1 KB and
 * 10 KB of realistic API content (p50, p99), at the default settings.
 *
 *   node dist/bench/waf-engine.js [--iterations 5000]
 */
import { compileRules, evaluate } from '../src/waf/engine.js';
import { BUILTIN_RULES } from '../src/waf/rules/index.js';
import type { WafRequest } from '../src/waf/types.js';

function jsonBody(targetBytes: number): Buffer {
  const items: unknown[] = [];
  let i = 0;
  let text = '';
  while (text.length < targetBytes) {
    items.push({
      id: 1000 + i,
      sku: `SKU-${i}-XL`,
      name: `Item ${i}: O'Brien's "special" edition`,
      description: 'A comfortable cotton t-shirt; machine washable (30°C), available in 5 colours & 3 sizes.',
      price: 19.99 + i,
      tags: ['summer', 'cotton', 'sale'],
      url: `https://shop.example.com/items/${i}?ref=home`,
      active: i % 2 === 0,
    });
    text = JSON.stringify({ order_id: 'ord_8f1c2e9a', customer: { name: "Siobhan O'Brien", email: 'siobhan@example.com' }, items });
    i++;
  }
  return Buffer.from(text);
}

function request(body: Buffer): WafRequest {
  return {
    method: 'POST',
    rawUrl: '/api/v1/orders?expand=items&source=web',
    path: '/api/v1/orders',
    query: 'expand=items&source=web',
    headers: {
      host: 'api.example.com',
      'user-agent': 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36',
      'content-type': 'application/json',
      accept: 'application/json',
      authorization: 'Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ1In0.sig',
      'x-request-id': 'abc-123',
      cookie: 'theme=dark; lang=en',
    },
    body,
  };
}

const it = Number(process.argv[process.argv.indexOf('--iterations') + 1] ?? 5000) || 5000;
const compiled = compileRules(BUILTIN_RULES);
const policy = { paranoia: 1 as const, threshold: 5, exclusions: [], stopAtThreshold: true };
for (const size of [1024, 10240]) {
  const body = jsonBody(size);
  const req = request(body);
  for (let w = 0; w < 500; w++) evaluate(req, compiled, policy);
  const times: number[] = [];
  for (let k = 0; k < it; k++) {
    const t0 = process.hrtime.bigint();
    const r = evaluate(req, compiled, policy);
    times.push(Number(process.hrtime.bigint() - t0) / 1000);
    if (r.blocked) throw new Error(`benchmark body is blocked: ${JSON.stringify(r.matches)}`);
  }
  times.sort((a, b) => a - b);
  const p = (q: number): string => (times[Math.min(times.length - 1, Math.floor(q * times.length))] as number).toFixed(1);
  process.stdout.write(`JSON body ${body.length} bytes: p50 ${p(0.5)} us, p99 ${p(0.99)} us, max ${p(1)} us (${it} iterations)\n`);
}
