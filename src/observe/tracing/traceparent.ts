/**
 * W3C Trace Context level 1 (https://www.w3.org/TR/trace-context/), read strictly: what the
 * gateway continues must be well formed, and a header it cannot read is treated as absent (a new
 * trace starts). Pure functions, no I/O.
 */

/** The parts of a valid `traceparent`. */
export interface TraceParent {
  /** 32 lowercase hex digits, not all zero */
  readonly traceId: string;
  /** 16 lowercase hex digits, not all zero: the caller's span */
  readonly parentId: string;
  /** the sampled flag (bit 0 of trace-flags) */
  readonly sampled: boolean;
}

/** Most list members a `tracestate` may have (W3C Trace Context, section 3.3.1.1). */
export const TRACESTATE_MAX_MEMBERS = 32;
/** Longest `tracestate` kept: a longer one is dropped whole (the spec lets a vendor truncate at 512). */
export const TRACESTATE_MAX_CHARS = 512;

const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;
const ZERO_TRACE = '00000000000000000000000000000000';
const ZERO_SPAN = '0000000000000000';
// key: lowercase simple key or tenant@system; value: printable ASCII except ',' and '=', not ending in a space
const MEMBER =
  /^(?:[a-z][a-z0-9_\-*/]{0,255}|[a-z0-9][a-z0-9_\-*/]{0,240}@[a-z][a-z0-9_\-*/]{0,13})=[\x20-\x2b\x2d-\x3c\x3e-\x7e]{0,255}[\x21-\x2b\x2d-\x3c\x3e-\x7e]$/;

/**
 * Reads one `traceparent` header: version 00 only (a later version's fields may differ), lowercase
 * hex, trace id and parent id not all zero; null for anything else, for a repeated header, or none.
 */
export function parseTraceParent(v: string | string[] | undefined): TraceParent | null {
  if (typeof v !== 'string' || v.length !== 55) return null;
  const m = TRACEPARENT.exec(v);
  if (m === null) return null;
  const traceId = m[1] as string;
  const parentId = m[2] as string;
  if (traceId === ZERO_TRACE || parentId === ZERO_SPAN) return null;
  return { traceId, parentId, sampled: (Number.parseInt(m[3] as string, 16) & 1) === 1 };
}

/**
 * Reads the `tracestate` header(s) that came with a valid `traceparent`: the list members in
 * order, each checked against the spec's grammar, empty members skipped; null (dropped whole) when
 * a member is malformed, a key repeats, there are more than 32 members or more than 512 characters.
 */
export function parseTraceState(v: string | string[] | undefined): string | null {
  if (v === undefined) return null;
  const joined = typeof v === 'string' ? v : v.join(',');
  if (joined.length > TRACESTATE_MAX_CHARS) return null;
  const members: string[] = [];
  const keys = new Set<string>();
  for (const raw of joined.split(',')) {
    const member = raw.trim();
    if (member === '') continue;
    if (!MEMBER.test(member)) return null;
    const key = member.slice(0, member.indexOf('='));
    if (keys.has(key)) return null;
    keys.add(key);
    members.push(member);
    if (members.length > TRACESTATE_MAX_MEMBERS) return null;
  }
  return members.length === 0 ? null : members.join(',');
}

/** A `traceparent` header value (version 00). */
export function formatTraceParent(traceId: string, spanId: string, sampled: boolean): string {
  return `00-${traceId}-${spanId}-${sampled ? '01' : '00'}`;
}
