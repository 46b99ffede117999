/**
 * Ajv errors → problem+json items (JSON pointer + short reason). Reasons come from the schema
 * (limits, formats, types), never from the input; pointers name input keys, so they are cut to a
 * bounded length.
 */
import type { ErrorObject } from 'ajv';
import type { ProblemItem } from '../../core/decision.js';

const MAX_POINTER = 160;

function esc(s: string): string {
  return s.replace(/~/g, '~0').replace(/\//g, '~1');
}

function cut(p: string): string {
  return p.length > MAX_POINTER ? `${p.slice(0, MAX_POINTER)}...` : p;
}

function reasonOf(e: ErrorObject): { reason: string; child?: string } | null {
  const p = e.params as Record<string, unknown>;
  switch (e.keyword) {
    case 'required':
      return { reason: 'is required', child: String(p['missingProperty']) };
    case 'additionalProperties':
      return { reason: 'is not allowed', child: String(p['additionalProperty']) };
    case 'unevaluatedProperties':
      return { reason: 'is not allowed', child: String(p['unevaluatedProperty']) };
    case 'false schema':
      return { reason: 'is not allowed here (read-only or write-only)' };
    case 'type':
      return { reason: `must be ${Array.isArray(p['type']) ? (p['type'] as string[]).join(' or ') : String(p['type'])}` };
    case 'enum':
      return { reason: 'must be one of the allowed values' };
    case 'const':
      return { reason: 'must be the allowed constant' };
    case 'format':
      return { reason: `must match format "${String(p['format']).slice(0, 40)}"` };
    case 'pattern':
      return { reason: 'must match the pattern' };
    case 'if':
      return null; // its branch's error says what is wrong
    default: {
      const msg = e.message ?? e.keyword;
      return { reason: msg.length > 100 ? `${msg.slice(0, 100)}...` : msg };
    }
  }
}

/** Appends up to `max` items for Ajv errors at `prefix` (e.g. `/body`, `/query`). */
export function appendAjvErrors(out: ProblemItem[], errors: readonly ErrorObject[] | null | undefined, prefix: string, max: number): void {
  if (!errors) return;
  for (const e of errors) {
    if (out.length >= max) return;
    const r = reasonOf(e);
    if (r === null) continue;
    const pointer = cut(prefix + e.instancePath + (r.child !== undefined ? `/${esc(r.child)}` : ''));
    if (out.some((x) => x.pointer === pointer && x.reason === r.reason)) continue;
    out.push({ pointer, reason: r.reason });
  }
}
