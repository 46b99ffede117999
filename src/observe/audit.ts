/**
 * The security audit log: an append-only JSON-lines file of security events (config loaded,
 * reloaded or rejected with the config hash; admin API actions and who made them; bans placed and
 * lifted; alerts fired and resolved). Each entry is chained to the one before it:
 *
 *   {"seq":N,"time":"...","event":"...","data":{...},"prev":"<sha256 of the previous line>","hash":"<sha256 of this entry>"}
 *
 * `hash` is the sha256 of the canonical JSON (sorted keys) of {seq, time, event, data, prev};
 * `prev` is the sha256 of the previous line's text (64 zeros for the first entry). Editing,
 * removing or reordering lines breaks the chain; `portcullis audit verify FILE` finds where.
 */
import process from 'node:process';
import { Buffer } from 'node:buffer';
import { closeSync, fstatSync, mkdirSync, openSync, readSync, writeSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { dirname, resolve } from 'node:path';
import type { JsonSchema } from '../config/json-schema.js';

export const auditSchema: JsonSchema = {
  type: 'object',
  additionalProperties: false,
  default: {},
  description:
    'Security audit log: an append-only, hash-chained JSON-lines file (config loads and reloads, admin actions, bans, alerts). Check it with `portcullis audit verify FILE`.',
  properties: {
    enabled: { type: 'boolean', default: false, description: 'Write the audit log. Off by default because it creates a file; turn it on in production.' },
    path: { type: 'string', default: 'portcullis-audit.jsonl', minLength: 1, description: 'File the entries are appended to (relative paths: to the config file\'s directory when known, else the working directory). Created with mode 0600.' },
  },
};

export interface AuditConfig {
  enabled: boolean;
  path: string;
}

export const GENESIS = '0'.repeat(64);

const SECRET_KEYS = /^(token|secret|password|passwd|authorization|api_key|apikey|key_material|cookie)$/i;

export function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/** JSON with object keys sorted at every level (the form that is hashed). */
export function canonicalJson(v: unknown): string {
  if (v === null || typeof v !== 'object') return JSON.stringify(v) ?? 'null';
  if (Array.isArray(v)) return `[${v.map((x) => canonicalJson(x)).join(',')}]`;
  const keys = Object.keys(v as Record<string, unknown>)
    .filter((k) => (v as Record<string, unknown>)[k] !== undefined)
    .sort();
  return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson((v as Record<string, unknown>)[k])}`).join(',')}}`;
}

/** Copies `data` with secret-looking keys redacted and sizes bounded. */
function scrub(v: unknown, depth = 0): unknown {
  if (depth > 6) return '[deep]';
  if (typeof v === 'string') return v.length > 2048 ? `${v.slice(0, 2048)}...` : v;
  if (v === null || typeof v !== 'object') return typeof v === 'bigint' ? String(v) : v;
  if (Array.isArray(v)) return v.slice(0, 100).map((x) => scrub(x, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(v as Record<string, unknown>).slice(0, 100)) out[k] = SECRET_KEYS.test(k) ? '[REDACTED]' : scrub(x, depth + 1);
  return out;
}

export interface AuditEntry {
  readonly seq: number;
  readonly time: string;
  readonly event: string;
  readonly data: Record<string, unknown>;
  readonly prev: string;
  readonly hash: string;
}

/** Hash of an entry's content (everything but `hash`). */
export function entryHash(e: Omit<AuditEntry, 'hash'>): string {
  return sha256(canonicalJson({ seq: e.seq, time: e.time, event: e.event, data: e.data, prev: e.prev }));
}

/** Builds the line for the entry following (`prevLine`, `prevSeq`). Pure. */
export function makeLine(prev: { line: string | null; seq: number }, event: string, data: Record<string, unknown>, now: number): { line: string; entry: AuditEntry } {
  const base = { seq: prev.seq + 1, time: new Date(now).toISOString(), event, data: scrub(data) as Record<string, unknown>, prev: prev.line === null ? GENESIS : sha256(prev.line) };
  const entry: AuditEntry = { ...base, hash: entryHash(base) };
  return { line: JSON.stringify(entry), entry };
}

export interface AuditLog {
  /** the file written, or null when disabled */
  readonly path: string | null;
  write(event: string, data: Record<string, unknown>): void;
  close(): void;
}

/** The last line of a file (reads at most the last 1 MiB). */
function lastLine(fd: number): string | null {
  const size = fstatSync(fd).size;
  if (size === 0) return null;
  const len = Math.min(size, 1 << 20);
  const buf = Buffer.alloc(len);
  readSync(fd, buf, 0, len, size - len);
  const text = buf.toString('utf8').replace(/\n+$/, '');
  const i = text.lastIndexOf('\n');
  return i >= 0 ? text.slice(i + 1) : text;
}

class FileAuditLog implements AuditLog {
  private fd: number | null;
  private prev: { line: string | null; seq: number };
  private refs = 1;

  constructor(readonly path: string) {
    mkdirSync(dirname(path), { recursive: true });
    this.fd = openSync(path, 'a+', 0o600);
    const last = lastLine(this.fd);
    let seq = -1;
    if (last !== null) {
      try {
        const parsed = JSON.parse(last) as { seq?: unknown };
        if (typeof parsed.seq === 'number') seq = parsed.seq;
      } catch {
        /* a damaged last line stays damaged; the chain continues from its text */
      }
    }
    this.prev = { line: last, seq };
  }

  retain(): this {
    this.refs++;
    return this;
  }

  write(event: string, data: Record<string, unknown>): void {
    if (this.fd === null) return;
    const { line } = makeLine(this.prev, event, data, Date.now());
    writeSync(this.fd, `${line}\n`);
    this.prev = { line, seq: this.prev.seq + 1 };
  }

  close(): void {
    if (--this.refs > 0 || this.fd === null) return;
    closeSync(this.fd);
    this.fd = null;
    open.delete(this.path);
  }
}

/** One writer per file in a process, so that the chain stays linear. */
const open = new Map<string, FileAuditLog>();

const disabled: AuditLog = { path: null, write() {}, close() {} };

/**
 * The audit log of a config: pass the whole config (its `audit` section is read) or the section
 * itself. Relative paths resolve against `baseDir` (the config file's directory) when given, else
 * the working directory. Plug `write` into services.audit.
 */
export function createAuditLog(config: unknown, baseDir?: unknown): AuditLog {
  const c = (config ?? {}) as { audit?: unknown; enabled?: unknown };
  const a = ('enabled' in c ? c : c.audit) as Partial<AuditConfig> | undefined;
  if (!a || a.enabled !== true) return disabled;
  const path = resolve(typeof baseDir === 'string' ? baseDir : process.cwd(), a.path ?? 'portcullis-audit.jsonl');
  const existing = open.get(path);
  if (existing) return existing.retain();
  const log = new FileAuditLog(path);
  open.set(path, log);
  return log;
}

export type VerifyResult =
  | { readonly ok: true; readonly entries: number; readonly lastHash: string | null }
  | {
      readonly ok: false;
      readonly entries: number;
      /** 1-based line of the first bad entry */
      readonly line: number;
      readonly seq: number | null;
      readonly problem: 'edited' | 'removed' | 'reordered' | 'malformed';
      readonly message: string;
    };

function parseEntry(line: string): AuditEntry | null {
  try {
    const e = JSON.parse(line) as Partial<AuditEntry>;
    if (typeof e.seq !== 'number' || typeof e.time !== 'string' || typeof e.event !== 'string' || typeof e.prev !== 'string' || typeof e.hash !== 'string') return null;
    if (e.data === null || typeof e.data !== 'object') return null;
    return e as AuditEntry;
  } catch {
    return null;
  }
}

/** Verifies a whole log's text; reports the first entry that was edited, removed or reordered. Pure. */
export function verifyAuditText(text: string): VerifyResult {
  const lines = text.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  const entries = lines.map(parseEntry);
  let prevLine: string | null = null;
  let prevSeq = -1;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i] as string;
    const e = entries[i];
    const n = i + 1;
    if (!e) return { ok: false, entries: lines.length, line: n, seq: null, problem: 'malformed', message: `line ${n} is not an audit entry (edited or truncated)` };
    if (entryHash(e) !== e.hash) {
      return { ok: false, entries: lines.length, line: n, seq: e.seq, problem: 'edited', message: `line ${n} (seq ${e.seq}) was edited: its content does not match its hash` };
    }
    const expected = prevSeq + 1;
    if (e.seq === expected) {
      const link = prevLine === null ? GENESIS : sha256(prevLine);
      if (e.prev !== link) {
        if (prevLine === null) {
          return { ok: false, entries: lines.length, line: n, seq: e.seq, problem: 'edited', message: `line ${n} (seq ${e.seq}) was edited: the first entry must link to the genesis hash` };
        }
        return {
          ok: false,
          entries: lines.length,
          line: n - 1,
          seq: prevSeq,
          problem: 'edited',
          message: `line ${n - 1} (seq ${prevSeq}) was edited: the next entry's chain link does not match it (its own hash was recomputed)`,
        };
      }
    } else if (e.seq > expected) {
      const later = entries.findIndex((x, j) => j > i && x !== null && x.seq === expected);
      if (later >= 0) {
        return { ok: false, entries: lines.length, line: n, seq: e.seq, problem: 'reordered', message: `line ${n} (seq ${e.seq}) is out of order: seq ${expected} appears later, at line ${later + 1}` };
      }
      const missing = e.seq - expected === 1 ? `seq ${expected}` : `seq ${expected}..${e.seq - 1}`;
      return { ok: false, entries: lines.length, line: n, seq: e.seq, problem: 'removed', message: `entries before line ${n} were removed (${missing} missing)` };
    } else {
      return { ok: false, entries: lines.length, line: n, seq: e.seq, problem: 'reordered', message: `line ${n} (seq ${e.seq}) is out of order: expected seq ${expected}` };
    }
    prevLine = line;
    prevSeq = e.seq;
  }
  const last = entries[entries.length - 1];
  return { ok: true, entries: lines.length, lastHash: last ? last.hash : null };
}
