/** Shared helpers of the auth tests: keys, token signing, raw HTTP requests. */
import { constants, createHmac, createPrivateKey, generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import type * as http from 'node:http';
import type { KeyPair } from '../helpers/pki.js';
import { sendRequest, testProtocol } from '../helpers/protocol.js';
import { authStage } from '../../src/stages/auth/index.js';
import { authorizeStage } from '../../src/stages/authorize/index.js';

export const AUTH_MODULES = [authStage, authorizeStage] as const;

export const b64 = (v: unknown): string => Buffer.from(typeof v === 'string' ? v : JSON.stringify(v)).toString('base64url');

export interface TestKey {
  readonly alg: string;
  readonly kid: string;
  readonly privateKey: KeyObject;
  /** public JWK with kid and alg */
  readonly jwk: Record<string, unknown>;
}

export function makeKey(alg: string, kid = `k-${alg.toLowerCase()}`): TestKey {
  const fam = alg.slice(0, 2);
  const pair =
    fam === 'RS' || fam === 'PS'
      ? generateKeyPairSync('rsa', { modulusLength: 2048 })
      : fam === 'ES'
        ? generateKeyPairSync('ec', { namedCurve: { ES256: 'P-256', ES384: 'P-384', ES512: 'P-521' }[alg] as string })
        : generateKeyPairSync('ed25519');
  const jwk = { ...(pair.publicKey.export({ format: 'jwk' }) as Record<string, unknown>), kid, alg, use: 'sig' };
  return { alg, kid, privateKey: pair.privateKey, jwk };
}

/** Signs `header.payload` with node:crypto (any algorithm, so that tests can forge). */
export function signRaw(alg: string, key: KeyObject | Buffer | string, input: string): Buffer {
  const data = Buffer.from(input);
  const fam = alg.slice(0, 2);
  const hash = `sha${alg.slice(2)}`;
  if (fam === 'HS')
    return createHmac(hash, key as Buffer)
      .update(data)
      .digest();
  if (fam === 'RS') return sign(hash, data, key as KeyObject);
  if (fam === 'PS') return sign(hash, data, { key: key as KeyObject, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: constants.RSA_PSS_SALTLEN_DIGEST });
  if (fam === 'ES') return sign(hash, data, { key: key as KeyObject, dsaEncoding: 'ieee-p1363' });
  return sign(null, data, key as KeyObject);
}

export function jwt(header: Record<string, unknown>, payload: Record<string, unknown>, key: KeyObject | Buffer | string): string {
  const input = `${b64(header)}.${b64(payload)}`;
  return `${input}.${signRaw(String(header.alg), key, input).toString('base64url')}`;
}

export function tokenFor(k: TestKey, payload: Record<string, unknown>, extraHeader: Record<string, unknown> = {}): string {
  return jwt({ alg: k.alg, typ: 'JWT', kid: k.kid, ...extraHeader }, payload, k.privateKey);
}

export const nowS = (): number => Math.floor(Date.now() / 1000);

export interface RawResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
  json(): Record<string, unknown>;
}

/**
 * A request in the suite's HTTP version (PC_TEST_PROTOCOL: test/helpers/protocol.ts), `headers` as
 * [name, value] pairs so that a name can repeat.
 */
export async function rawRequest(url: string, opts: { method?: string; headers?: [string, string][]; body?: string } = {}): Promise<RawResponse> {
  const r = await sendRequest(url, {
    method: opts.method ?? 'GET',
    headers: opts.headers ?? [],
    ...(opts.body !== undefined ? { body: opts.body } : {}),
  });
  const body = r.text();
  return { status: r.status, headers: r.headers, body, json: () => JSON.parse(body) as Record<string, unknown> };
}

export const bearer = (t: string): [string, string][] => [['authorization', `Bearer ${t}`]];

export { createPrivateKey };

export interface TlsResponse {
  status: number;
  body: string;
  json(): Record<string, unknown>;
}

/** An HTTPS request to a gateway listener of the test PKI, with a client certificate or none, in the suite's HTTP version. */
export async function tlsRequest(url: string, client: KeyPair | null, headers: Record<string, string> = {}): Promise<TlsResponse> {
  const protocol = testProtocol();
  // h2c has no TLS: a TLS listener of an h2c run is reached by ALPN h2
  const r = await sendRequest(url, {
    headers,
    protocol: protocol === 'h2c' ? 'h2' : protocol,
    ...(client ? { clientCert: { cert: client.cert, key: client.key } } : {}),
  });
  const body = r.text();
  return { status: r.status, body, json: () => JSON.parse(body) as Record<string, unknown> };
}

/**
 * Waits until the whole-second clock passed the second of `sinceMs` (default: now). With the memory
 * state store, replay-checked credentials (`iat`, `created`: whole seconds) must postdate the
 * gateway's start (src/stages/auth/replay-epoch.ts): call this after starting a gateway.
 */
export async function pastStartSecond(sinceMs = Date.now()): Promise<void> {
  const target = Math.ceil(sinceMs / 1000) * 1000;
  // a timer may fire a millisecond before the wall clock reaches its time: wait until it has
  while (Date.now() < target) await new Promise((r) => setTimeout(r, Math.max(1, target - Date.now())));
}
