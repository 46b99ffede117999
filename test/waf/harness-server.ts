/**
 * A small HTTP server that evaluates each request with the WAF engine at its defaults and answers
 * 403 (blocked) or 200, for the CRS regression replay (../shared/waf-eval) before the gateway runs
 * it. Listens on 127.0.0.1 only.
 *
 *   node dist/test/waf/harness-server.js [--port 18120] [--paranoia 1] [--threshold 5] [--log FILE]
 *
 * A request target without a leading slash is answered 400 unless the WAF blocks it.
 */
import { createServer } from 'node:http';
import { appendFileSync } from 'node:fs';
import { compileRules, evaluate } from '../../src/waf/engine.js';
import { BUILTIN_RULES } from '../../src/waf/rules/index.js';
import type { Policy } from '../../src/waf/types.js';

function arg(name: string, dflt: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && i + 1 < process.argv.length ? process.argv[i + 1]! : dflt;
}

const port = Number(arg('port', '18120'));
const policy: Policy = {
  paranoia: Number(arg('paranoia', '1')) as 1 | 2 | 3 | 4,
  threshold: Number(arg('threshold', '5')),
  exclusions: [],
  stopAtThreshold: false,
};
const logFile = arg('log', '');
const compiled = compileRules(BUILTIN_RULES);

const server = createServer({ maxHeaderSize: 16384 }, (req, res) => {
  const chunks: Buffer[] = [];
  let size = 0;
  req.on('data', (c: Buffer) => {
    size += c.length;
    if (size <= 1048576) chunks.push(c);
  });
  req.on('end', () => {
    const rawUrl = req.url ?? '/';
    const q = rawUrl.indexOf('?');
    const rawPath = q < 0 ? rawUrl : rawUrl.slice(0, q);
    // (the router's normalisePath is not used here: its fast-path regex backtracks exponentially
    // on long segments with a dot, reported to the lead; the WAF decodes the path itself)
    const norm = { ok: rawPath.startsWith('/'), path: rawPath };
    const body = chunks.length > 0 ? Buffer.concat(chunks) : null;
    const result = evaluate(
      {
        method: req.method ?? 'GET',
        rawUrl,
        path: norm.ok ? norm.path : rawPath,
        query: q < 0 ? '' : rawUrl.slice(q + 1),
        headers: req.headers,
        body,
      },
      compiled,
      policy,
    );
    if (logFile !== '')
      appendFileSync(
        logFile,
        `${JSON.stringify({ url: rawUrl.slice(0, 200), score: result.score, blocked: result.blocked, matches: result.matches.map((m) => `${m.ruleId}@${m.target}:${m.matched.slice(0, 40)}`) })}\n`,
      );
    const status = result.blocked ? 403 : norm.ok ? 200 : 400;
    res.writeHead(status, { 'content-type': 'text/plain', connection: 'close' });
    res.end(status === 200 ? 'ok\n' : 'no\n');
  });
});
server.on('clientError', (_err, socket) => {
  if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nconnection: close\r\ncontent-length: 0\r\n\r\n');
});
server.listen(port, '127.0.0.1', () => {
  process.stdout.write(`waf harness on http://127.0.0.1:${port}\n`);
});
