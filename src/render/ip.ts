// ip rules and routes → `ip -batch` text for the nft backend. Batch lines cannot
// carry -4/-6 (iproute2 reads only a command per line, and `ip rule` cannot infer
// the family from its arguments), so each family is its own batch, run as
// `ip -4 -batch -` / `ip -6 -batch -`: renderIpBatches does the split.
import { NetcgError } from '../shared/errors.js';
import { FAIL_CLOSED_METRIC, type IpRuleSpec, type RouteSpec } from '../shared/model.js';

/** Same shape as the backends' RtnlOp. */
export type IpOp =
  | { verb: 'add' | 'del'; kind: 'rule'; rule: IpRuleSpec }
  | { verb: 'add' | 'del'; kind: 'route'; route: RouteSpec };

const FULL_MASK = 0xffffffff;

function familyOf(op: IpOp): 4 | 6 {
  return op.kind === 'rule' ? op.rule.family : op.route.family;
}

function ruleLine(verb: IpOp['verb'], r: IpRuleSpec): string {
  const mask = r.fwmask !== undefined && r.fwmask !== FULL_MASK ? `/0x${r.fwmask.toString(16)}` : '';
  return `rule ${verb} priority ${r.priority} fwmark 0x${r.fwmark.toString(16)}${mask} table ${r.table} protocol ${r.protocol}`;
}

function routeLine(verb: IpOp['verb'], r: RouteSpec): string {
  const dst = r.dst === '0.0.0.0/0' || r.dst === '::/0' ? 'default' : r.dst;
  const type = r.type === 'unicast' ? '' : `${r.type} `;
  const dev = `${r.gateway !== undefined ? ` via ${r.gateway}` : ''}${r.dev ? ` dev ${r.dev}` : ''}`;
  // Always name the scope: without it `ip route add` gives a gateway-less route scope link.
  const scope = r.scope === 'link' ? 'link' : 'global';
  // Fail-closed routes sit behind the unicast default of the same destination (model.ts).
  const metric = r.type === 'unicast' ? '' : ` metric ${FAIL_CLOSED_METRIC}`;
  return `route ${verb} ${type}${dst}${dev} table ${r.table} proto ${r.protocol} scope ${scope}${metric}`;
}

/** `ip -batch` text for ops of one family; run it as `ip -<family> -batch -`. */
export function renderIpBatch(ops: readonly IpOp[], family: 4 | 6 = ops[0] ? familyOf(ops[0]) : 4): string {
  const lines = ops.map((op) => {
    if (familyOf(op) !== family)
      throw new NetcgError(
        'ERENDER',
        `an IPv${familyOf(op)} ${op.kind} cannot go in an IPv${family} ip batch; use renderIpBatches`,
      );
    return op.kind === 'rule' ? ruleLine(op.verb, op.rule) : routeLine(op.verb, op.route);
  });
  return lines.length > 0 ? `${lines.join('\n')}\n` : '';
}

/** ops as consecutive single-family `ip` invocations, order kept: run `ip ...args` with `input` on stdin. */
export function renderIpBatches(
  ops: readonly IpOp[],
): Array<{ family: 4 | 6; args: string[]; input: string }> {
  const runs: Array<{ family: 4 | 6; ops: IpOp[] }> = [];
  for (const op of ops) {
    const last = runs.at(-1);
    if (last && last.family === familyOf(op)) last.ops.push(op);
    else runs.push({ family: familyOf(op), ops: [op] });
  }
  return runs.map(({ family, ops: run }) => ({
    family,
    args: [`-${family}`, '-batch', '-'],
    input: renderIpBatch(run, family),
  }));
}
