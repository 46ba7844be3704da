// The nf_tables half of plan: the ops that turn the table read back from the
// kernel into the desired one, as ONE batch whose order satisfies the kernel's
// reference counting at every message:
//   1. delete rules (by handle)       - frees the maps and chains they reference
//   2. delete map elements            - frees the chains they jump to
//   3. delete maps                    - (their elements go with them)
//   4. delete chains                  - nothing references them any more
//   5. add maps, 6. add chains        - before anything that references them
//   7. add map elements               - the chains they jump to exist
//   8. add rules, chain by chain, in order
// Maps and chains whose attributes differ (key type, hook, priority, policy) cannot
// be changed in place: they are deleted and re-created, and so is everything that
// references them.
//
// Rule order inside a chain: the addon's rule `add` appends (no position), so the
// rules kept are the longest prefix of the desired list that appears, in order, in
// the current one (greedy subsequence match); every other current rule is deleted
// and the rest of the desired list is appended. A rule missing at the end of a chain
// costs one add; one missing in the middle also re-adds the rules after it.
import type { ChainState, MapState, NftElement, RuleState, TableState } from '../shared/model.js';
import type { NftOp } from '../native/types.js';
import {
  chainAttrsKey,
  elementKey,
  elementValueKey,
  mapAttrsKey,
  ruleContentKey,
  ruleReferences,
  rulesEqual,
} from './normalize.js';
import { splitByIdentity, type IdentitySplit } from './identity.js';
import type { Change } from './types.js';
import { chainView, elementView, mapView, ruleView, tableView, type ObjectView } from './views.js';

interface TablePlan {
  ops: NftOp[];
  changes: Change[];
}

type Base = { family: 'inet'; table: string };

/** The nf_tables op that adds map `m` to the table `base` names (shared with the backends' whole-table ops). */
export function mapAddOp(base: Base, m: MapState): NftOp {
  return {
    verb: 'add',
    object: 'set',
    ...base,
    name: m.name,
    flags: m.flags,
    keyType: m.keyType,
    keyLen: m.keyLen,
    dataType: m.dataType,
    dataLen: m.dataLen,
    ...(m.userdata ? { userdata: m.userdata } : {}),
  };
}

function chainAddOp(base: Base, c: ChainState): NftOp {
  return { verb: 'add', object: 'chain', ...base, name: c.name, ...(c.hook ? { hook: { ...c.hook } } : {}) };
}

function ruleAddOp(base: Base, chain: string, r: RuleState): NftOp {
  return { verb: 'add', object: 'rule', ...base, chain, exprs: r.exprs };
}

/**
 * An element's identity within its map for the planner's lookups: the same
 * equality as elementKey (its key bytes), without a hex string per element. Keys of
 * up to 4 bytes (netcg's are cgroup classids) become a number that also encodes the
 * length, so <00> and <00 00> stay distinct; longer keys fall back to elementKey.
 */
function elementLookupKey(e: NftElement): number | string {
  const k = e.key;
  if (k.length > 4) return elementKey(e);
  let n = 0;
  for (let i = 0; i < k.length; i++) n = n * 256 + k[i]!;
  return n + k.length * 2 ** 32;
}

const elementId = (map: string, e: NftElement) => `${map}[${elementView(map, e).key}]`;
const ruleAddId = (chain: string, position: number) => `${chain}[${position}]`;
const ruleDelId = (chain: string, handle: number | undefined) => `${chain}#${handle ?? '?'}`;

/** The whole table, created from nothing (the table does not exist yet). */
function createTable(want: TableState): TablePlan {
  const base: Base = { family: want.family, table: want.name };
  const ops: NftOp[] = [{ verb: 'add', object: 'table', family: want.family, name: want.name }];
  const changes: Change[] = [
    { action: '+', kind: 'table', id: `${want.family} ${want.name}`, after: tableView(want) },
  ];
  for (const m of want.maps) {
    ops.push(mapAddOp(base, m));
    changes.push({ action: '+', kind: 'map', id: m.name, after: mapView(m) });
  }
  for (const c of want.chains) {
    ops.push(chainAddOp(base, c));
    changes.push({ action: '+', kind: 'chain', id: c.name, after: chainView(c) });
  }
  for (const m of want.maps) {
    if (m.elements.length > 0)
      ops.push({ verb: 'add', object: 'element', ...base, set: m.name, elements: m.elements });
    for (const e of m.elements)
      changes.push({ action: '+', kind: 'element', id: elementId(m.name, e), after: elementView(m.name, e) });
  }
  for (const c of want.chains) {
    c.rules.forEach((r, position) => {
      ops.push(ruleAddOp(base, c.name, r));
      changes.push({
        action: '+',
        kind: 'rule',
        id: ruleAddId(c.name, position),
        after: ruleView(c.name, r.exprs, { position }),
      });
    });
  }
  return { ops, changes };
}

/** Splits a chain's rules into deletions (by handle) and additions (appended, in order). */
function planRules(
  have: readonly RuleState[],
  want: readonly RuleState[],
  mustGo: (r: RuleState) => boolean,
): { del: RuleState[]; add: Array<{ rule: RuleState; position: number }> } {
  const del: RuleState[] = [];
  let next = 0;
  if (have.length === 0 && want.length === 0) return { del, add: [] };
  for (const r of have) {
    const w = want[next];
    // Identity first: compile hands out the same rule objects for an unchanged profile
    // (src/compile/table.ts), and the Reconciler plans against the table it compiled last.
    if (w && !mustGo(r) && (r === w || r.exprs === w.exprs || rulesEqual(r.exprs, w.exprs))) next++;
    else del.push(r);
  }
  const add: Array<{ rule: RuleState; position: number }> = [];
  for (let i = next; i < want.length; i++) add.push({ rule: want[i]!, position: i });
  return { del, add };
}

export function planTable(have: TableState | undefined, want: TableState): TablePlan {
  if (!have) return createTable(want);
  const d = compareTables(have, want);
  const rules = planChainRules(d);
  const elements = planMapElements(d);
  return {
    ops: tableOps(d, rules, elements),
    changes: [
      ...namedChanges('map', have.maps, want.maps, d.wantMaps, d.haveMaps, d.replacedMaps, mapView),
      ...namedChanges(
        'chain',
        d.split.haveOnly.map(({ item }) => item),
        d.split.wantOnly.map(({ item }) => item),
        new Map(d.split.wantOnly.map(({ item }) => [item.name, item])),
        d.haveChains,
        d.replacedChains,
        chainView,
      ),
      ...ruleChanges(rules.chainRank, rules.dels, rules.adds),
      ...elementChanges(elements.dels, elements.adds),
    ],
  };
}

/** Both tables indexed, and what goes away or is re-created. */
interface TableComparison {
  base: Base;
  have: TableState;
  want: TableState;
  split: IdentitySplit<ChainState>;
  haveMaps: Map<string, MapState>;
  wantMaps: Map<string, MapState>;
  /** Chains not shared by identity, by name. */
  haveChains: Map<string, ChainState>;
  wantChains: Map<string, { chain: ChainState; index: number }>;
  replacedMaps: Set<string>;
  goneMaps: Set<string>;
  replacedChains: Set<string>;
  goneChains: Set<string>;
  /** Whether a rule references a map or chain that goes away (it must go first). */
  referencesGone(r: RuleState): boolean;
  /** Whether an element jumps to a chain that goes away. */
  jumpsToGone(e: NftElement): boolean;
}

function compareTables(have: TableState, want: TableState): TableComparison {
  // Chains on both sides as the very same object (an unchanged profile's, see
  // src/plan/identity.ts) are equal by construction: only the rest is compared.
  const split = splitByIdentity(have.chains, want.chains);
  const haveMaps = new Map(have.maps.map((m) => [m.name, m]));
  const wantMaps = new Map(want.maps.map((m) => [m.name, m]));
  const haveChains = new Map(split.haveOnly.map(({ item }) => [item.name, item]));
  const wantChains = new Map(split.wantOnly.map(({ item, index }) => [item.name, { chain: item, index }]));

  // Maps/chains that go away or are re-created: whatever references them must go first.
  const replacedMaps = new Set(
    want.maps
      .filter((m) => haveMaps.has(m.name) && mapAttrsKey(haveMaps.get(m.name)!) !== mapAttrsKey(m))
      .map((m) => m.name),
  );
  const goneMaps = new Set([
    ...have.maps.filter((m) => !wantMaps.has(m.name)).map((m) => m.name),
    ...replacedMaps,
  ]);
  const replacedChains = new Set<string>();
  for (const { item } of split.wantOnly) {
    const h = haveChains.get(item.name);
    if (h && chainAttrsKey(h) !== chainAttrsKey(item)) replacedChains.add(item.name);
  }
  const goneChains = new Set([
    ...split.haveOnly.filter(({ item }) => !wantChains.has(item.name)).map(({ item }) => item.name),
    ...replacedChains,
  ]);
  const nothingGone = goneMaps.size === 0 && goneChains.size === 0;
  return {
    base: { family: want.family, table: want.name },
    have,
    want,
    split,
    haveMaps,
    wantMaps,
    haveChains,
    wantChains,
    replacedMaps,
    goneMaps,
    replacedChains,
    goneChains,
    referencesGone(r) {
      if (nothingGone) return false;
      const refs = ruleReferences(r.exprs);
      return refs.sets.some((s) => goneMaps.has(s)) || refs.chains.some((c) => goneChains.has(c));
    },
    jumpsToGone: (e) => e.verdict !== undefined && 'chain' in e.verdict && goneChains.has(e.verdict.chain),
  };
}

interface RulePlan {
  /** Where each chain that gets rule ops stands in the desired table (for ordering). */
  chainRank: Map<string, number>;
  dels: Array<{ chain: string; rule: RuleState }>;
  adds: Array<{ chain: string; rule: RuleState; position: number; rank: number }>;
}

interface ChainToPlan {
  have: ChainState;
  haveIndex: number;
  want: ChainState | undefined;
  wantIndex: number | undefined;
}

/**
 * The chains whose rules need planning, in the current table's order: those not
 * shared, and shared ones only when something they may reference goes away (a
 * shared chain's rules are otherwise kept as they are).
 */
function chainsToPlan(d: TableComparison): ChainToPlan[] {
  const toPlan: ChainToPlan[] = [];
  for (const { item, index } of d.split.haveOnly) {
    const w = d.goneChains.has(item.name) ? undefined : d.wantChains.get(item.name);
    toPlan.push({ have: item, haveIndex: index, want: w?.chain, wantIndex: w?.index });
  }
  if (d.goneMaps.size > 0 || d.goneChains.size > 0) {
    d.split.eachShared(({ item, haveIndex, wantIndex }) =>
      toPlan.push({ have: item, haveIndex, want: item, wantIndex }),
    );
    toPlan.sort((a, b) => a.haveIndex - b.haveIndex);
  }
  return toPlan;
}

function planChainRules(d: TableComparison): RulePlan {
  const plan: RulePlan = { chainRank: new Map(), dels: [], adds: [] };
  const none: readonly RuleState[] = [];
  for (const c of chainsToPlan(d)) {
    const { del, add } = planRules(c.have.rules, c.want?.rules ?? none, (r) => d.referencesGone(r));
    if (del.length === 0 && add.length === 0) continue;
    if (c.wantIndex !== undefined) plan.chainRank.set(c.have.name, c.wantIndex);
    for (const rule of del) plan.dels.push({ chain: c.have.name, rule });
    if (c.want) for (const a of add) plan.adds.push({ chain: c.have.name, ...a, rank: c.wantIndex! });
  }
  // Chains that are new or re-created get all their rules.
  for (const { item: c, index } of d.split.wantOnly) {
    plan.chainRank.set(c.name, index);
    if (d.haveChains.has(c.name) && !d.goneChains.has(c.name)) continue;
    for (const [position, rule] of c.rules.entries())
      plan.adds.push({ chain: c.name, rule, position, rank: index });
  }
  // Additions go chain by chain in the desired order (deterministic, independent of the kernel's chain order).
  plan.adds.sort((x, y) => x.rank - y.rank || x.position - y.position);
  return plan;
}

interface ElementPlan {
  dels: Array<{ map: string; element: NftElement }>;
  adds: Array<{ map: string; element: NftElement }>;
}

/**
 * Maps on both sides (not re-created): element by element. Deletions are listed in
 * the current maps' order, additions in the desired maps' order; new and re-created
 * maps get all their elements.
 */
function planMapElements(d: TableComparison): ElementPlan {
  const plan: ElementPlan = { dels: [], adds: [] };
  const kept = new Map<string, { dels: NftElement[]; adds: NftElement[] }>();
  for (const h of d.have.maps) {
    const w = d.goneMaps.has(h.name) ? undefined : d.wantMaps.get(h.name);
    if (w) kept.set(h.name, planElements(h.elements, w.elements, d.jumpsToGone, d.goneChains.size > 0));
  }
  for (const h of d.have.maps)
    for (const element of kept.get(h.name)?.dels ?? []) plan.dels.push({ map: h.name, element });
  for (const w of d.want.maps) {
    const elements =
      kept.get(w.name)?.adds ?? (d.goneMaps.has(w.name) || !d.haveMaps.has(w.name) ? w.elements : []);
    for (const element of elements) plan.adds.push({ map: w.name, element });
  }
  return plan;
}

/** The batch, in the order the header comment gives. */
function tableOps(d: TableComparison, rules: RulePlan, elements: ElementPlan): NftOp[] {
  const { base } = d;
  const ops: NftOp[] = [];
  for (const { chain, rule } of rules.dels)
    ops.push({ verb: 'delete', object: 'rule', ...base, chain, handle: rule.handle! });
  for (const [map, elems] of groupByMap(elements.dels, d.have.maps))
    ops.push({ verb: 'delete', object: 'element', ...base, set: map, elements: elems });
  for (const m of d.have.maps)
    if (d.goneMaps.has(m.name)) ops.push({ verb: 'delete', object: 'set', ...base, name: m.name });
  for (const { item: c } of d.split.haveOnly)
    if (d.goneChains.has(c.name)) ops.push({ verb: 'delete', object: 'chain', ...base, name: c.name });
  for (const m of d.want.maps)
    if (!d.haveMaps.has(m.name) || d.replacedMaps.has(m.name)) ops.push(mapAddOp(base, m));
  for (const { item: c } of d.split.wantOnly)
    if (!d.haveChains.has(c.name) || d.replacedChains.has(c.name)) ops.push(chainAddOp(base, c));
  for (const [map, elems] of groupByMap(elements.adds, d.want.maps))
    ops.push({ verb: 'add', object: 'element', ...base, set: map, elements: elems });
  for (const { chain, rule } of rules.adds) ops.push(ruleAddOp(base, chain, rule));
  return ops;
}

/**
 * One map's element changes: elements only in the current map that the desired one
 * lacks (by key) or maps elsewhere are deleted, the desired ones missing or
 * different added; an element that jumps to a chain being re-created goes and comes
 * back. Elements that are the same object on both sides are equal by construction,
 * so only when chains go away (`checkShared`) are they looked at.
 */
function planElements(
  have: readonly NftElement[],
  want: readonly NftElement[],
  jumpsToGone: (e: NftElement) => boolean,
  checkShared: boolean,
): { dels: NftElement[]; adds: NftElement[] } {
  const split = splitByIdentity(have, want);
  const dels: Array<{ e: NftElement; i: number }> = [];
  const adds: Array<{ e: NftElement; i: number }> = [];
  if (split.haveOnly.length > 0 || split.wantOnly.length > 0) {
    const wantByKey = new Map(split.wantOnly.map(({ item }) => [elementLookupKey(item), item]));
    for (const { item: e, index } of split.haveOnly) {
      const w = wantByKey.get(elementLookupKey(e));
      if (!w || elementValueKey(w) !== elementValueKey(e) || jumpsToGone(e)) dels.push({ e, i: index });
    }
    const haveByKey = new Map(split.haveOnly.map(({ item }) => [elementLookupKey(item), item]));
    for (const { item: e, index } of split.wantOnly) {
      const cur = haveByKey.get(elementLookupKey(e));
      if (!cur || elementValueKey(cur) !== elementValueKey(e) || jumpsToGone(cur)) adds.push({ e, i: index });
    }
  }
  if (checkShared) {
    let extra = false;
    split.eachShared(({ item, haveIndex, wantIndex }) => {
      if (!jumpsToGone(item)) return;
      dels.push({ e: item, i: haveIndex });
      adds.push({ e: item, i: wantIndex });
      extra = true;
    });
    if (extra) {
      dels.sort((a, b) => a.i - b.i);
      adds.sort((a, b) => a.i - b.i);
    }
  }
  return { dels: dels.map((d) => d.e), adds: adds.map((a) => a.e) };
}

/** Elements grouped into one op per map, maps in `order`'s order. */
function groupByMap(
  items: Array<{ map: string; element: NftElement }>,
  order: MapState[],
): Array<[string, NftElement[]]> {
  const groups = new Map<string, NftElement[]>();
  for (const { map, element } of items) {
    const g = groups.get(map);
    if (g) g.push(element);
    else groups.set(map, [element]);
  }
  return order.filter((m) => groups.has(m.name)).map((m) => [m.name, groups.get(m.name)!]);
}

/** '-' for objects only in `have`, '+' for those only in `want`, '~' for re-created ones (maps and chains, by name). */
function namedChanges<T extends { name: string }>(
  kind: 'map' | 'chain',
  have: T[],
  want: T[],
  wantByName: Map<string, T>,
  haveByName: Map<string, T>,
  replaced: Set<string>,
  view: (x: T) => ObjectView,
): Change[] {
  const changes: Change[] = [];
  for (const h of have)
    if (!wantByName.has(h.name)) changes.push({ action: '-', kind, id: h.name, before: view(h) });
  for (const w of want) {
    const h = haveByName.get(w.name);
    if (!h) changes.push({ action: '+', kind, id: w.name, after: view(w) });
    else if (replaced.has(w.name))
      changes.push({ action: '~', kind, id: w.name, before: view(h), after: view(w) });
  }
  return changes;
}

/**
 * A rule deleted and the same rule (same content, same chain) added again is one
 * '~' change (re-added to restore order or a re-created reference); the rest are
 * '-' and '+'.
 */
function ruleChanges(
  chainRank: ReadonlyMap<string, number>,
  dels: Array<{ chain: string; rule: RuleState }>,
  adds: Array<{ chain: string; rule: RuleState; position: number }>,
): Change[] {
  const pending = new Map<string, Array<{ chain: string; rule: RuleState; index: number }>>();
  dels.forEach((d, index) => {
    const k = `${d.chain}\n${ruleContentKey(d.rule.exprs)}`;
    const list = pending.get(k);
    if (list) list.push({ ...d, index });
    else pending.set(k, [{ ...d, index }]);
  });
  const changes: Change[] = [];
  for (const a of adds) {
    const k = `${a.chain}\n${ruleContentKey(a.rule.exprs)}`;
    const d = pending.get(k)?.shift();
    const after = ruleView(a.chain, a.rule.exprs, { position: a.position });
    if (d)
      changes.push({
        action: '~',
        kind: 'rule',
        id: ruleAddId(a.chain, a.position),
        before: ruleView(d.chain, d.rule.exprs, { handle: d.rule.handle! }),
        after,
      });
    else changes.push({ action: '+', kind: 'rule', id: ruleAddId(a.chain, a.position), after });
  }
  const unpaired = [...pending.values()].flat();
  // Deletions listed before additions, grouped by chain (desired chains' order, foreign chains last).
  unpaired.sort(
    (x, y) =>
      (chainRank.get(x.chain) ?? Infinity) - (chainRank.get(y.chain) ?? Infinity) || x.index - y.index,
  );
  return [
    ...unpaired.map(
      (d): Change => ({
        action: '-',
        kind: 'rule',
        id: ruleDelId(d.chain, d.rule.handle),
        before: ruleView(d.chain, d.rule.exprs, { handle: d.rule.handle! }),
      }),
    ),
    ...changes,
  ];
}

function elementChanges(
  dels: Array<{ map: string; element: NftElement }>,
  adds: Array<{ map: string; element: NftElement }>,
): Change[] {
  const deleted = new Map(dels.map((d) => [`${d.map}\n${elementKey(d.element)}`, d]));
  const changes: Change[] = [];
  for (const a of adds) {
    const k = `${a.map}\n${elementKey(a.element)}`;
    const d = deleted.get(k);
    deleted.delete(k);
    const id = elementId(a.map, a.element);
    changes.push(
      d
        ? {
            action: '~',
            kind: 'element',
            id,
            before: elementView(d.map, d.element),
            after: elementView(a.map, a.element),
          }
        : { action: '+', kind: 'element', id, after: elementView(a.map, a.element) },
    );
  }
  return [
    ...[...deleted.values()].map(
      (d): Change => ({
        action: '-',
        kind: 'element',
        id: elementId(d.map, d.element),
        before: elementView(d.map, d.element),
      }),
    ),
    ...changes,
  ];
}
