// Test-only preload (`node --import ./chaos/clock-skew.mjs`), used by `npm run chaos -- --only clock`:
// shifts the process's wall clock (Date.now, new Date()) by the milliseconds written in the file
// named by PORTCULLIS_CHAOS_SKEW_FILE (read every 20 ms), the way a step of the system clock
// does. The monotonic clock (performance.now) is not shifted, as a real step leaves
// CLOCK_MONOTONIC alone. Never loaded by the gateway itself; the system clock is never touched.
import { readFileSync } from 'node:fs';

const file = process.env.PORTCULLIS_CHAOS_SKEW_FILE;
if (file) {
  const realNow = Date.now;
  const RealDate = Date;
  let skew = 0;
  const read = () => {
    try {
      skew = Number(readFileSync(file, 'utf8').trim()) || 0;
    } catch {
      /* keep the last value */
    }
  };
  read();
  setInterval(read, 20).unref();
  class SkewedDate extends RealDate {
    constructor(...args) {
      if (args.length === 0) super(realNow() + skew);
      else super(...args);
    }
    static now() {
      return realNow() + skew;
    }
  }
  globalThis.Date = SkewedDate;
}
