/**
 * The README's quickstart commands, pasted into bash against the quickstart (on free ports): each
 * command whose comment names a status gets that status, and the burst command gets 429s after
 * the burst's 200s, as it promises on a 2-core machine.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { quickstart } from '../helpers/quickstart.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '../../..');

/** The commands of the README block after "another terminal:", continuation lines joined, with their comments. */
function readmeCommands(): { command: string; comment: string }[] {
  const text = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const start = text.indexOf('```sh', text.indexOf('another terminal:'));
  const block = text.slice(start + 5, text.indexOf('```', start + 5));
  const out: { command: string; comment: string }[] = [];
  let pending = '';
  for (const line of block.split('\n')) {
    if (line.trim() === '') continue;
    if (line.trimEnd().endsWith('\\')) {
      pending += `${line.trimEnd().slice(0, -1)} `;
      continue;
    }
    const full = pending + line;
    pending = '';
    const hash = full.search(/\s#\s/);
    out.push({ command: (hash < 0 ? full : full.slice(0, hash)).trim(), comment: hash < 0 ? '' : full.slice(hash).replace(/^\s#\s*/, '') });
  }
  return out;
}

test('the README quickstart commands give the statuses their comments promise, the burst included', { timeout: 120_000 }, async () => {
  const { gw, close } = await quickstart();
  try {
    const port = new URL(gw.url).port;
    const admin = new URL(gw.adminUrl ?? '').port;
    const env = { ...process.env };
    // asynchronously: the gateway runs in this process
    const run = async (cmd: string): Promise<string> =>
      (
        await promisify(execFile)(
          'bash',
          [
            '-c',
            cmd
              .replaceAll('127.0.0.1:8080', `127.0.0.1:${port}`)
              .replaceAll('127.0.0.1:9090', `127.0.0.1:${admin}`)
              .replaceAll('npx portcullis', `node ${join(ROOT, 'bin/portcullis.js')}`),
          ],
          {
            encoding: 'utf8',
            env,
            cwd: ROOT,
            timeout: 60_000,
          },
        )
      ).stdout;
    const cmds = readmeCommands();
    let checked = 0;
    for (const { command, comment } of cmds) {
      if (command.startsWith('TOKEN=')) {
        env['TOKEN'] = (await run(command.replace(/^TOKEN=\$\((.*)\)$/, '$1'))).trim();
        continue;
      }
      const want = /^(\d{3})\b/.exec(comment)?.[1];
      if (command.includes('--parallel')) {
        const codes = (await run(command)).trim().split(/\s+/);
        assert.equal(codes.length, 100, command);
        assert.ok(codes.filter((c) => c === '429').length >= 25, `the burst command shows 429s: ${codes.join(' ')}`);
        assert.ok(codes.filter((c) => c === '200').length >= 25, `and 200s within the burst: ${codes.join(' ')}`);
        checked++;
        continue;
      }
      if (command.includes('cache-status')) {
        // the request before it was the miss that stored the response
        assert.match(await run(command), /^cache-status: Portcullis; hit; ttl=\d+\s*$/im, command);
        checked++;
        continue;
      }
      if (comment.startsWith('echo: ')) {
        // the WebSocket echo: the line the command prints is the comment's up to its comma
        assert.equal((await run(command)).trim(), comment.slice(0, comment.indexOf(',')), command);
        checked++;
        continue;
      }
      if (want === undefined) continue;
      const out = await run(command);
      if (want === '200') assert.doesNotMatch(out, /"status":\s*[45]\d\d/, `${command}\n${out}`);
      else assert.match(out, new RegExp(`"status":\\s*${want}`), `${command}\n${out}`);
      checked++;
    }
    assert.ok(checked >= 10, `only ${checked} README commands were checked`);
  } finally {
    await close();
  }
});
