/**
 * Safe JSON parsing for untrusted request bodies.
 *
 * Strategy (fast on normal input, bounded on hostile input):
 *   1. byte length check, UTF-8 check (native);
 *   2. one byte scan outside strings that enforces depth, keys per object, array length and
 *      string length BEFORE anything is allocated, and counts the key/value pairs (`:` outside
 *      strings);
 *   3. native JSON.parse (no reviver);
 *   4. one walk over the parsed value (recursion bounded by the depth already checked) that rejects
 *      `__proto__`, `constructor` and `prototype` keys (also when written with escapes) and counts
 *      own keys: fewer own keys than pairs in the text means a duplicate key.
 * Never throws; a malformed body is a result, not an exception.
 */
import { isUtf8 } from 'node:buffer';

export interface JsonLimits {
  /** largest body in bytes */
  readonly maxBytes: number;
  /** deepest nesting of objects and arrays (top-level container is depth 1) */
  readonly maxDepth: number;
  /** most keys in one object */
  readonly maxKeys: number;
  /** most elements in one array */
  readonly maxArrayLength: number;
  /** longest string (key or value), in encoded bytes between the quotes */
  readonly maxStringLength: number;
}

export const DEFAULT_JSON_LIMITS: JsonLimits = Object.freeze({
  maxBytes: 1048576,
  maxDepth: 32,
  maxKeys: 1000,
  maxArrayLength: 10000,
  maxStringLength: 65536,
});

export type JsonErrorCode = 'too_large' | 'malformed' | 'too_deep' | 'too_many_keys' | 'array_too_long' | 'string_too_long' | 'duplicate_key' | 'forbidden_key';

export type JsonResult = { readonly ok: true; readonly value: unknown } | { readonly ok: false; readonly code: JsonErrorCode; readonly reason: string };

const Q = 0x22; // "
const BS = 0x5c; // \
const LB = 0x7b; // {
const RB = 0x7d; // }
const LS = 0x5b; // [
const RS = 0x5d; // ]
const COMMA = 0x2c;
const COLON = 0x3a;

function fail(code: JsonErrorCode, reason: string): JsonResult {
  return { ok: false, code, reason };
}

/** Per-depth counters reused between calls (parsing is synchronous, so one set is enough). */
let counts = new Int32Array(64);
let kinds = new Uint8Array(64); // 1 object, 2 array

/**
 * Parses an untrusted JSON body within limits. Signature is stable (the WAF imports it).
 * Error reasons are safe for logs: they never contain input bytes.
 */
export function parseJsonSafe(buf: Buffer, limits: JsonLimits = DEFAULT_JSON_LIMITS): JsonResult {
  const n = buf.length;
  if (n > limits.maxBytes) return fail('too_large', `body of ${n} bytes exceeds ${limits.maxBytes}`);
  if (n === 0) return fail('malformed', 'empty body');
  if (!isUtf8(buf)) return fail('malformed', 'body is not valid UTF-8');

  const maxDepth = limits.maxDepth;
  if (counts.length <= maxDepth) {
    counts = new Int32Array(maxDepth + 1);
    kinds = new Uint8Array(maxDepth + 1);
  }
  const maxKeys = limits.maxKeys;
  const maxArr = limits.maxArrayLength;
  const maxStr = limits.maxStringLength;
  let depth = 0;
  let pairs = 0;
  for (let i = 0; i < n; i++) {
    const c = buf[i] as number;
    if (c === Q) {
      // jump to the closing quote natively: one not preceded by an odd run of backslashes
      const start = i + 1;
      let from = start;
      let end = n;
      for (;;) {
        const q = buf.indexOf(Q, from);
        if (q === -1) break; // unterminated: JSON.parse reports it
        let b = q - 1;
        while (b >= start && buf[b] === BS) b--;
        if (((q - 1 - b) & 1) === 0) {
          end = q;
          break;
        }
        from = q + 1;
      }
      if (end - start > maxStr) return fail('string_too_long', `string longer than ${maxStr} bytes`);
      i = end; // on the closing quote (or past the end)
      continue;
    }
    if (c === LB || c === LS) {
      depth++;
      if (depth > maxDepth) return fail('too_deep', `nesting deeper than ${maxDepth}`);
      counts[depth] = 0;
      kinds[depth] = c === LB ? 1 : 2;
    } else if (c === RB || c === RS) {
      if (depth > 0) depth--;
    } else if (c === COLON) {
      pairs++;
      if (depth > 0 && kinds[depth] === 1) {
        const k = (counts[depth] as number) + 1;
        if (k > maxKeys) return fail('too_many_keys', `object with more than ${maxKeys} keys`);
        counts[depth] = k;
      }
    } else if (c === COMMA) {
      if (depth > 0 && kinds[depth] === 2) {
        const k = (counts[depth] as number) + 1;
        // k commas separate k + 1 elements
        if (k >= maxArr) return fail('array_too_long', `array longer than ${maxArr} elements`);
        counts[depth] = k;
      }
    }
  }

  let value: unknown;
  try {
    value = JSON.parse(buf.toString('utf8'));
  } catch {
    return fail('malformed', 'invalid JSON');
  }
  if (value === null || typeof value !== 'object') return { ok: true, value };
  const walked = walk(value as object);
  if (walked < 0) return fail('forbidden_key', 'forbidden key (__proto__, constructor or prototype)');
  if (walked !== pairs) return fail('duplicate_key', 'duplicate key in an object');
  return { ok: true, value };
}

/** Counts own keys of every object below `v`; -1 when a forbidden key is found. */
function walk(v: object): number {
  if (Array.isArray(v)) {
    let total = 0;
    for (let i = 0; i < v.length; i++) {
      const e: unknown = v[i];
      if (e !== null && typeof e === 'object') {
        const r = walk(e);
        if (r < 0) return r;
        total += r;
      }
    }
    return total;
  }
  let total = 0;
  const o = v as Record<string, unknown>;
  for (const k in o) {
    if (k === '__proto__' || k === 'constructor' || k === 'prototype') return -1;
    total++;
    const e = o[k];
    if (e !== null && typeof e === 'object') {
      const r = walk(e);
      if (r < 0) return r;
      total += r;
    }
  }
  return total;
}

/** True when a key may not appear in any parsed structure (prototype pollution). */
export function isForbiddenKey(k: string): boolean {
  return k === '__proto__' || k === 'constructor' || k === 'prototype';
}
