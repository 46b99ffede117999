import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import fc from 'fast-check';
import { MemoryStore } from '../../../store/memory.js';
import type { StateStore } from '../../../core/state.js';
import { buildDirectory } from '../consumers.js';
import { predatesEpoch } from '../replay-epoch.js';
import { parseDictionary, serializeDictionary, type InnerList } from './structured-fields.js';
import { checkContentDigest, contentDigest, secretBytes, signatureBase, type MessageView } from './signature-base.js';
import { messageViewFor, signRequest, type SignOptions } from './signature-sign.js';
import { consumeNonce, missingRequired, nonceKey, signatureSettings, verifySignedRequest, type SignedRequest } from './signature.js';

// --- RFC 9421 Appendix B.2 test request --------------------------------------------------------
// POST /foo?param=Value&Pet=dog HTTP/1.1, Host: example.com, body {"hello": "world"}
const RFC_BODY = '{"hello": "world"}';
const RFC_HEADERS: Record<string, string> = {
  host: 'example.com',
  date: 'Tue, 20 Apr 2021 02:07:55 GMT',
  'content-type': 'application/json',
  'content-digest': 'sha-512=:WZDPaVn/7XgHaAy8pmojAkGWoRx2UFChF41A2svX+TaPm+AbwAgBWnrIiYllu7BNNyealdVLvRwEmTHWXvJwew==:',
  'content-length': '18',
};
const RFC_MSG: MessageView = messageViewFor('POST', new URL('http://example.com/foo?param=Value&Pet=dog'), RFC_HEADERS);
const RFC_SHARED_SECRET = 'base64:uzvJfB4u3N0Jy4T7NZ75MDVcr8zSTInedJtkgcu46YW4XByzNJjxBdtjUkdJPBtbmHhIDi6pcl8jsasjlTMtDQ==';

function params(sigInput: string, label: string): InnerList {
  const m = parseDictionary(sigInput).get(label);
  assert.ok(m && m.kind === 'list');
  return m;
}

describe('signature base (RFC 9421 appendix B.2 vectors)', () => {
  const vectors: [string, string, string][] = [
    [
      'B.2.1 minimal coverage',
      'sig-b21=();created=1618884473;keyid="test-key-rsa-pss";nonce="b3k2pp5k7z-50gnwp.yemd"',
      '"@signature-params": ();created=1618884473;keyid="test-key-rsa-pss";nonce="b3k2pp5k7z-50gnwp.yemd"',
    ],
    [
      'B.2.2 selective coverage with @query-param',
      'sig-b22=("@authority" "content-digest" "@query-param";name="Pet");created=1618884473;keyid="test-key-rsa-pss";tag="header-example"',
      [
        '"@authority": example.com',
        '"content-digest": sha-512=:WZDPaVn/7XgHaAy8pmojAkGWoRx2UFChF41A2svX+TaPm+AbwAgBWnrIiYllu7BNNyealdVLvRwEmTHWXvJwew==:',
        '"@query-param";name="Pet": dog',
        '"@signature-params": ("@authority" "content-digest" "@query-param";name="Pet");created=1618884473;keyid="test-key-rsa-pss";tag="header-example"',
      ].join('\n'),
    ],
    [
      'B.2.3 full coverage',
      'sig-b23=("date" "@method" "@path" "@query" "@authority" "content-type" "content-digest" "content-length");created=1618884473;keyid="test-key-rsa-pss"',
      [
        '"date": Tue, 20 Apr 2021 02:07:55 GMT',
        '"@method": POST',
        '"@path": /foo',
        '"@query": ?param=Value&Pet=dog',
        '"@authority": example.com',
        '"content-type": application/json',
        '"content-digest": sha-512=:WZDPaVn/7XgHaAy8pmojAkGWoRx2UFChF41A2svX+TaPm+AbwAgBWnrIiYllu7BNNyealdVLvRwEmTHWXvJwew==:',
        '"content-length": 18',
        '"@signature-params": ("date" "@method" "@path" "@query" "@authority" "content-type" "content-digest" "content-length");created=1618884473;keyid="test-key-rsa-pss"',
      ].join('\n'),
    ],
    [
      'B.2.5 hmac-sha256',
      'sig-b25=("date" "@authority" "content-type");created=1618884473;keyid="test-shared-secret"',
      [
        '"date": Tue, 20 Apr 2021 02:07:55 GMT',
        '"@authority": example.com',
        '"content-type": application/json',
        '"@signature-params": ("date" "@authority" "content-type");created=1618884473;keyid="test-shared-secret"',
      ].join('\n'),
    ],
  ];
  for (const [name, input, base] of vectors) {
    it(`builds the published base of ${name}`, () => {
      const label = input.slice(0, input.indexOf('='));
      assert.equal(signatureBase(RFC_MSG, params(input, label)), base);
    });
  }

  it('reproduces the published B.2.5 HMAC-SHA256 signature', () => {
    const base = signatureBase(RFC_MSG, params('sig-b25=("date" "@authority" "content-type");created=1618884473;keyid="test-shared-secret"', 'sig-b25'));
    const mac = createHmac('sha256', secretBytes(RFC_SHARED_SECRET)).update(base).digest('base64');
    assert.equal(mac, 'pxcQw6G3AjtMBQjwo8XzkZf/bws5LelbaMk5rGIGtE8=');
  });

  it('derives @target-uri, @request-target and @scheme, dropping a default port from the authority', () => {
    const msg = messageViewFor('GET', new URL('https://www.example.com:443/path?param=value'), {});
    const base = signatureBase(msg, params('s=("@target-uri" "@request-target" "@scheme" "@authority");created=1', 's'));
    assert.equal(
      base.split('\n').slice(0, 4).join('\n'),
      [
        '"@target-uri": https://www.example.com/path?param=value',
        '"@request-target": /path?param=value',
        '"@scheme": https',
        '"@authority": www.example.com',
      ].join('\n'),
    );
  });

  const unresolvable: [string, string][] = [
    ['a covered field that is absent', 's=("x-missing");created=1'],
    ['a component listed twice', 's=("@method" "@method");created=1'],
    ['an unsupported derived component', 's=("@status");created=1'],
    ['a field with an unsupported parameter', 's=("content-type";sf);created=1'],
    ['a component name in uppercase', 's=("Content-Type");created=1'],
    ['a component that is not a string', 's=(method);created=1'],
    ['@query-param without a name', 's=("@query-param");created=1'],
    ['@query-param naming an absent parameter', 's=("@query-param";name="nope");created=1'],
  ];
  for (const [name, input] of unresolvable) {
    it(`refuses to build a base with ${name}`, () => {
      assert.throws(() => signatureBase(RFC_MSG, params(input, 's')));
    });
  }
});

describe('Content-Digest (RFC 9530)', () => {
  const body = Buffer.from(RFC_BODY);
  const cases: [string, string, boolean][] = [
    ['the RFC 9530 sha-256 example', 'sha-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=:', true],
    ['the RFC 9421 sha-512 example', RFC_HEADERS['content-digest'] as string, true],
    ['both algorithms', `${contentDigest(body, 'sha-256')}, ${contentDigest(body, 'sha-512')}`, true],
    ['an unknown algorithm next to a good one', `md5=:AAAA:, ${contentDigest(body)}`, true],
    ['a digest of another body', contentDigest('{"hello": "world!"}'), false],
    ['one good and one bad algorithm', `${contentDigest(body, 'sha-256')}, sha-512=:AAAA:`, false],
    ['only unknown algorithms', 'md5=:AAAA:', false],
    ['a digest that is not a byte sequence', 'sha-256="abc"', false],
    ['a malformed field', 'sha-256=:abc', false],
  ];
  for (const [name, value, ok] of cases) {
    it(`${ok ? 'accepts' : 'refuses'} ${name}`, () => {
      assert.equal(checkContentDigest(value, body).ok, ok);
    });
  }
});

// --- verifier decisions --------------------------------------------------------------------------

const SECRET = 'sig-secret-0123456789-0123456789-abcdef';
const dir = buildDirectory([
  { id: 'billing', tenant: 'acme', plan: 'gold', credentials: { signature_keys: [{ key_id: 'billing-1', secret: SECRET, disabled: false }] } },
  { id: 'old', credentials: { signature_keys: [{ key_id: 'old-1', secret: SECRET, disabled: true }] } },
  { id: 'b25', credentials: { signature_keys: [{ key_id: 'test-shared-secret', secret: RFC_SHARED_SECRET, disabled: false }] } },
]);
const NOW = 1_800_000_000_000;
const settings = signatureSettings({});

interface Req {
  method: string;
  url: string;
  headers: Record<string, string>;
  body: Buffer;
}

function sign(o: Partial<SignOptions> = {}, req: Partial<Req> = {}): Req {
  const method = req.method ?? 'POST';
  const url = req.url ?? 'https://api.example.com/orders?id=7';
  const body = req.body ?? Buffer.from('{"qty":1}');
  const headers = { ...(req.headers ?? {}) };
  const h = signRequest({ method, url, body, headers, keyId: 'billing-1', secret: SECRET, created: NOW / 1000, nonce: 'n-1', ...o });
  for (const [k, v] of Object.entries(h)) if (v !== undefined) headers[k] = v;
  return { method, url, headers, body };
}

function asSigned(r: Req): SignedRequest {
  return {
    signatureInput: r.headers['signature-input'],
    signature: r.headers['signature'],
    contentDigest: r.headers['content-digest'],
    body: r.body,
    message: messageViewFor(r.method, new URL(r.url), r.headers),
  };
}

function code(res: ReturnType<typeof verifySignedRequest>): string {
  return res.kind === 'fail' ? res.deny.code : res.kind;
}

describe('signature verifier decisions', () => {
  it('verifies a valid signed request and maps its key to the consumer', () => {
    const res = verifySignedRequest(asSigned(sign()), dir, settings, NOW);
    assert.equal(res.kind, 'verified');
    assert.ok(res.kind === 'verified');
    assert.equal(res.sig.identity.consumer, 'billing');
    assert.equal(res.sig.identity.tenant, 'acme');
    assert.equal(res.sig.identity.method, 'signature');
    assert.equal(res.sig.nonce, 'n-1');
  });

  it('verifies the RFC 9421 B.2.5 request when its covered components are required', () => {
    const r: SignedRequest = {
      signatureInput: 'sig-b25=("date" "@authority" "content-type");created=1618884473;keyid="test-shared-secret"',
      signature: 'sig-b25=:pxcQw6G3AjtMBQjwo8XzkZf/bws5LelbaMk5rGIGtE8=:',
      contentDigest: RFC_HEADERS['content-digest'],
      body: Buffer.from(RFC_BODY),
      message: RFC_MSG,
    };
    const s = signatureSettings({ nonce: { required: false }, required_components: ['@authority'] });
    const res = verifySignedRequest(r, dir, s, 1618884473_000);
    assert.equal(code(res), 'verified');
  });

  it('reports a request without signature headers as absent', () => {
    const r = sign();
    delete r.headers['signature'];
    delete r.headers['signature-input'];
    assert.equal(code(verifySignedRequest(asSigned(r), dir, settings, NOW)), 'absent');
  });

  const refused: [string, () => Req, string, number?][] = [
    ['a tampered body', () => ({ ...sign(), body: Buffer.from('{"qty":9}') }), 'PC_ERR_AUTH_DIGEST_MISMATCH'],
    ['a tampered path', () => ({ ...sign(), url: 'https://api.example.com/admin?id=7' }), 'PC_ERR_AUTH_SIGNATURE_INVALID'],
    ['a tampered query', () => ({ ...sign(), url: 'https://api.example.com/orders?id=8' }), 'PC_ERR_AUTH_SIGNATURE_INVALID'],
    ['a tampered method', () => ({ ...sign(), method: 'DELETE' }), 'PC_ERR_AUTH_SIGNATURE_INVALID'],
    ['another host', () => ({ ...sign(), url: 'https://evil.example.com/orders?id=7' }), 'PC_ERR_AUTH_SIGNATURE_INVALID'],
    ['a created time older than the skew window', () => sign({ created: NOW / 1000 - 61 }), 'PC_ERR_AUTH_SIGNATURE_STALE'],
    ['a created time in the future beyond the skew window', () => sign({ created: NOW / 1000 + 61 }), 'PC_ERR_AUTH_SIGNATURE_STALE'],
    ['an expires time in the past', () => sign({ expires: NOW / 1000 - 1 }), 'PC_ERR_AUTH_SIGNATURE_STALE'],
    ['a wrong secret', () => sign({ secret: `${SECRET}x` }), 'PC_ERR_AUTH_SIGNATURE_INVALID'],
    ['an unknown keyid', () => sign({ keyId: 'nobody' }), 'PC_ERR_AUTH_SIGNATURE_INVALID'],
    ['a disabled key', () => sign({ keyId: 'old-1' }), 'PC_ERR_AUTH_SIGNATURE_INVALID'],
    ['no nonce', () => sign({ nonce: false }), 'PC_ERR_AUTH_SIGNATURE_INVALID'],
    ['a signature not covering @method', () => sign({ components: ['@target-uri', 'content-digest'] }), 'PC_ERR_AUTH_SIGNATURE_INVALID'],
    ['a body signed without covering content-digest', () => sign({ components: ['@method', '@target-uri'] }), 'PC_ERR_AUTH_SIGNATURE_INVALID'],
    ['a body without Content-Digest', () => sign({ digest: false, components: ['@method', '@target-uri'] }), 'PC_ERR_AUTH_SIGNATURE_INVALID'],
    [
      'an algorithm other than hmac-sha256',
      () => {
        const r = sign();
        r.headers['signature-input'] = `${r.headers['signature-input'] as string};alg="rsa-pss-sha512"`;
        return r;
      },
      'PC_ERR_AUTH_SIGNATURE_INVALID',
    ],
    [
      'only Signature-Input',
      () => {
        const r = sign();
        delete r.headers['signature'];
        return r;
      },
      'PC_ERR_AUTH_SIGNATURE_MISSING',
    ],
    [
      'labels that do not pair up',
      () => {
        const r = sign();
        r.headers['signature'] = (r.headers['signature'] as string).replace('sig1=', 'sig2=');
        return r;
      },
      'PC_ERR_AUTH_SIGNATURE_INVALID',
    ],
    [
      'a truncated signature',
      () => {
        const r = sign();
        r.headers['signature'] = 'sig1=:AAAA:';
        return r;
      },
      'PC_ERR_AUTH_SIGNATURE_INVALID',
    ],
    [
      'a malformed Signature-Input',
      () => {
        const r = sign();
        r.headers['signature-input'] = 'sig1=("@method"';
        return r;
      },
      'PC_ERR_AUTH_SIGNATURE_INVALID',
    ],
    [
      'an oversized Signature-Input',
      () => {
        const r = sign();
        r.headers['signature-input'] = `${r.headers['signature-input'] as string};x="${'a'.repeat(5000)}"`;
        return r;
      },
      'PC_ERR_AUTH_SIGNATURE_INVALID',
    ],
    [
      'a created parameter that is a string',
      () => {
        const r = sign();
        r.headers['signature-input'] = (r.headers['signature-input'] as string).replace(/created=(\d+)/, 'created="$1"');
        return r;
      },
      'PC_ERR_AUTH_SIGNATURE_INVALID',
    ],
  ];
  for (const [name, make, want] of refused) {
    it(`refuses ${name} with ${want}`, () => {
      assert.equal(code(verifySignedRequest(asSigned(make()), dir, settings, NOW)), want);
    });
  }

  it('accepts @path + @query + @authority in place of @target-uri', () => {
    const r = sign({ components: ['@method', '@path', '@query', '@authority', 'content-digest'] });
    assert.equal(code(verifySignedRequest(asSigned(r), dir, settings, NOW)), 'verified');
  });

  it('waives content-digest for a request without a body', () => {
    const r = sign({}, { method: 'GET', body: Buffer.alloc(0) });
    assert.equal(r.headers['content-digest'], undefined);
    assert.equal(code(verifySignedRequest(asSigned(r), dir, settings, NOW)), 'verified');
  });

  it('accepts a signature at the edge of the skew window', () => {
    assert.equal(code(verifySignedRequest(asSigned(sign({ created: NOW / 1000 - 60 })), dir, settings, NOW)), 'verified');
    assert.equal(code(verifySignedRequest(asSigned(sign({ created: NOW / 1000 + 60 })), dir, settings, NOW)), 'verified');
  });

  it('verifies the second label when the first one is from a key it does not know', () => {
    const r = sign();
    const other = signRequest({ method: r.method, url: r.url, body: r.body, keyId: 'proxy-key', secret: 'x'.repeat(40), created: NOW / 1000, label: 'proxy' });
    r.headers['signature-input'] = `${other['signature-input']}, ${r.headers['signature-input'] as string}`;
    r.headers['signature'] = `${other.signature}, ${r.headers['signature'] as string}`;
    assert.equal(code(verifySignedRequest(asSigned(r), dir, settings, NOW)), 'verified');
  });

  it('lets a route require components beyond the global ones', () => {
    const r = sign();
    assert.equal(
      code(verifySignedRequest(asSigned(r), dir, settings, NOW, ['@method', '@target-uri', 'content-digest', 'content-type'])),
      'PC_ERR_AUTH_SIGNATURE_INVALID',
    );
  });

  it('tells which required component is missing', () => {
    assert.equal(missingRequired(['@method'], ['@method', '@target-uri'], false), '@target-uri');
    assert.equal(missingRequired(['@method', '@request-target', '@authority'], ['@method', '@target-uri'], false), null);
    assert.equal(missingRequired(['@method', '@target-uri'], ['@method', '@target-uri', 'content-digest'], true), 'content-digest');
  });
});

describe('signature nonces', () => {
  const verified = () => {
    const res = verifySignedRequest(asSigned(sign({ nonce: `n-${Math.random()}` })), dir, settings, NOW);
    assert.ok(res.kind === 'verified');
    return res.sig;
  };

  it('accepts a nonce once and refuses its replay', async () => {
    const store = new MemoryStore({ maxEntries: 100 });
    const sig = verified();
    assert.equal((await consumeNonce(sig, store, settings)).kind, 'ok');
    const again = await consumeNonce(sig, store, settings);
    assert.equal(again.kind === 'fail' && again.deny.code, 'PC_ERR_AUTH_SIGNATURE_REPLAYED');
  });

  it('keeps a nonce at least twice the skew window', async () => {
    const s = signatureSettings({ skew_seconds: 120, nonce: { ttl_seconds: 10 } });
    assert.equal(s.nonceTtlMs, 240_000);
    let ttl = 0;
    const store = {
      once: async (_k: string, t: number) => {
        ttl = t;
        return true;
      },
    } as unknown as StateStore;
    await consumeNonce(verified(), store, s);
    assert.equal(ttl, 240_000);
  });

  it('refuses a nonce-checked signature created before the memory store began, to the exact second, with no skew allowance', async () => {
    const sig = verified(); // created = NOW / 1000
    const refused = await consumeNonce(sig, new MemoryStore({ maxEntries: 10 }), settings, NOW + 1);
    assert.equal(refused.kind === 'fail' && refused.deny.code, 'PC_ERR_AUTH_PREDATES_START');
    assert.equal((await consumeNonce(sig, new MemoryStore({ maxEntries: 10 }), settings, NOW)).kind, 'ok');
    assert.equal((await consumeNonce(sig, new MemoryStore({ maxEntries: 10 }), settings, null)).kind, 'ok', 'no epoch (redis): unchanged');
    assert.equal(predatesEpoch(99, 100_000), true);
    assert.equal(predatesEpoch(100, 100_000), false);
    assert.equal(predatesEpoch(99, null), false);
  });

  it('fails closed with 503 when the store is unavailable', async () => {
    const store = { once: async () => Promise.reject(new Error('down')) } as unknown as StateStore;
    const res = await consumeNonce(verified(), store, settings);
    assert.equal(res.kind === 'fail' && res.deny.code, 'PC_ERR_AUTH_UNAVAILABLE');
  });

  it('derives bounded store keys that differ per key id', () => {
    const a = nonceKey('k1', 'x'.repeat(256));
    assert.ok(a.length < 64);
    assert.notEqual(nonceKey('k1', 'n'), nonceKey('k2', 'n'));
    assert.notEqual(nonceKey('k1', 'n\u0000x'), nonceKey('k1\u0000n', 'x'));
  });
});

describe('signature header mutations', () => {
  const canonical = (v: string): string | null => {
    try {
      return serializeDictionary(parseDictionary(v));
    } catch {
      return null;
    }
  };

  it('never verifies a request whose Signature-Input or Signature was changed to a different value', () => {
    const base = sign();
    fc.assert(
      fc.property(fc.constantFrom('signature-input', 'signature'), fc.nat(), fc.integer({ min: 0x20, max: 0x7e }), (header, pos, ch) => {
        const r: Req = { ...base, headers: { ...base.headers } };
        const v = r.headers[header] as string;
        const i = pos % v.length;
        r.headers[header] = v.slice(0, i) + String.fromCharCode(ch) + v.slice(i + 1);
        const res = verifySignedRequest(asSigned(r), dir, settings, NOW);
        if (res.kind === 'verified')
          assert.equal(canonical(r.headers[header] as string), canonical(v), `verified after ${header}[${i}] = ${String.fromCharCode(ch)}`);
      }),
      { numRuns: 3000 },
    );
  });
});
