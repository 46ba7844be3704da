// Read-back of netcg's current state in one namespace, as the planner takes it:
// netcg's nft table (one consistent dump) plus its protocol-tagged ip rules and
// routes. The library has no single `readState` yet; this composes its public
// pieces (tableFromDump) and mirrors NetlinkBackend.readOwned's conversion of rules
// and routes, without readOwned's extra table dump (its existence check), which
// would double the cost being measured.
import { NETCG_RTPROT } from '../dist/model.js';
import { tableFromDump } from '../dist/state/from-dump.js';

const SCOPE_LINK = 253;
const RTN_NAMES = { 1: 'unicast', 6: 'blackhole', 7: 'unreachable', 8: 'prohibit' };

/** @returns {{ genid: number, current: import('../dist/plan/plan.js').CurrentState }} */
export function readCurrent(handle, table) {
  const dump = handle.nftDump({ family: 'inet', table });
  const names = new Map(handle.linkDump().map((l) => [l.index, l.name]));
  const ipRules = [];
  const routes = [];
  for (const family of [4, 6]) {
    for (const r of handle.ruleDump(family)) {
      if (r.protocol !== NETCG_RTPROT) continue;
      ipRules.push({
        family, priority: r.priority ?? 0, table: r.table, fwmark: r.fwmark ?? 0, protocol: NETCG_RTPROT,
        ...(r.fwmask !== undefined ? { fwmask: r.fwmask } : {}),
      });
    }
    for (const r of handle.routeDump(family)) {
      if (r.protocol !== NETCG_RTPROT) continue;
      routes.push({
        family, table: r.table, dst: `${r.dst}/${r.dstLen}`, dev: names.get(r.oif ?? -1) ?? `if${r.oif}`,
        scope: r.scope === SCOPE_LINK ? 'link' : 'universe', protocol: r.protocol ?? 0, type: RTN_NAMES[r.type] ?? 'unicast',
      });
    }
  }
  const current = { ipRules, routes };
  const t = tableFromDump(dump, table);
  if (t) current.table = t;
  return { genid: dump.genid, current };
}
