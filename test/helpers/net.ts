/** Small network helpers for tests: a free loopback port, and raw HTTP/1.1 exchanges. */
import * as net from 'node:net';

/**
 * A TCP port outside the kernel's ephemeral range (32768-60999 on Linux) that was free on
 * 127.0.0.1 a moment ago: for a server restarted on the same port, which a listener on port 0
 * or an outgoing connection of another test could otherwise take in between.
 */
export async function stablePort(): Promise<number> {
  for (;;) {
    const p = 20000 + Math.floor(Math.random() * 12000);
    const s = net.createServer();
    const ok = await new Promise<boolean>((r) => {
      s.once('error', () => r(false));
      s.listen(p, '127.0.0.1', () => r(true));
    });
    if (ok) {
      await new Promise<void>((r) => s.close(() => r()));
      return p;
    }
  }
}

/** A TCP port that was free on 127.0.0.1 a moment ago. */
export async function freePort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const p = (s.address() as net.AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return p;
}

/** Sends raw bytes to 127.0.0.1:port and returns what came back (latin1) before the server closed or `waitMs` passed. */
export function rawExchange(port: number, data: string | Buffer, waitMs = 3000): Promise<string> {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    let out = '';
    s.on('data', (d) => (out += d.toString('latin1')));
    s.on('close', () => resolve(out));
    s.on('error', () => resolve(out));
    s.write(data);
    setTimeout(() => {
      s.destroy();
      resolve(out);
    }, waitMs).unref();
  });
}
