/** `@pm` and `@pmFromFile`: case-insensitive (ASCII) phrase matching with one Aho-Corasick scan. */
import { join, isAbsolute } from 'node:path';
import { AhoCorasick } from '../../operators/aho-corasick.js';
import { CrsUnsupported, type CrsOperator, type OperatorContext } from '../contract.js';
import { asBytes, asciiLower } from './bytes.js';

/** A matcher for the phrases (lowercased); an empty list never matches. */
export function phraseMatcher(phrases: readonly string[]): CrsOperator {
  const unique = [...new Set(phrases.map((p) => asciiLower(asBytes(p))).filter((p) => p.length > 0))];
  if (unique.length === 0) return () => false;
  const ac = new AhoCorasick(unique);
  const minLen = Math.min(...unique.map((p) => p.length));
  return (value, run) => {
    if (value.length < minLen) return false;
    const hit = ac.first(asciiLower(value));
    if (hit === null) return false;
    if (run.captures !== null) {
      run.captures.length = 0;
      const len = ac.patterns[hit.pattern]!.length;
      run.captures.push(value.slice(hit.end - len, hit.end));
    }
    return true;
  };
}

/** `@pm a b c`: phrases separated by spaces. */
export function compilePm(param: string): CrsOperator {
  return phraseMatcher(param.split(' '));
}

/** The lines of a data file that are neither blank nor comments (`#` first), trimmed. */
export function dataLines(text: string): string[] {
  return text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'));
}

/** Reads each of the space-separated files of a `...FromFile` parameter (relative to the rule file's folder). */
export function readDataFiles(param: string, ctx: OperatorContext, op: string): string[] {
  const lines: string[] = [];
  for (const name of param.split(' ').filter((n) => n !== '')) {
    if (/^https?:\/\//i.test(name)) throw new CrsUnsupported(`${op}: remote file '${name}' is not fetched`);
    lines.push(...dataLines(ctx.readFile(isAbsolute(name) ? name : join(ctx.dir, name))));
  }
  return lines;
}

/** `@pmFromFile file...`: one phrase per line. */
export function compilePmFromFile(param: string, ctx: OperatorContext): CrsOperator {
  return phraseMatcher(readDataFiles(param, ctx, '@pmFromFile'));
}
