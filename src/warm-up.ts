/**
 * Object shapes and the request path. Imported first by bin/portcullis.js, before any other
 * module is evaluated.
 *
 * V8 gives objects built key by key from `{}` (and from JSON.parse) shared shapes through a tree
 * of transitions from one root map, and stops adding transitions to a map that has 1,536. Compiling
 * the config's JSON Schemas fills the root map: ajv's code generator keeps its generated variable
 * names (`valid59`, `data46`, `_errs136`, ...) as keys of plain objects. From then on, every
 * object built key by key with a first key not seen before gets a shape of its own: undici's
 * parsed response headers, the outgoing header objects, Node's `process.nextTick` tick objects
 * (a dozen per proxied request). Each such object costs a new map and a trip into the runtime, and
 * the inline caches that see them go megamorphic.
 *
 * Two measures, both measured against the Node-limit proxy (docs/architecture.md gives figures):
 * - the tick object's shape is created here, first;
 * - releaseStartupShapes() runs a full garbage collection after a snapshot was compiled: the
 *   transitions are weak, and those to shapes no live object uses any more (ajv's name tables)
 *   are cleared, so that the shapes the request path needs are shared again.
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

process.nextTick(() => undefined);

let gc: (() => void) | null = null;

/** A full (mark-compact) garbage collection; a few ms on the gateway's heap. */
export function releaseStartupShapes(): void {
  if (gc === null) {
    const g = (globalThis as { gc?: () => void }).gc;
    if (typeof g === 'function') gc = g;
    else {
      // the usual way to reach V8's gc() without starting node with --expose-gc: a fresh context
      // created while the flag is on gets the function; the flag is turned off again at once
      setFlagsFromString('--expose-gc');
      gc = runInNewContext('gc') as () => void;
      setFlagsFromString('--no-expose-gc');
    }
  }
  gc();
}
