/**
 * The verdict on one compact JWS from one provider's keys and claim policy: pure and synchronous,
 * time passed in. These are the checks JwtVerifier runs on a cache miss, in the same order;
 * test/auth/jwt-oracle.test.ts runs them beside jose on generated tokens.
 */
import { checkClaims, type ClaimPolicy } from './claims.js';
import { keyFitsAlg, verifySignature, type VerifyKey } from './keys.js';
import { parseJws, type Jws, type ParseResult, type TokenError } from './token.js';

/** What a provider needs to judge a token alone (a compiled Provider has these members). */
export interface TokenIssuer {
  readonly policy: ClaimPolicy;
  readonly algorithms: ReadonlySet<string>;
  readonly staticKeys: readonly VerifyKey[];
}

/**
 * Appends the keys of `keys` that may verify `jws`: a token's kid selects the keys with that kid
 * (or a key configured alone, without one), and the key must fit the alg.
 */
export function addKeysFor(jws: Jws, keys: readonly VerifyKey[], out: VerifyKey[]): void {
  for (const k of keys) if ((jws.kid === null || (k.kid === null ? k.anyKid : k.kid === jws.kid)) && keyFitsAlg(k, jws.alg)) out.push(k);
}

/** The signature (by any of `keys`), then the claims; null when the token is good. */
export function checkSignedToken(jws: Jws, keys: readonly VerifyKey[], policy: ClaimPolicy, nowMs: number): TokenError | null {
  if (keys.length === 0) return { code: 'PC_ERR_AUTH_TOKEN_KEY_UNKNOWN', reason: jws.kid === null ? 'no key for alg' : 'unknown kid' };
  let ok = false;
  for (const k of keys) {
    if (verifySignature(jws.alg, k.key, jws.signingInput, jws.signature)) {
      ok = true;
      break;
    }
  }
  if (!ok) return { code: 'PC_ERR_AUTH_TOKEN_SIGNATURE', reason: 'signature not valid' };
  return checkClaims(jws.header, jws.payload, policy, nowMs);
}

/** A compact token against one issuer's static keys: parse, issuer, algorithm, key, signature, claims. */
export function verifyToken(token: string, maxBytes: number, issuer: TokenIssuer, nowMs: number): ParseResult {
  const parsed = parseJws(token, maxBytes);
  if (!parsed.ok) return parsed;
  const jws = parsed.jws;
  if (jws.payload.iss !== issuer.policy.issuer) return { ok: false, error: { code: 'PC_ERR_AUTH_TOKEN_CLAIMS', reason: 'iss not accepted' } };
  if (!issuer.algorithms.has(jws.alg)) return { ok: false, error: { code: 'PC_ERR_AUTH_TOKEN_ALG', reason: 'alg not allowed' } };
  const keys: VerifyKey[] = [];
  addKeysFor(jws, issuer.staticKeys, keys);
  const error = checkSignedToken(jws, keys, issuer.policy, nowMs);
  return error === null ? parsed : { ok: false, error };
}
