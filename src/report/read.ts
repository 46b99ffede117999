/**
 * Streams the lines of a log file (gzip when the name ends in `.gz`), with a bound on the length of
 * a line: a longer one is skipped and counted, so that one hostile or corrupt line cannot hold the
 * reader's memory. Access-log lines are bounded when written (paths to 2 KiB, annotations to a few
 * matches), so the bound is generous.
 */
import { Buffer } from 'node:buffer';
import { createReadStream } from 'node:fs';
import { createGunzip } from 'node:zlib';
import type { Readable } from 'node:stream';

/** Longest line read (bytes); longer ones are skipped and counted as oversized. */
export const MAX_LINE_BYTES = 256 * 1024;

export interface LineCounts {
  lines: number;
  oversized: number;
}

export interface LineOptions {
  /** longest line read (default MAX_LINE_BYTES) */
  readonly maxLineBytes?: number;
  /** pass empty lines on (the audit chain counts every line) instead of skipping them */
  readonly keepEmpty?: boolean;
  /** called in the place of a line longer than the limit */
  readonly onOversized?: () => void;
}

/** Opens a log file as a byte stream, gunzipped when its name ends in `.gz`. */
export function openLog(path: string): Readable {
  const file = createReadStream(path, { highWaterMark: 1 << 20 });
  if (!path.endsWith('.gz')) return file;
  const gunzip = createGunzip();
  file.on('error', (e) => gunzip.destroy(e));
  return file.pipe(gunzip);
}

/**
 * Calls `onLine` with each line of `stream` (without its newline; empty lines skipped unless `keepEmpty`). Lines are
 * decoded as UTF-8; the text of a line is the only copy made of it.
 */
export async function forEachLine(
  stream: AsyncIterable<Buffer | string>,
  onLine: (line: string) => void,
  counts: LineCounts,
  opts: LineOptions = {},
): Promise<void> {
  const max = opts.maxLineBytes ?? MAX_LINE_BYTES;
  const keepEmpty = opts.keepEmpty === true;
  const oversized = (): void => {
    counts.lines++;
    counts.oversized++;
    opts.onOversized?.();
  };
  const emit = (line: string): void => {
    if (!keepEmpty && (line.length === 0 || line === '\r')) return;
    counts.lines++;
    onLine(line);
  };
  let carry: Buffer | null = null;
  let skipping = false;
  for await (const piece of stream) {
    const chunk = typeof piece === 'string' ? Buffer.from(piece) : piece;
    let start = 0;
    for (;;) {
      const nl = chunk.indexOf(10, start);
      if (nl < 0) break;
      if (skipping) {
        skipping = false;
      } else if (carry !== null) {
        const len = carry.length + nl - start;
        if (len > max) oversized();
        else emit(Buffer.concat([carry, chunk.subarray(start, nl)]).toString('utf8'));
      } else if (nl - start > max) oversized();
      else emit(chunk.toString('utf8', start, nl));
      carry = null;
      start = nl + 1;
    }
    if (start < chunk.length && !skipping) {
      const rest = chunk.subarray(start);
      const len = (carry?.length ?? 0) + rest.length;
      if (len > max) {
        oversized();
        carry = null;
        skipping = true;
      } else carry = carry === null ? Buffer.from(rest) : Buffer.concat([carry, rest]);
    }
  }
  if (carry !== null && !skipping) emit(carry.toString('utf8'));
}
