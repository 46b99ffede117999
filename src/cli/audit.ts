/**
 * `portcullis audit verify`: checks the audit log's hash chain and reports the first entry that was
 * edited, removed or reordered; with the checkpoint key, also checks the keyed checkpoints, which
 * show lines cut off the end and a chain rewritten with recomputed hashes.
 *
 *   portcullis audit verify -c portcullis.yaml        log, checkpoint file and key from the config
 *   portcullis audit verify FILE [--checkpoints CPFILE] [--key-env NAME | --key-file PATH]
 *
 * Exit codes: 0 intact (every checkpoint, when checked, verifies and matches); 1 tampered (the
 * chain is broken, the log is shorter than or differs from a checkpoint, or a checkpoint line is
 * not genuine); 2 usage error, unreadable log or bad config; 3 not vouched for: the chain is
 * intact but the checkpoints cannot vouch for the log's end (the checkpoint file is missing or
 * empty, or no checkpoint verifies with the key given).
 */
import process from 'node:process';
import { Buffer } from 'node:buffer';
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { checkpointSettings, verifyAuditText, verifyCheckpoints, type AuditConfig } from '../observe/audit.js';
import { attempt } from './attempt.js';

export const USAGE = `usage: portcullis audit verify -c CONFIG
       portcullis audit verify FILE [--checkpoints CPFILE] [--key-env NAME | --key-file PATH]

Checks the audit log's hash chain and, with the checkpoint key, its keyed checkpoints
(audit.checkpoints), which show lines cut off the end. With -c, the log, the checkpoint file and
the key (\${env:...} / \${file:...}) come from the config; FILE overrides its log path.
--checkpoints defaults to FILE.checkpoints.

Exit codes: 0 intact; 1 tampered; 2 usage error, unreadable log or bad config;
3 chain intact but not vouched for by the checkpoints (checkpoint file missing or empty, or no
checkpoint verifies with this key).`;

type Out = (s: string) => void;

interface Target {
  readonly log: string;
  /** null: checkpoints not checked */
  readonly checkpoints: { readonly path: string; readonly key: Buffer } | null;
}

async function readOrNull(path: string): Promise<string | null> {
  try {
    return await readFile(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw e;
  }
}

/** What to check, from the arguments; a string is a usage or config error. */
async function targetOf(argv: readonly string[]): Promise<Target | string> {
  const parsed = attempt(() =>
    parseArgs({
      args: [...argv],
      allowPositionals: true,
      strict: true,
      options: { config: { type: 'string', short: 'c' }, checkpoints: { type: 'string' }, 'key-env': { type: 'string' }, 'key-file': { type: 'string' } },
    }),
  );
  if (parsed instanceof Error) return parsed.message;
  const { values, positionals } = parsed;
  if (positionals.length > 1) return 'one log FILE at most';
  const file = positionals[0];
  if (values['key-env'] !== undefined && values['key-file'] !== undefined) return 'give --key-env or --key-file, not both';
  let key: Buffer | null = null;
  if (values['key-env'] !== undefined) {
    const v = process.env[values['key-env']];
    if (v === undefined || v === '') return `environment variable ${values['key-env']} is not set`;
    key = Buffer.from(v, 'utf8');
  } else if (values['key-file'] !== undefined) {
    try {
      key = Buffer.from((await readFile(values['key-file'], 'utf8')).replace(/\r?\n$/, ''), 'utf8');
    } catch (e) {
      return `cannot read key file ${values['key-file']}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`;
    }
  }
  if (values.config !== undefined) {
    const { loadConfigFile } = await import('../config/load.js');
    const { STAGES } = await import('../stages/index.js');
    const { ConfigError, ConfigErrors } = await import('../config/errors.js');
    let a: Partial<AuditConfig>;
    let base: string;
    try {
      const loaded = loadConfigFile(values.config, STAGES);
      a = (loaded.config.audit ?? {}) as Partial<AuditConfig>;
      base = loaded.baseDir;
    } catch (e) {
      if (e instanceof ConfigErrors) return e.errors.map((x) => x.message).join('\n');
      if (e instanceof ConfigError) return e.message;
      throw e;
    }
    const log = file !== undefined ? resolve(file) : resolve(base, a.path ?? 'portcullis-audit.jsonl');
    const cp = checkpointSettings(a, log, base);
    const cpKey = key ?? cp?.key ?? null;
    const cpPath = values.checkpoints ?? cp?.path ?? `${log}.checkpoints`;
    return { log, checkpoints: cpKey === null ? null : { path: cpPath, key: cpKey } };
  }
  if (file === undefined) return 'missing FILE (or -c CONFIG)';
  if (values.checkpoints !== undefined && key === null) return '--checkpoints needs the key: --key-env NAME or --key-file PATH';
  return { log: file, checkpoints: key === null ? null : { path: values.checkpoints ?? `${file}.checkpoints`, key } };
}

export async function auditCommand(
  argv: readonly string[],
  out: Out = (s) => process.stdout.write(`${s}\n`),
  err: Out = (s) => process.stderr.write(`${s}\n`),
): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub === '--help' || sub === '-h' || (sub === 'verify' && (rest.includes('--help') || rest.includes('-h')))) {
    out(USAGE);
    return 0;
  }
  if (sub !== 'verify') {
    err(USAGE);
    return 2;
  }
  const t = await targetOf(rest);
  if (typeof t === 'string') {
    err(`error: ${t}\n\n${USAGE}`);
    return 2;
  }
  let text: string;
  try {
    text = await readFile(t.log, 'utf8');
  } catch (e) {
    err(`cannot read ${t.log}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`);
    return 2;
  }
  const r = verifyAuditText(text);
  let code = 0;
  if (r.ok) out(`OK: ${t.log}: ${r.entries} entries, hash chain intact${r.lastHash ? ` (last hash ${r.lastHash})` : ''}`);
  else {
    out(`TAMPERED: ${t.log}: ${r.problem} at line ${r.line}${r.seq !== null ? ` (seq ${r.seq})` : ''}: ${r.message}`);
    code = 1;
  }
  if (t.checkpoints === null) {
    out('NOTE: checkpoints not checked (no key: give -c CONFIG, --key-env NAME or --key-file PATH); lines cut off the end would not be detected');
    return code;
  }
  let cpText: string | null;
  try {
    cpText = await readOrNull(t.checkpoints.path);
  } catch (e) {
    err(`cannot read ${t.checkpoints.path}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`);
    return 2;
  }
  const c = verifyCheckpoints(text, cpText, t.checkpoints.key);
  if (c.status === 'ok') {
    const tail = c.lines - c.covered;
    out(
      `OK: ${t.checkpoints.path}: ${c.checkpoints} checkpoint${c.checkpoints === 1 ? '' : 's'} verified; the last (${c.lastTime}) covers ${c.covered} of ${c.lines} lines` +
        (tail > 0 ? ` (${tail} newer line${tail === 1 ? ' is' : 's are'} not covered yet)` : ''),
    );
    return code;
  }
  if (c.status === 'tampered') {
    out(`${c.problem === 'truncated' ? 'TRUNCATED' : 'TAMPERED'}: ${c.problem.startsWith('checkpoint') ? t.checkpoints.path : t.log}: ${c.message}`);
    return 1;
  }
  out(`UNVERIFIED: ${t.checkpoints.path}: ${c.message}`);
  return code === 0 ? 3 : code;
}
