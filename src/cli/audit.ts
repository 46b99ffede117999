/**
 * `portcullis audit verify FILE`: checks the audit log's hash chain and reports the first entry
 * that was edited, removed or reordered. Exit 0 when intact, 1 when tampered, 2 on usage errors.
 */
import { readFile } from 'node:fs/promises';
import { verifyAuditText } from '../observe/audit.js';

const USAGE = 'usage: portcullis audit verify FILE';

export async function auditCommand(argv: readonly string[], out: (s: string) => void = (s) => process.stdout.write(`${s}\n`), err: (s: string) => void = (s) => process.stderr.write(`${s}\n`)): Promise<number> {
  const [sub, file, ...rest] = argv;
  if (sub === '--help' || sub === '-h') {
    out(USAGE);
    return 0;
  }
  if (sub !== 'verify' || file === undefined || rest.length > 0) {
    err(USAGE);
    return 2;
  }
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    err(`cannot read ${file}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`);
    return 2;
  }
  const r = verifyAuditText(text);
  if (r.ok) {
    out(`OK: ${file}: ${r.entries} entries, hash chain intact${r.lastHash ? ` (last hash ${r.lastHash})` : ''}`);
    return 0;
  }
  out(`TAMPERED: ${file}: ${r.problem} at line ${r.line}${r.seq !== null ? ` (seq ${r.seq})` : ''}: ${r.message}`);
  return 1;
}
