/** A private redis-server child process on a free port, which tests may stop and restart. */
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { tracked } from '../helpers/children.js';

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      const port = typeof a === 'object' && a ? a.port : 0;
      s.close(() => resolve(port));
    });
  });
}

export interface PrivateRedis {
  readonly port: number;
  readonly url: string;
  /** stops the server (SIGKILL: an abrupt outage); resolves when the process exited */
  stop(): Promise<void>;
  /** starts it again on the same port */
  start(): Promise<void>;
}

export async function startPrivateRedis(): Promise<PrivateRedis> {
  const port = await freePort();
  let child: ChildProcess | null = null;
  const start = async (): Promise<void> => {
    const c = tracked(
      spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--daemonize', 'no'], {
        stdio: ['ignore', 'pipe', 'pipe'],
      }),
    );
    child = c;
    await new Promise<void>((resolve, reject) => {
      let out = '';
      const timer = setTimeout(() => reject(new Error(`redis-server did not start: ${out}`)), 5000);
      c.stdout!.on('data', (d: Buffer) => {
        out += d.toString();
        if (out.includes('Ready to accept connections')) {
          clearTimeout(timer);
          resolve();
        }
      });
      c.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`redis-server exited ${code}: ${out}`));
      });
    });
    c.stdout!.resume();
  };
  const stop = async (): Promise<void> => {
    const c = child;
    child = null;
    if (!c || c.exitCode !== null) return;
    await new Promise<void>((resolve) => {
      c.once('exit', () => resolve());
      c.kill('SIGKILL');
    });
  };
  await start();
  return { port, url: `redis://127.0.0.1:${port}`, stop, start };
}

export interface PrivateCluster {
  readonly nodes: string[];
  readonly ports: number[];
  /** stops master `i` (SIGKILL: an abrupt outage) */
  stopNode(i: number): Promise<void>;
  stop(): Promise<void>;
}

/** Three redis-server masters in cluster mode on free ports, joined with `redis-cli --cluster create`. */
export async function startPrivateCluster(): Promise<PrivateCluster> {
  const { mkdtempSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  const { execFile } = await import('node:child_process');
  const dir = mkdtempSync(join(tmpdir(), 'portcullis-rcluster-'));
  const ports = [await freePort(), await freePort(), await freePort()];
  const children: ChildProcess[] = [];
  for (const port of ports) {
    const c = tracked(
      spawn(
        'redis-server',
        [
          '--port',
          String(port),
          '--bind',
          '127.0.0.1',
          '--save',
          '',
          '--appendonly',
          'no',
          '--daemonize',
          'no',
          '--cluster-enabled',
          'yes',
          '--cluster-config-file',
          join(dir, `nodes-${port}.conf`),
          // the masters that are up keep answering for their slots while one is down
          '--cluster-require-full-coverage',
          'no',
          '--dir',
          dir,
        ],
        { stdio: ['ignore', 'pipe', 'pipe'] },
      ),
    );
    children.push(c);
    await new Promise<void>((resolve, reject) => {
      let out = '';
      const timer = setTimeout(() => reject(new Error(`redis-server did not start: ${out}`)), 5000);
      c.stdout!.on('data', (d: Buffer) => {
        out += d.toString();
        if (out.includes('Ready to accept connections')) {
          clearTimeout(timer);
          resolve();
        }
      });
    });
    c.stdout!.resume();
  }
  await new Promise<void>((resolve, reject) =>
    execFile('redis-cli', ['--cluster', 'create', ...ports.map((p) => `127.0.0.1:${p}`), '--cluster-replicas', '0', '--cluster-yes'], (err, stdout) =>
      err ? reject(new Error(`${err.message}: ${stdout}`)) : resolve(),
    ),
  );
  // wait until every node reports the cluster ok
  for (const port of ports) {
    for (let i = 0; i < 100; i++) {
      const info = await new Promise<string>((resolve) => execFile('redis-cli', ['-p', String(port), 'cluster', 'info'], (_e, out) => resolve(out)));
      if (info.includes('cluster_state:ok')) break;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  const kill = (c: ChildProcess): Promise<void> =>
    new Promise<void>((resolve) => {
      if (c.exitCode !== null || c.signalCode !== null) return resolve();
      c.once('exit', () => resolve());
      c.kill('SIGKILL');
    });
  return {
    nodes: ports.map((p) => `redis://127.0.0.1:${p}`),
    ports,
    stopNode: (i) => kill(children[i]!),
    stop: async () => {
      await Promise.all(children.map(kill));
    },
  };
}
