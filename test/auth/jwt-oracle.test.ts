/**
 * The JWT verifier against an oracle: the gateway's hand-written verifier (src/stages/auth/jwt/,
 * synchronous node:crypto) and jose's jwtVerify judge the same generated tokens, with the same keys,
 * allowed algorithms, issuer, audiences, required claims, typ, maximum age, clock tolerance and
 * current time, and must reach the same verdict. Two kinds of difference are allowed, each by a
 * named rule below checked on the token itself, case by case: the gateway refuses a token for a
 * documented check jose does not make (stricter:*), or both refuse and each names the first check
 * it made (order:*). A token one accepts and the other refuses for any other reason fails the test.
 *
 * Seeded: JWT_ORACLE_SEED=<n> replays a run (the seed is printed as a test diagnostic, and by
 * fast-check on a failure); JWT_ORACLE_RUNS=<n> changes the number of cases (default 5000).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isUtf8 } from 'node:buffer';
import { constants, createHash, createHmac, createPrivateKey, createPublicKey, generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import fc from 'fast-check';
import {
  createLocalJWKSet,
  decodeJwt,
  decodeProtectedHeader,
  errors,
  jwtVerify,
  type CryptoKey,
  type JWK,
  type JWTVerifyGetKey,
  type JWTVerifyOptions,
} from 'jose';
import { compileProvider, type JwtProviderConfig } from '../../src/stages/auth/verifiers/jwt.js';
import { verifyToken } from '../../src/stages/auth/jwt/verify.js';
import type { ErrorCode } from '../../src/core/errors.js';

const RUNS = Number(process.env.JWT_ORACLE_RUNS ?? 5000);
const SEED = process.env.JWT_ORACLE_SEED !== undefined ? Number(process.env.JWT_ORACLE_SEED) : (Date.now() ^ (Math.random() * 0x7fffffff)) | 0;

const ISSUER = 'https://issuer.oracle.test';
/** whole seconds; a case adds 0-999 ms to it */
const NOW_S = 1_900_000_000;
const ALGS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA', 'Ed25519', 'HS256', 'HS384', 'HS512'] as const;
type Alg = (typeof ALGS)[number];

// ---------------------------------------------------------------------------------------------
// Key material, generated once per run

type Kind = 'rsa' | 'rsa-pss' | 'ec' | 'ed25519' | 'ed448' | 'secret';

interface Material {
  readonly name: string;
  readonly kind: Kind;
  /** P-256, P-384, P-521 for EC keys */
  readonly crv?: string;
  /** signs tokens (an RSA-PSS key signs through its plain RSA twin: same modulus) */
  readonly signing: KeyObject | Buffer;
  /** the public key as the gateway is given it */
  readonly publicKey: KeyObject | null;
  /** the key as jose is given it: an RSA-PSS key becomes its rsaEncryption twin (WebCrypto imports no id-RSASSA-PSS key) */
  readonly joseKey: KeyObject | Uint8Array;
  /** public JWK (not for RSA-PSS, which JWK cannot express) */
  readonly jwk: Record<string, unknown> | null;
  /** secrets: the configured string */
  readonly secret?: string;
}

/** The DER content of the last member of a SEQUENCE: the RSAPublicKey of an SPKI, the RSAPrivateKey of a PKCS#8. */
function lastMember(der: Buffer): Buffer {
  let i = 0;
  const header = (): number => {
    i++;
    let n = der.readUInt8(i++);
    if (n & 0x80) {
      const k = n & 0x7f;
      n = 0;
      for (let j = 0; j < k; j++) n = n * 256 + der.readUInt8(i++);
    }
    return n;
  };
  header();
  let tag = 0;
  let start = 0;
  let len = 0;
  while (i < der.length) {
    tag = der.readUInt8(i);
    len = header();
    start = i;
    i += len;
  }
  return tag === 0x03 ? der.subarray(start + 1, start + len) : der.subarray(start, start + len);
}

function asymmetric(name: string, kind: Kind, pair: { publicKey: KeyObject; privateKey: KeyObject }, crv?: string): Material {
  if (kind === 'rsa-pss') {
    const twinPublic = createPublicKey({ key: lastMember(pair.publicKey.export({ type: 'spki', format: 'der' })), format: 'der', type: 'pkcs1' });
    const twinPrivate = createPrivateKey({ key: lastMember(pair.privateKey.export({ type: 'pkcs8', format: 'der' })), format: 'der', type: 'pkcs1' });
    return { name, kind, signing: twinPrivate, publicKey: pair.publicKey, joseKey: twinPublic, jwk: null };
  }
  const jwk = pair.publicKey.export({ format: 'jwk' }) as Record<string, unknown>;
  return { name, kind, ...(crv !== undefined ? { crv } : {}), signing: pair.privateKey, publicKey: pair.publicKey, joseKey: pair.publicKey, jwk };
}

function secretMaterial(name: string, secret: string): Material {
  const bytes = Buffer.from(secret, 'utf8');
  return { name, kind: 'secret', signing: bytes, publicKey: null, joseKey: new Uint8Array(bytes), jwk: null, secret };
}

function makeMaterials(): Record<string, Material> {
  const rsa = (bits: number) => generateKeyPairSync('rsa', { modulusLength: bits });
  const ec = (crv: string) => generateKeyPairSync('ec', { namedCurve: crv });
  const list = [
    asymmetric('rsaA', 'rsa', rsa(2048)),
    asymmetric('rsaB', 'rsa', rsa(2048)),
    asymmetric('rsaWeak', 'rsa', rsa(1024)),
    asymmetric('pss', 'rsa-pss', generateKeyPairSync('rsa-pss', { modulusLength: 2048 })),
    asymmetric(
      'pssSha256',
      'rsa-pss',
      generateKeyPairSync('rsa-pss', { modulusLength: 2048, hashAlgorithm: 'sha256', mgf1HashAlgorithm: 'sha256', saltLength: 32 } as {
        modulusLength: number;
      }),
    ),
    asymmetric('ec256', 'ec', ec('P-256'), 'P-256'),
    asymmetric('ec256b', 'ec', ec('P-256'), 'P-256'),
    asymmetric('ec384', 'ec', ec('P-384'), 'P-384'),
    asymmetric('ec521', 'ec', ec('P-521'), 'P-521'),
    asymmetric('ed', 'ed25519', generateKeyPairSync('ed25519')),
    asymmetric('edB', 'ed25519', generateKeyPairSync('ed25519')),
    asymmetric('ed448', 'ed448', generateKeyPairSync('ed448')),
    secretMaterial('secret64', createHash('sha512').update('oracle secret 64').digest('base64url').slice(0, 64)),
    secretMaterial('secret32', createHash('sha256').update('oracle secret 32').digest('base64url').slice(0, 32)),
    secretMaterial('secretOther', createHash('sha512').update('another secret').digest('base64url').slice(0, 64)),
  ];
  const out: Record<string, Material> = {};
  for (const m of list) out[m.name] = m;
  // an oct JWK of 48 bytes: fits HS256 and HS384, not HS512
  const octBytes = createHash('sha384').update('oracle oct jwk').digest();
  out.oct = {
    name: 'oct',
    kind: 'secret',
    signing: octBytes,
    publicKey: null,
    joseKey: new Uint8Array(octBytes),
    jwk: { kty: 'oct', k: octBytes.toString('base64url') },
  };
  return out;
}

// ---------------------------------------------------------------------------------------------
// Providers: one key source each, as a config gives it to the gateway and as jose is given it

interface Template {
  readonly name: string;
  /** the provider's key members (`keys`, `pem`, `secret`) */
  readonly config: Pick<JwtProviderConfig, 'keys' | 'pem' | 'secret'>;
  /** configured keys with the kid the config gives them (null: none) */
  readonly keys: readonly { readonly m: Material; readonly kid: string | null }[];
  readonly jose: JWTVerifyGetKey | KeyObject | Uint8Array | JWK;
}

function makeTemplates(m: Record<string, Material>): Template[] {
  const get = (n: string): Material => m[n] as Material;
  const jwkOf = (n: string, extra: Record<string, unknown>): Record<string, unknown> => ({ ...(get(n).jwk as Record<string, unknown>), ...extra });
  const withKids = [
    { n: 'rsaA', kid: 'rsa-a', extra: {} },
    { n: 'rsaWeak', kid: 'rsa-weak', extra: {} },
    { n: 'rsaB', kid: 'rsa-enc', extra: { use: 'enc' } },
    { n: 'ec256', kid: 'ec-256', extra: { use: 'sig' } },
    { n: 'ec384', kid: 'ec-384', extra: { alg: 'ES384' } },
    { n: 'ec521', kid: 'ec-521', extra: { key_ops: ['verify'] } },
    { n: 'ed', kid: 'ed', extra: {} },
    { n: 'ed448', kid: 'ed-448', extra: {} },
  ];
  const jwks = withKids.map((k) => jwkOf(k.n, { kid: k.kid, ...k.extra }));
  const jwksKeys = withKids.filter((k) => k.n !== 'rsaB').map((k) => ({ m: get(k.n), kid: k.kid }));
  const localJwks = createLocalJWKSet({ keys: jwks });
  const noKid = ['rsaA', 'ec256', 'ec256b', 'ed'];
  const localNoKid = createLocalJWKSet({ keys: noKid.map((n) => jwkOf(n, {})) });
  const secret64 = get('secret64');
  const single = (name: string, mat: Material): Template =>
    mat.kind === 'secret'
      ? { name, config: { secret: mat.secret as string }, keys: [{ m: mat, kid: null }], jose: mat.joseKey }
      : {
          name,
          config: { pem: [(mat.publicKey as KeyObject).export({ type: 'spki', format: 'pem' }) as string] },
          keys: [{ m: mat, kid: null }],
          jose: mat.joseKey,
        };
  return [
    { name: 'jwks', config: { keys: jwks }, keys: jwksKeys, jose: localJwks },
    { name: 'jwks-without-kids', config: { keys: noKid.map((n) => jwkOf(n, {})) }, keys: noKid.map((n) => ({ m: get(n), kid: null })), jose: localNoKid },
    {
      name: 'jwks-and-secret',
      config: { keys: jwks, secret: secret64.secret as string },
      keys: [...jwksKeys, { m: secret64, kid: null }],
      // the config's `secret` verifies HS*, its JWKS the rest
      jose: (header, token) => (typeof header.alg === 'string' && header.alg.startsWith('HS') ? (secret64.joseKey as Uint8Array) : localJwks(header, token)),
    },
    single('pem-rsa', get('rsaA')),
    single('pem-rsa-pss', get('pss')),
    single('pem-rsa-pss-sha256', get('pssSha256')),
    single('pem-ec384', get('ec384')),
    single('pem-ed25519', get('ed')),
    single('pem-ed448', get('ed448')),
    single('secret64', secret64),
    single('secret32', get('secret32')),
    // inline `keys` are a key set, where a token's kid selects the keys with that kid; jose's
    // createLocalJWKSet takes no oct key, so its selection rule is written out here
    {
      name: 'oct-jwk',
      config: { keys: [get('oct').jwk as Record<string, unknown>] },
      keys: [{ m: get('oct'), kid: null }],
      jose: (header) => {
        if (typeof header.kid === 'string') throw new errors.JWKSNoMatchingKey();
        return get('oct').jwk as JWK;
      },
    },
  ];
}

/** Whether a key of this material can make a signature `alg` names (the signer's choice, not the verifier's). */
function canSign(mat: Material, alg: string): boolean {
  const fam = alg.slice(0, 2);
  if (fam === 'HS') return mat.kind === 'secret';
  if (fam === 'RS') return mat.kind === 'rsa';
  if (fam === 'PS') return mat.kind === 'rsa' || mat.kind === 'rsa-pss';
  if (fam === 'ES') return mat.kind === 'ec' && mat.crv === { ES256: 'P-256', ES384: 'P-384', ES512: 'P-521' }[alg];
  if (alg === 'EdDSA') return mat.kind === 'ed25519' || mat.kind === 'ed448';
  if (alg === 'Ed25519') return mat.kind === 'ed25519';
  return false;
}

/** A signature over `input`; for pairs node:crypto refuses, deterministic garbage of a plausible length. */
function signInput(alg: string, key: KeyObject | Buffer, input: string): Buffer {
  const data = Buffer.from(input, 'latin1');
  const fam = alg.slice(0, 2);
  const hash = `sha${alg.slice(2)}`;
  try {
    if (fam === 'HS') return key instanceof Buffer ? createHmac(hash, key).update(data).digest() : createHmac(hash, key).update(data).digest();
    if (key instanceof Buffer) throw new Error('a secret cannot sign this');
    const k = key as KeyObject;
    if (fam === 'RS') return sign(hash, data, k);
    if (fam === 'PS') return sign(hash, data, { key: k, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: constants.RSA_PSS_SALTLEN_DIGEST });
    if (fam === 'ES') return sign(hash, data, { key: k, dsaEncoding: 'ieee-p1363' });
    if (alg === 'EdDSA' || alg === 'Ed25519') return sign(null, data, k);
  } catch {
    // fall through
  }
  return createHash('sha512').update(alg).update(data).digest();
}

// ---------------------------------------------------------------------------------------------
// Generated cases

const HOSTILE_KIDS: unknown[] = ['../../etc/passwd', 'a..b', '', 'x'.repeat(257), "k' OR '1'='1", 'kid with space', 'é', 42, null, ['rsa-a'], { kid: 'rsa-a' }];
const EXTRA_HEADERS: Record<string, unknown>[] = [
  { cty: 'JWT' },
  { zip: 'DEF' },
  { 'x-extra': [1, { a: null }] },
  { crit: ['exp'], exp: 1 },
  { crit: ['b64'], b64: false },
  { crit: ['b64'], b64: true },
  { crit: [] },
  { crit: 'b64' },
  { b64: true },
  { jku: 'https://evil.test/jwks.json' },
  { x5u: 'https://evil.test/cert.pem' },
  { jwk: { kty: 'oct', k: 'AAAA' } },
  { x5c: ['MIIB'] },
  { enc: 'A128GCM' },
];

/**
 * `edge`: seconds off the edge the clock skew sets (now - skew for exp, now + skew for nbf and iat);
 * `age`: seconds off the oldest iat the maximum age allows (now - max age - skew)
 */
type DateChoice = number | string | null | { raw: string } | { edge: number } | { age: number } | undefined;

/** A NumericDate relative to now: offsets in seconds, or an odd value. */
const numericDate = (): fc.Arbitrary<DateChoice> =>
  fc.oneof(
    { weight: 2, arbitrary: fc.constant(undefined) },
    {
      weight: 6,
      arbitrary: fc
        .constantFrom(-86_400, -3601, -600, -301, -300, -299, -61, -60, -59, -31, -30, -29, -1, 0, 1, 29, 30, 31, 59, 60, 61, 299, 300, 301, 3600, 86_400)
        .map((d) => NOW_S + d),
    },
    { weight: 2, arbitrary: fc.integer({ min: -2_000_000, max: 2_000_000 }).map((d) => NOW_S + d) },
    { weight: 1, arbitrary: fc.double({ min: -400, max: 400, noNaN: true }).map((d) => NOW_S + d) },
    { weight: 3, arbitrary: fc.constantFrom({ edge: 0 }, { edge: -1 }, { edge: 1 }) },
    { weight: 3, arbitrary: fc.nat().map((n) => ({ edge: ((n % 1999) - 999) / 1000 })) },
    {
      weight: 1,
      arbitrary: fc.constantFrom<number | string | null | { raw: string }>(
        null,
        'tomorrow',
        String(NOW_S + 60),
        0,
        -1,
        1e308,
        -1e308,
        { raw: '1e400' },
        { raw: '-1e400' },
        { raw: `${NOW_S + 60}.0` },
        { raw: `${NOW_S + 60}e0` },
      ),
    },
  );

/**
 * What a case varies besides the provider's policy: `valid` nothing (a well-formed token of an
 * algorithm picked first), `mixed` everything at once.
 */
const AREAS = ['valid', 'claims', 'signer', 'header', 'json', 'encoding', 'mutation', 'size', 'mixed'] as const;

const caseArb = fc.record({
  area: fc.constantFrom<(typeof AREAS)[number]>(...AREAS, 'valid', 'valid', 'valid', 'claims', 'claims', 'claims', 'signer', 'header', 'mutation'),
  template: fc.nat(),
  // a quarter of the cases within a second (nat % 1000 spreads them; small integers are fast-check's favourites)
  nowMs: fc.oneof({ weight: 3, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.nat().map((n) => 1 + (n % 999)) }).map((ms) => NOW_S * 1000 + ms),
  algorithms: fc.oneof(
    { weight: 3, arbitrary: fc.constant<'signer' | 'all'>('signer') },
    { weight: 2, arbitrary: fc.constant<'signer' | 'all'>('all') },
    { weight: 2, arbitrary: fc.subarray([...ALGS], { minLength: 1 }) },
  ),
  skew: fc.constantFrom(0, 30, 60, 300),
  maxAge: fc.constantFrom(0, 0, 0, 600, 3600),
  typ: fc.constantFrom<string | undefined>(undefined, undefined, undefined, 'at+jwt', 'JWT', 'application/at+jwt'),
  required: fc.oneof(
    { weight: 3, arbitrary: fc.constant<string[]>(['exp']) },
    { weight: 1, arbitrary: fc.subarray(['exp', 'iat', 'nbf', 'sub', 'jti', 'scope']) },
  ),
  audiences: fc.constantFrom<string[]>([], ['api'], ['api', 'other-api']),
  maxBytes: fc.constantFrom(8192, 1024, 512, 256),
  // the signature
  /** `fits`: an algorithm one of the provider's keys can sign */
  signAlg: fc.oneof(
    { weight: 10, arbitrary: fc.constant('fits') },
    { weight: 3, arbitrary: fc.constantFrom(...ALGS) },
    { weight: 1, arbitrary: fc.constantFrom('none', 'XS256') },
  ),
  fitPick: fc.nat(),
  signer: fc.constantFrom('right', 'sibling', 'sibling', 'any', 'confusion', 'garbage'),
  anyKey: fc.nat(),
  // the header
  alg: fc.constantFrom('signed', 'signed', 'signed', 'lower', 'none', 'None', 'other', 'missing', 'number'),
  otherAlg: fc.constantFrom(...ALGS),
  kid: fc.constantFrom('signer', 'none', 'unknown', 'other', 'hostile'),
  hostileKid: fc.constantFrom(...HOSTILE_KIDS),
  headerTyp: fc.constantFrom<string | undefined>(undefined, 'JWT', 'at+jwt', 'application/AT+JWT', 'text/plain'),
  extraHeaders: fc.oneof(
    { weight: 1, arbitrary: fc.constant([] as number[]) },
    { weight: 2, arbitrary: fc.array(fc.nat({ max: EXTRA_HEADERS.length - 1 }), { minLength: 1, maxLength: 2 }) },
  ),
  // the claims
  iss: fc.constantFrom<unknown>(...Array<string>(12).fill(ISSUER), 'https://evil.test', undefined, 42, `${ISSUER}/`),
  aud: fc.constantFrom<unknown>('api', 'api', 'api', ['other', 'api'], ['other', 'api'], 'other-api', undefined, 'nope', [1, 'api'], {}, []),
  exp: numericDate(),
  nbf: fc.oneof({ weight: 3, arbitrary: fc.constant(undefined) }, { weight: 2, arbitrary: numericDate() }),
  iat: fc.oneof(
    { weight: 2, arbitrary: fc.constant(undefined) },
    { weight: 1, arbitrary: fc.constant(NOW_S - 10) },
    { weight: 2, arbitrary: numericDate() },
    {
      weight: 1,
      arbitrary: fc
        .oneof(
          fc.constantFrom(0, -1, 1),
          fc.nat().map((n) => ((n % 1999) - 999) / 1000),
        )
        .map((age) => ({ age })),
    },
  ),
  sub: fc.constantFrom<unknown>('user-1', 'user-1', 'user-1', 'user-1', undefined, 42, '', null),
  jti: fc.constantFrom<unknown>(undefined, undefined, undefined, 'b9f1c4e2', 'b9f1c4e2', 'j'.repeat(257), 7, null),
  scope: fc.constantFrom<unknown>(undefined, 'read write', null),
  extraClaims: fc.oneof(
    { weight: 4, arbitrary: fc.constant({}) },
    { weight: 1, arbitrary: fc.dictionary(fc.string({ maxLength: 8 }), fc.jsonValue({ maxDepth: 2 }), { maxKeys: 3 }) },
  ),
  pad: fc.constantFrom(0, 200, 1000, 9000),
  // raw JSON and encoding
  headerJson: fc.constantFrom('plain', 'plain', 'plain', 'duplicate', 'bom', 'bad-utf8', 'not-json', 'array', 'spaces', 'escaped-name', 'empty'),
  payloadJson: fc.constantFrom(
    'plain',
    'plain',
    'plain',
    'duplicate',
    'bom',
    'bad-utf8',
    'not-json',
    'array',
    'spaces',
    'escaped-name',
    'empty',
    'null',
    'leading-zero',
  ),
  headerEncoding: fc.constantFrom('plain', 'plain', 'pad', 'std', 'space', 'noncanonical'),
  payloadEncoding: fc.constantFrom('plain', 'plain', 'pad', 'std', 'space', 'noncanonical'),
  position: fc.nat(),
  mutation: fc.constantFrom(
    'none',
    'flip-header',
    'flip-payload',
    'flip-signature',
    'truncate-signature',
    'extend-signature',
    'empty-signature',
    'drop-signature',
    'pad-signature',
    'std-signature',
    'noncanonical-signature',
    'leading-space',
    'trailing-newline',
    'extra-dot',
    'extra-segment',
    'five-segments',
    'empty-payload',
    'empty-header',
    'swap-signature',
    'non-ascii',
    'only-dots',
  ),
});
type Case = typeof caseArb extends fc.Arbitrary<infer T> ? T : never;

const B64URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
const b64u = (buf: Buffer): string => buf.toString('base64url');

function encodeSegment(raw: Buffer, how: string, position: number): string {
  const s = b64u(raw);
  if (how === 'pad') return s + '='.repeat((4 - (s.length % 4)) % 4 || 1);
  if (how === 'std') return s.replace(/-/g, '+').replace(/_/g, '/') + (/[-_]/.test(s) ? '' : '+');
  if (how === 'space') {
    const at = position % (s.length + 1);
    return `${s.slice(0, at)}${[' ', '\n', '\t', '\r'][position % 4] as string}${s.slice(at)}`;
  }
  if (how === 'noncanonical') return noncanonical(s, position);
  return s;
}

/** The same bytes with non-zero unused bits in the last character (when it has any). */
function noncanonical(s: string, position: number): string {
  const rem = s.length % 4;
  if (rem === 0 || s.length === 0) return s;
  const idx = B64URL.indexOf(s.slice(-1));
  const mask = rem === 2 ? 15 : 3;
  return s.slice(0, -1) + (B64URL[(idx & ~mask) | (1 + (position % mask))] as string);
}

function flip(seg: string, position: number): string {
  if (seg.length === 0) return 'A';
  const at = position % seg.length;
  const c = seg[at] as string;
  const i = B64URL.indexOf(c);
  const next = B64URL[(i + 1 + (position % 63)) % 64] as string;
  return `${seg.slice(0, at)}${next === c ? 'A' : next}${seg.slice(at + 1)}`;
}

function rawJson(value: Record<string, unknown>, how: string, duplicate: [string, unknown]): Buffer {
  let text = JSON.stringify(value).replace(/"__RAW:([^"]*)"/g, '$1');
  if (how === 'duplicate') text = `{${JSON.stringify(duplicate[0])}:${JSON.stringify(duplicate[1])},${text.slice(1)}`;
  if (how === 'spaces') text = ` \n${text.replace(/,/g, ' ,\t')}\r\n`;
  if (how === 'escaped-name') text = text.replace(/"(alg|iss|exp)"/, (_, n: string) => `"\\u00${(n.charCodeAt(0)).toString(16)}${n.slice(1)}"`);
  if (how === 'not-json') text = text.slice(0, Math.max(1, text.length - 1));
  if (how === 'array') text = `[${text}]`;
  if (how === 'empty') text = '';
  if (how === 'null') text = 'null';
  if (how === 'leading-zero') text = text.replace(/:(\d)/, ':0$1');
  const buf = Buffer.from(text, 'utf8');
  if (how === 'bom') return Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), buf]);
  if (how === 'bad-utf8') return Buffer.concat([buf.subarray(0, -1), Buffer.from(',"x":"\xff\xfe"}', 'latin1')]);
  return buf;
}

interface Built {
  readonly token: string;
  readonly template: Template;
  readonly config: JwtProviderConfig;
  readonly maxBytes: number;
  readonly nowMs: number;
  readonly signAlg: string;
}

function dateValue(v: DateChoice, edge: number, oldest: number): unknown {
  if (v === null || typeof v !== 'object') return v;
  return 'edge' in v ? edge + v.edge : 'age' in v ? oldest + v.age : `__RAW:${v.raw}`;
}

/** The case with what its area does not vary set to the well-formed choice. */
function focus(c: Case): Case {
  const on = (area: (typeof AREAS)[number]): boolean => c.area === area || c.area === 'mixed';
  return {
    ...c,
    ...(on('signer') ? {} : { signer: 'right' }),
    ...(on('header') ? {} : { alg: 'signed', kid: 'signer', headerTyp: c.typ ?? c.headerTyp, extraHeaders: [] }),
    ...(on('json') ? {} : { headerJson: 'plain', payloadJson: 'plain' }),
    ...(on('encoding') ? {} : { headerEncoding: 'plain', payloadEncoding: 'plain' }),
    ...(on('mutation') ? {} : { mutation: 'none' }),
    ...(on('size') ? {} : { pad: 0, maxBytes: 8192 }),
    ...(on('claims')
      ? {}
      : {
          iss: ISSUER,
          aud: c.audiences[0] ?? 'api',
          exp: NOW_S + 300,
          nbf: NOW_S - 10,
          iat: NOW_S - 10,
          sub: 'user-1',
          jti: 'b9f1c4e2',
          scope: 'read write',
          extraClaims: {},
        }),
  };
}

function build(whole: Case, templates: readonly Template[], materials: readonly Material[]): Built {
  const c = focus(whole);
  let template = templates[c.template % templates.length] as Template;
  if (c.area === 'valid') {
    // the algorithm first, then a provider with a key for it: every algorithm gets its share
    const wanted = ALGS[c.fitPick % ALGS.length] as Alg;
    const able = templates.filter((t) => t.keys.some((k) => canSign(k.m, wanted)));
    template = able[c.template % able.length] as Template;
  }
  const fits = ALGS.filter((a) => template.keys.some((k) => canSign(k.m, a)));
  const alg =
    c.signer === 'confusion'
      ? (['HS256', 'HS384', 'HS512'][c.fitPick % 3] as string)
      : c.area === 'valid'
        ? (ALGS[c.fitPick % ALGS.length] as Alg)
        : c.signAlg === 'fits'
          ? (fits[c.fitPick % fits.length] as string)
          : c.signAlg;
  // the signing key
  const configured = template.keys.find((k) => canSign(k.m, alg));
  const fitting = materials.filter((m) => canSign(m, alg));
  let key: KeyObject | Buffer | null = null;
  let kid: string | null = null;
  if (c.signer === 'right') {
    const mat = configured?.m ?? fitting[c.anyKey % Math.max(1, fitting.length)];
    key = mat?.signing ?? null;
    kid = configured?.kid ?? null;
  } else if (c.signer === 'sibling') {
    const others = fitting.filter((m) => !template.keys.some((k) => k.m === m));
    key = others[c.anyKey % Math.max(1, others.length)]?.signing ?? null;
    kid = configured?.kid ?? null;
  } else if (c.signer === 'any') {
    const mat = materials[c.anyKey % materials.length] as Material;
    key = mat.signing;
    kid = template.keys.find((k) => k.m === mat)?.kid ?? null;
  } else if (c.signer === 'confusion') {
    // HS* with the RSA public key (PEM text) as the HMAC secret: the classic key confusion forgery
    key = Buffer.from((materials.find((m) => m.name === 'rsaA')!.publicKey as KeyObject).export({ type: 'spki', format: 'pem' }) as string);
    kid = template.keys.find((k) => k.m.kind === 'rsa')?.kid ?? null;
  }
  // the header
  const header: Record<string, unknown> = {};
  const algValue: Record<string, unknown> = {
    signed: alg,
    lower: alg.toLowerCase(),
    none: 'none',
    None: 'None',
    other: c.otherAlg,
    number: 256,
  };
  if (c.alg !== 'missing') header.alg = algValue[c.alg];
  if (c.headerTyp !== undefined) header.typ = c.headerTyp;
  const otherKid = template.keys.find((k) => k.kid !== null && k.kid !== kid)?.kid ?? 'rsa-a';
  if (c.kid === 'signer' && kid !== null) header.kid = kid;
  else if (c.kid === 'unknown') header.kid = 'no-such-key';
  else if (c.kid === 'other') header.kid = otherKid;
  else if (c.kid === 'hostile') header.kid = c.hostileKid;
  for (const i of c.extraHeaders) Object.assign(header, EXTRA_HEADERS[i]);
  // the claims
  const payload: Record<string, unknown> = { ...c.extraClaims };
  const set = (name: string, v: unknown): void => {
    if (v !== undefined) payload[name] = v;
  };
  set('iss', c.iss);
  set('aud', c.aud);
  set('sub', c.sub);
  const oldest = NOW_S - c.maxAge - c.skew;
  set('exp', dateValue(c.exp, NOW_S - c.skew, oldest));
  set('nbf', dateValue(c.nbf, NOW_S + c.skew, oldest));
  set('iat', dateValue(c.iat, NOW_S + c.skew, oldest));
  set('jti', c.jti);
  set('scope', c.scope);
  if (c.pad > 0) payload.pad = 'p'.repeat(c.pad);
  const h = encodeSegment(rawJson(header, c.headerJson, ['alg', 'none']), c.headerEncoding, c.position);
  const p = encodeSegment(rawJson(payload, c.payloadJson, ['iss', 'https://evil.test']), c.payloadEncoding, c.position >> 3);
  const input = `${h}.${p}`;
  const sig = (k: KeyObject | Buffer | null): string => {
    if (alg === 'none' || k === null)
      return c.signer === 'garbage' || k === null ? (alg === 'none' ? '' : b64u(createHash('sha256').update(input).digest())) : '';
    return b64u(signInput(alg, k, input));
  };
  const s = sig(c.signer === 'garbage' ? null : key);
  let token = `${input}.${s}`;
  const pos = c.position;
  switch (c.mutation) {
    case 'flip-header':
      token = `${flip(h, pos)}.${p}.${s}`;
      break;
    case 'flip-payload':
      token = `${h}.${flip(p, pos)}.${s}`;
      break;
    case 'flip-signature':
      token = `${input}.${flip(s, pos)}`;
      break;
    case 'truncate-signature':
      token = `${input}.${s.slice(0, Math.max(0, s.length - 1 - (pos % 8)))}`;
      break;
    case 'extend-signature':
      token = `${input}.${s}${'AAAA'.slice(0, 1 + (pos % 4))}`;
      break;
    case 'empty-signature':
      token = `${input}.`;
      break;
    case 'drop-signature':
      token = input;
      break;
    case 'pad-signature':
      token = `${input}.${s}${'='.repeat(1 + (pos % 2))}`;
      break;
    case 'std-signature':
      token = `${input}.${s.replace(/-/g, '+').replace(/_/g, '/')}`;
      break;
    case 'noncanonical-signature':
      token = `${input}.${noncanonical(s, pos)}`;
      break;
    case 'leading-space':
      token = ` ${token}`;
      break;
    case 'trailing-newline':
      token = `${token}\n`;
      break;
    case 'extra-dot':
      token = `${token}.`;
      break;
    case 'extra-segment':
      token = `${token}.${s}`;
      break;
    case 'five-segments':
      token = `${token}.${s}.${p}`;
      break;
    case 'empty-payload':
      token = `${h}..${s}`;
      break;
    case 'empty-header':
      token = `.${p}.${s}`;
      break;
    case 'swap-signature': {
      const other = materials.filter((m) => canSign(m, alg) && m.signing !== key)[pos % 3];
      token = `${input}.${other ? b64u(signInput(alg, other.signing, input)) : s}`;
      break;
    }
    case 'non-ascii':
      token = `${h}.${p.slice(0, pos % (p.length + 1))}é${p.slice(pos % (p.length + 1))}.${s}`;
      break;
    case 'only-dots':
      token = '..';
      break;
    default:
      break;
  }
  // the provider, as a config would give it (the schema's shape, after defaults)
  const longestSecret = Math.max(0, ...template.keys.filter((k) => k.m.kind === 'secret').map((k) => (k.m.joseKey as Uint8Array).length));
  const chosen = c.algorithms === 'signer' ? [ALGS.includes(alg as Alg) ? alg : 'RS256'] : c.algorithms === 'all' ? [...ALGS] : c.algorithms;
  // a provider allowing an HS* algorithm without a secret at least as long as its hash is a ConfigError (compileProvider): such configs do not exist
  const algorithms = chosen.filter((a) => hashBytes(a) <= longestSecret);
  const config: JwtProviderConfig = {
    issuer: ISSUER,
    audiences: c.audiences,
    algorithms: algorithms.length > 0 ? algorithms : ['ES256'],
    ...template.config,
    ...(c.typ !== undefined ? { typ: c.typ } : {}),
    required_claims: c.required,
    clock_skew_s: c.skew,
    max_age_s: c.maxAge,
    scopes_claims: ['scope', 'scp'],
    roles_claim: 'roles',
    tenant_claim: 'tenant',
    require_consumer: false,
    claims_to_headers: {},
    refresh_s: 300,
    min_refetch_s: 30,
    fetch_timeout_ms: 5000,
  };
  return { token, template, config, maxBytes: c.maxBytes, nowMs: c.nowMs, signAlg: alg };
}

// ---------------------------------------------------------------------------------------------
// Verdicts

type Verdict = 'valid' | 'too-large' | 'malformed' | 'header' | 'alg' | 'key' | 'signature' | 'expired' | 'not-yet-valid' | 'claims';
interface Outcome {
  readonly verdict: Verdict;
  readonly detail: string;
  readonly payload?: unknown;
}

const GATEWAY_VERDICT: Partial<Record<ErrorCode, Verdict>> = {
  PC_ERR_AUTH_TOKEN_TOO_LARGE: 'too-large',
  PC_ERR_AUTH_TOKEN_MALFORMED: 'malformed',
  PC_ERR_AUTH_TOKEN_HEADER: 'header',
  PC_ERR_AUTH_TOKEN_ALG: 'alg',
  PC_ERR_AUTH_TOKEN_KEY_UNKNOWN: 'key',
  PC_ERR_AUTH_TOKEN_SIGNATURE: 'signature',
  PC_ERR_AUTH_TOKEN_EXPIRED: 'expired',
  PC_ERR_AUTH_TOKEN_NOT_YET_VALID: 'not-yet-valid',
  PC_ERR_AUTH_TOKEN_CLAIMS: 'claims',
};

function gatewayOutcome(b: Built): Outcome {
  // inline keys only: the provider never reaches for services (remote key sets)
  const provider = compileProvider('oracle', b.config, { services: null as never, file: 'oracle.yaml', baseDir: '.' });
  const r = verifyToken(b.token, b.maxBytes, provider, b.nowMs);
  if (r.ok) return { verdict: 'valid', detail: 'ok', payload: r.jws.payload };
  const verdict = GATEWAY_VERDICT[r.error.code];
  assert.ok(verdict !== undefined, `unexpected gateway code ${r.error.code}`);
  return { verdict, detail: `${r.error.code}: ${r.error.reason}` };
}

/** jose's error, as one of the verdicts; an error it cannot place fails the test. */
function joseVerdict(e: unknown): Outcome {
  const err = e as { code?: string; message?: string; claim?: string; reason?: string; name?: string };
  const detail = `${err.code ?? err.name}: ${err.message}`;
  const m = err.message ?? '';
  switch (err.code) {
    case 'ERR_JWS_INVALID':
      return { verdict: /"alg"|"crit"|"b64"|Extension Header/.test(m) ? 'header' : 'malformed', detail };
    case 'ERR_JWT_INVALID':
      return { verdict: /unencoded payload/.test(m) ? 'header' : 'malformed', detail };
    case 'ERR_JOSE_ALG_NOT_ALLOWED':
      return { verdict: 'alg', detail };
    case 'ERR_JOSE_NOT_SUPPORTED':
      return { verdict: /Extension Header/.test(m) ? 'header' : 'key', detail };
    case 'ERR_JWKS_NO_MATCHING_KEY':
      return { verdict: 'key', detail };
    case 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED':
      return { verdict: 'signature', detail };
    case 'ERR_JWT_EXPIRED':
      return { verdict: 'expired', detail };
    case 'ERR_JWT_CLAIM_VALIDATION_FAILED':
      if (err.claim === 'typ') return { verdict: 'header', detail };
      if ((err.claim === 'nbf' || err.claim === 'iat') && err.reason === 'check_failed') return { verdict: 'not-yet-valid', detail };
      return { verdict: 'claims', detail };
    default:
      // key import and key type refusals (TypeError from jose, DataError from WebCrypto)
      if ((err.name === 'TypeError' || err.name === 'DataError') && /key|Key|crv|modulusLength|JWK/.test(m)) return { verdict: 'key', detail };
      assert.fail(`jose error not mapped to a verdict: ${detail}`);
  }
}

/** jwtVerify, and when several keys of the set match a token without a kid, each in turn (jose's documented way). */
async function joseOutcome(b: Built): Promise<Outcome> {
  const { token, nowMs } = b;
  const cfg = b.config;
  const options: JWTVerifyOptions = {
    algorithms: cfg.algorithms,
    issuer: cfg.issuer,
    clockTolerance: cfg.clock_skew_s,
    currentDate: new Date(nowMs),
    requiredClaims: cfg.required_claims,
    ...(cfg.audiences.length > 0 ? { audience: cfg.audiences } : {}),
    ...(cfg.typ !== undefined ? { typ: cfg.typ } : {}),
    ...(cfg.max_age_s > 0 ? { maxTokenAge: cfg.max_age_s } : {}),
  };
  const key = b.template.jose;
  try {
    const r = typeof key === 'function' ? await jwtVerify(token, key, options) : await jwtVerify(token, key, options);
    return { verdict: 'valid', detail: 'ok', payload: r.payload };
  } catch (e) {
    if (!(e instanceof errors.JWKSMultipleMatchingKeys)) return joseVerdict(e);
    let best: Outcome | null = null;
    for await (const k of e as unknown as AsyncIterable<CryptoKey>) {
      try {
        const r = await jwtVerify(token, k, options);
        return { verdict: 'valid', detail: 'ok', payload: r.payload };
      } catch (e2) {
        const o = joseVerdict(e2);
        // a candidate that verified the signature decides; otherwise a signature failure outranks a key refusal
        if (o.verdict !== 'signature' && o.verdict !== 'key') return o;
        if (best === null || o.verdict === 'signature') best = o;
      }
    }
    return best ?? { verdict: 'key', detail: 'no candidate key could be imported' };
  }
}

// ---------------------------------------------------------------------------------------------
// What the test reads from the token itself, to check the rules

interface Facts {
  readonly token: string;
  readonly segments: readonly string[];
  /** header and payload as jose reads them (forgiving base64, BOM dropped), or null */
  readonly header: Record<string, unknown> | null;
  readonly payload: Record<string, unknown> | null;
  readonly cfg: JwtProviderConfig;
  readonly template: Template;
  readonly maxBytes: number;
  readonly nowMs: number;
}

const STRICT_B64URL = /^[A-Za-z0-9_-]*$/;

/** A segment's bytes as the strict reader sees them (or null), for the rules about encodings. */
function strictBytes(seg: string | undefined): Buffer | null {
  if (seg === undefined || !STRICT_B64URL.test(seg) || seg.length % 4 === 1) return null;
  return Buffer.from(seg, 'base64url');
}

function strictObject(seg: string | undefined): boolean {
  const buf = strictBytes(seg);
  if (buf === null || buf.length === 0 || !isUtf8(buf)) return false;
  try {
    const v: unknown = JSON.parse(buf.toString('utf8'));
    return v !== null && typeof v === 'object' && !Array.isArray(v);
  } catch {
    return false;
  }
}

function facts(b: Built): Facts {
  const { token, nowMs } = b;
  let header: Record<string, unknown> | null = null;
  let payload: Record<string, unknown> | null = null;
  try {
    header = decodeProtectedHeader(token) as Record<string, unknown>;
  } catch {
    header = null;
  }
  try {
    payload = decodeJwt(token) as Record<string, unknown>;
  } catch {
    payload = null;
  }
  return { token, segments: token.split('.'), header, payload, cfg: b.config, template: b.template, maxBytes: b.maxBytes, nowMs };
}

const num = (v: unknown): v is number => typeof v === 'number';

/** The claim defects the gateway finds at `now` (seconds): its documented checks (src/stages/auth/README.md). */
function gatewayClaimDefects(f: Facts, now: number): Set<Verdict> {
  const out = new Set<Verdict>();
  const p = f.payload;
  const cfg = f.cfg;
  if (cfg.typ !== undefined) {
    const want = cfg.typ.toLowerCase().replace(/^application\//, '');
    const typ = f.header?.typ;
    if (typeof typ !== 'string' || typ.toLowerCase().replace(/^application\//, '') !== want) out.add('header');
  }
  if (p === null) return out;
  const skew = cfg.clock_skew_s;
  const { exp, nbf, iat } = p;
  if (p.iss !== ISSUER) out.add('claims');
  for (const c of cfg.required_claims) if (p[c] === undefined || p[c] === null) out.add('claims');
  for (const v of [exp, nbf, iat]) if (v !== undefined && !(num(v) && Number.isFinite(v))) out.add('claims');
  if (num(exp) && exp <= now - skew) out.add('expired');
  if (num(nbf) && nbf > now + skew) out.add('not-yet-valid');
  if (num(iat) && iat > now + skew) out.add('not-yet-valid');
  if (cfg.max_age_s > 0) {
    if (!num(iat)) out.add('claims');
    else if (now - iat > cfg.max_age_s + skew) out.add('expired');
  }
  if (cfg.audiences.length > 0) {
    const aud = p.aud;
    const list: unknown[] = typeof aud === 'string' ? [aud] : Array.isArray(aud) ? aud : [];
    if (!list.some((a: unknown) => typeof a === 'string' && cfg.audiences.includes(a))) out.add('claims');
  }
  if (p.sub !== undefined && typeof p.sub !== 'string') out.add('claims');
  if (p.jti !== undefined && (typeof p.jti !== 'string' || p.jti.length > 256)) out.add('claims');
  return out;
}

/** The claim defects jose finds at `now` (seconds): its documented checks (jwtVerify, JWTClaimVerificationOptions). */
function joseClaimDefects(f: Facts, now: number): Set<Verdict> {
  const out = new Set<Verdict>();
  const p = f.payload;
  const cfg = f.cfg;
  const typ = (t: string): string => (t.includes('/') ? t.toLowerCase() : `application/${t.toLowerCase()}`);
  if (cfg.typ !== undefined && (typeof f.header?.typ !== 'string' || typ(f.header.typ) !== typ(cfg.typ))) out.add('header');
  if (p === null) return out;
  const skew = cfg.clock_skew_s;
  const present = [...cfg.required_claims, 'iss', ...(cfg.audiences.length > 0 ? ['aud'] : []), ...(cfg.max_age_s > 0 ? ['iat'] : [])];
  if (present.some((c) => !Object.hasOwn(p, c)) || p.iss !== ISSUER) out.add('claims');
  if (cfg.audiences.length > 0) {
    const aud = p.aud;
    const ok = typeof aud === 'string' ? cfg.audiences.includes(aud) : Array.isArray(aud) && cfg.audiences.some((a) => aud.includes(a));
    if (!ok) out.add('claims');
  }
  const { exp, nbf, iat } = p;
  for (const v of [exp, nbf, iat]) if (v !== undefined && !num(v)) out.add('claims');
  if (num(nbf) && nbf > now + skew) out.add('not-yet-valid');
  if (num(exp) && exp <= now - skew) out.add('expired');
  if (cfg.max_age_s > 0 && num(iat)) {
    if (now - iat - skew > cfg.max_age_s) out.add('expired');
    if (now - iat < -skew) out.add('not-yet-valid');
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Where the two may differ, and why: each rule is checked on the token, never assumed

/**
 * A check the gateway makes and jose does not: `refuses` reads the token (and the provider) alone,
 * never the gateway's answer, so the oracle's verdict is jose's plus these; `reason` is how the
 * gateway names it.
 */
interface Policy {
  readonly id: string;
  readonly why: string;
  readonly refuses: (f: Facts) => boolean;
  readonly reason: RegExp;
}

/** Two refusals that name different first checks: both refuse, each for a defect the token has. */
interface Rule {
  readonly id: string;
  readonly why: string;
  readonly applies: (gw: Outcome, jose: Outcome, f: Facts) => boolean;
}

const CLAIM_VERDICTS: readonly Verdict[] = ['expired', 'not-yet-valid', 'claims', 'header'];
const KID = /^[A-Za-z0-9._~+/=:-]{1,256}$/;
const hashBytes = (alg: unknown): number => (typeof alg === 'string' && /^HS(256|384|512)$/.test(alg) ? Number(alg.slice(2)) / 8 : 0);
const BOM = Buffer.from([0xef, 0xbb, 0xbf]);
const FORBIDDEN_MEMBERS = ['crit', 'b64', 'jku', 'x5u', 'jwk', 'x5c', 'enc'];

const POLICIES: readonly Policy[] = [
  {
    id: 'size',
    why: 'a token longer than max_token_bytes is refused before it is read; jose has no size limit',
    refuses: (f) => f.token.length > f.maxBytes,
    reason: /over size limit/,
  },
  {
    id: 'base64url-alphabet',
    why: 'segments must be unpadded base64url (RFC 7515 section 2); jose decodes with atob, which skips whitespace and accepts = padding',
    refuses: (f) => f.segments.length === 3 && f.segments.some((s) => !STRICT_B64URL.test(s)),
    reason: /not base64url/,
  },
  {
    id: 'byte-order-mark',
    why: "JSON in a JWS has no byte order mark (RFC 8259 section 8.1); jose's TextDecoder drops one",
    refuses: (f) => f.segments.slice(0, 2).some((s) => strictBytes(s)?.subarray(0, 3).equals(BOM) === true),
    reason: /is not base64url JSON/,
  },
  {
    id: 'header-members',
    why: 'crit and b64 (no extension is supported), jku/x5u/jwk/x5c (keys come from config only) and enc (a JWE header) are refused; jose ignores or handles them',
    refuses: (f) => f.header !== null && FORBIDDEN_MEMBERS.some((k) => f.header !== null && k in f.header),
    reason: /(crit|b64|jku|x5u|jwk|x5c)\b|JWE header/,
  },
  {
    id: 'kid',
    why: 'a kid must be a string of 1-256 characters of [A-Za-z0-9._~+/=:-] without ".."; jose compares any kid with the key set',
    refuses: (f) => f.header !== null && 'kid' in f.header && (typeof f.header.kid !== 'string' || !KID.test(f.header.kid) || f.header.kid.includes('..')),
    reason: /kid not acceptable/,
  },
  {
    id: 'hmac-key-size',
    why: 'an HMAC key shorter than the hash output is not used (RFC 7518 section 3.2); jose uses any HMAC key',
    refuses: (f) =>
      hashBytes(f.header?.alg) > 0 &&
      f.template.keys.filter((k) => k.m.kind === 'secret').every((k) => (k.m.joseKey as Uint8Array).length < hashBytes(f.header?.alg)),
    reason: /no key for alg|unknown kid/,
  },
  {
    id: 'rsa-pss-key-parameters',
    why: "an RSA-PSS key restricted to SHA-256 verifies PS256 only (node:crypto honours the key's parameters); jose is given the plain RSA key of the same modulus",
    refuses: (f) => f.template.name === 'pem-rsa-pss-sha256' && (f.header?.alg === 'PS384' || f.header?.alg === 'PS512'),
    reason: /signature not valid/,
  },
  {
    id: 'rsa-pss-key-for-pkcs1',
    why: 'an id-RSASSA-PSS key verifies PS* only, never RS* (RFC 4055 section 1.2); jose is given the plain RSA key of the same modulus',
    refuses: (f) => f.template.name.startsWith('pem-rsa-pss') && typeof f.header?.alg === 'string' && f.header.alg.startsWith('RS'),
    reason: /no key for alg|unknown kid/,
  },
  {
    id: 'sub-jti',
    why: 'sub must be a string, jti a string of at most 256 characters (the principal and the replay store use them); jose checks neither unless asked for a subject',
    refuses: (f) =>
      f.payload !== null &&
      ((f.payload.sub !== undefined && typeof f.payload.sub !== 'string') ||
        (f.payload.jti !== undefined && (typeof f.payload.jti !== 'string' || f.payload.jti.length > 256))),
    reason: /sub not a string|jti not acceptable/,
  },
  {
    id: 'iat',
    why: 'iat, when present, must not be in the future beyond the skew; jose checks that only with maxTokenAge',
    refuses: (f) =>
      f.payload !== null &&
      'iat' in f.payload &&
      (!num(f.payload.iat) || !Number.isFinite(f.payload.iat) || f.payload.iat > Math.floor(f.nowMs / 1000) + f.cfg.clock_skew_s),
    reason: /iat (in the future|not a number)/,
  },
  {
    id: 'non-finite-date',
    why: 'a NumericDate that overflows to Infinity (1e400) is not a number; jose compares it, so exp: 1e400 never expires there',
    refuses: (f) => f.payload !== null && [f.payload.exp, f.payload.nbf, f.payload.iat].some((v) => num(v) && !Number.isFinite(v)),
    reason: /(exp|nbf|iat) not a number/,
  },
  {
    id: 'null-required-claim',
    why: 'a required claim whose value is null is missing; jose only asks that the member exists',
    refuses: (f) => f.payload !== null && f.cfg.required_claims.some((c) => f.payload?.[c] === null),
    reason: /claim \S+ missing$/,
  },
];

/** The gateway's own checks that refuse this token, by id (empty: the oracle's verdict is jose's). */
const policiesRefusing = (f: Facts): Policy[] => POLICIES.filter((p) => p.refuses(f));

const RULES: readonly Rule[] = [
  // The two check in a different order: both refuse, each names its first failed check.
  {
    id: 'order:segments-before-keys',
    why: 'the gateway reads all three segments (payload JSON, signature encoding, a signature present) before it looks at issuer, algorithm and key; jose decodes the payload after the signature',
    applies: (gw, jose, f) =>
      ['alg', 'key', 'signature', 'header'].includes(jose.verdict) &&
      ((/payload is not base64url JSON/.test(gw.detail) && !strictObject(f.segments[1])) ||
        (/signature is not base64url/.test(gw.detail) && strictBytes(f.segments[2]) === null) ||
        (/signature missing/.test(gw.detail) && f.segments[2] === '')),
  },
  {
    id: 'order:crit-before-alg',
    why: 'jose validates crit before alg; the gateway refuses alg none first (and any crit after it)',
    applies: (gw, jose, f) => gw.verdict === 'alg' && jose.verdict === 'header' && f.header !== null && 'crit' in f.header,
  },
  {
    id: 'order:issuer-first',
    why: 'the gateway finds the provider by iss before anything else; jose checks iss with the claims, after the signature',
    applies: (gw, jose, f) =>
      gw.detail.endsWith('iss not accepted') && ['alg', 'key', 'signature'].includes(jose.verdict) && f.payload !== null && f.payload.iss !== ISSUER,
  },
  {
    id: 'order:claims',
    why: 'both check the claims in their own order (the gateway: typ, iss, required, exp, nbf, iat, max age, aud, sub, jti; jose: typ, required, iss, aud, iat type, nbf, exp, max age); the token has both defects',
    applies: (gw, jose, f) => {
      if (!CLAIM_VERDICTS.includes(gw.verdict) || !CLAIM_VERDICTS.includes(jose.verdict)) return false;
      const now = Math.floor(f.nowMs / 1000);
      return gatewayClaimDefects(f, now).has(gw.verdict) && joseClaimDefects(f, now).has(jose.verdict);
    },
  },
];

/**
 * Why two refusals name different checks, or null: the gateway refused for one of its own checks
 * that the token fails, or both refused and an order rule applies.
 */
function explain(gw: Outcome, jose: Outcome, f: Facts, policies: readonly Policy[]): string | null {
  for (const p of policies) if (p.reason.test(gw.detail)) return `policy:${p.id}`;
  if (jose.verdict === 'valid') return null;
  for (const r of RULES) if (r.applies(gw, jose, f)) return r.id;
  return null;
}

// ---------------------------------------------------------------------------------------------

test(`the gateway's JWT verifier and its oracle (jose and the gateway's documented extra checks) reach the same verdict on ${RUNS} generated tokens: 0 disagreements`, async (t) => {
  t.diagnostic(`seed ${SEED} (JWT_ORACLE_SEED=${SEED} replays this run)`);
  const started = Date.now();
  const materials = makeMaterials();
  const materialList = Object.values(materials);
  const templates = makeTemplates(materials);
  const pairs = new Map<string, number>();
  const rulesUsed = new Map<string, number>();
  const refusedByPolicy = new Map<string, number>();
  const validByAlg = new Map<string, number>();
  const count = (m: Map<string, number>, k: string): void => void m.set(k, (m.get(k) ?? 0) + 1);

  await fc.assert(
    fc.asyncProperty(caseArb, async (c) => {
      const b = build(c, templates, materialList);
      const gw = gatewayOutcome(b);
      const jose = await joseOutcome(b);
      const f = facts(b);
      const policies = policiesRefusing(f);
      const describe = (what: string): string =>
        [
          `${what}: gateway ${gw.verdict} (${gw.detail}), jose ${jose.verdict} (${jose.detail}), the gateway's own checks refusing: ${policies.map((p) => p.id).join(', ') || 'none'}`,
          `template ${b.template.name}, signed ${b.signAlg}, now ${c.nowMs}`,
          `provider ${JSON.stringify({ ...b.config, keys: undefined, pem: undefined, secret: undefined })}`,
          `header ${JSON.stringify(f.header)}`,
          `payload ${JSON.stringify(f.payload)?.slice(0, 400)}`,
          `token ${JSON.stringify(b.token.slice(0, 600))}`,
        ].join('\n');
      // the verdict: the oracle accepts when jose accepts and none of the gateway's own checks refuses
      const oracleValid = jose.verdict === 'valid' && policies.length === 0;
      if ((gw.verdict === 'valid') !== oracleValid) assert.fail(describe('disagreement'));
      count(pairs, gw.verdict === jose.verdict ? gw.verdict : `${gw.verdict} / jose ${jose.verdict}`);
      if (gw.verdict === 'valid') {
        assert.deepEqual(gw.payload, jose.payload, 'both accept: the same claims');
        count(validByAlg, String(decodeProtectedHeader(b.token).alg));
        return;
      }
      if (jose.verdict === 'valid') count(refusedByPolicy, policies[0]!.id);
      if (gw.verdict === jose.verdict) return;
      // both refuse, naming different checks: the gateway's must be one the token fails
      const why = explain(gw, jose, f, policies);
      if (why === null) assert.fail(describe('the gateway refused for a reason the token does not have'));
      count(rulesUsed, why);
    }),
    { numRuns: RUNS, seed: SEED, endOnFailure: true },
  );

  const seconds = ((Date.now() - started) / 1000).toFixed(1);
  t.diagnostic(`${RUNS} cases in ${seconds} s`);
  t.diagnostic(
    `verdicts: ${[...pairs]
      .sort((a, b) => b[1] - a[1])
      .map(([k, v]) => `${k}: ${v}`)
      .join(', ')}`,
  );
  t.diagnostic(
    `accepted by jose, refused by the gateway's own checks: ${[...refusedByPolicy]
      .sort()
      .map(([k, v]) => `${k}: ${v}`)
      .join(', ')}`,
  );
  t.diagnostic(
    `different reasons for a refusal: ${[...rulesUsed]
      .sort()
      .map(([k, v]) => `${k}: ${v}`)
      .join(', ')}`,
  );
  t.diagnostic(
    `valid by alg: ${[...validByAlg]
      .sort()
      .map(([k, v]) => `${k}: ${v}`)
      .join(', ')}`,
  );
  // the run must have tested something: every algorithm accepted by both, every refusal agreed on
  if (RUNS >= 5000) {
    for (const alg of ALGS) assert.ok((validByAlg.get(alg) ?? 0) > 0, `no ${alg} token was accepted by both`);
    for (const v of ['malformed', 'header', 'alg', 'key', 'signature', 'expired', 'not-yet-valid', 'claims'] as const) {
      assert.ok((pairs.get(v) ?? 0) > 0, `no token was refused by both as ${v}`);
    }
  }
});
