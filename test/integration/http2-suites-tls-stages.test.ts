/** The validation, WAF, rate-limit and abuse suites over HTTP/2 with TLS (ALPN h2): test/integration/http2-suites.ts. */
import { suitesOver } from './http2-suites.js';

suitesOver('h2', 1);
