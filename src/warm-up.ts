/**
 * Imported first by bin/portcullis.js, before any other module is evaluated.
 *
 * V8 gives objects built key by key from `{}` (and from JSON.parse) shared shapes through a tree
 * of transitions from one root map, and stops adding transitions to a map that has about 1,500.
 * Parsing the config, OpenAPI documents, JWKS and schemas at startup adds that many, so a shape
 * first needed after startup is kept in dictionary mode for good. Node's `process.nextTick`
 * builds such an object (computed symbol keys) for every call, a dozen times per proxied request:
 * measured here, the gateway used about 9 µs more CPU per request when its first `nextTick` came
 * after the config was parsed. Creating the shape here, first, keeps it fast.
 */
process.nextTick(() => undefined);

export {};
