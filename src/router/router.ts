/**
 * Host + method + path routing. Hosts select a virtual host (exact, then the longest wildcard
 * suffix, then host-agnostic routes); within it, exact paths beat templates, templates beat
 * prefixes, and static segments beat parameters. A path that matches with another method gives
 * 405 with Allow; no match gives 404 (the gateway enforces the API inventory).
 * Why not find-my-way: 405/Allow needs every method's match for a path, and host wildcards
 * combined with segment-boundary prefixes are simpler to get exactly right here.
 */
import { decodeSegment, withoutPathParameters } from './normalise.js';

/**
 * How the route's upstream reads paths: whether it folds ASCII case (Express, Koa, Spring with
 * case-insensitive matching) and ignores a trailing slash (Express's default, Spring before 6).
 * When it does, a variant of a path must not reach a laxer route than the path itself would.
 */
export interface PathFolding {
  readonly case: boolean;
  readonly trailingSlash: boolean;
}

export const FOLD_ALL: PathFolding = Object.freeze({ case: true, trailingSlash: true });
export const FOLD_NONE: PathFolding = Object.freeze({ case: false, trailingSlash: false });

export interface RouteSpec<T> {
  readonly value: T;
  readonly hosts: readonly string[] | null;
  readonly methods: ReadonlySet<string> | null;
  readonly path?: string;
  readonly prefix?: string;
  /** how the route's upstream folds paths; FOLD_NONE when absent */
  readonly fold?: PathFolding;
}

export type RouteMatch<T> =
  | { readonly kind: 'found'; readonly value: T; readonly params: Record<string, string> }
  | { readonly kind: 'method'; readonly allow: readonly string[] }
  | { readonly kind: 'none' };

interface Entry<T> {
  readonly value: T;
  readonly methods: ReadonlySet<string> | null;
  readonly paramNames: readonly string[];
  readonly fold: PathFolding;
  /** the declared exact path or prefix ('' for templates) */
  readonly path: string;
}

/**
 * A folded lookup: the request path read as an upstream that folds would read it. `flags`: the
 * folds of the upstream that would otherwise receive the request (null: each route's own).
 */
interface Folding {
  readonly flags: PathFolding | null;
  /** the path had a trailing slash that was dropped for this lookup */
  readonly slash: boolean;
  /**
   * the path ends with a slash that is kept: a template's last parameter may match the empty
   * segment after it, as find-my-way (Fastify) reads `/items/` as `/items/:id` with id ''
   */
  readonly emptyLast: boolean;
}

function allowsFold(e: { fold: PathFolding }, f: Folding, usedCase: boolean): boolean {
  const flags = f.flags ?? e.fold;
  return (!usedCase || flags.case) && (!f.slash || flags.trailingSlash);
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
  /** static children by lowercase key, for folded lookups */
  readonly folded: Map<string, [string, Seg<T>][]>;
}

/** the parameters of a route without any (shared: never written to) */
const NO_PARAMS: Record<string, string> = Object.freeze({}) as Record<string, string>;

const newSeg = <T>(): Seg<T> => ({ statics: new Map(), few: [], params: [], entries: [], folded: new Map() });
/** Static children compared one by one up to this many; a Map lookup beyond. */
const FEW_STATICS = 4;

const PARAM = /\{([A-Za-z_][A-Za-z0-9_.-]*)\}/g;
/** Longest segment matched against a template segment with literal parts. */
const MAX_PATTERN_SEGMENT = 512;

function escapeRe(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** Lowercase and without one trailing slash: the key of a path in folded lookups. */
function foldKey(path: string): string {
  const p = path.length > 1 && path.charCodeAt(path.length - 1) === 0x2f ? path.slice(0, -1) : path;
  return p.toLowerCase();
}

class Table<T> {
  readonly exact = new Map<string, Entry<T>[]>();
  /** exact entries by foldKey */
  readonly exactFolded = new Map<string, Entry<T>[]>();
  readonly tree: Seg<T> = newSeg();
  /** prefixes, longest first */
  prefixes: { prefix: string; lower: string; entry: Entry<T> }[] = [];

  add(spec: RouteSpec<T>): void {
    const fold = spec.fold ?? FOLD_NONE;
    if (spec.prefix !== undefined) {
      const prefix = spec.prefix.length > 1 ? spec.prefix.replace(/\/+$/, '') : '/';
      this.prefixes.push({ prefix, lower: prefix.toLowerCase(), entry: { value: spec.value, methods: spec.methods, paramNames: [], fold, path: prefix } });
      this.prefixes.sort((a, b) => b.prefix.length - a.prefix.length);
      return;
    }
    const path = spec.path ?? '/';
    if (!path.includes('{')) {
      const entry: Entry<T> = { value: spec.value, methods: spec.methods, paramNames: [], fold, path };
      const list = this.exact.get(path) ?? [];
      list.push(entry);
      this.exact.set(path, list);
      const key = foldKey(path);
      const flist = this.exactFolded.get(key) ?? [];
      flist.push(entry);
      this.exactFolded.set(key, flist);
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
          const lower = seg.toLowerCase();
          const same = node.folded.get(lower) ?? [];
          same.push([seg, next]);
          node.folded.set(lower, same);
        }
        node = next;
        continue;
      }
      const segNames: string[] = [];
      const whole = /^\{[^}]+\}$/.test(seg);
      const re = new RegExp(
        `^${seg
          .split(PARAM)
          .map((part, i) => {
            if (i % 2 === 0) return escapeRe(part);
            segNames.push(part);
            return '([^/]+?)';
          })
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
    node.entries.push({ value: spec.value, methods: spec.methods, paramNames: names, fold, path: '' });
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

  /** Table.first read as a folding upstream reads paths (`path`: the trailing slash already dropped when `f.slash`). */
  firstFolded(method: string, path: string, f: Folding, values: string[], all: Entry<T>[] | null): Entry<T> | null {
    const ex = this.exactFolded.get(path.toLowerCase());
    if (ex) for (const e of ex) if (allowsFold(e, f, e.path !== path) && take(e, method, all)) return e;
    if (this.tree.statics.size > 0 || this.tree.params.length > 0) {
      const e = walkFolded(this.tree, path, 1, method, values, all, f, false);
      if (e !== null) return e;
    }
    const lower = path.toLowerCase();
    for (const p of this.prefixes) {
      if (p.prefix !== '/' && lower !== p.lower && !lower.startsWith(`${p.lower}/`)) continue;
      const usedCase = p.prefix !== '/' && !(path === p.prefix || path.startsWith(`${p.prefix}/`));
      if (allowsFold(p.entry, f, usedCase) && take(p.entry, method, all)) return p.entry;
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

/** walkFirst for folded lookups: static segments compared without case (an exact match first). */
function walkFolded<T>(
  node: Seg<T>,
  path: string,
  pos: number,
  method: string,
  values: string[],
  all: Entry<T>[] | null,
  f: Folding,
  usedCase: boolean,
  usedEmpty = false,
): Entry<T> | null {
  if (pos < 0) {
    for (const e of node.entries) if (allowsFold(e, f, usedCase) && (!usedEmpty || !(f.flags ?? e.fold).trailingSlash) && take(e, method, all)) return e;
    return null;
  }
  const slash = path.indexOf('/', pos);
  const seg = slash < 0 ? path.slice(pos) : path.slice(pos, slash);
  const next = slash < 0 ? -1 : slash + 1;
  const same = node.folded.get(seg.toLowerCase());
  if (same !== undefined && seg !== '') {
    // the exact spelling first, then the others that differ only in case
    for (const pass of [true, false]) {
      for (const [key, child] of same) {
        if ((key === seg) !== pass) continue;
        const e = walkFolded(child, path, next, method, values, all, f, usedCase || !pass, usedEmpty);
        if (e !== null) return e;
      }
    }
  }
  if (seg === '' && !(f.emptyLast && next === -1)) return null;
  for (const p of node.params) {
    const n = values.length;
    if (seg === '' && !p.whole) continue;
    if (p.whole) values.push(seg);
    else {
      if (seg.length > MAX_PATTERN_SEGMENT) continue;
      const m = p.re.exec(seg);
      if (!m) continue;
      for (let k = 1; k < m.length; k++) values.push(m[k] as string);
    }
    // an empty last parameter is read only by upstreams whose trailing slash is significant (find-my-way)
    const e = walkFolded(p.node, path, next, method, values, all, f, usedCase, usedEmpty || seg === '');
    if (e !== null) return e;
    values.length = n;
  }
  return null;
}

/** Has an ASCII uppercase letter. */
function hasUpper(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0x41 && c <= 0x5a) return true;
  }
  return false;
}

export class Router<T> {
  private readonly byHost = new Map<string, Table<T>>();
  /** wildcard suffixes ('.example.com'), longest first */
  private readonly wildcards: { suffix: string; table: Table<T> }[] = [];
  private readonly anyHost = new Table<T>();
  private readonly allMethods: string[] = [];
  /** some route folds paths (folded lookups are needed at all) */
  private folds = false;
  /** some route's path or prefix has an uppercase letter (a lowercase request may fold onto it) */
  private upperRoutes = false;

  add(spec: RouteSpec<T>): void {
    if (spec.methods) for (const m of spec.methods) if (!this.allMethods.includes(m)) this.allMethods.push(m);
    if (spec.fold !== undefined && (spec.fold.case || spec.fold.trailingSlash)) this.folds = true;
    if (hasUpper(spec.path ?? spec.prefix ?? '')) this.upperRoutes = true;
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

  /**
   * host: lowercase without port; path: canonical (normalised) path. `semicolon`: the path has
   * `;` parameters (allowed by config), which a Tomcat-like upstream cuts before routing.
   *
   * The match is the one of the path itself, unless an upstream that folds case or a trailing
   * slash (or cuts `;` parameters) would read the path as one that a more specific route owns:
   * then that route's, so that `/api/Admin/` or `/api/admin;x` cannot reach `/api/admin`'s
   * resource through a laxer `/api` prefix.
   */
  find(method: string, host: string, path: string, semicolon = false): RouteMatch<T> {
    const values: string[] = [];
    let e = this.lookup(method, host, path, values, null);
    // the common case asks no fold: no ';', no trailing slash, no upper case on either side
    const trailing = path.length > 1 && path.charCodeAt(path.length - 1) === 0x2f;
    if (semicolon || trailing || (this.folds && (this.upperRoutes || hasUpper(path)))) {
      const folded = this.foldedIfStricter(method, host, path, semicolon, e, values);
      if (folded !== null) e = folded;
    }
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
    if (all.length === 0) for (const f of this.foldings(path, semicolon, null)) this.lookupFolded(method, host, f.path, f.how, values, all);
    if (all.length === 0) return { kind: 'none' };
    const allow = new Set<string>();
    for (const c of all) {
      if (c.methods === null) continue;
      for (const m of c.methods) allow.add(m);
      if (c.methods.has('GET')) allow.add('HEAD');
    }
    return { kind: 'method', allow: [...allow].sort() };
  }

  /**
   * The folded match when it differs from the strict one `strict` (it is then more specific: the
   * strict candidates are among the folded ones, and lookups go most specific first). `values`
   * receives the folded match's parameters. Null: keep the strict match.
   */
  private foldedIfStricter(method: string, host: string, path: string, semicolon: boolean, strict: Entry<T> | null, values: string[]): Entry<T> | null {
    if (strict !== null && strict.paramNames.length === 0 && strict.path === path) return null; // an exact match is as strict as it gets
    for (const f of this.foldings(path, semicolon, strict)) {
      const fv: string[] = [];
      const e = this.lookupFolded(method, host, f.path, f.how, fv, null);
      if (e === null) continue;
      if (e === strict) return null;
      values.length = 0;
      for (const v of fv) values.push(v);
      return e;
    }
    return null;
  }

  /**
   * The folded forms of a path to look up, in order ([] when no fold could change what it
   * matches): without its trailing slash (when slashes may be ignored), then with it kept and an
   * empty last parameter allowed.
   */
  private foldings(path: string, semicolon: boolean, strict: Entry<T> | null): { path: string; how: Folding }[] {
    const flags = strict === null ? null : strict.fold;
    const caseFold = flags === null ? this.folds : flags.case;
    const slashFold = flags === null ? this.folds : flags.trailingSlash;
    const how = flags === null ? null : { case: caseFold, trailingSlash: slashFold };
    const p = semicolon ? withoutPathParameters(path) : path;
    const out: { path: string; how: Folding }[] = [];
    const trailing = p.length > 1 && p.charCodeAt(p.length - 1) === 0x2f;
    if (trailing && slashFold) {
      out.push({ path: p.slice(0, -1), how: { flags: how, slash: true, emptyLast: false } });
    }
    const caseMatters = caseFold && (this.upperRoutes || hasUpper(p));
    if (trailing || caseMatters || p !== path) out.push({ path: p, how: { flags: how, slash: false, emptyLast: trailing } });
    return out;
  }

  private lookupFolded(method: string, host: string, path: string, f: Folding, values: string[], all: Entry<T>[] | null): Entry<T> | null {
    const exact = this.byHost.size === 0 ? undefined : this.byHost.get(host);
    let e = exact ? exact.firstFolded(method, path, f, values, all) : null;
    if (e === null) {
      for (const w of this.wildcards) {
        if (host.endsWith(w.suffix) && host.length > w.suffix.length) {
          e = w.table.firstFolded(method, path, f, values, all);
          break;
        }
      }
    }
    return e ?? this.anyHost.firstFolded(method, path, f, values, all);
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
