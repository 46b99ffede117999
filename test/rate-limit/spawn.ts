/** Spawns gateway-process.js children and waits for their port. */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { tracked } from '../helpers/children.js';

export interface GatewayChild {
  readonly port: number;
  readonly url: string;
  readonly child: ChildProcess;
  stderr(): string;
  /** SIGSTOP / SIGCONT: requests sent while paused wait in the socket buffers and arrive together */
  pause(): void;
  resume(): void;
  stop(): Promise<void>;
}

const SCRIPT = fileURLToPath(new URL('./gateway-process.js', import.meta.url));

export function writeConfig(yaml: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'portcullis-rl-'));
  const file = join(dir, 'portcullis.yaml');
  writeFileSync(file, yaml);
  return file;
}

export async function spawnGateway(file: string, env: Record<string, string> = {}): Promise<GatewayChild> {
  const child = tracked(spawn(process.execPath, [SCRIPT, file], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } }));
  let err = '';
  child.stderr!.on('data', (d: Buffer) => {
    err += d.toString();
    if (err.length > 100000) err = err.slice(-50000);
  });
  const port = await new Promise<number>((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`gateway did not start: ${err}`)), 15000);
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const line = out.split('\n').find((l) => l.startsWith('{'));
      if (line) {
        clearTimeout(timer);
        resolve((JSON.parse(line) as { port: number }).port);
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`gateway exited ${code}: ${err}`));
    });
  });
  return {
    port,
    url: `http://127.0.0.1:${port}`,
    child,
    stderr: () => err,
    pause: () => child.kill('SIGSTOP'),
    resume: () => child.kill('SIGCONT'),
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        child.kill('SIGCONT');
        const t = setTimeout(() => child.kill('SIGKILL'), 3000);
        child.once('exit', () => {
          clearTimeout(t);
          resolve();
        });
        child.kill('SIGTERM');
      }),
  };
}

const BIN = fileURLToPath(new URL('../../../bin/portcullis.js', import.meta.url));

/** `node bin/portcullis.js start -c FILE` (every registered stage); ready when its admin /readyz answers 200. */
export async function spawnCli(file: string, port: number, adminPort: number): Promise<GatewayChild> {
  const child = tracked(spawn(process.execPath, [BIN, 'start', '-c', file], { stdio: ['ignore', 'ignore', 'pipe'] }));
  let err = '';
  child.stderr!.on('data', (d: Buffer) => {
    err += d.toString();
    if (err.length > 100000) err = err.slice(-50000);
  });
  const deadline = Date.now() + 20000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`gateway exited ${child.exitCode}: ${err}`);
    const ok = await fetch(`http://127.0.0.1:${adminPort}/readyz`).then(
      (r) => r.status === 200,
      () => false,
    );
    if (ok) break;
    if (Date.now() > deadline) throw new Error(`gateway not ready: ${err}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    port,
    url: `http://127.0.0.1:${port}`,
    child,
    stderr: () => err,
    pause: () => child.kill('SIGSTOP'),
    resume: () => child.kill('SIGCONT'),
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        const t = setTimeout(() => child.kill('SIGKILL'), 5000);
        child.once('exit', () => {
          clearTimeout(t);
          resolve();
        });
        child.kill('SIGTERM');
      }),
  };
}
