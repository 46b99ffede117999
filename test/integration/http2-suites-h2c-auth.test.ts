/** The authentication suites over cleartext h2c: test/integration/http2-suites.ts. */
import { suitesOver } from './http2-suites.js';

suitesOver('h2c', 0);
