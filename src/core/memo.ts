/**
 * A string transform remembered for up to `max` distinct inputs, for values that repeat from
 * request to request (route ids, upstream origins, policy names from the config): they are
 * transformed once. Inputs beyond the bound are transformed each time, so memory stays bounded
 * whatever the traffic.
 */
export function memoised(fn: (s: string) => string, max = 1024): (s: string) => string {
  const seen = new Map<string, string>();
  return (s) => {
    let v = seen.get(s);
    if (v === undefined) {
      v = fn(s);
      if (seen.size < max) seen.set(s, v);
    }
    return v;
  };
}
