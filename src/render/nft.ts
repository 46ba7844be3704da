// DesiredState → an `nft -f` script. The script replaces netcg's whole table in
// one transaction (nft -f is atomic) and creates objects in exactly the order the
// netlink backend sends them (table, maps, chains, elements, rules), so the two
// backends can be compared object for object.
import { NetcgError } from '../shared/errors.js';
import type { Verdict } from '../native/types.js';
import type { ChainState, DesiredState, MapState, TableState } from '../shared/model.js';
import { cgroupV2VerdictMapAttrs, cgroupVerdictMapAttrs, readHostU32, readHostU64 } from '../nft/index.js';
import { nftCgroupV2Path } from './cgroup-path.js';
import { ruleText } from './decompile.js';

type MapAttrs = ReturnType<typeof cgroupVerdictMapAttrs>;

function hasAttrs(map: MapState, want: MapAttrs): boolean {
  return (
    map.flags === want.flags &&
    map.keyType === want.keyType &&
    map.keyLen === want.keyLen &&
    map.dataType === want.dataType &&
    map.dataLen === want.dataLen &&
    map.userdata !== undefined &&
    map.userdata.equals(want.userdata)
  );
}

/** The level of the `socket cgroupv2` lookup that uses `map` (the map itself does not record it). */
function v2Level(table: TableState, map: string): number {
  for (const chain of table.chains)
    for (const rule of chain.rules)
      for (let i = 0; i + 1 < rule.exprs.length; i++) {
        const [load, lookup] = [rule.exprs[i]!, rule.exprs[i + 1]!];
        if (
          load.type === 'socket' &&
          load.key === 'cgroupv2' &&
          lookup.type === 'lookup' &&
          lookup.set === map
        )
          return load.level ?? 0;
      }
  return 0;
}

/** The two kinds of map netcg creates: `typeof meta cgroup : verdict` and `typeof socket cgroupv2 level L : verdict`. */
function mapTypeof(map: MapState, table: TableState): string {
  if (hasAttrs(map, cgroupVerdictMapAttrs())) return 'typeof meta cgroup : verdict';
  if (hasAttrs(map, cgroupV2VerdictMapAttrs()))
    return `typeof socket cgroupv2 level ${v2Level(table, map.name)} : verdict`;
  throw new NetcgError(
    'ERENDER',
    `map ${map.name} is neither a "typeof meta cgroup" nor a "typeof socket cgroupv2" verdict map; cannot render it as nft text`,
  );
}

/** A key as nft reads it: a classid in decimal, a cgroup2 ID as the path nft resolves to it. */
function keyText(map: MapState, key: Buffer): string {
  if (key.length === 4) return String(readHostU32(key));
  if (key.length === 8) return JSON.stringify(nftCgroupV2Path(readHostU64(key)));
  throw new NetcgError(
    'ERENDER',
    `map ${map.name}: element key of ${key.length} bytes is neither a classid nor a cgroup2 ID`,
  );
}

function verdictText(v: Verdict): string {
  return 'chain' in v ? `${v.code} ${v.chain}` : v.code;
}

function chainSpec(chain: ChainState): string {
  if (!chain.hook) return '';
  const { type, hook, priority, policy } = chain.hook;
  return ` { type ${type} hook ${hook} priority ${priority};${policy ? ` policy ${policy};` : ''} }`;
}

function elementsText(map: MapState): string {
  return map.elements
    .map((e) => {
      if (!e.verdict) throw new NetcgError('ERENDER', `map ${map.name}: element is not a key → verdict pair`);
      return `${keyText(map, e.key)} : ${verdictText(e.verdict)}`;
    })
    .join(', ');
}

/** The nft script that makes table `table.name` exactly `table`, atomically. */
export function renderNftTableScript(table: TableState): string {
  const t = `${table.family} ${table.name}`;
  const lines = [`add table ${t}`, `delete table ${t}`, `add table ${t}`];
  for (const map of table.maps) lines.push(`add map ${t} ${map.name} { ${mapTypeof(map, table)}; }`);
  for (const chain of table.chains) lines.push(`add chain ${t} ${chain.name}${chainSpec(chain)}`);
  for (const map of table.maps)
    if (map.elements.length > 0) lines.push(`add element ${t} ${map.name} { ${elementsText(map)} }`);
  for (const chain of table.chains)
    for (const rule of chain.rules) lines.push(`add rule ${t} ${chain.name} ${ruleText(rule.exprs)}`);
  return `${lines.join('\n')}\n`;
}

/** The nft part of a DesiredState (ip rules and routes go through renderIpBatch). */
export function renderNftScript(state: DesiredState): string {
  return renderNftTableScript(state.table);
}

/** Deletes netcg's table; succeeds whether or not it exists (the `add` makes sure it does). */
export function renderNftDelete(table: string): string {
  return `add table inet ${table}\ndelete table inet ${table}\n`;
}
