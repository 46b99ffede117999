/**
 * A static check against catastrophic backtracking: a group that contains a quantifier may not be
 * repeated without bound (no `(a+)+`, `(a|b*)*`, `(x{1,3}){2,}`): unbounded repetition has star
 * height 1. Bounded nesting (`(?:\\s{0,4},\\w{1,8}){0,4}`) is allowed; its cost per start position
 * is bounded, and built-in patterns are also covered by the adversarial 100 KB tests.
 */
export function assertLinearPattern(src: string): void {
  // stack of groups: does the group contain a quantifier?
  const stack: boolean[] = [];
  let inClass = false;
  let lastGroupHadQuant = false;
  let lastWasGroupEnd = false;
  for (let i = 0; i < src.length; i++) {
    const c = src[i]!;
    if (c === '\\') {
      i++;
      lastWasGroupEnd = false;
      continue;
    }
    if (inClass) {
      if (c === ']') inClass = false;
      continue;
    }
    if (c === '[') {
      inClass = true;
      lastWasGroupEnd = false;
      continue;
    }
    if (c === '(') {
      stack.push(false);
      lastWasGroupEnd = false;
      continue;
    }
    if (c === ')') {
      lastGroupHadQuant = stack.pop() ?? false;
      if (lastGroupHadQuant && stack.length > 0) stack[stack.length - 1] = true;
      lastWasGroupEnd = true;
      continue;
    }
    const isQuant = c === '*' || c === '+' || c === '?' || (c === '{' && /^\{\d+(,\d*)?\}/.test(src.slice(i, i + 12)));
    if (isQuant) {
      if (c === '?' && src[i - 1] === '(') continue;
      let unbounded = c === '*' || c === '+';
      if (c === '{') {
        const m = /^\{(\d+)(,(\d*))?\}/.exec(src.slice(i, i + 12))!;
        unbounded = m[2] !== undefined && (m[3] === undefined || m[3] === '');
        i += m[0].length - 1;
      }
      if (lastWasGroupEnd && unbounded && lastGroupHadQuant) {
        throw new Error(`regex repeats a quantified group without bound: ${src}`);
      }
      if (stack.length > 0 && c !== '?') stack[stack.length - 1] = true;
      lastWasGroupEnd = false;
      continue;
    }
    lastWasGroupEnd = false;
  }
}
