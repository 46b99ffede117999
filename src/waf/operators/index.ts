/**
 * Operators: compiled once, then `match(value)` returns the matched fragment (for explanations)
 * or null. Every operator is linear in its input: regexes are checked for nested quantifiers at
 * compile time (see regex-safety.ts) and phrase sets run on an Aho-Corasick automaton.
 */
import { AhoCorasick } from './aho-corasick.js';
import { parseCidr, ipInCidrs } from './ip.js';
import { assertLinearPattern } from './regex-safety.js';
import { DETECTORS } from '../detectors/index.js';

export type OperatorDef =
  | { readonly type: 'regex'; readonly pattern: string; readonly flags?: string }
  | { readonly type: 'phrase'; readonly phrases: readonly string[]; readonly wordBoundary?: boolean }
  | { readonly type: 'contains'; readonly value: string }
  | { readonly type: 'prefix'; readonly value: string }
  | { readonly type: 'suffix'; readonly value: string }
  | { readonly type: 'equals'; readonly values: readonly string[] }
  | { readonly type: 'ip'; readonly cidrs: readonly string[] }
  | { readonly type: 'num'; readonly op: 'lt' | 'le' | 'gt' | 'ge' | 'eq'; readonly value: number }
  | { readonly type: 'detect'; readonly detector: string };

export interface CompiledOperator {
  readonly type: OperatorDef['type'];
  /** the matched fragment, or null */
  match(value: string): string | null;
  /** phrase operators expose their phrases so the engine can share one automaton per chain */
  readonly phrases?: readonly string[];
  readonly wordBoundary?: boolean;
}

function isWordChar(c: number): boolean {
  return (c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a) || (c >= 0x30 && c <= 0x39) || c === 0x5f;
}

/** True when [start, end) is delimited by non-word characters (or the value's edges). */
export function atWordBoundary(s: string, start: number, end: number): boolean {
  const first = s.charCodeAt(start);
  const last = s.charCodeAt(end - 1);
  if (isWordChar(first) && start > 0 && isWordChar(s.charCodeAt(start - 1))) return false;
  if (isWordChar(last) && end < s.length && isWordChar(s.charCodeAt(end))) return false;
  return true;
}

export function compileOperator(def: OperatorDef): CompiledOperator {
  switch (def.type) {
    case 'regex': {
      assertLinearPattern(def.pattern);
      const flags = (def.flags ?? '').replace(/[gy]/g, '');
      const re = new RegExp(def.pattern, flags);
      return {
        type: 'regex',
        match: (v) => {
          const m = re.exec(v);
          return m === null ? null : m[0];
        },
      };
    }
    case 'phrase': {
      const phrases = def.phrases.map((p) => p.toLowerCase());
      const ac = new AhoCorasick(phrases);
      const wb = def.wordBoundary === true;
      return {
        type: 'phrase',
        phrases,
        wordBoundary: wb,
        match: (v) => {
          let found: string | null = null;
          ac.scan(v, (id, end) => {
            const p = phrases[id]!;
            if (wb && !atWordBoundary(v, end - p.length, end)) return false;
            found = p;
            return true;
          });
          return found;
        },
      };
    }
    case 'contains':
      return { type: 'contains', match: (v) => (v.includes(def.value) ? def.value : null) };
    case 'prefix':
      return { type: 'prefix', match: (v) => (v.startsWith(def.value) ? def.value : null) };
    case 'suffix':
      return { type: 'suffix', match: (v) => (v.endsWith(def.value) ? def.value : null) };
    case 'equals': {
      const set = new Set(def.values);
      return { type: 'equals', match: (v) => (set.has(v) ? v : null) };
    }
    case 'ip': {
      const cidrs = def.cidrs.map(parseCidr);
      return { type: 'ip', match: (v) => (ipInCidrs(v.trim(), cidrs) ? v : null) };
    }
    case 'num': {
      const { op, value } = def;
      return {
        type: 'num',
        match: (v) => {
          if (!/^\s*-?\d+(?:\.\d+)?\s*$/.test(v)) return null;
          const n = Number(v);
          const ok = op === 'lt' ? n < value : op === 'le' ? n <= value : op === 'gt' ? n > value : op === 'ge' ? n >= value : n === value;
          return ok ? v : null;
        },
      };
    }
    case 'detect': {
      const d = DETECTORS[def.detector];
      if (d === undefined) throw new Error(`unknown detector '${def.detector}'`);
      return { type: 'detect', match: d };
    }
  }
}
