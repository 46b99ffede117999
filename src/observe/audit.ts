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
 *
 * The chain has no anchor of its own: lines cut off the end, or a chain rewritten from some line on
 * with recomputed hashes, still verify. Keyed checkpoints anchor it: with `audit.checkpoints.key`,
 * a separate file (`audit.checkpoints.path`) receives, when the log is opened, every `interval_s`
 * while it grew, and when it is closed (clean shutdown), one line
 *
 *   {"v":1,"lines":N,"head":"<sha256 of line N's text>","time":"...","mac":"<HMAC-SHA-256>"}
 *
 * whose `mac` is the HMAC-SHA-256 with the key (its UTF-8 bytes) of the canonical JSON of the
 * other four members. The log is fsynced before each checkpoint, so that a power cut cannot leave
 * a checkpoint ahead of the log. `audit verify` checks each checkpoint against the log: fewer lines
 * than one covers is truncation; another text at line N is a rewrite.
 */
import process from 'node:process';
import { Buffer } from 'node:buffer';
import { closeSync, fdatasyncSync, fstatSync, ftruncateSync, mkdirSync, openSync, readSync, writeSync } from 'node:fs';
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { dirname, resolve } from 'node:path';
import type { JsonSchema } from '../core/json-schema.js';

export const auditSchema: JsonSchema = {
  type: 'object',
  additionalProperties: false,
  default: {},
  description:
    'Security audit log: an append-only, hash-chained JSON-lines file (config loads and reloads, admin actions, bans, alerts). Check it with `portcullis audit verify FILE`.',
  properties: {
    enabled: { type: 'boolean', default: false, description: 'Write the audit log. Off by default because it creates a file; turn it on in production.' },
    fail_closed: {
      type: 'boolean',
      default: false,
      description:
        'Record before acting, and refuse what cannot be recorded: every admin write action (bans, lifts, cache purges) first writes an `admin_request` entry and every config reload a `config_reload_requested` entry; when that write fails (disk full, I/O error) the action is not taken: 503 `PC_ERR_AUDIT_UNAVAILABLE`, or the reload rejected (the running config stays). Traffic is served either way, and bans the abuse detectors place are enforced (refusing them would weaken protection); every line lost is counted (`portcullis_audit_lines_lost_total`) and alerted (`log_lines_lost`). Why off by default: an unwritable disk must not stop operators from acting unless a compliance rule says so (as auditd `disk_full_action: halt`).',
    },
    path: {
      type: 'string',
      default: 'portcullis-audit.jsonl',
      minLength: 1,
      description:
        "File the entries are appended to (relative paths: to the config file's directory when known, else the working directory). Created with mode 0600.",
    },
    checkpoints: {
      type: 'object',
      additionalProperties: false,
      default: {},
      description:
        "Keyed checkpoints that let `portcullis audit verify` detect lines cut off the end of the log (and a chain rewritten with recomputed hashes): an HMAC over the line count and the last line's hash, appended to a separate file when the log opens, periodically while it grows, and on clean shutdown. Off without `key`; keep the checkpoint file where whoever can write the log cannot (another volume, a log shipper).",
      properties: {
        key: {
          type: 'string',
          minLength: 32,
          description:
            'HMAC-SHA-256 key (its UTF-8 bytes), at least 32 characters; give it with `${env:NAME}` or `${file:PATH}`, never inline. Why 32: a short key could be guessed offline from the checkpoints. `audit verify` needs the same key.',
        },
        path: {
          type: 'string',
          minLength: 1,
          description: "File the checkpoints are appended to (mode 0600; relative paths as `path`). Default: the log's path with `.checkpoints` appended.",
        },
        interval_s: {
          type: 'integer',
          minimum: 1,
          maximum: 3600,
          default: 10,
          description:
            'Seconds between checkpoints while the log grows (none while it does not). Why 10: entries written since the last checkpoint can be cut off undetected; each checkpoint costs two fsyncs.',
        },
      },
    },
  },
};

export interface AuditConfig {
  enabled: boolean;
  fail_closed?: boolean;
  path: string;
  checkpoints?: { key?: string; path?: string; interval_s?: number };
}

/** Checkpoint settings after defaults (null: no checkpoints). */
export interface CheckpointSettings {
  readonly key: Buffer;
  readonly path: string;
  readonly intervalMs: number;
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
export function makeLine(
  prev: { line: string | null; seq: number },
  event: string,
  data: Record<string, unknown>,
  now: number,
): { line: string; entry: AuditEntry } {
  const base = {
    seq: prev.seq + 1,
    time: new Date(now).toISOString(),
    event,
    data: scrub(data) as Record<string, unknown>,
    prev: prev.line === null ? GENESIS : sha256(prev.line),
  };
  const entry: AuditEntry = { ...base, hash: entryHash(base) };
  return { line: JSON.stringify(entry), entry };
}

export interface AuditLog {
  /** the file written, or null when disabled */
  readonly path: string | null;
  /** its keyed checkpoints (null: none) */
  readonly checkpoints: CheckpointSettings | null;
  /** Appends one entry; false when it could not be written (counted as lost, see `lost`). */
  write(event: string, data: Record<string, unknown>): boolean;
  /** entries that could not be written since the log was opened */
  readonly lost: number;
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

/** Lines of a file as `verifyAuditText` counts them, and whether its last byte is a newline. */
function countLines(fd: number): { lines: number; endsWithNewline: boolean } {
  const size = fstatSync(fd).size;
  const buf = Buffer.alloc(Math.min(size, 1 << 20));
  let lines = 0;
  let last = 0x0a;
  for (let pos = 0; pos < size; ) {
    const n = readSync(fd, buf, 0, Math.min(buf.length, size - pos), pos);
    if (n <= 0) break;
    for (let i = 0; i < n; i++) if (buf[i] === 0x0a) lines++;
    last = buf[n - 1] as number;
    pos += n;
  }
  return last === 0x0a ? { lines, endsWithNewline: true } : { lines: lines + 1, endsWithNewline: false };
}

export interface Checkpoint {
  readonly v: 1;
  /** lines of the log covered */
  readonly lines: number;
  /** sha256 of the text of line `lines` (GENESIS when 0) */
  readonly head: string;
  readonly time: string;
  /** hex HMAC-SHA-256 of the canonical JSON of the other members */
  readonly mac: string;
}

export function checkpointMac(key: Buffer, c: Omit<Checkpoint, 'mac'>): string {
  return createHmac('sha256', key)
    .update(canonicalJson({ v: c.v, lines: c.lines, head: c.head, time: c.time }))
    .digest('hex');
}

/** The checkpoint line for a log of `lines` lines whose last line is `last`. Pure. */
export function makeCheckpoint(key: Buffer, lines: number, last: string | null, now: number): string {
  const base = { v: 1 as const, lines, head: last === null ? GENESIS : sha256(last), time: new Date(now).toISOString() };
  return JSON.stringify({ ...base, mac: checkpointMac(key, base) });
}

class FileAuditLog implements AuditLog {
  private fd: number | null;
  private prev: { line: string | null; seq: number };
  private refs = 1;
  /** lines in the file (as verify counts them) */
  private lines: number;
  /** the file does not end with a newline (a torn last line): start the next entry on its own line */
  private torn: boolean;
  private cpFd: number | null = null;
  private covered = -1;
  private timer: NodeJS.Timeout | null = null;
  /** entries not written since the log opened */
  lost = 0;
  /** entries lost since the last one written: recorded by an `audit_lines_lost` entry before the next */
  private gap = 0;
  private firstLostAt = 0;

  constructor(
    readonly path: string,
    readonly checkpoints: CheckpointSettings | null,
    private readonly onError: (message: string) => void,
    private readonly onLost: (entries: number) => void = () => {},
  ) {
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
    const count = countLines(this.fd);
    this.lines = count.lines;
    this.torn = !count.endsWithNewline;
    const cp = checkpoints;
    if (cp !== null) {
      mkdirSync(dirname(cp.path), { recursive: true });
      this.cpFd = openSync(cp.path, 'a', 0o600);
      this.checkpoint();
      this.timer = setInterval(() => this.checkpoint(), cp.intervalMs);
      this.timer.unref();
    }
  }

  retain(): this {
    this.refs++;
    return this;
  }

  write(event: string, data: Record<string, unknown>): boolean {
    if (this.fd === null) return false;
    if ((this.gap > 0 && !this.recordGap()) || !this.append(event, data)) {
      this.lost++;
      this.gap++;
      if (this.gap === 1) this.firstLostAt = Date.now();
      this.onLost(1);
      return false;
    }
    return true;
  }

  /** Writes the `audit_lines_lost` entry of the current gap; true when written (the gap is closed). */
  private recordGap(): boolean {
    if (!this.append('audit_lines_lost', { entries: this.gap, since: new Date(this.firstLostAt).toISOString() })) return false;
    this.gap = 0;
    return true;
  }

  /**
   * Appends one line, all or nothing: a write cut short (disk full) is cut back off the file, so
   * that the chain stays whole and the next entry links to the last one written.
   */
  private append(event: string, data: Record<string, unknown>): boolean {
    const fd = this.fd as number;
    const { line } = makeLine(this.prev, event, data, Date.now());
    const buf = Buffer.from(`${this.torn ? '\n' : ''}${line}\n`, 'utf8');
    let size = -1;
    let off = 0;
    try {
      size = fstatSync(fd).size;
      while (off < buf.length) off += writeSync(fd, buf, off, buf.length - off);
    } catch (e) {
      if (off > 0 && size >= 0) {
        try {
          ftruncateSync(fd, size);
        } catch {
          this.torn = true; // the partial line stays: the next entry starts on a line of its own
        }
      }
      this.onError(`audit entry not written to ${this.path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
      return false;
    }
    this.torn = false;
    this.prev = { line, seq: this.prev.seq + 1 };
    this.lines++;
    return true;
  }

  /** Appends a checkpoint when the log changed since the last one; never throws. */
  private checkpoint(): void {
    const cp = this.checkpoints;
    if (cp === null || this.cpFd === null || this.fd === null || this.covered === this.lines) return;
    try {
      fdatasyncSync(this.fd);
      writeSync(this.cpFd, `${makeCheckpoint(cp.key, this.lines, this.prev.line, Date.now())}\n`);
      fdatasyncSync(this.cpFd);
      this.covered = this.lines;
    } catch (e) {
      this.onError(`audit checkpoint not written to ${cp.path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    }
  }

  close(): void {
    if (--this.refs > 0 || this.fd === null) return;
    if (this.timer !== null) clearInterval(this.timer);
    this.checkpoint();
    if (this.cpFd !== null) closeSync(this.cpFd);
    this.cpFd = null;
    closeSync(this.fd);
    this.fd = null;
    open.delete(this.path);
  }
}

/** One writer per file in a process, so that the chain stays linear. */
const open = new Map<string, FileAuditLog>();

const disabled: AuditLog = {
  path: null,
  checkpoints: null,
  lost: 0,
  write: () => true,
  close() {},
};

/** Checkpoint settings of an audit section (null without a key); `path` resolved against `base`. */
export function checkpointSettings(a: Partial<AuditConfig>, logPath: string, base: string): CheckpointSettings | null {
  const c = a.checkpoints;
  if (c?.key === undefined || c.key === '') return null;
  return {
    key: Buffer.from(c.key, 'utf8'),
    path: c.path !== undefined ? resolve(base, c.path) : `${logPath}.checkpoints`,
    intervalMs: (c.interval_s ?? 10) * 1000,
  };
}

/**
 * The audit log of a config: pass the whole config (its `audit` section is read) or the section
 * itself. Relative paths resolve against `baseDir` (the config file's directory) when given, else
 * the working directory. Plug `write` into services.audit, and call `close` on shutdown (the last
 * checkpoint). `onError`: write failures of entries and checkpoints (never thrown: a lost entry is
 * counted, `onLost`, and recorded by an `audit_lines_lost` entry once the log can be written again).
 */
export function createAuditLog(
  config: unknown,
  baseDir?: unknown,
  onError: (message: string) => void = () => {},
  onLost: (entries: number) => void = () => {},
): AuditLog {
  const c = (config ?? {}) as { audit?: unknown; enabled?: unknown };
  const a = ('enabled' in c ? c : c.audit) as Partial<AuditConfig> | undefined;
  if (!a || a.enabled !== true) return disabled;
  const base = typeof baseDir === 'string' ? baseDir : process.cwd();
  const path = resolve(base, a.path ?? 'portcullis-audit.jsonl');
  const existing = open.get(path);
  if (existing) return existing.retain();
  const log = new FileAuditLog(path, checkpointSettings(a, path, base), onError, onLost);
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
    if (typeof e.seq !== 'number' || typeof e.time !== 'string' || typeof e.event !== 'string' || typeof e.prev !== 'string' || typeof e.hash !== 'string')
      return null;
    if (e.data === null || typeof e.data !== 'object') return null;
    return e as AuditEntry;
  } catch {
    return null;
  }
}

type Fault = Exclude<VerifyResult, { ok: true }>;

/**
 * The chain check, one line at a time (`verifyAuditText` over a whole text, the compliance report
 * over a stream): keeps the previous line and, after the first fault, only what tells a removed
 * entry from a reordered one (whether the missing seq appears later). Memory does not grow with the log.
 */
export class AuditChainVerifier {
  private n = 0;
  private prevLine: string | null = null;
  private prevSeq = -1;
  private last: AuditEntry | null = null;
  private fault: Omit<Fault, 'entries'> | null = null;
  /** the first fault was a seq ahead of `expected`: removed, unless `expected` appears later */
  private gap: { line: number; seq: number; expected: number; later: number | null } | null = null;

  push(line: string): void {
    const n = ++this.n;
    const gap = this.gap;
    if (gap !== null) {
      if (gap.later === null && parseEntry(line)?.seq === gap.expected) gap.later = n;
      return;
    }
    if (this.fault !== null) return;
    const e = parseEntry(line);
    if (!e) {
      this.fault = { ok: false, line: n, seq: null, problem: 'malformed', message: `line ${n} is not an audit entry (edited or truncated)` };
      return;
    }
    if (entryHash(e) !== e.hash) {
      this.fault = { ok: false, line: n, seq: e.seq, problem: 'edited', message: `line ${n} (seq ${e.seq}) was edited: its content does not match its hash` };
      return;
    }
    const expected = this.prevSeq + 1;
    if (e.seq === expected) {
      const link = this.prevLine === null ? GENESIS : sha256(this.prevLine);
      if (e.prev !== link) {
        this.fault =
          this.prevLine === null
            ? {
                ok: false,
                line: n,
                seq: e.seq,
                problem: 'edited',
                message: `line ${n} (seq ${e.seq}) was edited: the first entry must link to the genesis hash`,
              }
            : {
                ok: false,
                line: n - 1,
                seq: this.prevSeq,
                problem: 'edited',
                message: `line ${n - 1} (seq ${this.prevSeq}) was edited: the next entry's chain link does not match it (its own hash was recomputed)`,
              };
        return;
      }
    } else if (e.seq > expected) {
      this.gap = { line: n, seq: e.seq, expected, later: null };
      return;
    } else {
      this.fault = { ok: false, line: n, seq: e.seq, problem: 'reordered', message: `line ${n} (seq ${e.seq}) is out of order: expected seq ${expected}` };
      return;
    }
    this.prevLine = line;
    this.prevSeq = e.seq;
    this.last = e;
  }

  /** The verdict over the lines pushed so far. */
  result(): VerifyResult {
    const entries = this.n;
    const g = this.gap;
    if (g !== null) {
      if (g.later !== null) {
        return {
          ok: false,
          entries,
          line: g.line,
          seq: g.seq,
          problem: 'reordered',
          message: `line ${g.line} (seq ${g.seq}) is out of order: seq ${g.expected} appears later, at line ${g.later}`,
        };
      }
      const missing = g.seq - g.expected === 1 ? `seq ${g.expected}` : `seq ${g.expected}..${g.seq - 1}`;
      return { ok: false, entries, line: g.line, seq: g.seq, problem: 'removed', message: `entries before line ${g.line} were removed (${missing} missing)` };
    }
    if (this.fault !== null) return { ...this.fault, entries };
    return { ok: true, entries, lastHash: this.last ? this.last.hash : null };
  }
}

/** Verifies a whole log's text; reports the first entry that was edited, removed or reordered. Pure. */
export function verifyAuditText(text: string): VerifyResult {
  const lines = text.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  const v = new AuditChainVerifier();
  for (const line of lines) v.push(line);
  return v.result();
}

export type CheckpointVerdict =
  | {
      readonly status: 'ok';
      /** checkpoints verified */
      readonly checkpoints: number;
      /** lines covered by the last one, of `lines` in the log */
      readonly covered: number;
      readonly lines: number;
      readonly lastTime: string;
    }
  | {
      readonly status: 'tampered';
      readonly problem: 'truncated' | 'rewritten' | 'checkpoint-forged' | 'checkpoint-malformed';
      /** 1-based line of the checkpoint file that shows it */
      readonly checkpoint: number;
      readonly message: string;
    }
  | { readonly status: 'unverifiable'; readonly message: string };

function parseCheckpoint(line: string): Checkpoint | null {
  try {
    const c = JSON.parse(line) as Partial<Checkpoint>;
    if (c.v !== 1 || typeof c.lines !== 'number' || !Number.isInteger(c.lines) || c.lines < 0) return null;
    if (typeof c.head !== 'string' || typeof c.time !== 'string' || typeof c.mac !== 'string' || !/^[0-9a-f]{64}$/.test(c.mac)) return null;
    return c as Checkpoint;
  } catch {
    return null;
  }
}

/**
 * Checks every checkpoint (text of the checkpoint file; null when it is missing) against the log's
 * text, with the key. Reports the first checkpoint that shows tampering: a line that is not a
 * checkpoint, a MAC that does not verify (when others do), a log shorter than a checkpoint covers
 * (truncation), or another text at the line a checkpoint covers (a rewrite). Unverifiable: no
 * checkpoint at all, or none verifies with this key. Pure.
 */
export function verifyCheckpoints(logText: string, checkpointText: string | null, key: Buffer): CheckpointVerdict {
  const lines = logText.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  return verifyCheckpointsOf({ lines: lines.length, head: (n) => sha256(lines[n - 1] as string) }, checkpointText, key);
}

/** What checking checkpoints needs of a log: its line count and the sha256 of a line's text (1-based). */
export interface LogHeads {
  readonly lines: number;
  head(n: number): string;
}

function checkpointLines(checkpointText: string): string[] {
  const cps = checkpointText.split('\n');
  if (cps[cps.length - 1] === '') cps.pop();
  return cps;
}

/** The log lines whose hash `verifyCheckpointsOf` will ask for: what a streamed log must remember. */
export function checkpointedLines(checkpointText: string): Set<number> {
  const out = new Set<number>();
  for (const l of checkpointLines(checkpointText)) {
    const c = parseCheckpoint(l);
    if (c !== null && c.lines > 0) out.add(c.lines);
  }
  return out;
}

/** `verifyCheckpoints` over a log known by its line count and the hashes of the lines checkpoints cover. Pure. */
export function verifyCheckpointsOf(log: LogHeads, checkpointText: string | null, key: Buffer): CheckpointVerdict {
  if (checkpointText === null) return { status: 'unverifiable', message: 'the checkpoint file is missing: lines cut off the end cannot be ruled out' };
  const cps = checkpointLines(checkpointText);
  if (cps.length === 0) return { status: 'unverifiable', message: 'the checkpoint file is empty: lines cut off the end cannot be ruled out' };
  const parsed = cps.map(parseCheckpoint);
  const macOk = parsed.map((c) => {
    if (c === null) return false;
    const want = Buffer.from(checkpointMac(key, c), 'hex');
    return timingSafeEqual(want, Buffer.from(c.mac, 'hex'));
  });
  if (!macOk.some((x) => x)) {
    return {
      status: 'unverifiable',
      message: `none of the ${cps.length} checkpoints verifies with this key (a wrong key, or the checkpoint file was replaced)`,
    };
  }
  let last: Checkpoint | null = null;
  for (let i = 0; i < cps.length; i++) {
    const c = parsed[i];
    const n = i + 1;
    if (c === null || c === undefined)
      return {
        status: 'tampered',
        problem: 'checkpoint-malformed',
        checkpoint: n,
        message: `checkpoint line ${n} is not a checkpoint (the checkpoint file was edited)`,
      };
    if (macOk[i] !== true)
      return {
        status: 'tampered',
        problem: 'checkpoint-forged',
        checkpoint: n,
        message: `checkpoint line ${n} (${c.time}) does not verify with this key (forged or edited)`,
      };
    if (c.lines > log.lines) {
      const cut = c.lines - log.lines;
      return {
        status: 'tampered',
        problem: 'truncated',
        checkpoint: n,
        message: `the log has ${log.lines} lines but checkpoint ${n} (${c.time}) covers ${c.lines}: at least ${cut} line${cut === 1 ? ' was' : 's were'} cut off the end`,
      };
    }
    const head = c.lines === 0 ? GENESIS : log.head(c.lines);
    if (head !== c.head) {
      return {
        status: 'tampered',
        problem: 'rewritten',
        checkpoint: n,
        message: `line ${c.lines} is not the line checkpoint ${n} (${c.time}) covers: the log was rewritten up to there, or cut and written again`,
      };
    }
    last = c;
  }
  const l = last as Checkpoint;
  return { status: 'ok', checkpoints: cps.length, covered: l.lines, lines: log.lines, lastTime: l.time };
}
