/** `@ipMatch` and `@ipMatchFromFile`: the value is an IPv4/IPv6 address inside one of the ranges. */
import { ipInCidrs, parseCidr, type Cidr } from '../../operators/ip.js';
import { CrsUnsupported, type CrsOperator, type OperatorContext } from '../contract.js';
import { readDataFiles } from './phrases.js';

function cidrs(entries: readonly string[], op: string): Cidr[] {
  return entries.map((e) => {
    try {
      return parseCidr(e);
    } catch {
      throw new CrsUnsupported(`${op}: '${e}' is not an IP address or CIDR range`);
    }
  });
}

function matcher(list: readonly Cidr[]): CrsOperator {
  return (value) => ipInCidrs(value.trim(), list);
}

/** `@ipMatch 10.0.0.0/8,::1`: comma-separated addresses and ranges. */
export function compileIpMatch(param: string): CrsOperator {
  const entries = param
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  return matcher(cidrs(entries, '@ipMatch'));
}

/** `@ipMatchFromFile file`: one address or range per line. */
export function compileIpMatchFromFile(param: string, ctx: OperatorContext): CrsOperator {
  return matcher(cidrs(readDataFiles(param, ctx, '@ipMatchFromFile'), '@ipMatchFromFile'));
}
