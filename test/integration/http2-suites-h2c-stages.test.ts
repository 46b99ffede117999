/** The validation, WAF, rate-limit and abuse suites over cleartext h2c: test/integration/http2-suites.ts. */
import { suitesOver } from './http2-suites.js';

suitesOver('h2c', 1);
