// DesiredState → an `nft -f` script. The script replaces netcg's whole table in
// one transaction (nft -f is atomic) and creates objects in exactly the order the
// netlink backend sends them (table, maps, chains, elements, rules), so the two
// backends can be compared object for object.
import { NetcgError } from '../errors.js';
import type { Verdict } from '../native/types.js';
import type { ChainState, DesiredState, MapState, TableState } from '../model.js';
import { cgroupVerdictMapAttrs, readHostU32 } from '../nft/index.js';
import { ruleText } from './decompile.js';

/** `typeof meta cgroup : verdict`, the only kind of map netcg creates. */
function mapTypeof(map: MapState): string {
  const want = cgroupVerdictMapAttrs();
  const same =
    map.flags === want.flags &&
    map.keyType === want.keyType &&
    map.keyLen === want.keyLen &&
    map.dataType === want.dataType &&
    map.dataLen === want.dataLen &&
    map.userdata !== undefined &&
    map.userdata.equals(want.userdata);
  if (!same) throw new NetcgError('ERENDER', `map ${map.name} is not a "typeof meta cgroup : verdict" map; cannot render it as nft text`);
  return 'typeof meta cgroup : verdict';
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
      if (e.key.length !== 4 || !e.verdict) throw new NetcgError('ERENDER', `map ${map.name}: element is not a classid → verdict pair`);
      return `${readHostU32(e.key)} : ${verdictText(e.verdict)}`;
    })
    .join(', ');
}

/** The nft script that makes table `table.name` exactly `table`, atomically. */
export function renderNftTableScript(table: TableState): string {
  const t = `${table.family} ${table.name}`;
  const lines = [`add table ${t}`, `delete table ${t}`, `add table ${t}`];
  for (const map of table.maps) lines.push(`add map ${t} ${map.name} { ${mapTypeof(map)}; }`);
  for (const chain of table.chains) lines.push(`add chain ${t} ${chain.name}${chainSpec(chain)}`);
  for (const map of table.maps) if (map.elements.length > 0) lines.push(`add element ${t} ${map.name} { ${elementsText(map)} }`);
  for (const chain of table.chains) for (const rule of chain.rules) lines.push(`add rule ${t} ${chain.name} ${ruleText(rule.exprs)}`);
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
