/** A config problem, located in its file. Exit code 2 from the CLI. */
export class ConfigError extends Error {
  readonly file: string;
  readonly line: number | null;
  readonly column: number | null;
  /** key path, e.g. `routes[0].match.path` */
  readonly keyPath: string | null;

  constructor(message: string, loc: { file: string; line?: number | null; column?: number | null; keyPath?: string | null }) {
    const where = `${loc.file}${loc.line ? `:${loc.line}${loc.column ? `:${loc.column}` : ''}` : ''}`;
    const key = loc.keyPath ? ` (${loc.keyPath})` : '';
    super(`${where}: ${message}${key}`);
    this.name = 'ConfigError';
    this.file = loc.file;
    this.line = loc.line ?? null;
    this.column = loc.column ?? null;
    this.keyPath = loc.keyPath ?? null;
  }
}

/** Several config problems at once (all schema errors are reported, not only the first). */
export class ConfigErrors extends Error {
  readonly errors: readonly ConfigError[];
  constructor(errors: readonly ConfigError[]) {
    super(errors.map((e) => e.message).join('\n'));
    this.name = 'ConfigErrors';
    this.errors = errors;
  }
}
