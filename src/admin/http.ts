/** What the admin API handlers share: the token check, the actor of an action, JSON in and out. */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { randomUUID } from 'node:crypto';
import type { CanonicalConfig } from '../core/config.js';
import { writeProblem } from '../core/problem.js';
import { tokenMatches } from './access.js';
import { refuseAdmin } from './server.js';

/** Most bytes of an admin request body. */
const MAX_BODY = 16 * 1024;

export type Access = 'read' | 'write';

/** false when a refusal was written. */
export function authorize(req: IncomingMessage, res: ServerResponse, config: CanonicalConfig, access: Access): boolean {
  const token = config.admin.token;
  if (token === undefined || token === '') {
    if (access === 'read') return true;
    writeProblem(res, 'PC_ERR_FORBIDDEN', 403, randomUUID(), null, 'Admin write actions need admin.token to be configured.');
    return false;
  }
  if (tokenMatches(req.headers.authorization, token)) return true;
  refuseAdmin(res);
  return false;
}

export function actor(req: IncomingMessage): string {
  const raw = req.headers['x-portcullis-actor'];
  const name = typeof raw === 'string' ? raw.replace(/[^A-Za-z0-9_.@:-]/g, '').slice(0, 64) : '';
  return `${name || 'admin-token'}@${req.socket.remoteAddress ?? '?'}`;
}

export function json(res: ServerResponse, status: number, body: unknown, headers?: Readonly<Record<string, string>>): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { ...headers, 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), 'cache-control': 'no-store' });
  res.end(text);
}

export async function readJson(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let n = 0;
  for await (const c of req as AsyncIterable<Buffer>) {
    n += c.length;
    if (n > MAX_BODY) throw new Error('body too large');
    chunks.push(c);
  }
  return JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown;
}

export function splitUrl(req: IncomingMessage): { path: string; query: URLSearchParams } {
  const url = req.url ?? '/';
  const q = url.indexOf('?');
  return { path: q < 0 ? url : url.slice(0, q), query: new URLSearchParams(q < 0 ? '' : url.slice(q + 1)) };
}

/** 405 with Allow: the admin endpoint does not answer this method. */
export function methodNotAllowed(res: ServerResponse, allow: string): true {
  res.setHeader('allow', allow);
  writeProblem(res, 'PC_ERR_METHOD_NOT_ALLOWED', 405, randomUUID(), null);
  return true;
}
