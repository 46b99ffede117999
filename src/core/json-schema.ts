/** A JSON Schema (draft 2020-12 subset used by Ajv), with `description` on every field. */
export type JsonSchema = {
  readonly [key: string]: unknown;
  readonly description?: string;
};
