/**
 * The parts of an OpenAPI 3.0 / 3.1 document the gateway reads, after dereferencing.
 * Everything is `unknown`-typed until checked: a spec is config, but a badly written one must
 * give a ConfigError, not a crash.
 */
export type OpenApiVersion = '3.0' | '3.1';

export type SchemaObject = Record<string, unknown> | boolean;

export interface ParameterObject {
  readonly name: string;
  readonly in: 'path' | 'query' | 'header' | 'cookie';
  readonly required?: boolean;
  readonly style?: string;
  readonly explode?: boolean;
  readonly schema?: SchemaObject;
  readonly content?: Record<string, MediaTypeObject>;
  readonly allowEmptyValue?: boolean;
}

export interface MediaTypeObject {
  readonly schema?: SchemaObject;
}

export interface RequestBodyObject {
  readonly required?: boolean;
  readonly content: Record<string, MediaTypeObject>;
}

export interface ResponseObject {
  readonly content?: Record<string, MediaTypeObject>;
}

/** One security requirement object: scheme name → scopes (AND across names). */
export type SecurityRequirement = Readonly<Record<string, readonly string[]>>;

export interface SecuritySchemeObject {
  readonly type: 'apiKey' | 'http' | 'mutualTLS' | 'oauth2' | 'openIdConnect' | string;
  readonly scheme?: string;
  readonly in?: string;
  readonly name?: string;
  readonly [ext: `x-${string}`]: unknown;
}

export const HTTP_METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'] as const;
