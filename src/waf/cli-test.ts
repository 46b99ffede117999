/**
 * `portcullis waf test`: evaluates one request against the built-in rules, the OWASP CRS (the
 * bundled v4.28.0 or `--crs PATH`), or both, and prints every rule that matched, on which target or
 * variable, with which transformed value, and the verdict.
 *
 *   portcullis waf test [-X METHOD] [-H 'Name: value']... [-d BODY | --data-file FILE] URL
 *   portcullis waf test --request FILE        (JSON {method, url, headers, body} or a raw HTTP/1.1 request)
 *
 * Exit code: 0 allowed, 1 blocked, 2 usage error.
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { compileRules, evaluate } from './engine.js';
import { BUILTIN_RULES } from './rules/index.js';
import type { Policy, WafRequest } from './types.js';
import { attempt } from '../cli/attempt.js';
import { BUNDLED_CRS, loadCrs, type CrsVerdict } from './crs/engine.js';
import { crsRequest } from './crs/adapter.js';

const USAGE = `Usage: portcullis waf test [options] URL
       portcullis waf test --request FILE

Evaluates one request against the WAF's rules (nothing is sent anywhere) and prints every rule
that matched, the target or CRS variable it matched on, the value after the transformations, and
the verdict.

Options:
  -X, --method METHOD      request method (default GET, or POST with a body)
  -H, --header 'N: V'      a request header (repeatable)
  -d, --data BODY          request body
      --data-file FILE     request body from a file
      --content-type TYPE  shorthand for -H 'content-type: TYPE'
      --request FILE       the whole request: JSON {method, url, headers, body} or raw HTTP/1.1
      --engine E           builtin (default), crs, or both (docs/waf-crs.md)
      --crs PATH           a CRS 4.x folder (default: the bundled v4.28.0)
      --paranoia N         paranoia level 1-4 (default 1)
      --threshold N        anomaly threshold (default 5; CRS: its inbound threshold)
      --json               print the evaluation as JSON
  -h, --help               this help

Exit code: 0 allowed, 1 blocked, 2 usage error.`;

interface Parsed {
  method: string;
  url: string;
  headers: Record<string, string>;
  body: Buffer | null;
}

/** Parses a raw HTTP/1.x request (request line, headers, body). */
export function parseRawRequest(text: string): Parsed {
  const sep = text.indexOf('\r\n\r\n') >= 0 ? '\r\n' : '\n';
  const end = text.indexOf(sep + sep);
  const head = end < 0 ? text : text.slice(0, end);
  const body = end < 0 ? '' : text.slice(end + sep.length * 2);
  const lines = head.split(sep);
  const [method = 'GET', url = '/'] = (lines[0] ?? '').split(' ');
  const headers: Record<string, string> = {};
  for (const l of lines.slice(1)) {
    const c = l.indexOf(':');
    if (c > 0) headers[l.slice(0, c).trim().toLowerCase()] = l.slice(c + 1).trim();
  }
  return { method, url, headers, body: body.length > 0 ? Buffer.from(body, 'latin1') : null };
}

function fromRequestFile(file: string): Parsed {
  const text = readFileSync(file, 'latin1');
  if (text.trimStart().startsWith('{')) {
    const j = JSON.parse(Buffer.from(text, 'latin1').toString('utf8')) as { method?: string; url?: string; headers?: Record<string, string>; body?: unknown };
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(j.headers ?? {})) headers[k.toLowerCase()] = String(v);
    const body = j.body === undefined || j.body === null ? null : Buffer.from(typeof j.body === 'string' ? j.body : JSON.stringify(j.body), 'utf8');
    if (body !== null && typeof j.body !== 'string' && headers['content-type'] === undefined) headers['content-type'] = 'application/json';
    return { method: j.method ?? (body ? 'POST' : 'GET'), url: j.url ?? '/', headers, body };
  }
  return parseRawRequest(text);
}

export async function wafTestCommand(argv: string[]): Promise<number> {
  const args = attempt(() =>
    parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        method: { type: 'string', short: 'X' },
        header: { type: 'string', short: 'H', multiple: true },
        data: { type: 'string', short: 'd' },
        'data-file': { type: 'string' },
        'content-type': { type: 'string' },
        request: { type: 'string' },
        paranoia: { type: 'string' },
        threshold: { type: 'string' },
        engine: { type: 'string' },
        crs: { type: 'string' },
        json: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    }),
  );
  if (args instanceof Error) {
    process.stderr.write(`${args.message}\n\n${USAGE}\n`);
    return 2;
  }
  const o = args.values;
  if (o.help === true) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  let req: Parsed;
  try {
    if (o.request !== undefined) req = fromRequestFile(o.request);
    else {
      const url = args.positionals[0];
      if (url === undefined) {
        process.stderr.write(`a URL (or --request FILE) is required\n\n${USAGE}\n`);
        return 2;
      }
      const headers: Record<string, string> = {};
      for (const h of o.header ?? []) {
        const c = h.indexOf(':');
        if (c <= 0) {
          process.stderr.write(`bad header '${h}' (expected 'Name: value')\n`);
          return 2;
        }
        headers[h.slice(0, c).trim().toLowerCase()] = h.slice(c + 1).trim();
      }
      if (o['content-type'] !== undefined) headers['content-type'] = o['content-type'];
      const body = o['data-file'] !== undefined ? readFileSync(o['data-file']) : o.data !== undefined ? Buffer.from(o.data, 'utf8') : null;
      if (body !== null && headers['content-type'] === undefined) {
        const t = body.toString('utf8', 0, 1);
        headers['content-type'] = t === '{' || t === '[' ? 'application/json' : 'application/x-www-form-urlencoded';
      }
      req = { method: o.method ?? (body ? 'POST' : 'GET'), url, headers, body };
    }
  } catch (e) {
    process.stderr.write(`${(e as Error).message}\n`);
    return 2;
  }
  // accept absolute URLs: keep path and query
  let target = req.url;
  const abs = /^[a-z][a-z0-9+.-]*:\/\/[^/?#]*/i.exec(target);
  if (abs !== null) {
    target = target.slice(abs[0].length) || '/';
    // the URL's authority is the Host a client would send
    const authority = abs[0].slice(abs[0].indexOf('//') + 2);
    if (req.headers['host'] === undefined && authority !== '') req.headers['host'] = authority;
  }
  if (!target.startsWith('/')) target = `/${target}`;
  const paranoia = Number(o.paranoia ?? '1');
  const threshold = Number(o.threshold ?? '5');
  if (![1, 2, 3, 4].includes(paranoia) || !Number.isInteger(threshold) || threshold < 1) {
    process.stderr.write('--paranoia must be 1-4 and --threshold a positive integer\n');
    return 2;
  }
  const q = target.indexOf('?');
  const wreq: WafRequest = {
    method: req.method.toUpperCase(),
    rawUrl: target,
    path: q < 0 ? target : target.slice(0, q),
    query: q < 0 ? '' : target.slice(q + 1),
    headers: req.headers,
    body: req.body,
  };
  const engine = o.engine ?? 'builtin';
  if (engine !== 'builtin' && engine !== 'crs' && engine !== 'both') {
    process.stderr.write('--engine must be builtin, crs or both\n');
    return 2;
  }
  let cv: CrsVerdict | null = null;
  if (engine !== 'builtin') {
    try {
      const crs = loadCrs({ path: o.crs ?? BUNDLED_CRS, paranoia, inboundThreshold: threshold });
      cv = crs.evaluate(crsRequest(wreq));
    } catch (e) {
      process.stderr.write(`${(e as Error).message}\n`);
      return 2;
    }
  }
  const policy: Policy = { paranoia: paranoia as 1 | 2 | 3 | 4, threshold, exclusions: [] };
  const ev = engine === 'crs' ? null : evaluate(wreq, compileRules(BUILTIN_RULES), policy, { allMatches: true });
  const blocked = ev?.blocked === true || cv?.blocked === true;
  if (o.json === true) {
    const crs = cv === null ? {} : { crs: { blocked: cv.blocked, blocked_by: cv.blockedBy, score: cv.score, rules: cv.hits } };
    process.stdout.write(`${JSON.stringify({ ...(ev ?? {}), ...crs, blocked, threshold, paranoia }, null, 2)}\n`);
    return blocked ? 1 : 0;
  }
  const out: string[] = [];
  out.push(`${wreq.method} ${target}`);
  if (cv !== null) {
    out.push(`OWASP CRS (${o.crs ?? 'bundled v4.28.0'}) at paranoia ${paranoia}:`);
    if (cv.hits.length === 0) out.push('  no rule matched');
    for (const h of cv.hits) {
      out.push(`  ${h.id}  ${h.message}`);
      for (const m of h.matches) out.push(`      on ${m.variable}: ${JSON.stringify(m.value.length > 200 ? `${m.value.slice(0, 200)}...` : m.value)}`);
    }
    out.push(`  inbound score ${cv.score} / threshold ${threshold}: ${cv.blocked ? `BLOCKED by ${cv.blockedBy} (403 PC_ERR_WAF_BLOCKED)` : 'allowed'}`);
  }
  if (ev === null) {
    process.stdout.write(`${out.join('\n')}\n`);
    return blocked ? 1 : 0;
  }
  if (cv !== null) out.push('built-in rules:');
  if (ev.matches.length === 0) out.push('no rule matched');
  for (const m of ev.matches) {
    out.push(`  ${m.ruleId}  ${m.severity} (+${m.score})  on ${m.target}`);
    out.push(`      after: ${m.transforms.length > 0 ? m.transforms.join(' > ') : '(no transformation)'}`);
    out.push(`      matched: ${JSON.stringify(m.matched)}`);
    out.push(`      ${m.description}`);
  }
  if (ev.truncated) out.push('  (inspection limits reached: the gateway blocks such requests by default, waf.on_limit)');
  out.push(`score ${ev.score} / threshold ${threshold} at paranoia ${paranoia}: ${ev.blocked ? 'BLOCKED (403 PC_ERR_WAF_BLOCKED)' : 'allowed'}`);
  process.stdout.write(`${out.join('\n')}\n`);
  return blocked ? 1 : 0;
}
