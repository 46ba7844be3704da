// A tiny in-memory stand-in for the kernel, only for checking plans: it applies
// NftOp batches (atomically, with the kernel's reference rules: no deleting a chain
// something jumps to or a set a rule uses, no reference to a missing object) and
// RtnlOps (EEXIST/ENOENT), assigning rule handles like the kernel does.
import type { RtnlOp } from '../../src/backends/types.js';
import type {
  ChainState,
  IpRuleSpec,
  MapState,
  NftElement,
  RouteSpec,
  RuleState,
  TableState,
} from '../../src/shared/model.js';
import type { Expr, NftOp } from '../../src/native/types.js';
import {
  chainAttrsKey,
  elementKey,
  elementValueKey,
  ipRuleKey,
  mapAttrsKey,
  routeAttrsKey,
  routeIdentity,
  ruleContentKey,
  ruleReferences,
} from '../../src/plan/normalize.js';
import type { CurrentState } from '../../src/plan/plan.js';
import type { Mutable } from '../helpers/mutable.js';

export class SimError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(`${code}: ${message}`);
  }
}

/** Deep copy that keeps Buffers Buffers (structuredClone turns them into Uint8Arrays). */
function clone<T>(x: T): T {
  if (Buffer.isBuffer(x)) return Buffer.from(x) as T;
  if (Array.isArray(x)) return x.map(clone) as T;
  if (x !== null && typeof x === 'object')
    return Object.fromEntries(Object.entries(x).map(([k, v]) => [k, clone(v)])) as T;
  return x;
}

export class SimKernel {
  table: Mutable<TableState> | undefined;
  ipRules: IpRuleSpec[] = [];
  routes: RouteSpec[] = [];
  private nextHandle = 1;

  constructor(current?: CurrentState) {
    if (current?.table) {
      this.table = clone(current.table) as Mutable<TableState>;
      for (const c of this.table.chains) for (const r of c.rules) r.handle = this.nextHandle++;
    }
    this.ipRules = clone(current?.ipRules ?? []);
    this.routes = clone(current?.routes ?? []);
  }

  current(): Mutable<CurrentState> {
    return {
      ...(this.table ? { table: clone(this.table) } : {}),
      ipRules: clone(this.ipRules),
      routes: clone(this.routes),
    };
  }

  /** All or nothing, like one nf_tables batch. */
  nft(ops: NftOp[]): void {
    const saved = { table: clone(this.table), next: this.nextHandle };
    try {
      ops.forEach((op, i) => {
        try {
          this.nftOne(op);
        } catch (err) {
          throw new SimError(
            (err as SimError).code ?? 'EINVAL',
            `op ${i} ${op.verb} ${op.object}: ${(err as Error).message}`,
          );
        }
      });
    } catch (err) {
      this.table = saved.table;
      this.nextHandle = saved.next;
      throw err;
    }
  }

  private t(): Mutable<TableState> {
    if (!this.table) throw new SimError('ENOENT', 'no table');
    return this.table;
  }

  private map(name: string): MapState {
    const m = this.t().maps.find((x) => x.name === name);
    if (!m) throw new SimError('ENOENT', `no set ${name}`);
    return m;
  }

  private chain(name: string): Mutable<ChainState> {
    const c = this.t().chains.find((x) => x.name === name);
    if (!c) throw new SimError('ENOENT', `no chain ${name}`);
    return c;
  }

  private allRules(): RuleState[] {
    return this.t().chains.flatMap((c) => c.rules);
  }

  private checkJumpTarget(e: NftElement): void {
    if (e.verdict && 'chain' in e.verdict) this.chain(e.verdict.chain);
  }

  private nftOne(op: NftOp): void {
    switch (op.object) {
      case 'table':
        if (op.verb === 'add') this.table ??= { family: 'inet', name: op.name, maps: [], chains: [] };
        else if (op.verb === 'delete') {
          this.t();
          this.table = undefined;
        } else throw new SimError('EOPNOTSUPP', op.verb);
        return;
      case 'set': {
        if (op.verb === 'add') {
          const want: MapState = {
            name: op.name,
            flags: op.flags ?? 0,
            keyType: op.keyType ?? 0,
            keyLen: op.keyLen ?? 0,
            dataType: op.dataType ?? 0,
            dataLen: op.dataLen ?? 0,
            ...(op.userdata ? { userdata: op.userdata } : {}),
            elements: [],
          };
          const have = this.t().maps.find((m) => m.name === op.name);
          if (have && mapAttrsKey(have) !== mapAttrsKey(want))
            throw new SimError('EEXIST', `set ${op.name} exists with other attributes`);
          if (!have) this.t().maps.push(want);
        } else if (op.verb === 'delete') {
          this.map(op.name);
          if (this.allRules().some((r) => ruleReferences(r.exprs).sets.includes(op.name)))
            throw new SimError('EBUSY', `set ${op.name} in use`);
          this.t().maps = this.t().maps.filter((m) => m.name !== op.name);
        } else throw new SimError('EOPNOTSUPP', op.verb);
        return;
      }
      case 'chain': {
        if (op.verb === 'add') {
          const want: Mutable<ChainState> = {
            name: op.name,
            ...(op.hook ? { hook: op.hook } : {}),
            rules: [],
          };
          const have = this.t().chains.find((c) => c.name === op.name);
          if (have && chainAttrsKey(have) !== chainAttrsKey(want))
            throw new SimError('EOPNOTSUPP', `chain ${op.name} hook cannot change`);
          if (!have) this.t().chains.push(want);
        } else if (op.verb === 'delete') {
          const c = this.chain(op.name);
          const jumps =
            this.t().chains.some(
              (o) => o !== c && o.rules.some((r) => ruleReferences(r.exprs).chains.includes(op.name)),
            ) ||
            this.t().maps.some((m) =>
              m.elements.some((e) => e.verdict && 'chain' in e.verdict && e.verdict.chain === op.name),
            );
          if (jumps) throw new SimError('EBUSY', `chain ${op.name} is referenced`);
          this.t().chains = this.t().chains.filter((x) => x !== c); // its own rules go with it, as in the kernel
        } else throw new SimError('EOPNOTSUPP', op.verb);
        return;
      }
      case 'element': {
        const m = this.map(op.set);
        for (const e of op.elements) {
          const i = m.elements.findIndex((x) => elementKey(x) === elementKey(e));
          if (op.verb === 'add') {
            this.checkJumpTarget(e);
            if (i >= 0 && elementValueKey(m.elements[i]!) !== elementValueKey(e))
              throw new SimError('EEXIST', `element ${elementKey(e)} exists`);
            if (i < 0) m.elements.push(clone(e));
          } else if (op.verb === 'delete') {
            if (i < 0) throw new SimError('ENOENT', `no element ${elementKey(e)}`);
            m.elements.splice(i, 1);
          } else throw new SimError('EOPNOTSUPP', op.verb);
        }
        return;
      }
      case 'rule': {
        const c = this.chain(op.chain);
        if (op.verb === 'add') {
          const exprs = op.exprs ?? [];
          const refs = ruleReferences(exprs);
          for (const s of refs.sets) this.map(s);
          for (const x of refs.chains) this.chain(x);
          c.rules.push({ exprs: clone(exprs) as Mutable<Expr[]>, handle: this.nextHandle++ });
        } else if (op.verb === 'delete') {
          const i = c.rules.findIndex((r) => r.handle === op.handle);
          if (i < 0) throw new SimError('ENOENT', `no rule handle ${op.handle} in ${op.chain}`);
          c.rules.splice(i, 1);
        } else throw new SimError('EOPNOTSUPP', op.verb);
        return;
      }
    }
  }

  rtnl(op: RtnlOp): void {
    if (op.kind === 'rule') {
      const i = this.ipRules.findIndex((r) => ipRuleKey(r) === ipRuleKey(op.rule));
      if (op.verb === 'add') {
        if (i >= 0) throw new SimError('EEXIST', `ip rule ${ipRuleKey(op.rule)}`);
        this.ipRules.push(clone(op.rule));
      } else {
        if (i < 0) throw new SimError('ENOENT', `ip rule ${ipRuleKey(op.rule)}`);
        this.ipRules.splice(i, 1);
      }
    } else {
      const i = this.routes.findIndex((r) => routeIdentity(r) === routeIdentity(op.route));
      if (op.verb === 'add') {
        if (i >= 0) throw new SimError('EEXIST', `route ${routeIdentity(op.route)}`);
        this.routes.push(clone(op.route));
      } else {
        if (i < 0) throw new SimError('ENOENT', `route ${routeIdentity(op.route)}`);
        this.routes.splice(i, 1);
      }
    }
  }

  /** Every ip rule points at a table that has at least one route (marked packets never fall through). */
  rulesHaveRoutes(): boolean {
    return this.ipRules.every((r) => this.routes.some((x) => x.family === r.family && x.table === r.table));
  }
}

/** A comparable text of a table: maps (attrs, elements as a set) and chains (hook, rules in order) by name. */
export function tableShape(t: TableState | undefined): string {
  if (!t) return 'no table';
  const maps = [...t.maps]
    .sort((a, b) => a.name.localeCompare(b.name))
    .map(
      (m) =>
        `${m.name} ${mapAttrsKey(m)} {${m.elements
          .map((e) => `${elementKey(e)}:${elementValueKey(e)}`)
          .sort()
          .join(',')}}`,
    );
  const chains = [...t.chains]
    .sort((a, b) => a.name.localeCompare(b.name))
    .map((c) => `${c.name} ${chainAttrsKey(c)} [${c.rules.map((r) => ruleContentKey(r.exprs)).join(' ; ')}]`);
  return [`table ${t.family} ${t.name}`, ...maps, ...chains].join('\n');
}

export function rtnlShape(s: { ipRules: IpRuleSpec[]; routes: RouteSpec[] }): string {
  return [
    ...s.ipRules.map(ipRuleKey).sort(),
    ...s.routes.map((r) => `${routeIdentity(r)} ${routeAttrsKey(r)}`).sort(),
  ].join('\n');
}
