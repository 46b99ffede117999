/** The compliance report: what `portcullis report` computes and every renderer reads. */
import type { Count } from './counts.js';
import type { ControlRow } from './controls.js';

export type { Count };

export interface SourceSummary {
  readonly path: string;
  /** lines read */
  readonly lines: number;
  /** lines whose time is within the period (after the tenant filter for access logs) */
  readonly used: number;
  /** lines that are not JSON objects with a time (skipped) */
  readonly unreadable: number;
  /** lines longer than the line limit (skipped) */
  readonly oversized: number;
}

export interface AuthFailures {
  readonly total: number;
  readonly byCode: readonly Count[];
  readonly byRoute: readonly Count[];
  readonly byTenant: readonly Count[];
}

export interface Refusals {
  readonly total: number;
  readonly byStage: readonly Count[];
  readonly byCode: readonly Count[];
  /** `stage code` pairs */
  readonly byStageAndCode: readonly { readonly stage: string; readonly code: string; readonly count: number }[];
}

export interface WafBlocks {
  readonly total: number;
  /** attack categories (the rules' `attack-*` tags); a request matching two categories counts in both */
  readonly byCategory: readonly Count[];
  readonly byRule: readonly Count[];
  /** requests the WAF would have blocked in monitor mode */
  readonly monitored: number;
}

export interface BanEvent {
  readonly time: string;
  readonly event: string;
  readonly client: string;
  readonly kind: string;
  /** detector or `manual` */
  readonly source: string | null;
  readonly reason: string | null;
  readonly until: string | null;
  readonly by: string | null;
}

export interface Bans {
  readonly placed: number;
  readonly lifted: number;
  /** throttles placed (the abuse stage's milder verdict) */
  readonly throttles: number;
  /** the events, oldest first, at most the list limit */
  readonly events: readonly BanEvent[];
}

export interface AdminAction {
  readonly time: string;
  readonly event: string;
  readonly by: string | null;
  /** the entry's data other than `by`, as compact JSON (bounded) */
  readonly detail: string;
}

export interface AdminActions {
  readonly total: number;
  readonly byAction: readonly Count[];
  readonly byActor: readonly Count[];
  readonly entries: readonly AdminAction[];
}

export interface ConfigVersion {
  readonly time: string;
  /** config_loaded, config_reloaded or config_rejected */
  readonly event: string;
  /** sha256 of the file's bytes (null for a rejected reload) */
  readonly hash: string | null;
  readonly file: string | null;
  /** start, signal, file_change or call (entries written before the field existed: null) */
  readonly trigger: string | null;
  /** the OS account of the gateway process */
  readonly processUser: string | null;
  readonly error: string | null;
  /** true for the version already in force when the period began */
  readonly inForceAtStart: boolean;
}

export interface AuditChain {
  /** whether the chain was checked (false: no audit log given, or it is larger than the limit) */
  readonly checked: boolean;
  readonly ok: boolean | null;
  readonly entries: number | null;
  readonly message: string;
  /** keyed checkpoints, when a key was given */
  readonly checkpoints: { readonly status: string; readonly message: string } | null;
}

export interface TenantRow {
  readonly tenant: string;
  readonly requests: number;
  readonly refused: number;
  readonly authFailures: number;
  readonly wafBlocks: number;
}

export interface TimeBucket {
  readonly start: string;
  readonly requests: number;
  readonly refused: number;
}

export interface Report {
  readonly version: 1;
  readonly generatedAt: string;
  readonly period: { readonly from: string; readonly to: string };
  /** null: every tenant */
  readonly tenant: string | null;
  readonly sources: { readonly accessLogs: readonly SourceSummary[]; readonly auditLog: SourceSummary | null };
  readonly traffic: {
    readonly requests: number;
    readonly allowed: number;
    readonly refused: number;
    /** answered by a stage itself (cache hit, CORS preflight) */
    readonly responded: number;
    readonly byStatusClass: readonly Count[];
    readonly bucketMs: number;
    readonly timeline: readonly TimeBucket[];
  };
  readonly authFailures: AuthFailures;
  readonly refusals: Refusals;
  readonly waf: WafBlocks;
  /** clients with the most refused requests */
  readonly topRefusedClients: readonly Count[];
  readonly bans: Bans;
  readonly adminActions: AdminActions;
  readonly configVersions: readonly ConfigVersion[];
  readonly auditChain: AuditChain;
  readonly tenants: readonly TenantRow[];
  readonly controls: readonly ControlRow[];
  /** sections where a cap folded keys into `(other)` or cut a list */
  readonly truncated: readonly string[];
}
