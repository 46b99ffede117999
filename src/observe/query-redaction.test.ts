import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { canonicalParamName, DEFAULT_REDACT_QUERY, QueryRedaction, REDACTED } from './query-redaction.js';

const defaults = new QueryRedaction(DEFAULT_REDACT_QUERY);

test('names are compared case-insensitively, percent-decoded (repeatedly), with + as a space', () => {
  for (const [raw, want] of [
    ['Access%5FToken', 'access_token'],
    ['%2561ccess_token', 'access_token'],
    ['%252561ccess_token', 'access_token'],
    ['ACCESS_TOKEN', 'access_token'],
    ['a+b', 'a b'],
    ['access%5Ftoken%', 'access_token%'],
    ['%ZZpass%77ord', '%zzpassword'],
    ['%C3%A9t%C3%A9', 'été'],
  ] as const) {
    assert.equal(canonicalParamName(raw), want, raw);
  }
});

test('every spelling of a secret name has its value redacted, and only its value', () => {
  const cases: [string, string][] = [
    ['refresh_token=abc&x=1', `refresh_token=${REDACTED}&x=1`],
    ['client_secret=abc', `client_secret=${REDACTED}`],
    ['Password=abc', `Password=${REDACTED}`],
    ['passwd=abc&pwd=def', `passwd=${REDACTED}&pwd=${REDACTED}`],
    ['session=abc&JSESSIONID=def&sessionid=ghi', `session=${REDACTED}&JSESSIONID=${REDACTED}&sessionid=${REDACTED}`],
    ['Access%5FToken=abc', `Access%5FToken=${REDACTED}`],
    ['access_token%=abc', `access_token%=${REDACTED}`],
    ['%ZZpassword=abc', `%ZZpassword=${REDACTED}`],
    ['token[]=abc&token[]=def', `token[]=${REDACTED}&token[]=${REDACTED}`],
    ['password[0]=abc', `password[0]=${REDACTED}`],
    ['user[password]=abc', `user[password]=${REDACTED}`],
    ['user.password=abc', `user.password=${REDACTED}`],
    ['a=1;password=abc', `a=1;password=${REDACTED}`],
    [
      'X-Amz-Signature=abc&X-Amz-Credential=def&X-Amz-Security-Token=ghi',
      `X-Amz-Signature=${REDACTED}&X-Amz-Credential=${REDACTED}&X-Amz-Security-Token=${REDACTED}`,
    ],
    ['authToken=abc', `authToken=${REDACTED}`],
    ['new_password=abc', `new_password=${REDACTED}`],
    ['code=abc&state=xyz', `code=${REDACTED}&state=xyz`],
    ['pass+word=abc', `pass+word=${REDACTED}`], // PHP reads `pass_word`; `word` alone is no secret, `pass` is
    ['q=password&page=2', 'q=password&page=2'],
    ['password=&x=1', 'password=&x=1'],
    ['password', 'password'],
    ['keyword=abc&monkey=1&sort=key', 'keyword=abc&monkey=1&sort=key'],
  ];
  for (const [q, want] of cases) assert.equal(defaults.redact(q), want, q);
});

test('PHP readings of dots, spaces and an open bracket as underscores are secret names too', () => {
  const r = new QueryRedaction(['access_token']);
  for (const name of ['access.token', 'access+token', 'access%20token', 'access[token', 'ACCESS.TOKEN']) {
    assert.equal(r.redact(`${name}=abc`), `${name}=${REDACTED}`, name);
  }
  assert.equal(r.redact('access-token=abc'), 'access-token=abc', 'no framework reads - as _');
});

test('a query without a secret parameter is returned as the same string', () => {
  const q = 'page=2&limit=10&sort=name';
  assert.equal(defaults.redact(q), q);
  assert.equal(defaults.redact(''), '');
  assert.equal(new QueryRedaction([]).redact('password=abc'), 'password=abc');
});

test('WAF targets showing a secret value are recognised', () => {
  assert.ok(defaults.secretTarget('query:password', ''));
  assert.ok(defaults.secretTarget('query:user[password]', ''));
  assert.ok(defaults.secretTarget('form:client_secret', ''));
  assert.ok(defaults.secretTarget('json:/user/password', ''));
  assert.ok(defaults.secretTarget('json:/refresh_token/0', ''));
  assert.ok(defaults.secretTarget('uri', 'a=1&password=x'));
  assert.ok(!defaults.secretTarget('uri', 'a=1&q=password'));
  assert.ok(!defaults.secretTarget('query:q', 'password=x'));
  assert.ok(!defaults.secretTarget('query_name:password', ''));
  assert.ok(!defaults.secretTarget('path', 'password=x'));
});

/** The exact check alone, without the whole-query probe: what redact() must equal. */
function reference(r: QueryRedaction, query: string): string {
  if (query === '') return query;
  return query.replace(/[^&;]+/g, (part) => {
    const eq = part.indexOf('=');
    return eq >= 0 && eq + 1 < part.length && r.isSecretName(part.slice(0, eq)) ? `${part.slice(0, eq + 1)}${REDACTED}` : part;
  });
}

test('the cheap whole-query probe never skips a query the exact check would redact', () => {
  const lists = [DEFAULT_REDACT_QUERY, ['access_token', 'k3y', '*_pin', 'a.b'], ['x_y']];
  const chars = fc.constantFrom(
    ...'abcdefghijklmnopqrstuvwxyzAKPST_-.[] ;&=%+0123456789'.split(''),
    'password',
    'token',
    'access',
    'k3y',
    'pin',
    'x',
    'y',
    '%5F',
    '%2e',
  );
  const query = fc.array(chars, { maxLength: 40 }).map((a) => a.join(''));
  for (const list of lists) {
    const r = new QueryRedaction(list);
    fc.assert(
      fc.property(query, (q) => {
        assert.equal(r.redact(q), reference(r, q));
      }),
      { numRuns: 3000 },
    );
  }
});

test('a secret value never survives any case, percent-encoding, bracket suffix or separator of its name', () => {
  const names = fc.constantFrom(
    'refresh_token',
    'client_secret',
    'password',
    'passwd',
    'pwd',
    'session',
    'jsessionid',
    'api_key',
    'access_token',
    'private_key',
    'otp',
  );
  const spelling = fc
    .tuple(names, fc.array(fc.nat(3), { minLength: 20, maxLength: 20 }), fc.constantFrom('', '[]', '[0]', '[x]'), fc.boolean())
    .map(([n, picks, suffix, nest]) => {
      let out = '';
      for (let i = 0; i < n.length; i++) {
        const c = n[i] as string;
        const hex = `%${c.charCodeAt(0).toString(16).toUpperCase()}`;
        const p = picks[i % picks.length] as number;
        out += p === 0 ? c : p === 1 ? c.toUpperCase() : p === 2 ? hex : `%25${hex.slice(1)}`;
      }
      return nest ? `user[${out}]${suffix}` : `${out}${suffix}`;
    });
  const value = fc.stringMatching(/^[A-Za-z0-9]{8,24}$/).map((v) => `SECRETVALUE${v}`);
  fc.assert(
    fc.property(spelling, value, fc.constantFrom('&', ';'), (name, v, sep) => {
      const out = defaults.redact(`page=1${sep}${name}=${v}${sep}x=2`);
      assert.ok(!out.includes(v), out);
      assert.ok(out.startsWith('page=1') && out.endsWith('x=2'), out);
    }),
    { numRuns: 3000 },
  );
});
