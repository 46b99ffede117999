import type { RouteConfig } from '../core/config.js';
import type { RouteStage } from '../core/stage.js';
import type { Phase } from '../core/phases.js';
import type { UpstreamGroup } from '../proxy/upstream.js';
import type { BodyPolicy } from '../body/request-body.js';

/** A route compiled once per snapshot: match data, its upstream, and its stage chain per phase. */
export interface CompiledRoute {
  readonly id: string;
  readonly config: RouteConfig;
  readonly upstream: UpstreamGroup;
  /** uppercase methods, or null for any */
  readonly methods: ReadonlySet<string> | null;
  readonly maxBodyBytes: number;
  /** how bodies are decoded and read on this route */
  readonly body: BodyPolicy;
  readonly stripPrefix: string | null;
  /** rewrite template split on params, or null */
  readonly rewrite: ((params: Record<string, string>) => string) | null;
  /** request-phase stages in run order */
  readonly requestStages: readonly RouteStage[];
  /** stages with onResponse / onResponseBody */
  readonly respondStages: readonly RouteStage[];
  /** stages with onFinish */
  readonly finishStages: readonly RouteStage[];
  /** true when some request stage needs the buffered body */
  readonly needsBody: boolean;
  readonly needsResponseBody: boolean;
  /** stages by phase, for introspection and docs */
  readonly phases: ReadonlyMap<Phase, readonly RouteStage[]>;
}
