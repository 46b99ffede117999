/**
 * The seams between the parts of the CRS engine (issue 23), so that they can be built apart:
 * the SecLang loader and interpreter (src/waf/crs/*.ts) call transformations
 * (src/waf/crs/transformations/) and operators (src/waf/crs/operators/) by their SecLang names;
 * `@detectSQLi` and `@detectXSS` come from src/waf/crs/libinjection/.
 */

/** `t:name`: a pure string function, as ModSecurity v3 / Coraza define it for that name. */
export type CrsTransformation = (value: string) => string;

/** What an operator may read and write while it runs (one per rule evaluation). */
export interface OperatorRun {
  /**
   * Set when the rule has the `capture` action: the operator writes what it captured here (index 0
   * the whole match, then groups, at most 10: they become TX:0..TX:9). `@detectSQLi` writes the
   * fingerprint at 0. Left null when the rule does not capture.
   */
  captures: string[] | null;
}

/**
 * An operator compiled once from its parameter (after macro expansion: the interpreter compiles
 * again, through a bounded cache, when the parameter holds a macro such as `%{tx.allowed_methods}`).
 * Returns whether the value matched; negation (`!@rx`) is the interpreter's business.
 */
export type CrsOperator = (value: string, run: OperatorRun) => boolean;

/** What compiling an operator may need besides its parameter. */
export interface OperatorContext {
  /** the folder of the rule file (for `@pmFromFile` / `@ipMatchFromFile` relative names) */
  readonly dir: string;
  /** reads a data file (tests give a map); throws when it is missing */
  readonly readFile: (path: string) => string;
}

/**
 * Thrown at load time by a transformation or operator name or parameter that cannot be honoured
 * exactly (the loader lists the rule with this reason; it never drops a rule silently).
 */
export class CrsUnsupported extends Error {
  constructor(readonly reason: string) {
    super(reason);
    this.name = 'CrsUnsupported';
  }
}

/** The registry of transformations, by SecLang name (lowercase, as in `t:urlDecodeUni` → 'urldecodeuni'). */
export type TransformationRegistry = ReadonlyMap<string, CrsTransformation>;

/** Compiles `@name param` (name lowercase, without '@'); throws CrsUnsupported when it cannot. */
export type OperatorCompiler = (name: string, param: string, ctx: OperatorContext) => CrsOperator;
