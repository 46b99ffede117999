#!/usr/bin/env node
// first: object shapes that must exist before config parsing (src/warm-up.ts says why)
import '../dist/src/warm-up.js';
import { main } from '../dist/src/cli/main.js';

main(process.argv.slice(2)).then(
  (code) => {
    if (code >= 0) process.exitCode = code;
  },
  (err) => {
    process.stderr.write(`error: ${err && err.message ? err.message : String(err)}\n`);
    process.exitCode = 1;
  },
);
