/** What the posture audit reads from an OpenAPI operation: whether its responses carry objects. */
import type { OperationInfo } from '../openapi/operations.js';

const isObj = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

/** An object schema, or an array of them (both expose properties), through allOf/anyOf/oneOf. */
export function describesObjects(schema: unknown, depth = 0): boolean {
  if (!isObj(schema) || depth > 8) return false;
  const t = schema['type'];
  if (t === 'object' || (Array.isArray(t) && t.includes('object')) || isObj(schema['properties'])) return true;
  if ((t === 'array' || (Array.isArray(t) && t.includes('array'))) && describesObjects(schema['items'], depth + 1)) return true;
  for (const k of ['allOf', 'anyOf', 'oneOf']) {
    const list = schema[k];
    if (Array.isArray(list) && list.some((s) => describesObjects(s, depth + 1))) return true;
  }
  return false;
}

/** Whether a success (2xx or default) JSON response of the operation is an object or a list of objects. */
export function returnsObjects(op: Pick<OperationInfo, 'responses'>): boolean {
  for (const [status, res] of Object.entries(op.responses)) {
    if (!/^(2\d\d|2XX|default)$/i.test(status) || !isObj(res.content)) continue;
    for (const [media, m] of Object.entries(res.content)) {
      if (!/json|^\*\/\*$/i.test(media)) continue;
      if (describesObjects(m.schema)) return true;
    }
  }
  return false;
}
