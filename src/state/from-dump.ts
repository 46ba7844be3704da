// The kernel's view of netcg's table, in the shape compile produces, so the
// planner compares like with like. Pure: the addon's dump in, TableState out.
// Objects keep the kernel's order (maps, chains, and rules within a chain as the
// dump lists them); rules keep their handles, which is how they are deleted.
import type { MapState, RuleState, TableState } from '../shared/model.js';
import type { NftDump } from '../native/types.js';

/** NFT_SET_ANONYMOUS: a set nft creates for a literal `{ a, b }` inside one rule; it lives and dies with that rule. */
export const NFT_SET_ANONYMOUS = 0x1;

/**
 * netcg's table (family inet) as found in `dump`, or undefined when it does not exist.
 * Anonymous sets are left out: they belong to the (foreign) rule that uses them and
 * disappear when that rule is deleted, so they are never planned on their own.
 */
export function tableFromDump(dump: NftDump, table: string): TableState | undefined {
  const mine = <T extends { family: string; table: string }>(o: T) =>
    o.family === 'inet' && o.table === table;
  if (!dump.tables.some((t) => t.family === 'inet' && t.name === table)) return undefined;

  const maps: MapState[] = dump.sets
    .filter((s) => mine(s) && (s.flags & NFT_SET_ANONYMOUS) === 0)
    .map((s) => ({
      name: s.name,
      flags: s.flags,
      keyType: s.keyType,
      keyLen: s.keyLen,
      dataType: s.dataType ?? 0,
      dataLen: s.dataLen ?? 0,
      ...(s.userdata && s.userdata.length > 0 ? { userdata: s.userdata } : {}),
      elements: s.elements.map((e) => ({ ...e })),
    }));

  const chains = dump.chains.filter(mine).map((c) => ({
    name: c.name,
    ...(c.hook ? { hook: { ...c.hook } } : {}),
    rules: [] as RuleState[],
  }));
  const byName = new Map(chains.map((c) => [c.name, c]));
  for (const r of dump.rules) {
    if (!mine(r)) continue;
    byName.get(r.chain)?.rules.push({ exprs: r.exprs, handle: r.handle });
  }
  return { family: 'inet', name: table, maps, chains };
}
