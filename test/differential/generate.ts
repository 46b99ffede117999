/**
 * A generator of ambiguous requests: the spellings that gateways and frameworks have been seen to
 * read differently. Paths in other case, with trailing or doubled slashes, dot segments, `;`
 * parameters and percent-encodings; query strings with repeated, bracketed, dotted, encoded,
 * empty and prototype names and malformed or non-UTF-8 encodings; Content-Type spellings with
 * parameters, quotes, whitespace, duplicates and charsets; JSON with duplicate and escaped keys;
 * form bodies like the query strings; content codings; repeated and override headers.
 */
import { gzipSync, deflateSync, brotliCompressSync } from 'node:zlib';
import fc from 'fast-check';

export interface GenRequest {
  readonly method: string;
  /** path and query as sent (the request target) */
  readonly target: string;
  /** extra request headers, as sent (names may repeat) */
  readonly headers: readonly (readonly [string, string])[];
  readonly body: Buffer | null;
  /** send the body with Transfer-Encoding: chunked */
  readonly chunked: boolean;
}

/** Mostly spellings a gateway forwards (and a framework may read otherwise), sometimes ones it must refuse. */
function mostly<T>(ok: readonly T[], hostile: readonly T[]): fc.Arbitrary<T> {
  return fc.oneof({ weight: 6, arbitrary: fc.constantFrom(...ok) }, { weight: 1, arbitrary: fc.constantFrom(...hostile) });
}

/** The generator's arbitraries; `hostile`: also spellings the gateway must refuse (ambiguous beyond repair). */
function build(hostile: boolean): fc.Arbitrary<GenRequest> {
  const pick = <T>(ok: readonly T[], bad: readonly T[]): fc.Arbitrary<T> => (hostile ? mostly(ok, bad) : fc.constantFrom(...ok));
  const segmentVariants = (s: string): fc.Arbitrary<string> =>
    fc.oneof(
      { weight: 3, arbitrary: fc.constant(s) },
      { weight: 1, arbitrary: fc.constant(s.toUpperCase()) },
      { weight: 1, arbitrary: fc.constant(s.charAt(0).toUpperCase() + s.slice(1)) },
      // a percent-encoded unreserved letter, upper or lower hex
      {
        weight: 1,
        arbitrary: fc.nat({ max: Math.max(0, s.length - 1) }).map((i) => `${s.slice(0, i)}%${s.charCodeAt(i).toString(16).toUpperCase()}${s.slice(i + 1)}`),
      },
      { weight: 1, arbitrary: fc.nat({ max: Math.max(0, s.length - 1) }).map((i) => `${s.slice(0, i)}%${s.charCodeAt(i).toString(16)}${s.slice(i + 1)}`) },
      { weight: hostile ? 1 : 0, arbitrary: fc.constantFrom(`${s};x=1`, `${s};`) },
    );

  const ID_VALUES = pick(
    [
      '1',
      '42',
      'abc',
      'ABC',
      'a.b',
      'a-b_c~',
      'caf%C3%A9',
      'caf%c3%a9',
      'a%20b',
      '%41',
      'a+b',
      '%2B',
      "a'b",
      'a%27b',
      'x%3By',
      '%E2%80%AE',
      'v1.2',
      '%2e',
      'a%2Eb',
      '%7E',
    ],
    ['%2F', '%252F', '%FF', '%zz', '..', '.', '%2E%2E', 'a%00', 'a%5C'],
  );

  const pathArb: fc.Arbitrary<string> = fc
    .tuple(
      fc.oneof(
        segmentVariants('items').map((s) => [s]),
        fc.tuple(segmentVariants('items'), ID_VALUES).map(([a, b]) => [a, b]),
        segmentVariants('admin').map((s) => [s]),
        fc.tuple(segmentVariants('other'), ID_VALUES).map(([a, b]) => [a, b]),
        fc.tuple(segmentVariants('items'), ID_VALUES, fc.constantFrom('x', 'parts', '')).map(([a, b, c]) => [a, b, c]),
      ),
      pick(['', '', '', '/', '/', '//', '/.', '/./'], ['/..', '/x/..']),
      pick(['/', '/', '/', '//', '/./'], ['/../']),
    )
    .map(([segs, tail, lead]) => `${lead}${segs.join('/')}${tail}`.replace(/^\/\/\//, '//'));

  /** Query and form names, URL-ready. */
  const NAMES = pick(
    [
      'limit',
      'sort',
      'a',
      'b',
      'A',
      'a[]',
      'a[0]',
      'a[1]',
      'a[21]',
      'a[b]',
      'a[b][c]',
      'a[b][c][d][e][f][g]',
      'a]b',
      'a.b',
      'a.b.c',
      'a[b].c',
      'a.b[c]',
      'x%20y',
      'x+y',
      '%C3%A9',
      '%61',
      'a%5Bb%5D',
      'a%5B%5D',
      'a%2Eb',
      'LIMIT',
      'a%3Db',
      'a%26b',
      'utf8',
      'a-b',
      'a_b',
      '0',
      '1[]',
    ],
    [
      'a[b]c',
      '[a]',
      'a[b',
      'toString',
      '__proto__',
      'constructor',
      'hasOwnProperty',
      'valueOf',
      'a[toString]',
      'a[__proto__]',
      '',
      '%5Ba%5D',
      '_method',
      'limit%00',
      '.a',
      'a..b',
      'a.toString',
    ],
  );
  /** Values, URL-ready (raw spaces are not sent). */
  const VALUES = pick(
    [
      '',
      '1',
      '1000',
      '-1',
      'x',
      'a%20b',
      'a+b',
      '%2B',
      '%20',
      '%C3%A9',
      '=',
      'a=b',
      '%26',
      '%3D',
      '%E2%9C%93',
      '%3B',
      "'",
      '%27',
      '[]',
      '%5B%5D',
      '0x10',
      '+1+',
      'DELETE',
      '%3Cscript%3E',
      'null',
      'true',
      '%F0%9F%98%80',
      'a,b',
      '%2C',
      '.',
      '..',
    ],
    ['%', '%zz', '%4', '%E9', '%FF', '%C0%AE', ';', '%ED%A0%80'],
  );

  const pairArb = fc.tuple(NAMES, VALUES, fc.constantFrom('=', '=', '=', ''));
  const pairsArb = fc
    .array(pairArb, { minLength: 1, maxLength: 6 })
    .chain((pairs) => pick(['&', '&', '&', '&&'], [';', '&amp;']).map((sep) => pairs.map(([n, v, eq]) => (eq === '' && v === '' ? n : `${n}=${v}`)).join(sep)));

  const queryArb: fc.Arbitrary<string> = fc.oneof(
    { weight: 2, arbitrary: fc.constant('') },
    { weight: 1, arbitrary: fc.constant('?') },
    { weight: 10, arbitrary: pairsArb.map((q) => `?${q}`) },
    { weight: 1, arbitrary: pairsArb.map((q) => `?${q}&`) },
    { weight: 1, arbitrary: pairsArb.map((q) => `?&${q}`) },
    { weight: hostile ? 1 : 0, arbitrary: pairsArb.map((q) => `??${q}`) },
  );

  const JSON_TYPES = pick(
    [
      'application/json',
      'Application/JSON',
      'application/json; charset=utf-8',
      'application/json;charset=UTF-8',
      'application/json; charset="utf-8"',
      'application/json; charset=utf8',
      'application/json; charset=us-ascii',
      'application/json ; charset=utf-8',
      'application/json;',
      'application/json; foo=bar',
      'application/json; charset="utf\\-8"',
      'application/vnd.api+json',
      'application/merge-patch+json',
      'text/json',
      'application/json; charset=utf-8; boundary=x',
    ],
    [
      'application/json; charset=utf-16',
      'application/json; charset=utf-7',
      'application/json; charset =utf-8',
      'application/json; charset= utf-8',
      'application/json; charset=utf-8; charset=utf-7',
      'json',
      'application/json, text/plain',
    ],
  );
  const FORM_TYPES = pick(
    [
      'application/x-www-form-urlencoded',
      'Application/X-WWW-Form-Urlencoded',
      'application/x-www-form-urlencoded; charset=utf-8',
      'application/x-www-form-urlencoded;charset=UTF-8',
    ],
    ['application/x-www-form-urlencoded; charset=iso-8859-1', 'application/x-www-form-urlencoded; charset=utf-8; charset=latin1'],
  );
  const OTHER_TYPES = pick(
    [
      'text/plain',
      'text/plain; charset=utf-8',
      'TEXT/PLAIN',
      'application/octet-stream',
      'application/xml',
      'application/x-ndjson',
      'multipart/form-data; boundary=X',
    ],
    ['text/plain; charset=latin1', 'text/plain; charset=utf-16'],
  );
  const ANY_TYPE = fc.oneof(JSON_TYPES, FORM_TYPES, OTHER_TYPES);

  const jsonKey = pick(
    ['a', 'b', 'name', 'price', 'toString', '\\u0061', 'a\\u0000', '', 'é', '\\ud800', 'a.b', 'a[b]'],
    ['__proto__', 'constructor', '\\u005f_proto__', '_method'],
  );
  const jsonScalar = fc.oneof(
    fc.constantFrom(
      '1',
      '-0',
      '1e400',
      '123456789012345678901234567890',
      '0.1',
      'true',
      'null',
      '"x"',
      '"\\u0027 or 1=1"',
      '"a\\"b"',
      '"\\ud83d\\ude00"',
      '"\\udc00"',
      '""',
    ),
    fc.string({ maxLength: 8 }).map((s) => JSON.stringify(s)),
  );
  const jsonObject: fc.Arbitrary<string> = fc
    .array(
      fc.tuple(
        jsonKey,
        fc.oneof(
          jsonScalar,
          jsonScalar.map((s) => `[${s}]`),
          fc.tuple(jsonKey, jsonScalar).map(([k, v]) => `{"${k}":${v}}`),
        ),
      ),
      { maxLength: 5 },
    )
    .map((kv) => `{${kv.map(([k, v]) => `"${k}":${v}`).join(',')}}`);
  const jsonBody: fc.Arbitrary<string> = fc.oneof(
    { weight: 12, arbitrary: jsonObject },
    { weight: 1, arbitrary: jsonScalar },
    { weight: 1, arbitrary: jsonObject.map((o) => `[${o},${o}]`) },
    { weight: 1, arbitrary: jsonObject.map((o) => `\ufeff${o}`) },
    { weight: 1, arbitrary: jsonObject.map((o) => ` \r\n${o}\n`) },
    { weight: hostile ? 1 : 0, arbitrary: fc.constantFrom('{"a":1,}', '{a:1}', "{'a':1}", '{"a":1}{"b":2}', '', '{"a":NaN}') },
  );

  const CODINGS = pick(
    ['', '', '', '', '', '', 'gzip', 'GZIP', 'x-gzip', 'deflate', 'br', 'identity', 'gzip, identity', 'gzip, gzip'],
    ['compress', 'gzip, gzip, gzip'],
  );

  function encodeBody(body: Buffer, coding: string): Buffer {
    const cs = coding
      .split(',')
      .map((c) => c.trim().toLowerCase())
      .filter((c) => c !== '' && c !== 'identity');
    let out = body;
    for (const c of cs) {
      if (c === 'gzip' || c === 'x-gzip') out = gzipSync(out);
      else if (c === 'deflate') out = deflateSync(out);
      else if (c === 'br') out = brotliCompressSync(out);
    }
    return out;
  }

  const EXTRA_HEADERS: readonly (readonly [string, string])[] = [
    ['x-http-method-override', 'DELETE'],
    ['x-original-url', '/admin'],
    ['x-rewrite-url', '/admin'],
    ['x-forwarded-prefix', '/admin'],
    ['x-real-ip', '10.0.0.1'],
    ['x-forwarded-for', '10.0.0.1'],
    ['accept', 'application/json'],
    ['x-custom', 'a'],
  ];

  const bodyArb: fc.Arbitrary<{ ct: readonly string[]; body: string | null }> = fc.oneof(
    { weight: 3, arbitrary: fc.constant({ ct: [] as readonly string[], body: null }) },
    { weight: 5, arbitrary: fc.tuple(JSON_TYPES, jsonBody).map(([ct, b]) => ({ ct: [ct], body: b })) },
    { weight: 4, arbitrary: fc.tuple(FORM_TYPES, pairsArb).map(([ct, b]) => ({ ct: [ct], body: b })) },
    { weight: 1, arbitrary: fc.tuple(ANY_TYPE, fc.oneof(jsonBody, pairsArb)).map(([ct, b]) => ({ ct: [ct], body: b })) },
    { weight: 1, arbitrary: fc.tuple(OTHER_TYPES, fc.string({ maxLength: 20 })).map(([ct, b]) => ({ ct: [ct], body: b })) },
    { weight: hostile ? 1 : 0, arbitrary: fc.tuple(ANY_TYPE, ANY_TYPE, jsonBody).map(([a, b, body]) => ({ ct: [a, b], body })) },
    { weight: 1, arbitrary: jsonBody.map((b) => ({ ct: [], body: b })) },
  );

  return fc
    .record({
      method: fc.constantFrom('GET', 'GET', 'POST', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS'),
      path: pathArb,
      query: queryArb,
      body: bodyArb,
      coding: CODINGS,
      chunked: fc.boolean(),
      extra: fc.subarray([...EXTRA_HEADERS], { maxLength: 3 }),
      dupExtra: fc.boolean(),
      dupType: fc.integer({ min: 0, max: 9 }),
    })
    .map(({ method, path, query, body, coding, chunked, extra, dupExtra }) => {
      const headers: [string, string][] = [];
      for (const ct of body.ct) headers.push(['content-type', ct]);
      for (const h of extra) {
        headers.push([h[0], h[1]]);
        if (dupExtra) headers.push([h[0], `${h[1]}2`]);
      }
      let buf: Buffer | null = body.body === null || method === 'HEAD' ? null : Buffer.from(body.body, 'utf8');
      if (buf !== null && coding !== '') {
        headers.push(['content-encoding', coding]);
        buf = encodeBody(buf, coding);
      }
      return { method, target: `${path}${query}`, headers, body: buf, chunked: chunked && buf !== null };
    });
}

/** Three requests in four use only spellings a gateway forwards (each read by frameworks), one in four also hostile ones. */
export const requestArb: fc.Arbitrary<GenRequest> = fc.oneof({ weight: 3, arbitrary: build(false) }, { weight: 1, arbitrary: build(true) });
