/**
 * ajv's code-generation options, shared by every place that compiles JSON Schemas (the config
 * schema, OpenAPI documents). Its name-optimisation pass is off: that pass counts the generated
 * variable names (`valid59`, `data46`, ...) in plain objects keyed by those names, and each new
 * first key adds a transition to V8's root object shape, which holds at most 1,536. Compiling
 * the config's schemas filled it, and from then on every object built key by key with a new
 * first key (undici's parsed headers, header objects, Node's tick objects) got a shape of its
 * own on every request. docs/performance.md gives the figures; test/integration/ajv-shapes.test.ts checks it.
 */
export const AJV_CODE = { optimize: false } as const;

/**
 * `format: 'http-url'`: an absolute http(s) URL that WHATWG URL parsing accepts, without
 * credentials. The `^https?://` patterns alone let `http://\0host` through to the code that
 * builds the upstream pools, which then threw instead of naming the key (found by test/fuzz).
 */
export function isHttpUrl(s: string): boolean {
  if (!/^https?:\/\//i.test(s) || !URL.canParse(s)) return false;
  const u = new URL(s);
  return (u.protocol === 'http:' || u.protocol === 'https:') && u.hostname !== '' && u.username === '' && u.password === '';
}
