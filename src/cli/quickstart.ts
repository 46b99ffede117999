import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Gateway } from '../gateway.js';

/** `npm start`: the demo API and the gateway in front of it, with what to try printed. */
export async function runQuickstart(root: string): Promise<Gateway> {
  const dir = join(root, 'examples', 'quickstart');
  const demo = (await import(pathToFileURL(join(dir, 'demo-api.mjs')).href)) as { startDemoApi: (port: number) => Promise<{ close(): void }> };
  const api = await demo.startDemoApi(8081);
  const gw = await Gateway.start({ file: join(dir, 'portcullis.yaml'), handleSignals: true });
  process.once('exit', () => api.close());
  const banner = [
    '',
    'Portcullis quickstart is running:',
    '  gateway  http://127.0.0.1:8080   (in front of the demo API on http://127.0.0.1:8081)',
    '  admin    http://127.0.0.1:9090/metrics  /healthz  /readyz',
    '  console  http://127.0.0.1:9090/console  (live view; no token: the admin listener is loopback-only)',
    '',
    'Try (README.md has more):',
    '  curl -s http://127.0.0.1:8080/api/public/status                     # 200, public',
    '  curl -s http://127.0.0.1:8080/api/items                             # 401, no token',
    '  TOKEN=$(npx portcullis token --dev)                                 # a quickstart-only token',
    '  curl -s -H "Authorization: Bearer $TOKEN" http://127.0.0.1:8080/api/items   # 200',
    '  npx portcullis probe http://127.0.0.1:8080                          # every security check, as a table',
    '',
    'Stop with Ctrl-C.',
    '',
  ];
  process.stderr.write(banner.join('\n'));
  return gw;
}
