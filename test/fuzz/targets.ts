/**
 * The fuzz targets: one per input the gateway reads from outside (raw HTTP/1.1 requests, JSON,
 * form and multipart bodies, JWTs, signature headers, OpenAPI documents, config files). Each pairs
 * a generator with a check that throws when the gateway misbehaves on that input: a crash (an
 * exception the parser does not promise), a refusal without its stable code, a 500, a hang, an
 * accepted token that is not the one signed. test/fuzz/fuzz.test.ts runs each for a fixed number of
 * inputs in CI; test/fuzz/run.ts runs them for minutes and saves what fails as a regression.
 */
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { parseJsonSafe, isForbiddenKey, type JsonLimits } from '../../src/body/json.js';
import { parseUrlEncoded } from '../../src/body/form.js';
import { parseMultipart, validBoundary } from '../../src/body/multipart.js';
import { parseJws } from '../../src/stages/auth/jwt/token.js';
import { parseDictionary, serializeDictionary, SfError } from '../../src/stages/auth/verifiers/structured-fields.js';
import { ConfigError, ConfigErrors } from '../../src/config/errors.js';
import { parseConfig } from '../../src/config/load.js';
import { STAGES } from '../../src/stages/index.js';
import { validateDeep } from '../../src/cli/validate-deep.js';
import { DEFAULT_DEV_KEY_FILE, devToken, type DevKeyFile } from '../../src/stages/auth/dev-token.js';
import { startGateway, type TestGateway } from '../helpers/gateway.js';
import { startUpstream, type TestUpstream } from '../helpers/upstream.js';
import { anyBytes, mutated, utf8Bytes } from './mutate.js';

export interface FuzzTarget {
  readonly name: string;
  /** what one input is, for reports */
  readonly what: string;
  /** inputs: text, or bytes as a latin1 string */
  readonly input: fc.Arbitrary<string>;
  /** runs one input; throws when a property does not hold */
  check(input: string): void | Promise<void>;
  /** inputs per CI run */
  readonly ciRuns: number;
  /** outcomes a CI run must each reach at least once (so that the generator is not stuck on one path) */
  readonly expect: readonly string[];
  /** outcomes seen so far, by name */
  readonly seen: Map<string, number>;
  start?(): Promise<void>;
  stop?(): Promise<void>;
}

/** A target with its outcome counter. */
const target = (t: Omit<FuzzTarget, 'seen'>): FuzzTarget => ({ ...t, seen: new Map() });

/** A body: generated text sent as UTF-8 and edited, or any bytes now and then. */
const bodyInput = (text: fc.Arbitrary<string>): fc.Arbitrary<string> =>
  fc.oneof({ weight: 8, arbitrary: mutated(text.map(utf8Bytes)) }, { weight: 1, arbitrary: anyBytes(200) });

function saw(t: { seen: Map<string, number> }, outcome: string): void {
  t.seen.set(outcome, (t.seen.get(outcome) ?? 0) + 1);
}

// dist/test/fuzz/targets.js -> the sources (fixtures are read from there)
export const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const FIXTURES = join(ROOT, 'test', 'fuzz', 'fixtures');
const OPENAPI_FIXTURES = join(ROOT, 'test', 'openapi', 'fixtures');

// ---- bodies ------------------------------------------------------------------------------------

const JSON_LIMITS: JsonLimits = { maxBytes: 64 * 1024, maxDepth: 16, maxKeys: 50, maxArrayLength: 100, maxStringLength: 1000 };
const JSON_CODES = new Set(['too_large', 'malformed', 'too_deep', 'too_many_keys', 'array_too_long', 'string_too_long', 'duplicate_key', 'forbidden_key']);

const jsonText = fc.oneof(
  { weight: 6, arbitrary: fc.json({ maxDepth: 6 }) },
  { weight: 1, arbitrary: fc.integer({ min: 1, max: 40 }).map((n) => `${'['.repeat(n)}${']'.repeat(n)}`) },
  {
    weight: 1,
    arbitrary: fc.dictionary(fc.constantFrom('a', 'b', '__proto__', 'constructor', 'prototype', 'x'), fc.json({ maxDepth: 2 })).map((o) => JSON.stringify(o)),
  },
  { weight: 1, arbitrary: fc.constantFrom('{"a":1,"a":2}', '{"__proto__":{"x":1}}', '"\\ud800"', '[1,2,]', '{"a":1}garbage', '\ufeff{}', '1e999') },
);

/** Depth and widest object / array of a parsed JSON value. */
function shape(v: unknown, depth = 0): { depth: number; keys: number; items: number } {
  if (v === null || typeof v !== 'object') return { depth, keys: 0, items: 0 };
  const kids = Array.isArray(v) ? v : Object.values(v);
  let out = { depth: depth + 1, keys: Array.isArray(v) ? 0 : kids.length, items: Array.isArray(v) ? kids.length : 0 };
  for (const k of kids) {
    const s = shape(k, depth + 1);
    out = { depth: Math.max(out.depth, s.depth), keys: Math.max(out.keys, s.keys), items: Math.max(out.items, s.items) };
  }
  return out;
}

function hasForbiddenKey(v: unknown): boolean {
  if (v === null || typeof v !== 'object') return false;
  if (Array.isArray(v)) return v.some(hasForbiddenKey);
  return Object.keys(v).some((k) => isForbiddenKey(k) || hasForbiddenKey((v as Record<string, unknown>)[k]));
}

const json: FuzzTarget = target({
  name: 'json',
  what: 'a JSON request body (bytes)',
  input: bodyInput(jsonText),
  ciRuns: 2000,
  expect: ['accepted', 'refused'],
  check(input) {
    const buf = Buffer.from(input, 'latin1');
    const r = parseJsonSafe(buf, JSON_LIMITS);
    saw(json, r.ok ? 'accepted' : 'refused');
    if (!r.ok) {
      assert.ok(JSON_CODES.has(r.code), `unknown code ${r.code}`);
      assert.equal(typeof r.reason, 'string');
      return;
    }
    // accepted: JSON.parse reads the same value, within every limit, with no key that changes prototypes
    let expected: unknown;
    assert.doesNotThrow(() => {
      expected = JSON.parse(buf.toString('utf8'));
    }, 'accepted a body JSON.parse refuses');
    assert.deepEqual(r.value, expected);
    const s = shape(r.value);
    assert.ok(s.depth <= JSON_LIMITS.maxDepth && s.keys <= JSON_LIMITS.maxKeys && s.items <= JSON_LIMITS.maxArrayLength, `over a limit: ${JSON.stringify(s)}`);
    assert.ok(!hasForbiddenKey(r.value), 'accepted a forbidden key');
  },
});

const FORM_CODES = new Set(['too_many_params', 'malformed', 'too_long', 'forbidden_key']);
const formText = fc
  .array(
    fc.tuple(
      fc.oneof(fc.constantFrom('q', 'n', 'a[b]', 'a[]', '__proto__', 'a[__proto__]', 'toString', 'x.y', '[a]', 'a[b'), fc.string({ maxLength: 8 })),
      fc.string({ maxLength: 20 }),
    ),
    { maxLength: 12 },
  )
  .map((pairs) => pairs.map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`).join('&'));

const form: FuzzTarget = target({
  name: 'form',
  what: 'an application/x-www-form-urlencoded body (bytes)',
  input: bodyInput(formText),
  ciRuns: 2000,
  expect: ['accepted', 'refused'],
  check(input) {
    const r = parseUrlEncoded(Buffer.from(input, 'latin1'), { maxParams: 16, maxValueLength: 200 });
    saw(form, r.ok ? 'accepted' : 'refused');
    if (!r.ok) {
      assert.ok(FORM_CODES.has(r.code), `unknown code ${r.code}`);
      return;
    }
    assert.ok(!hasForbiddenKey(r.value), 'accepted a forbidden name');
    assert.ok(Object.getPrototypeOf(r.value) === null || Object.getPrototypeOf(r.value) === Object.prototype);
  },
});

const BOUNDARIES = ['b0undary', 'simple', '----WebKitFormBoundary7MA4YWxkTrZu0gW', "a'()+_,-./:=?", 'x'];
const partArb = fc.record({
  name: fc.oneof(fc.constantFrom('caption', 'file', '__proto__', 'a[b]', ''), fc.string({ maxLength: 10 })),
  filename: fc.option(fc.constantFrom('a.png', '../../etc/passwd', 'x"y', ''), { nil: undefined }),
  type: fc.option(fc.constantFrom('text/plain', 'application/octet-stream', 'image/png; x=1'), { nil: undefined }),
  body: fc.string({ maxLength: 60 }),
});
const multipartInput = fc.tuple(fc.constantFrom(...BOUNDARIES), fc.array(partArb, { maxLength: 6 })).map(([b, parts]) => {
  let s = '';
  for (const p of parts) {
    s += `--${b}\r\nContent-Disposition: form-data; name="${p.name}"${p.filename === undefined ? '' : `; filename="${p.filename}"`}\r\n`;
    if (p.type !== undefined) s += `Content-Type: ${p.type}\r\n`;
    s += `\r\n${p.body}\r\n`;
  }
  return `${b}\n${utf8Bytes(`${s}--${b}--\r\n`)}`;
});

const multipart: FuzzTarget = target({
  name: 'multipart',
  what: 'a boundary, a newline, then a multipart/form-data body (bytes)',
  input: mutated(multipartInput),
  ciRuns: 1500,
  expect: ['accepted', 'refused'],
  check(input) {
    const nl = input.indexOf('\n');
    const boundary = validBoundary(nl < 0 ? input : input.slice(0, nl));
    if (boundary === null) return;
    const limits = { maxParts: 4, maxPartBytes: 40, maxPartHeaderBytes: 200 };
    const r = parseMultipart(Buffer.from(input.slice(nl + 1), 'latin1'), boundary, limits);
    saw(multipart, r.ok ? 'accepted' : 'refused');
    if (!r.ok) {
      assert.ok(['malformed', 'too_many_parts', 'too_long', 'forbidden_key'].includes(r.code), `unknown code ${r.code}`);
      return;
    }
    assert.ok(r.parts.length <= limits.maxParts, 'more parts than the limit');
    assert.ok(!hasForbiddenKey(r.value), 'accepted a forbidden name');
  },
});

// ---- credentials -------------------------------------------------------------------------------

const devDoc = (): DevKeyFile => JSON.parse(readFileSync(DEFAULT_DEV_KEY_FILE, 'utf8')) as DevKeyFile;
const token = (sub: string): string => devToken({ file: DEFAULT_DEV_KEY_FILE, sub, scopes: ['items:read'], ttlS: 3600, tenant: null, now: Date.now() });

/** The three segments of a compact JWS, decoded; null when one is not base64url. */
function segments(t: string): Buffer[] | null {
  const parts = t.split('.');
  if (parts.length !== 3 || parts.some((p) => !/^[A-Za-z0-9_-]*$/.test(p))) return null;
  return parts.map((p) => Buffer.from(p, 'base64url'));
}

const jwt: FuzzTarget = target({
  name: 'jwt',
  what: 'a compact JWS (mutations of a signed dev token, or any text)',
  input: fc.oneof(
    {
      weight: 6,
      arbitrary: mutated(
        fc.constantFrom('alice', 'bob').map((s) => `${s}\n${token(s)}`),
        3,
      ),
    },
    { weight: 1, arbitrary: fc.string({ maxLength: 300 }) },
  ),
  ciRuns: 2000,
  expect: ['parsed', 'refused'],
  check(input) {
    const t = input.includes('\n') ? input.slice(input.indexOf('\n') + 1) : input;
    const r = parseJws(t, 4096);
    saw(jwt, r.ok ? 'parsed' : 'refused');
    if (!r.ok) {
      assert.match(r.error.code, /^PC_ERR_AUTH_/);
      assert.ok(!r.error.reason.includes(t) || t.length < 8, 'the reason holds the token');
      return;
    }
    assert.equal(r.jws.signingInput, t.slice(0, t.lastIndexOf('.')));
    assert.equal(typeof r.jws.alg, 'string');
  },
});

const sfText = fc
  .array(
    fc.tuple(
      fc.constantFrom('sig1', 'sig2', 'a', 'x-y', 'UPPER', '*k'),
      fc.constantFrom(
        '("@method" "@authority" "@path" "content-digest");created=1618884473;keyid="test-key-rsa-pss";alg="rsa-pss-sha512"',
        ':aGVsbG8=:',
        '("@method");nonce="abc";expires=1',
        '?1',
        '12.345',
        '"str\\"ing"',
        '@1659578233',
        '%"d%c3%a9"',
        '()',
        'token;a=1;b',
      ),
    ),
    { maxLength: 4 },
  )
  .map((m) => m.map(([k, v]) => `${k}=${v}`).join(', '));

const signature: FuzzTarget = target({
  name: 'signature',
  what: 'a Signature-Input / Signature header value (RFC 9421 structured fields)',
  input: mutated(sfText),
  ciRuns: 2000,
  expect: ['parsed', 'refused'],
  check(input) {
    let d: ReturnType<typeof parseDictionary>;
    try {
      d = parseDictionary(input);
      saw(signature, 'parsed');
    } catch (e) {
      saw(signature, 'refused');
      assert.ok(e instanceof SfError, `threw ${(e as Error)?.name}: ${(e as Error)?.message}`);
      return;
    }
    // what was read serialises to a form that reads back the same (RFC 8941 round trip)
    const again = parseDictionary(serializeDictionary(d));
    assert.equal(serializeDictionary(again), serializeDictionary(d));
  },
});

// ---- documents ---------------------------------------------------------------------------------

/** Whole-line edits as well, for the line-structured YAML. */
const lineEdits = (text: fc.Arbitrary<string>): fc.Arbitrary<string> =>
  fc.tuple(text, fc.array(fc.tuple(fc.nat(), fc.constantFrom('drop', 'dup', 'indent', 'dedent', 'null', 'list')), { maxLength: 3 })).map(([t, edits]) => {
    const lines = t.split('\n');
    for (const [at, kind] of edits) {
      const i = at % lines.length;
      const l = lines[i] as string;
      if (kind === 'drop') lines.splice(i, 1);
      else if (kind === 'dup') lines.splice(i, 0, l);
      else if (kind === 'indent') lines[i] = `  ${l}`;
      else if (kind === 'dedent') lines[i] = l.replace(/^ {2}/, '');
      else if (kind === 'null') lines[i] = l.replace(/:\s.*$/, ': null');
      else lines[i] = l.replace(/:\s(.*)$/, ': [$1]');
    }
    return lines.join('\n');
  });

/** Config and OpenAPI problems must be these: located, reported, exit code 2. */
function assertConfigError(e: unknown, file: string): void {
  if (e instanceof ConfigErrors) {
    assert.ok(e.errors.length > 0);
    for (const x of e.errors) assert.ok(x.message.includes(x.file) && x.file.length > 0, x.message);
    return;
  }
  assert.ok(e instanceof ConfigError, `not a ConfigError: ${(e as Error)?.name}: ${(e as Error)?.stack ?? String(e)}`);
  assert.ok(e.file === file || e.file.endsWith('.yaml') || e.file.endsWith('.json'), `error names ${e.file}`);
}

async function compileConfig(t: FuzzTarget, text: string, file: string): Promise<void> {
  writeFileSync(file, text);
  try {
    const loaded = parseConfig(text, file, STAGES);
    await validateDeep(loaded, STAGES);
    saw(t, 'valid');
  } catch (e) {
    assertConfigError(e, file);
    saw(t, 'refused');
  }
}

let docDir = '';
function workDir(): string {
  if (docDir === '') {
    docDir = mkdtempSync(join(tmpdir(), 'portcullis-fuzz-'));
    cpSync(OPENAPI_FIXTURES, docDir, { recursive: true });
    cpSync(join(FIXTURES, 'fuzz-api.yaml'), join(docDir, 'fuzz-api.yaml'));
    cpSync(DEFAULT_DEV_KEY_FILE, join(docDir, 'dev-jwt.json'));
    // the examples' relative files (OpenAPI documents, keys) next to their configs
    for (const ex of ['quickstart', 'weak', 'cache-tests', 'waf-eval']) cpSync(join(ROOT, 'examples', ex), join(docDir, ex), { recursive: true });
  }
  return docDir;
}

const EXAMPLES = ['quickstart', 'weak', 'cache-tests', 'waf-eval'];
const config: FuzzTarget = target({
  name: 'config',
  what: 'a config file (mutations of the examples), loaded and compiled as `portcullis validate` does',
  input: mutated(lineEdits(fc.constantFrom(...EXAMPLES).map((ex) => `${ex}\n${readFileSync(join(ROOT, 'examples', ex, 'portcullis.yaml'), 'utf8')}`)), 3),
  ciRuns: 150,
  expect: ['valid', 'refused'],
  async check(input) {
    const nl = input.indexOf('\n');
    const ex = EXAMPLES.includes(input.slice(0, nl)) ? input.slice(0, nl) : 'quickstart';
    // the example's own directory, so that its relative files resolve; audit paths stay inside it
    const file = join(workDir(), ex, 'fuzzed.yaml');
    await compileConfig(config, input.slice(nl + 1), file);
  },
});

const SPECS = ['shop-3.0.yaml', 'library-3.1.yaml', 'fuzz-api.yaml'];
const openapi: FuzzTarget = target({
  name: 'openapi',
  what: 'an OpenAPI document (mutations of the fixtures), compiled into routes and validators',
  input: mutated(
    lineEdits(fc.constantFrom(...SPECS).map((s) => `${s}\n${readFileSync(join(s === 'fuzz-api.yaml' ? FIXTURES : OPENAPI_FIXTURES, s), 'utf8')}`)),
    3,
  ),
  ciRuns: 120,
  expect: ['valid', 'refused'],
  async check(input) {
    const dir = workDir();
    const spec = join(dir, 'fuzzed-spec.yaml');
    writeFileSync(spec, input.slice(input.indexOf('\n') + 1));
    const cfg = `version: 1
listeners: [{ port: 8080, address: 127.0.0.1 }]
auth:
  jwt:
    providers:
      main: { issuer: https://dev.portcullis.local, audiences: [portcullis-quickstart], algorithms: [ES256], jwks_file: dev-jwt.json }
upstreams:
  shop: { targets: [{ url: "http://127.0.0.1:9" }] }
apis:
  - { id: fuzzed, spec: fuzzed-spec.yaml, upstream: shop, auth_provider: main }
`;
    await compileConfig(openapi, cfg, join(dir, 'openapi-config.yaml'));
  },
});

// ---- raw HTTP/1.1 against a live gateway --------------------------------------------------------

let live: { gw: TestGateway; up: TestUpstream; tokens: string[]; runs: number } | null = null;

const LIVE_CONFIG = `
version: 1
listeners:
  - port: 0
    request_timeout_ms: 2000
    headers_timeout_ms: 2000
abuse: { enabled: false }
auth:
  jwt:
    providers:
      dev: { issuer: "{{ISS}}", audiences: ["{{AUD}}"], algorithms: [ES256], jwks_file: "{{JWKS}}" }
upstreams:
  up: { targets: [{ url: "{{UP}}" }] }
apis:
  - id: fuzz
    spec: "{{SPEC}}"
    upstream: up
    auth_provider: dev
    defaults:
      rate_limit:
        - { name: per-client, key: [ip], rate: "100000/s", burst: 100000 }
routes:
  - { id: public, match: { prefix: /public }, upstream: up, auth: none }
`;

const PATHS = [
  '/items',
  '/items/7',
  '/items/0',
  '/items/abc',
  '/forms',
  '/uploads',
  '/private',
  '/public/x',
  '/items/7/../../private',
  '/%2e%2e/private',
  '/nowhere',
];
const METHODS = ['GET', 'POST', 'PUT', 'HEAD', 'OPTIONS', 'DELETE', 'PATCH', 'TRACE', 'CONNECT', 'get', 'G ET'];
const CONTENT_TYPES = [
  'application/json',
  'application/json; charset=utf-8',
  'application/x-www-form-urlencoded',
  'multipart/form-data; boundary=b0undary',
  'multipart/form-data',
  'text/plain',
  'application/json, text/plain',
  'APPLICATION/JSON;charset=latin1',
];

const bodyArb = fc.oneof(
  jsonText.map(utf8Bytes),
  formText.map(utf8Bytes),
  multipartInput.map((s) => s.slice(s.indexOf('\n') + 1)),
  fc.constant(''),
);

const headerArb = fc.oneof(
  fc.constantFrom(
    'X-Forwarded-For: 1.2.3.4',
    'Cookie: a=1; session=xyz',
    'Transfer-Encoding: chunked',
    'Content-Length: 5',
    'Content-Length: 0',
    'Content-Length: -1',
    'Expect: 100-continue',
    'X-HTTP-Method-Override: DELETE',
    'Host: other.example',
    'Connection: close',
    'Content-Encoding: gzip',
    'X-Trace: abc',
    'Authorization: Basic YTpi',
    'Authorization: Bearer',
    'Upgrade: websocket',
  ),
  fc.tuple(fc.stringMatching(/^[A-Za-z-]{1,12}$/), fc.string({ maxLength: 30 })).map(([k, v]) => `${k}: ${v}`),
);

/** Mostly what the routes accept, so that inputs reach the stages behind intake; hostile choices now and then. */
const w = <T>(usual: fc.Arbitrary<T>, odd: fc.Arbitrary<T>): fc.Arbitrary<T> => fc.oneof({ weight: 4, arbitrary: usual }, { weight: 1, arbitrary: odd });

const ROUTED: readonly (readonly [string, string])[] = [
  ['GET', '/items/7'],
  ['GET', '/private'],
  ['GET', '/public/x'],
  ['POST', '/items'],
  ['POST', '/forms'],
  ['POST', '/uploads'],
];

const rawRequest = fc
  .record({
    line: w(fc.constantFrom(...ROUTED), fc.tuple(fc.constantFrom(...METHODS), fc.constantFrom(...PATHS))),
    query: fc.option(
      w(fc.constantFrom('fields=a', 'page=2', 'fields=id&page=3'), fc.constantFrom('page=x', 'a=1&a=2', "q=' OR 1=1--", 'access_token=abc', 'x=%ZZ')),
      {
        nil: undefined,
      },
    ),
    ctype: fc.option(fc.constantFrom(...CONTENT_TYPES), { nil: undefined }),
    auth: fc.constantFrom('none', 'valid', 'valid', 'mutated'),
    headers: w(fc.constant([] as string[]), fc.array(headerArb, { minLength: 1, maxLength: 3 })),
    body: bodyArb,
    chunked: fc.boolean(),
    version: w(fc.constant('HTTP/1.1'), fc.constantFrom('HTTP/1.0', 'HTTP/2.0', 'HTTP/1.1x')),
    tokenEdit: fc.tuple(fc.nat(), fc.constantFrom('A', '.', '', 'x', '=')),
  })
  .map((r) => {
    const [method, path] = r.line;
    const lines = [`${method} ${path}${r.query === undefined ? '' : `?${r.query}`} ${r.version}`, 'Host: 127.0.0.1'];
    // a body (and its type) with the methods that carry one; the type that matches the route most of the time
    const hasBody = method === 'POST' || method === 'PUT' || method === 'PATCH';
    const usualType =
      path === '/forms' ? 'application/x-www-form-urlencoded' : path === '/uploads' ? 'multipart/form-data; boundary=b0undary' : 'application/json';
    const ctype = hasBody ? (r.ctype ?? usualType) : r.ctype;
    if (ctype !== undefined) lines.push(`Content-Type: ${ctype}`);
    if (r.auth !== 'none') {
      // TOKEN is replaced by a token signed at run time (regression files stay valid as tokens expire)
      lines.push(r.auth === 'valid' ? 'Authorization: Bearer TOKEN' : `Authorization: Bearer TOKEN@${r.tokenEdit[0]}:${r.tokenEdit[1]}`);
    }
    lines.push(...r.headers);
    let body = hasBody ? r.body : '';
    if (r.chunked && body !== '') {
      lines.push('Transfer-Encoding: chunked');
      body = `${body.length.toString(16)}\r\n${body}\r\n0\r\n\r\n`;
    } else if (body !== '') lines.push(`Content-Length: ${body.length}`);
    return `${lines.join('\r\n')}\r\n\r\n${body}`;
  });

/** Fills TOKEN placeholders: a valid token, or one edited at a position. */
function withTokens(raw: string, tokens: readonly string[]): { text: string; edited: string[] } {
  const edited: string[] = [];
  const text = raw.replace(/TOKEN(?:@(\d+):(.?))?/g, (_m, at: string | undefined, ch: string | undefined) => {
    const t = tokens[0] as string;
    if (at === undefined) return t;
    const i = Number(at) % t.length;
    const e = t.slice(0, i) + (ch ?? '') + t.slice(i + 1);
    edited.push(e);
    return e;
  });
  return { text, edited };
}

/**
 * Sends the bytes and reads the reply: done 100 ms after the first bytes came back, or when the
 * gateway closes. A request still unanswered after 400 ms is half-closed (an incomplete request
 * then ends at once instead of at the request timeout); nothing by `ms` is a hang.
 */
function exchange(port: number, data: Buffer, ms: number): Promise<{ out: string; closed: boolean }> {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    let out = '';
    let done = false;
    const end = (closed: boolean): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      clearTimeout(half);
      s.destroy();
      resolve({ out, closed });
    };
    const timer = setTimeout(() => end(false), ms);
    const half = setTimeout(() => s.end(), 400);
    s.on('data', (d: Buffer) => {
      if (out === '') setTimeout(() => end(true), 100);
      out += d.toString('latin1');
    });
    s.on('close', () => end(true));
    s.on('error', () => end(true));
    s.write(data);
  });
}

/** Whether `edited` reads as `original` (base64url's unused low bits of a last character aside). */
function sameToken(edited: string, original: string): boolean {
  const a = segments(edited);
  const b = segments(original);
  return a !== null && b !== null && a.every((seg, i) => seg.equals(b[i] as Buffer));
}

const rawHttp: FuzzTarget = target({
  name: 'raw-http',
  what: 'a raw HTTP/1.1 request (bytes; TOKEN is a signed dev token at run time) sent to a live gateway with the full pipeline',
  input: fc.oneof({ weight: 1, arbitrary: rawRequest }, { weight: 2, arbitrary: mutated(rawRequest, 2) }),
  ciRuns: 400,
  // proxied (2xx), refused by a stage (4xx: validation, authentication, WAF, routing) and with a
  // token that passed verification
  expect: ['2xx', '4xx', 'upstream', 'token accepted'],
  async start() {
    const up = await startUpstream((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{"ok":true}');
    });
    const dir = workDir();
    const doc = devDoc();
    const gw = await startGateway(LIVE_CONFIG, {
      vars: { UP: up.url, ISS: doc.issuer, AUD: doc.audience, JWKS: join(dir, 'dev-jwt.json'), SPEC: join(dir, 'fuzz-api.yaml') },
    });
    live = { gw, up, tokens: [token('fuzz-user')], runs: 0 };
  },
  async stop() {
    if (live === null) return;
    if (live.up.count() > 0) saw(rawHttp, 'upstream');
    await live.gw.close();
    await live.up.close();
    live = null;
  },
  async check(input) {
    if (live === null) throw new Error('raw-http: start() was not called');
    const { text, edited } = withTokens(input, live.tokens);
    // the listener's request timeout is 2 s: nothing may take much longer, even a request left incomplete
    const { out, closed } = await exchange(live.gw.port, Buffer.from(text, 'latin1'), 6000);
    if (process.env['FUZZ_DEBUG']) console.log(out.slice(0, 500));
    assert.ok(closed, 'the gateway neither answered nor closed the connection within 6 s');
    const statuses = [...out.matchAll(/HTTP\/1\.[01] (\d{3}) /g)].map((m) => Number(m[1]));
    if (out !== '') assert.match(out, /^HTTP\/1\.[01] \d{3} /, 'a reply that is not HTTP');
    for (const st of statuses) assert.ok(st !== 500, `500 in reply:\n${out.slice(0, 600)}`);
    if (statuses[0] !== undefined) {
      saw(rawHttp, `${String(statuses[0]).slice(0, 1)}xx`);
      saw(rawHttp, String(statuses[0]));
    } else saw(rawHttp, 'no reply');
    if (statuses[0] === 200 && /^GET \/private[ ?]/.test(text)) saw(rawHttp, 'token accepted');
    assert.ok(!out.includes('PC_ERR_INTERNAL'), `internal error:\n${out.slice(0, 600)}`);
    // an edited token is never accepted unless it decodes to the signed one
    if (edited.length > 0 && statuses[0] !== undefined && statuses[0] < 300 && /\/private/.test(text.split('\r\n')[0] ?? '')) {
      const path = text.split('\r\n')[0] ?? '';
      if (/^GET \/private[ ?]/.test(path)) for (const e of edited) assert.ok(sameToken(e, live.tokens[0] as string), `an edited token was accepted: ${e}`);
    }
    // every 50 inputs, a well-formed request still passes (the gateway has not wedged)
    if (++live.runs % 50 === 0) {
      const r = await fetch(`${live.gw.url}/public/alive`);
      await r.text();
      assert.equal(r.status, 200, 'the gateway stopped serving');
    }
  },
});

export const TARGETS: readonly FuzzTarget[] = [json, form, multipart, jwt, signature, config, openapi, rawHttp];

/** Removes the work directory (copies of fixtures). */
export function cleanup(): void {
  if (docDir !== '') rmSync(docDir, { recursive: true, force: true });
  docDir = '';
}
