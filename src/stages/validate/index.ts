/**
 * The `validate` stage: OpenAPI-driven request validation (validate phase) and response
 * validation/filtering (respond phase), plus per-route URL/header/query limits.
 * Route generation from `apis` happens in prepare (prepare.ts); compilation once per snapshot in
 * create; per request only compiled validators run.
 */
import { deny, type Decision, type Deny } from '../../core/decision.js';
import type { ResponseMeta, RouteStage, StageEnv, StageInstance, StageModule } from '../../core/stage.js';
import type { RouteConfig } from '../../core/config.js';
import { ConfigError } from '../../config/errors.js';
import { apisSchema, validateRouteSchema } from './schema.js';
import { compileApi, type CompiledApi, type CompiledOperation } from './compile.js';
import { prepareApis, preparedApiKeyQueryParams, preparedApis } from './prepare.js';
import { validateRequest, type RequestSettings } from './request.js';
import { checkResponse, hasResponseSchemas, type ResponseMode } from './response.js';
import type { RequestContext } from '../../core/stage.js';

export const STAGE_ID = 'validate';

/** The route key, after defaults. */
export interface ValidateSection {
  api?: string;
  operation?: string;
  mode: 'enforce' | 'monitor' | 'off';
  response: ResponseMode;
  max_errors: number;
  json: { max_depth: number; max_keys: number; max_array_length: number; max_string_length: number };
  max_header_bytes?: number;
  max_url_bytes?: number;
  max_query_params?: number;
  max_form_params: number;
  unknown_query: 'allow' | 'reject';
}

function headerBytes(raw: readonly string[]): number {
  let n = 0;
  for (let i = 0; i < raw.length; i++) n += (raw[i] as string).length;
  return n + raw.length * 2; // ': ' and CRLF per header, roughly
}

/** Builds the RouteStage for one route (exported for tests). */
export function routeStage(v: ValidateSection, op: CompiledOperation | null, env: Pick<StageEnv, 'services'>, routeId: string): RouteStage | null {
  const requestOn = v.mode !== 'off';
  const limitsOn = v.max_header_bytes !== undefined || v.max_url_bytes !== undefined || v.max_query_params !== undefined;
  const responseOn = op !== null && v.response !== 'off' && hasResponseSchemas(op);
  if (!responseOn && (!requestOn || (op === null && !limitsOn))) return null;
  const metrics = env.services.metrics;
  const respFailures = metrics.counter(
    'portcullis_response_validation_failures_total',
    'Upstream responses that did not match the API schema, by route and response mode.',
    ['route', 'mode'],
  );
  const filtered = metrics.counter('portcullis_response_filtered_total', 'Responses from which undeclared properties were removed, by route.', ['route']);
  // the body's limits (`json`, `max_form_params`) apply where it is read, in the pipeline's body step
  const settings: RequestSettings = { maxErrors: v.max_errors, rejectUnknownQuery: v.unknown_query === 'reject' };
  const maxUrl = v.max_url_bytes;
  const maxHeader = v.max_header_bytes;
  const maxQuery = v.max_query_params;
  const monitor = v.mode === 'monitor';
  const check = (ctx: RequestContext): Deny | undefined => {
    if (maxUrl !== undefined && (ctx.req.url ?? '').length > maxUrl) return deny('PC_ERR_URL_TOO_LONG', { reason: `url longer than ${maxUrl}` });
    if (maxHeader !== undefined && headerBytes(ctx.req.rawHeaders) > maxHeader)
      return deny('PC_ERR_HEADERS_TOO_LARGE', { reason: `headers larger than ${maxHeader}` });
    if (maxQuery !== undefined && ctx.queryPairs.length > maxQuery)
      return deny('PC_ERR_TOO_MANY_PARAMETERS', { reason: `more than ${maxQuery} query parameters` });
    if (op === null) return undefined;
    const h = ctx.req.headers;
    return validateRequest(
      op,
      {
        params: ctx.params,
        queryPairs: ctx.queryPairs,
        headers: h,
        media: ctx.media,
        body: ctx.bodyReading,
        bodyRefusal: ctx.bodyRefusal,
        hasBody: ctx.announcesBody(),
        bodyBytes: ctx.body === null ? 0 : ctx.body.length,
      },
      settings,
      ctx,
    );
  };
  const stage: {
    id: string;
    phase: 'validate';
    mode: 'enforce';
    needsBody: boolean;
    needsResponseBody: boolean;
    run(ctx: RequestContext): Decision;
    onResponseBody?(ctx: RequestContext, res: ResponseMeta, body: Buffer): Buffer | Deny;
  } = {
    id: STAGE_ID,
    phase: 'validate',
    // monitor is handled here, so that request monitoring and response enforcement can differ
    mode: 'enforce',
    needsBody: requestOn && op !== null && op.body !== null,
    needsResponseBody: responseOn,
    run(ctx: RequestContext): Decision {
      if (responseOn) ctx.upstreamHeaders['accept-encoding'] = 'identity';
      if (!requestOn) return undefined;
      const d = check(ctx);
      if (d === undefined || !monitor) return d;
      ctx.recordMonitor(STAGE_ID, d);
      metrics.monitored.inc({ stage: STAGE_ID, code: d.code });
      return undefined;
    },
  };
  if (responseOn && op !== null) {
    const mode = v.response;
    stage.onResponseBody = (ctx, res, body) => {
      const verdict = checkResponse(op, res.status, res.headers, body, mode, v.max_errors);
      if (verdict.kind === 'pass') return body;
      if (verdict.kind === 'replace') {
        filtered.inc({ route: routeId });
        return verdict.body;
      }
      respFailures.inc({ route: routeId, mode });
      ctx.annotations[STAGE_ID] = { response_invalid: verdict.items.slice(0, 5) };
      if (mode === 'monitor') return body;
      return deny('PC_ERR_RESPONSE_INVALID', { reason: verdict.reason });
    };
  }
  return stage;
}

export const validateStage: StageModule = {
  id: STAGE_ID,
  phase: 'validate',
  order: 100,
  schema: {
    global: { apis: apisSchema() },
    route: { validate: validateRouteSchema() },
  },
  prepare: prepareApis,
  credentialQueryParams: preparedApiKeyQueryParams,
  async create(env: StageEnv): Promise<StageInstance> {
    const loaded = await preparedApis(env.config, env);
    const apis = new Map<string, CompiledApi>();
    for (const [id, p] of loaded) {
      try {
        const api = compileApi(id, p.spec, p.operations);
        for (const w of api.warnings) env.services.logger.warn({ event: 'openapi_schema_warning', api: id, spec: p.spec.file, warning: w });
        apis.set(id, api);
      } catch (e) {
        throw new ConfigError(`OpenAPI document ${p.spec.file}: ${(e as Error).message}`, {
          file: env.file,
          keyPath: `apis[${[...loaded.keys()].indexOf(id)}].spec`,
        });
      }
    }
    return {
      forRoute(route: RouteConfig): RouteStage | null {
        const v = route['validate'] as ValidateSection | undefined;
        if (v === undefined) return null;
        let op: CompiledOperation | null = null;
        if (v.api !== undefined) {
          const api = apis.get(v.api);
          if (api === undefined) throw new ConfigError(`route '${route.id}': validate.api '${v.api}' is not in apis`, { file: env.file });
          op = api.operations.get(v.operation ?? '') ?? null;
          if (op === null) throw new ConfigError(`route '${route.id}': operation '${v.operation ?? ''}' is not in API '${v.api}'`, { file: env.file });
        }
        return routeStage(v, op, env, route.id);
      },
    };
  },
};

export default validateStage;
