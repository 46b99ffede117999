import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { IncomingMessage } from 'node:http';
import { extractToken, type TokenSources } from './extract.js';

const req = (pairs: [string, string][]): IncomingMessage => {
  const headers: Record<string, string> = {};
  for (const [k, v] of pairs) if (headers[k.toLowerCase()] === undefined) headers[k.toLowerCase()] = v;
  return { headers, rawHeaders: pairs.flat() } as unknown as IncomingMessage;
};

const src = (o: Partial<TokenSources> = {}): TokenSources => ({ header: 'authorization', cookie: 'at', query: 'access_token', queryEnabled: false, ...o });

const rows: { name: string; pairs: [string, string][]; query?: string; src?: Partial<TokenSources>; want: string }[] = [
  { name: 'no credentials', pairs: [], want: 'absent' },
  { name: 'bearer header', pairs: [['Authorization', 'Bearer abc']], want: 'token:abc' },
  { name: 'scheme in any case', pairs: [['Authorization', 'bEaReR abc']], want: 'token:abc' },
  { name: 'another scheme is not a bearer token', pairs: [['Authorization', 'Basic dXNlcjpwdw==']], want: 'absent' },
  { name: 'bare scheme', pairs: [['Authorization', 'Bearer']], want: 'PC_ERR_AUTH_TOKEN_MALFORMED' },
  {
    name: 'two Authorization headers',
    pairs: [
      ['Authorization', 'Bearer a'],
      ['authorization', 'Bearer b'],
    ],
    want: 'PC_ERR_AUTH_TOKEN_MULTIPLE',
  },
  { name: 'two tokens in one header', pairs: [['Authorization', 'Bearer a, Bearer b']], want: 'PC_ERR_AUTH_TOKEN_MULTIPLE' },
  { name: 'whitespace inside the token', pairs: [['Authorization', 'Bearer a b']], want: 'PC_ERR_AUTH_TOKEN_MALFORMED' },
  { name: 'cookie token', pairs: [['Cookie', 'x=1; at=tok']], want: 'token:tok' },
  {
    name: 'cookie and header',
    pairs: [
      ['Authorization', 'Bearer a'],
      ['Cookie', 'at=b'],
    ],
    want: 'PC_ERR_AUTH_TOKEN_MULTIPLE',
  },
  { name: 'two cookies of the name', pairs: [['Cookie', 'at=a; at=b']], want: 'PC_ERR_AUTH_TOKEN_MULTIPLE' },
  { name: 'query token while disabled', pairs: [], query: 'x=1&access_token=t', want: 'PC_ERR_AUTH_TOKEN_QUERY' },
  { name: 'query token while enabled', pairs: [], query: 'access_token=t%2E1', src: { queryEnabled: true }, want: 'token:t.1' },
  {
    name: 'query and header while enabled',
    pairs: [['Authorization', 'Bearer a']],
    query: 'access_token=t',
    src: { queryEnabled: true },
    want: 'PC_ERR_AUTH_TOKEN_MULTIPLE',
  },
  { name: 'a parameter merely containing the name', pairs: [], query: 'my_access_token=t', want: 'absent' },
  { name: 'custom header carries the bare token', pairs: [['X-Token', 'abc']], src: { header: 'x-token' }, want: 'token:abc' },
];

for (const r of rows) {
  test(`token extraction: ${r.name} → ${r.want}`, () => {
    const got = extractToken(req(r.pairs), r.query ?? '', src(r.src));
    const s = got.kind === 'absent' ? 'absent' : got.kind === 'token' ? `token:${got.token}` : got.error.code;
    assert.equal(s, r.want);
  });
}
