/**
 * Reads go-ftw test files (YAML) into tests: every field the CRS regression suite and the
 * ftw-tests-schema use, with go-ftw's defaults (GET, `/`, HTTP/1.1, autocomplete on unless
 * `stop_magic`), legacy names (`test_id`, `desc`, `log_contains`, `expect_id`) and the stage
 * forms `{input, output}` and `{stage: {input, output}}`. Pure: text in, tests or errors out.
 */
import { basename } from 'node:path';
import { isMap, isScalar, isSeq, parseDocument, type Document } from 'yaml';
import type { FtwFile, FtwInput, FtwOutput, FtwStage, FtwTest, HeaderTuple, ReflectSpec } from './types.js';
import { expandTemplate } from './template.js';

/** Largest test file read (the CRS suite's largest is about 60 KB). */
export const MAX_FILE_BYTES = 16 * 1024 * 1024;

export class FtwParseError extends Error {
  constructor(
    readonly file: string,
    message: string,
  ) {
    super(`${file}: ${message}`);
    this.name = 'FtwParseError';
  }
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => v !== null && typeof v === 'object' && !Array.isArray(v);

function str(v: unknown, what: string): string | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  throw new Error(`${what} must be a string`);
}

function bool(v: unknown, what: string): boolean | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v === 'boolean') return v;
  throw new Error(`${what} must be true or false`);
}

/** Rule ids are compared as strings: numbers as written ("942100"), names as they are ("sqli-100"). */
function ids(v: unknown, what: string): string[] {
  if (v === undefined || v === null) return [];
  const list = Array.isArray(v) ? v : [v];
  return list.map((x) => {
    if (typeof x === 'number' && Number.isInteger(x)) return String(x);
    if (typeof x === 'string' && x.length > 0) return x;
    throw new Error(`${what} must list rule ids`);
  });
}

function statuses(v: unknown): number[] {
  if (v === undefined || v === null) return [];
  const list = Array.isArray(v) ? v : [v];
  return list.map((x) => {
    const n = typeof x === 'string' ? Number(x) : x;
    if (typeof n !== 'number' || !Number.isInteger(n) || n < 0 || n > 999) throw new Error('output.status must be a status or a list of statuses');
    return n;
  });
}

/** Base64 as Go's StdEncoding reads it in these files (line breaks inside are ignored). */
function base64(v: string, what: string): Buffer {
  const clean = v.replace(/[\r\n\t ]/g, '');
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(clean)) throw new Error(`${what} is not base64`);
  return Buffer.from(clean, 'base64');
}

/**
 * The headers of an input, from the YAML node so that duplicates and order survive: a mapping
 * (`headers: {Host: x}`), or a list of `{name, value}` (`ordered_headers`, and `headers` as a list).
 */
function headersOf(node: unknown, what: string): HeaderTuple[] {
  if (node === undefined || node === null) return [];
  const out: HeaderTuple[] = [];
  if (isMap(node)) {
    for (const pair of node.items) {
      const k = isScalar(pair.key) ? pair.key.value : pair.key;
      const v = isScalar(pair.value) ? pair.value.value : pair.value;
      const name = str(k, `${what} name`);
      if (name === undefined) throw new Error(`${what}: a header has no name`);
      out.push({ name, value: str(v, `${what}.${name}`) ?? '' });
    }
    return out;
  }
  if (isSeq(node)) {
    for (const item of node.items) {
      const js = isMap(item) ? (item.toJSON() as unknown) : undefined;
      if (!isObj(js)) throw new Error(`${what} must be a mapping or a list of {name, value}`);
      const name = str(js['name'], `${what} name`);
      if (name === undefined) throw new Error(`${what}: a header has no name`);
      out.push({ name, value: str(js['value'], `${what}.${name}`) ?? '' });
    }
    return out;
  }
  if (isScalar(node) && (node.value === null || node.value === '')) return [];
  throw new Error(`${what} must be a mapping or a list of {name, value}`);
}

function dataOf(input: Obj): Buffer | null {
  const d = input['data'];
  if (d !== undefined && d !== null) {
    // a list of lines, joined with CRLF as the Python ftw did (go-ftw reads a string only)
    const text = Array.isArray(d) ? d.map((l) => str(l, 'input.data line') ?? '').join('\r\n') : str(d, 'input.data');
    if (text === undefined) return null;
    return Buffer.from(expandTemplate(text), 'utf8');
  }
  const enc = str(input['encoded_data'], 'input.encoded_data');
  return enc === undefined ? null : base64(enc, 'input.encoded_data');
}

function responseOf(v: unknown, node: unknown): ReflectSpec | null {
  if (v === undefined || v === null) return null;
  if (!isObj(v)) throw new Error('input.response must be a mapping');
  const status = v['status'] === undefined ? 200 : Number(v['status']);
  if (!Number.isInteger(status) || status < 100 || status > 599) throw new Error('input.response.status must be a status');
  const enc = str(v['encoded_body'], 'input.response.encoded_body');
  const body = enc !== undefined ? base64(enc, 'input.response.encoded_body') : Buffer.from(str(v['body'], 'input.response.body') ?? '', 'utf8');
  const headersNode = isMap(node) ? node.get('headers', true) : undefined;
  return { status, headers: headersOf(headersNode, 'input.response.headers'), body };
}

function inputOf(input: Obj, node: unknown): FtwInput {
  const stopMagic = bool(input['stop_magic'], 'input.stop_magic');
  const autocomplete = bool(input['autocomplete_headers'], 'input.autocomplete_headers');
  const getNode = (k: string): unknown => (isMap(node) ? node.get(k, true) : undefined);
  const ordered = getNode('ordered_headers');
  const headers = headersOf(ordered ?? getNode('headers'), ordered !== undefined ? 'input.ordered_headers' : 'input.headers');
  const encoded = str(input['encoded_request'], 'input.encoded_request');
  const data = dataOf(input);
  if (encoded !== undefined && encoded !== '' && data !== null && data.length > 0) throw new Error("'data' and 'encoded_request' must not be set together");
  return {
    method: str(input['method'], 'input.method') ?? 'GET',
    uri: str(input['uri'], 'input.uri') ?? '/',
    version: str(input['version'], 'input.version') ?? 'HTTP/1.1',
    headers,
    data,
    encodedRequest: encoded === undefined || encoded === '' ? null : base64(encoded, 'input.encoded_request'),
    // go-ftw: autocomplete_headers when given, else the opposite of stop_magic, else true
    autocompleteHeaders: autocomplete ?? (stopMagic === undefined ? true : !stopMagic),
    saveCookie: bool(input['save_cookie'], 'input.save_cookie') ?? false,
    response: responseOf(input['response'], getNode('response')),
  };
}

/** Reads an `output` mapping (also used for the `output` of an override). */
export function outputOf(output: unknown): FtwOutput {
  const o = isObj(output) ? output : {};
  const log = isObj(o['log']) ? o['log'] : {};
  const expectIds = [...ids(log['expect_ids'], 'output.log.expect_ids'), ...ids(log['expect_id'], 'output.log.expect_id')];
  const noExpectIds = [...ids(log['no_expect_ids'], 'output.log.no_expect_ids'), ...ids(log['no_expect_id'], 'output.log.no_expect_id')];
  let matchRegex = str(log['match_regex'], 'output.log.match_regex') ?? null;
  let noMatchRegex = str(log['no_match_regex'], 'output.log.no_match_regex') ?? null;
  // go-ftw (test/types.go): log_contains stands for match_regex when neither it nor expect_ids is given
  const logContains = str(o['log_contains'], 'output.log_contains');
  if (logContains && expectIds.length === 0 && matchRegex === null) matchRegex = logContains;
  const noLogContains = str(o['no_log_contains'], 'output.no_log_contains');
  if (noLogContains && noExpectIds.length === 0 && noMatchRegex === null) noMatchRegex = noLogContains;
  const isolated = bool(o['isolated'], 'output.isolated') ?? false;
  if (isolated && expectIds.length !== 1) throw new Error("'isolated' needs exactly one id in 'expect_ids'");
  return {
    status: statuses(o['status']),
    responseContains: str(o['response_contains'], 'output.response_contains') || null,
    expectIds,
    noExpectIds,
    matchRegex: matchRegex || null,
    noMatchRegex: noMatchRegex || null,
    expectError: bool(o['expect_error'], 'output.expect_error') ?? false,
    retryOnce: bool(o['retry_once'], 'output.retry_once') ?? false,
    isolated,
  };
}

function ruleIdOf(top: Obj, file: string): string {
  const r = top['rule_id'];
  if (typeof r === 'number' && Number.isInteger(r) && r > 0) return String(r);
  if (typeof r === 'string' && r.length > 0) return r;
  // go-ftw falls back on the first number in the file name
  const m = /\d+/.exec(basename(file));
  if (m === null) throw new Error('rule_id is missing (and the file name holds no number)');
  return m[0];
}

export interface ParsedFile {
  readonly file: FtwFile;
  /** tests that could not be read, each with its reason (the others are kept) */
  readonly errors: readonly string[];
}

/**
 * Parses one test file. A file that is not YAML, or holds no tests mapping, throws FtwParseError;
 * a test that cannot be read is left out and named in `errors`. An empty file (all comments) has no tests.
 */
export function parseFtwFile(text: string, file: string): ParsedFile {
  if (text.length > MAX_FILE_BYTES) throw new FtwParseError(file, `larger than ${MAX_FILE_BYTES} bytes`);
  let doc: Document;
  try {
    doc = parseDocument(text, { uniqueKeys: false, prettyErrors: false });
  } catch (e) {
    throw new FtwParseError(file, (e as Error).message);
  }
  if (doc.errors.length > 0) throw new FtwParseError(file, `YAML: ${doc.errors[0]?.message.split('\n')[0] ?? 'syntax error'}`);
  const top = doc.toJS({ maxAliasCount: 100 }) as unknown;
  if (top === null || top === undefined) return { file: { file, ruleId: '', tests: [] }, errors: [] };
  if (!isObj(top)) throw new FtwParseError(file, 'a test file must be a mapping');
  let ruleId: string;
  try {
    ruleId = ruleIdOf(top, file);
  } catch (e) {
    throw new FtwParseError(file, (e as Error).message);
  }
  const list = top['tests'];
  if (!Array.isArray(list)) throw new FtwParseError(file, "'tests' must be a list");
  const tests: FtwTest[] = [];
  const errors: string[] = [];
  list.forEach((t, i) => {
    const where = `${file}: tests[${i}]`;
    try {
      if (!isObj(t)) throw new Error('a test must be a mapping');
      const rawId = t['test_id'] ?? t['id'];
      const testId = rawId === undefined ? i + 1 : Number(rawId);
      if (!Number.isInteger(testId) || testId < 0) throw new Error('test_id must be a number');
      const stagesRaw = t['stages'];
      if (!Array.isArray(stagesRaw) || stagesRaw.length === 0) throw new Error("'stages' must be a non-empty list");
      const stages: FtwStage[] = stagesRaw.map((s, j) => {
        if (!isObj(s)) throw new Error(`stages[${j}] must be a mapping`);
        const legacy = isObj(s['stage']);
        const body = legacy ? (s['stage'] as Obj) : s;
        const node = doc.getIn(legacy ? ['tests', i, 'stages', j, 'stage', 'input'] : ['tests', i, 'stages', j, 'input'], true);
        try {
          return { input: inputOf(isObj(body['input']) ? body['input'] : {}, node), output: outputOf(body['output']) };
        } catch (e) {
          throw new Error(`stages[${j}]: ${(e as Error).message}`);
        }
      });
      const description = str(t['desc'] ?? t['description'] ?? t['test_title'], 'desc') ?? '';
      tests.push({ ruleId, testId, description, stages });
    } catch (e) {
      errors.push(`${where}: ${(e as Error).message}`);
    }
  });
  return { file: { file, ruleId, tests }, errors };
}
