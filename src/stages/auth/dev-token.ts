/**
 * `portcullis token --dev`: prints a short-lived ES256 token for the quickstart's protected
 * routes, signed with the LOCAL-ONLY key in examples/quickstart/dev-jwt.json (whose public half
 * the quickstart's `dev` provider trusts through `jwks_file`). Never a production tool.
 */
import { createPrivateKey, randomUUID, sign } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** examples/quickstart/dev-jwt.json of the installed package (this file is dist/src/stages/auth/). */
export const DEFAULT_DEV_KEY_FILE = fileURLToPath(new URL('../../../../examples/quickstart/dev-jwt.json', import.meta.url));

export interface DevKeyFile {
  issuer: string;
  audience: string;
  keys: Record<string, unknown>[];
}

export interface DevTokenOptions {
  readonly file: string;
  readonly sub: string;
  readonly scopes: readonly string[];
  readonly ttlS: number;
  readonly tenant: string | null;
  readonly now: number;
}

const b64 = (v: unknown): string => Buffer.from(JSON.stringify(v)).toString('base64url');

/** Signs a dev token with the first ES256 private key of the file. */
export function devToken(o: DevTokenOptions): string {
  const doc = JSON.parse(readFileSync(o.file, 'utf8')) as DevKeyFile;
  const jwk = doc.keys.find((k) => k.alg === 'ES256' && typeof k.d === 'string');
  if (jwk === undefined) throw new Error(`${o.file} holds no ES256 private key`);
  const key = createPrivateKey({ key: jwk as import('node:crypto').JsonWebKey, format: 'jwk' });
  const iat = Math.floor(o.now / 1000);
  const payload: Record<string, unknown> = {
    iss: doc.issuer,
    aud: doc.audience,
    sub: o.sub,
    iat,
    exp: iat + o.ttlS,
    jti: randomUUID(),
    scope: o.scopes.join(' '),
  };
  if (o.tenant !== null) payload.tenant = o.tenant;
  const input = `${b64({ alg: 'ES256', typ: 'JWT', kid: jwk.kid })}.${b64(payload)}`;
  return `${input}.${sign('sha256', Buffer.from(input), { key, dsaEncoding: 'ieee-p1363' }).toString('base64url')}`;
}

const USAGE = `usage: portcullis token --dev [--sub NAME] [--scope "a b"] [--tenant ID] [--ttl SECONDS] [--key-file dev-jwt.json]
Prints a token for the quickstart's protected routes (local development only).`;

export async function devTokenCommand(argv: string[]): Promise<number> {
  let dev = false;
  const o = { file: DEFAULT_DEV_KEY_FILE, sub: 'quickstart-user', scopes: ['items:read', 'items:write'], ttlS: 3600, tenant: null as string | null };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] as string;
    const next = (): string => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${a} needs a value`);
      return v;
    };
    try {
      if (a === '--dev') dev = true;
      else if (a === '--sub') o.sub = next();
      else if (a === '--scope')
        o.scopes = next()
          .split(/\s+/)
          .filter((s) => s !== '');
      else if (a === '--tenant') o.tenant = next();
      else if (a === '--ttl') {
        o.ttlS = Number(next());
        if (!Number.isInteger(o.ttlS) || o.ttlS < 1 || o.ttlS > 86400) throw new Error('--ttl must be 1..86400 seconds');
      } else if (a === '--key-file') o.file = resolve(next());
      else if (a === '-h' || a === '--help') {
        process.stdout.write(`${USAGE}\n`);
        return 0;
      } else throw new Error(`unknown option ${a}`);
    } catch (e) {
      process.stderr.write(`${(e as Error).message}\n${USAGE}\n`);
      return 2;
    }
  }
  if (!dev) {
    process.stderr.write(`only development tokens can be printed: pass --dev\n${USAGE}\n`);
    return 2;
  }
  try {
    process.stdout.write(`${devToken({ ...o, now: Date.now() })}\n`);
    return 0;
  } catch (e) {
    process.stderr.write(`cannot make a dev token: ${(e as Error).message}\n`);
    return 1;
  }
}
