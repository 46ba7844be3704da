// Other tables' base chains on netcg's hooks. Chains at one hook run in priority
// order (lower first): a foreign output chain with policy drop that runs before
// netcg's drops members' packets before netcg sees them, and a foreign nat output
// chain that runs first gets to set the connection's NAT mapping (the first nat
// mapping wins), so netcg's DNS redirect never happens for what it maps.
import type { NftHook } from '../native/types.js';
import { ok, warn, type Finding } from './finding.js';

export interface ChainInfo {
  family: string;
  table: string;
  name: string;
  hook?: NftHook;
  rules: number;
}

export function checkForeignChains(chains: ChainInfo[], ours: string): Finding[] {
  const isOurs = (c: ChainInfo) => c.family === 'inet' && c.table === ours;
  const mine = chains.filter((c) => isOurs(c) && c.hook?.hook === 'output');
  if (mine.length === 0)
    return [
      ok(
        'foreign-chains',
        `netcg's table inet ${ours} has no output chains (not applied, or no profile): nothing to pre-empt`,
      ),
    ];
  const first = Math.min(...mine.map((c) => c.hook!.priority));
  const ourNat = mine.find((c) => c.hook!.type === 'nat');
  const out: Finding[] = [];
  for (const c of chains) {
    if (isOurs(c) || c.hook?.hook !== 'output' || !['inet', 'ip', 'ip6'].includes(c.family)) continue;
    const where = `${c.family} ${c.table} chain ${c.name} (${c.hook.type} hook output priority ${c.hook.priority})`;
    if (c.hook.policy === 'drop' && c.hook.priority < first) {
      out.push(
        warn(
          'foreign-chains',
          `${where} has policy drop and runs before netcg's output chains (priority ${first}): packets it drops never reach netcg`,
          `give it a priority above ${first}, accept members' traffic in it, or change its policy to accept`,
        ),
      );
    } else if (ourNat && c.hook.type === 'nat' && c.hook.priority < ourNat.hook!.priority && c.rules > 0) {
      out.push(
        warn(
          'foreign-chains',
          `${where} runs before netcg's nat_output (priority ${ourNat.hook!.priority}): a NAT mapping it sets wins and netcg's DNS redirect is skipped for those connections`,
          `give it a priority above ${ourNat.hook!.priority} (e.g. ${ourNat.hook!.priority + 1}) so netcg's redirect is decided first`,
        ),
      );
    }
  }
  if (out.length === 0)
    out.push(
      ok('foreign-chains', `no other table's output chain pre-empts netcg's (first at priority ${first})`),
    );
  return out;
}
