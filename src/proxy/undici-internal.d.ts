// undici's header helpers (lib/core/util.js; CommonJS, no published types). Used for the raw
// response headers of the streamed exchange (src/proxy/exchange.ts says why).
declare module 'undici/lib/core/util.js' {
  const util: {
    /** lowercase header name; well-known names come from a lookup tree without allocating */
    headerNameToString(name: Buffer | string): string;
    /** raw [name, value, ...] headers as an object (names lowercase, repeated names as arrays) */
    parseHeaders(raw: readonly Buffer[]): Record<string, string | string[]>;
  };
  export default util;
}
