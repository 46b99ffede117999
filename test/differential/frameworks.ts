/**
 * Real upstream frameworks for the differential tests, each with its default parsers and router,
 * the same four routes, and a handler that reports what the framework read: method, path, the
 * route it matched, path parameters, query and parsed body. The report travels in the
 * `x-reading` response header (base64url JSON), so that HEAD responses carry it too.
 *
 *   express     Express 5: express.json(), express.urlencoded(), express.text(); query parser 'simple' (node:querystring)
 *   express-qs  Express 5 with the extended query parser and urlencoded parser (qs)
 *   fastify     Fastify 5: its JSON and text parsers, @fastify/formbody; fast-querystring; find-my-way
 *   koa         Koa 3 with @koa/router and @koa/bodyparser (co-body: qs with allowDots); node:querystring
 */
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import express from 'express';
import Fastify from 'fastify';
import formbody from '@fastify/formbody';
import Koa from 'koa';
import Router from '@koa/router';
import { bodyParser } from '@koa/bodyparser';

/** The routes every framework serves, by name; the gateway's routes carry the same names. */
export const ROUTES = ['items', 'items-one', 'admin', 'rest'] as const;
export type RouteName = (typeof ROUTES)[number];

/** What a framework read. */
export interface FrameworkReading {
  readonly framework: string;
  readonly method: string;
  readonly path: string;
  readonly route: RouteName;
  readonly params: Record<string, string>;
  readonly query: unknown;
  /** undefined when the framework parsed no body */
  readonly body: unknown;
}

/** How a framework structures query strings and form bodies (compare.ts reads them that way). */
export interface Structure {
  /** 'flat': repeated names become arrays, names are literal; 'qs': qs nests brackets (and dots) */
  readonly query: { readonly kind: 'flat' } | { readonly kind: 'qs'; readonly allowDots: boolean; readonly depth: number };
  readonly form: { readonly kind: 'flat' } | { readonly kind: 'qs'; readonly allowDots: boolean; readonly depth: number };
}

export interface Framework {
  readonly name: string;
  readonly url: string;
  /** the gateway's path_matching for this upstream: what the framework's router really does */
  readonly pathMatching: { case: 'insensitive' | 'sensitive'; trailing_slash: 'ignored' | 'significant' };
  readonly structure: Structure;
  close(): Promise<void>;
}

function encode(r: FrameworkReading): string {
  return Buffer.from(JSON.stringify(r)).toString('base64url');
}

/** Plain objects all the way down (null-prototype records and class instances become plain). */
function plain(v: unknown): unknown {
  return v === undefined ? undefined : (JSON.parse(JSON.stringify(v)) as unknown);
}

async function listen(server: Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

function closer(server: Server): () => Promise<void> {
  return () =>
    new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
}

async function startExpress(name: string, extended: boolean): Promise<Framework> {
  const app = express();
  if (extended) app.set('query parser', 'extended');
  app.use(express.json());
  app.use(express.urlencoded({ extended }));
  app.use(express.text());
  const handler = (route: RouteName) => (req: express.Request, res: express.Response) => {
    const r: FrameworkReading = {
      framework: name,
      method: req.method,
      path: req.path,
      route,
      params: { ...(req.params as Record<string, string>) },
      query: plain(req.query),
      body: plain(req.body),
    };
    delete (r.params as Record<string, string>)['rest'];
    res.setHeader('x-reading', encode(r));
    res.json(r);
  };
  app.all('/items', handler('items'));
  app.all('/items/:id', handler('items-one'));
  app.all('/admin', handler('admin'));
  app.all('/{*rest}', handler('rest'));
  app.use((err: { status?: number; type?: string }, _req: express.Request, res: express.Response, _next: express.NextFunction) => {
    res.status(err.status ?? 500).json({ error: err.type ?? 'error' });
  });
  const server = (await new Promise<Server>((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  })) as Server;
  return {
    name,
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    // Express 5 routes are case-insensitive and ignore a trailing slash by default
    pathMatching: { case: 'insensitive', trailing_slash: 'ignored' },
    structure: extended
      ? { query: { kind: 'qs', allowDots: false, depth: 5 }, form: { kind: 'qs', allowDots: false, depth: 32 } }
      : { query: { kind: 'flat' }, form: { kind: 'flat' } },
    close: closer(server),
  };
}

async function startFastify(): Promise<Framework> {
  const app = Fastify({ logger: false });
  await app.register(formbody);
  const handler = (route: RouteName) => async (req: import('fastify').FastifyRequest, reply: import('fastify').FastifyReply) => {
    const url = req.raw.url ?? '/';
    const q = url.indexOf('?');
    const params = { ...(req.params as Record<string, string>) };
    delete params['*'];
    const r: FrameworkReading = {
      framework: 'fastify',
      method: req.method,
      path: q < 0 ? url : url.slice(0, q),
      route,
      params,
      query: plain(req.query),
      body: plain(req.body),
    };
    reply.header('x-reading', encode(r));
    return r;
  };
  app.all('/items', handler('items'));
  app.all('/items/:id', handler('items-one'));
  app.all('/admin', handler('admin'));
  app.all('/*', handler('rest'));
  await app.listen({ port: 0, host: '127.0.0.1' });
  const server = app.server;
  return {
    name: 'fastify',
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    // find-my-way: case-sensitive, a trailing slash is another path
    pathMatching: { case: 'sensitive', trailing_slash: 'significant' },
    structure: { query: { kind: 'flat' }, form: { kind: 'flat' } },
    close: () => app.close(),
  };
}

async function startKoa(): Promise<Framework> {
  const app = new Koa();
  const router = new Router();
  app.use(async (ctx, next) => {
    try {
      await next();
    } catch (e) {
      const err = e as { status?: number };
      ctx.status = err.status ?? 500;
      ctx.body = { error: 'error' };
    }
  });
  app.use(bodyParser({ enableTypes: ['json', 'form', 'text'] }));
  const handler = (route: RouteName) => (ctx: Koa.ParameterizedContext) => {
    const params = { ...((ctx as unknown as { params: Record<string, string> }).params ?? {}) };
    delete params['rest'];
    const body = (ctx.request as unknown as { body?: unknown }).body;
    const r: FrameworkReading = { framework: 'koa', method: ctx.method, path: ctx.path, route, params, query: plain(ctx.query), body: plain(body) };
    ctx.set('x-reading', encode(r));
    ctx.body = r;
  };
  router.all('/items', handler('items'));
  router.all('/items/:id', handler('items-one'));
  router.all('/admin', handler('admin'));
  router.all('/{*rest}', handler('rest'));
  app.use(router.routes());
  const server = app.listen(0, '127.0.0.1') as Server;
  await new Promise<void>((resolve) => server.once('listening', resolve));
  return {
    name: 'koa',
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    // @koa/router: case-insensitive, trailing slash optional (sensitive: false, strict: false)
    pathMatching: { case: 'insensitive', trailing_slash: 'ignored' },
    // ctx.query is node:querystring; co-body reads forms with qs and allowDots
    structure: { query: { kind: 'flat' }, form: { kind: 'qs', allowDots: true, depth: 5 } },
    close: closer(server),
  };
}

/** Starts every framework on 127.0.0.1. */
export async function startFrameworks(): Promise<Framework[]> {
  return Promise.all([startExpress('express', false), startExpress('express-qs', true), startFastify(), startKoa()]);
}

/** Decodes the `x-reading` header of a framework's response, or null when there is none. */
export function readingOf(header: string | string[] | undefined): FrameworkReading | null {
  if (typeof header !== 'string') return null;
  return JSON.parse(Buffer.from(header, 'base64url').toString('utf8')) as FrameworkReading;
}

export { listen };
