/**
 * The one place that reaches into undici's internals (its `lib/` files, which are not its public
 * API). Why: the streamed exchange (exchange.ts) takes the upstream's response headers raw, as
 * undici's own `Pool.stream` does, and needs undici's own helpers to read them: the lookup tree
 * that lowercases well-known names without allocating, and its raw-to-object parser. Nothing here
 * writes to undici's state.
 *
 * undici is pinned in package.json to the version checked here; `checkUndiciInternals()` runs at
 * start and fails loudly when the installed undici is another version or its helpers changed.
 */
import { createRequire } from 'node:module';
import { Buffer } from 'node:buffer';
import undiciUtil from 'undici/lib/core/util.js';

/** The undici version these helpers were checked against (package.json pins it). */
export const UNDICI_CHECKED = '7.30.2';

/** A lowercase header name from a raw name buffer (well-known names without allocating). */
export const headerNameToString: (name: Buffer | string) => string = undiciUtil.headerNameToString;

/** Raw [name, value, ...] header buffers as an object (names lowercase, repeated names as arrays). */
export const parseRawHeaders: (raw: readonly Buffer[]) => Record<string, string | string[]> = undiciUtil.parseHeaders;

/**
 * Fails at start, with what to do, when the installed undici is not the one these helpers were
 * checked against, or when they no longer behave as the gateway relies on.
 */
export function checkUndiciInternals(): void {
  const version = (createRequire(import.meta.url)('undici/package.json') as { version: string }).version;
  const problems: string[] = [];
  if (version !== UNDICI_CHECKED) problems.push(`undici ${version} is installed, the gateway was checked against ${UNDICI_CHECKED}`);
  if (typeof undiciUtil.headerNameToString !== 'function' || typeof undiciUtil.parseHeaders !== 'function')
    problems.push('undici/lib/core/util.js no longer has headerNameToString and parseHeaders');
  else {
    if (headerNameToString(Buffer.from('Content-Type')) !== 'content-type' || headerNameToString(Buffer.from('X-Custom-Name')) !== 'x-custom-name') {
      problems.push('headerNameToString no longer lowercases header names');
    }
    const parsed = parseRawHeaders([Buffer.from('Vary'), Buffer.from('a'), Buffer.from('vary'), Buffer.from('b'), Buffer.from('ETag'), Buffer.from('"1"')]);
    if (JSON.stringify(parsed) !== JSON.stringify({ vary: ['a', 'b'], etag: '"1"' }))
      problems.push('parseHeaders no longer groups repeated names under lowercase keys');
  }
  if (problems.length > 0) {
    throw new Error(
      `src/proxy/undici-internals.ts: ${problems.join('; ')}. Install undici ${UNDICI_CHECKED} (npm ci), or check these helpers against the new version and update UNDICI_CHECKED.`,
    );
  }
}
