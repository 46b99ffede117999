/**
 * Host + method + path routing. Hosts select a virtual host (exact, then the longest wildcard
 * suffix, then host-agnostic routes); within it, exact paths beat templates, templates beat
 * prefixes, and static segments beat parameters. A path that matches with another method gives
 * 405 with Allow; no match gives 404 (the gateway enforces the API inventory).
 * Why not find-my-way: 405/Allow needs every method's match for a path, and host wildcards
 * combined with segment-boundary prefixes are simpler to get exactly right here.
 */
import { decodeSegment } from './normalise.js';

export interface RouteSpec<T> {
  readonly value: T;
  readonly hosts: readonly string[] | null;
  readonly methods: ReadonlySet<string> | null;
  readonly path?: string;
  readonly prefix?: string;
}

export type RouteMatch<T> =
  | { readonly kind: 'found'; readonly value: T; readonly params: Record<string, string> }
  | { readonly kind: 'method'; readonly allow: readonly string[] }
  | { readonly kind: 'none' };

interface Entry<T> {
  readonly value: T;
  readonly methods: ReadonlySet<string> | null;
  readonly paramNames: readonly string[];
}

interface Seg<T> {
  readonly statics: Map<string, Seg<T>>;
  /**
   * The same children as a list while there are few: a segment sliced from the path is a new
   * string, and a Map lookup hashes it first; comparing it with a few keys costs less.
   */
  few: [string, Seg<T>][] | null;
  /** parameter children: a whole-segment param, or a pattern such as `{name}.json` */
  readonly params: { re: RegExp; names: string[]; node: Seg<T>; whole: boolean }[];
  readonly entries: Entry<T>[];
}

/** the parameters of a route without any (shared: never written to) */
const NO_PARAMS: Record<string, string> = Object.freeze({}) as Record<string, string>;

const newSeg = <T>(): Seg<T> => ({ statics: new Map(), few: [], params: [], entries: [] });
/** Static children compared one by one up to this many; a Map lookup beyond. */
const FEW_STATICS = 4;

const PARAM = /\{([A-Za-z_][A-Za-z0-9_.-]*)\}/g;
/** Longest segment matched against a template segment with literal parts. */
const MAX_PATTERN_SEGMENT = 512;

function escapeRe(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

class Table<T> {
  readonly exact = new Map<string, Entry<T>[]>();
  readonly tree: Seg<T> = newSeg();
  /** prefixes, longest first */
  prefixes: { prefix: string; entry: Entry<T> }[] = [];

  add(spec: RouteSpec<T>): void {
    if (spec.prefix !== undefined) {
      const prefix = spec.prefix.length > 1 ? spec.prefix.replace(/\/+$/, '') : '/';
      this.prefixes.push({ prefix, entry: { value: spec.value, methods: spec.methods, paramNames: [] } });
      this.prefixes.sort((a, b) => b.prefix.length - a.prefix.length);
      return;
    }
    const path = spec.path ?? '/';
    if (!path.includes('{')) {
      const list = this.exact.get(path) ?? [];
      list.push({ value: spec.value, methods: spec.methods, paramNames: [] });
      this.exact.set(path, list);
      return;
    }
    let node = this.tree;
    const names: string[] = [];
    for (const seg of path.split('/').slice(1)) {
      if (!seg.includes('{')) {
        let next = node.statics.get(seg);
        if (!next) {
          node.statics.set(seg, (next = newSeg()));
          node.few = node.statics.size <= FEW_STATICS ? [...node.statics] : null;
        }
        node = next;
        continue;
      }
      const segNames: string[] = [];
      const whole = /^\{[^}]+\}$/.test(seg);
      const re = new RegExp(
        `^${seg
          .split(PARAM)
          .map((part, i) => (i % 2 === 1 ? (segNames.push(part), '([^/]+?)') : escapeRe(part)))
          .join('')}$`,
      );
      let child = node.params.find((p) => p.re.source === re.source);
      if (!child) {
        child = { re, names: segNames, node: newSeg(), whole };
        node.params.push(child);
        // whole-segment params last: patterns with literals are more specific
        node.params.sort((a, b) => Number(a.whole) - Number(b.whole));
      }
      names.push(...segNames);
      node = child.node;
    }
    node.entries.push({ value: spec.value, methods: spec.methods, paramNames: names });
  }

  /**
   * Matching entries in specificity order (exact, templates, prefixes). Returns the first whose
   * methods allow `method`, its captured values left in `values` (empty when none matched). With
   * `all`, every matching entry is collected there instead and null returned (405's Allow list).
   */
  first(method: string, path: string, values: string[], all: Entry<T>[] | null): Entry<T> | null {
    // a lookup hashes the whole path (a new string per request): skipped when there is no exact route
    const ex = this.exact.size === 0 ? undefined : this.exact.get(path);
    if (ex) for (const e of ex) if (take(e, method, all)) return e;
    if (this.tree.statics.size > 0 || this.tree.params.length > 0) {
      const e = walkFirst(this.tree, path, 1, method, values, all);
      if (e !== null) return e;
    }
    for (const p of this.prefixes) {
      if ((p.prefix === '/' || path === p.prefix || path.startsWith(`${p.prefix}/`)) && take(p.entry, method, all)) return p.entry;
    }
    return null;
  }
}

const allows = (ms: ReadonlySet<string> | null, method: string): boolean => ms === null || ms.has(method) || (method === 'HEAD' && ms.has('GET'));

/** true: `e` is the answer; when collecting `all`, every entry is kept and none is the answer */
function take<T>(e: Entry<T>, method: string, all: Entry<T>[] | null): boolean {
  if (all === null) return allows(e.methods, method);
  all.push(e);
  return false;
}

/**
 * Walks the template tree along the path, reading segments in place (`pos`: where the current
 * segment starts, -1 after the last one): static segments before parameters, patterns with
 * literals before whole-segment parameters. See Table.first for `values` and `all`.
 */
function walkFirst<T>(node: Seg<T>, path: string, pos: number, method: string, values: string[], all: Entry<T>[] | null): Entry<T> | null {
  if (pos < 0) {
    for (const e of node.entries) if (take(e, method, all)) return e;
    return null;
  }
  const slash = path.indexOf('/', pos);
  const seg = slash < 0 ? path.slice(pos) : path.slice(pos, slash);
  const next = slash < 0 ? -1 : slash + 1;
  let st: Seg<T> | undefined;
  const few = node.few;
  if (few === null) st = node.statics.get(seg);
  else {
    for (let i = 0; i < few.length; i++) {
      const [key, child] = few[i] as [string, Seg<T>];
      if (key === seg) {
        st = child;
        break;
      }
    }
  }
  if (st) {
    const e = walkFirst(st, path, next, method, values, all);
    if (e !== null) return e;
  }
  if (seg === '') return null; // parameters never match an empty segment
  for (const p of node.params) {
    const n = values.length;
    if (p.whole) {
      values.push(seg);
    } else {
      if (seg.length > MAX_PATTERN_SEGMENT) continue;
      const m = p.re.exec(seg);
      if (!m) continue;
      for (let k = 1; k < m.length; k++) values.push(m[k] as string);
    }
    const e = walkFirst(p.node, path, next, method, values, all);
    if (e !== null) return e;
    values.length = n;
  }
  return null;
}

export class Router<T> {
  private readonly byHost = new Map<string, Table<T>>();
  /** wildcard suffixes ('.example.com'), longest first */
  private readonly wildcards: { suffix: string; table: Table<T> }[] = [];
  private readonly anyHost = new Table<T>();
  private readonly allMethods: string[] = [];

  add(spec: RouteSpec<T>): void {
    if (spec.methods) for (const m of spec.methods) if (!this.allMethods.includes(m)) this.allMethods.push(m);
    if (!spec.hosts || spec.hosts.length === 0) {
      this.anyHost.add(spec);
      return;
    }
    for (const raw of spec.hosts) {
      const h = raw.toLowerCase();
      if (h.startsWith('*.')) {
        const suffix = h.slice(1);
        let w = this.wildcards.find((x) => x.suffix === suffix);
        if (!w) {
          w = { suffix, table: new Table<T>() };
          this.wildcards.push(w);
          this.wildcards.sort((a, b) => b.suffix.length - a.suffix.length);
        }
        w.table.add(spec);
      } else {
        let t = this.byHost.get(h);
        if (!t) this.byHost.set(h, (t = new Table<T>()));
        t.add(spec);
      }
    }
  }

  /** host: lowercase without port; path: canonical (normalised) path */
  find(method: string, host: string, path: string): RouteMatch<T> {
    const values: string[] = [];
    const e = this.lookup(method, host, path, values, null);
    if (e !== null) {
      const names = e.paramNames;
      if (names.length === 0) return { kind: 'found', value: e.value, params: NO_PARAMS };
      const params: Record<string, string> = {};
      for (let k = 0; k < names.length; k++) params[names[k] as string] = decodeSegment(values[k] as string);
      return { kind: 'found', value: e.value, params };
    }
    // no route allows the method: 405 with the methods that would match, or 404
    const all: Entry<T>[] = [];
    this.lookup(method, host, path, values, all);
    if (all.length === 0) return { kind: 'none' };
    const allow = new Set<string>();
    for (const c of all) {
      if (c.methods === null) continue;
      for (const m of c.methods) allow.add(m);
      if (c.methods.has('GET')) allow.add('HEAD');
    }
    return { kind: 'method', allow: [...allow].sort() };
  }

  /** Table.first over the host's tables: exact host, then the longest matching wildcard, then any host. */
  private lookup(method: string, host: string, path: string, values: string[], all: Entry<T>[] | null): Entry<T> | null {
    const exact = this.byHost.size === 0 ? undefined : this.byHost.get(host);
    let e = exact ? exact.first(method, path, values, all) : null;
    if (e === null) {
      for (const w of this.wildcards) {
        if (host.endsWith(w.suffix) && host.length > w.suffix.length) {
          e = w.table.first(method, path, values, all);
          break;
        }
      }
    }
    return e ?? this.anyHost.first(method, path, values, all);
  }
}
