/** Runs f and returns its result, or the error it threw (so an argument parser's typed result needs no untyped `let`). */
export function attempt<T>(f: () => T): T | Error {
  try {
    return f();
  } catch (e) {
    return e instanceof Error ? e : new Error(String(e));
  }
}
