/**
 * `portcullis keys create --consumer ID [--secret-env NAME | --secret-file PATH] [--id KID] [--expires TIME]`
 *   prints a new API key once, and the config entry (key id + keyed hash) to add to the consumer.
 * `portcullis keys hash [--secret-env NAME | --secret-file PATH]`
 *   reads a key on stdin and prints its hash (to re-create a lost entry, or after rotating the secret).
 *
 * The key itself is never stored anywhere by Portcullis: only HMAC-SHA-256(secret, key).
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { generateApiKey, generateKeyId, hashApiKey, parseApiKey } from '../stages/auth/verifiers/api-key.js';

export const DEFAULT_SECRET_ENV = 'PORTCULLIS_APIKEY_SECRET';

const HELP = `Usage:
  portcullis keys create --consumer ID [--secret-env NAME | --secret-file PATH] [--id KID] [--expires TIME]
  portcullis keys hash [--secret-env NAME | --secret-file PATH] < key

Creates an API key for a consumer: prints the key once (store it now, it cannot be recovered)
and the entry to add under the consumer's credentials.api_keys. The hash is keyed with the
server secret, the same value as auth.api_keys.secret (default: $${DEFAULT_SECRET_ENV}).

Options:
  --consumer ID        consumer id (as in the config's consumers list)
  --secret-env NAME    environment variable holding the server secret (default ${DEFAULT_SECRET_ENV})
  --secret-file PATH   file holding the server secret (instead of the environment)
  --id KID             key id (default: random); letters, digits and _ . : @ -
  --expires TIME       expiry, RFC 3339 (e.g. 2027-01-01T00:00:00Z)
`;

export interface KeysIo {
  readonly out: (s: string) => void;
  readonly err: (s: string) => void;
  readonly env: NodeJS.ProcessEnv;
  readonly stdin: () => string;
}

const defaultIo: KeysIo = {
  out: (s) => void process.stdout.write(s),
  err: (s) => void process.stderr.write(s),
  env: process.env,
  stdin: () => readFileSync(0, 'utf8'),
};

const CONSUMER_RE = /^[A-Za-z0-9_.:@-]{1,128}$/;

function readSecret(values: { 'secret-env'?: string; 'secret-file'?: string }, io: KeysIo): string | { error: string } {
  let secret: string | undefined;
  let where: string;
  if (values['secret-file'] !== undefined) {
    where = `file ${values['secret-file']}`;
    try {
      secret = readFileSync(values['secret-file'], 'utf8').replace(/\r?\n$/, '');
    } catch (e) {
      return { error: `cannot read ${where}: ${(e as NodeJS.ErrnoException).code ?? 'error'}` };
    }
  } else {
    const name = values['secret-env'] ?? DEFAULT_SECRET_ENV;
    where = `environment variable ${name}`;
    secret = io.env[name];
    if (secret === undefined || secret === '') return { error: `${where} is not set (it must hold the same value as auth.api_keys.secret)` };
  }
  if (secret.length < 32) return { error: `the server secret in ${where} must be at least 32 characters` };
  return secret;
}

export async function keysCommand(argv: string[], io: KeysIo = defaultIo): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub === undefined || sub === '-h' || sub === '--help' || sub === 'help') {
    (sub === undefined ? io.err : io.out)(HELP);
    return sub === undefined ? 2 : 0;
  }
  let values: { consumer?: string; 'secret-env'?: string; 'secret-file'?: string; id?: string; expires?: string; help?: boolean };
  try {
    values = parseArgs({
      args: rest,
      options: {
        consumer: { type: 'string' },
        'secret-env': { type: 'string' },
        'secret-file': { type: 'string' },
        id: { type: 'string' },
        expires: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
    }).values;
  } catch (e) {
    io.err(`error: ${(e as Error).message}\n\n${HELP}`);
    return 2;
  }
  if (values.help) {
    io.out(HELP);
    return 0;
  }
  if (values['secret-env'] !== undefined && values['secret-file'] !== undefined) {
    io.err('error: give either --secret-env or --secret-file\n');
    return 2;
  }

  if (sub === 'hash') {
    const secret = readSecret(values, io);
    if (typeof secret !== 'string') {
      io.err(`error: ${secret.error}\n`);
      return 2;
    }
    const key = io.stdin().trim();
    const parsed = parseApiKey(key);
    if (parsed === null) {
      io.err('error: stdin does not hold a Portcullis API key (pc_<id>_<random>)\n');
      return 2;
    }
    io.out(`- id: ${parsed.kid}\n  hash: ${hashApiKey(key, secret)}\n`);
    return 0;
  }

  if (sub !== 'create') {
    io.err(`error: unknown keys command '${sub}'\n\n${HELP}`);
    return 2;
  }
  if (values.consumer === undefined || !CONSUMER_RE.test(values.consumer)) {
    io.err(`error: --consumer ID is required (letters, digits and _ . : @ -)\n\n${HELP}`);
    return 2;
  }
  const kid = values.id ?? generateKeyId();
  if (!CONSUMER_RE.test(kid)) {
    io.err('error: --id must be 1-128 letters, digits or _ . : @ -\n');
    return 2;
  }
  let expires: string | null = null;
  if (values.expires !== undefined) {
    const t = Date.parse(values.expires);
    if (Number.isNaN(t) || !/^\d{4}-\d{2}-\d{2}T/.test(values.expires)) {
      io.err('error: --expires must be an RFC 3339 time, e.g. 2027-01-01T00:00:00Z\n');
      return 2;
    }
    expires = new Date(t).toISOString().replace('.000Z', 'Z');
  }
  const secret = readSecret(values, io);
  if (typeof secret !== 'string') {
    io.err(`error: ${secret.error}\n`);
    return 2;
  }

  const key = generateApiKey(kid);
  const hash = hashApiKey(key, secret);
  io.out(
    [
      `API key for consumer '${values.consumer}' (shown once: store it now, it cannot be recovered):`,
      '',
      `  ${key}`,
      '',
      `Add this entry to the consumer '${values.consumer}' under credentials.api_keys:`,
      '',
      `        - id: ${kid}`,
      `          hash: ${hash}`,
      ...(expires !== null ? [`          expires: "${expires}"`] : []),
      '',
      `Clients send it as:  X-API-Key: ${key.slice(0, key.indexOf('_', 3) + 1)}...`,
      '',
    ].join('\n'),
  );
  return 0;
}
