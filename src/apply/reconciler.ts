// A long-lived reconciler for programs that apply again and again (a supervisor, a
// VPN client): the same apply and diff as the one-shot functions, minus the
// nf_tables read-back whenever nf_tables provably did not change.
//
// Why that is safe: nf_tables has a generation id that every successful commit, by
// anyone, moves by exactly one (a refused batch does not move it). After executing a
// plan the Reconciler remembers the table it left (the desired one) and the
// generation its own batch produced (the guard + 1). The next call asks the kernel
// for the generation (one NFT_MSG_GETGEN round trip); if it is still the
// remembered one, nobody committed anything since, so the table is exactly the one
// remembered, and the plan is made against memory. Anything else — another genid,
// a failed or raced apply, a plan that would need something memory lacks — means a
// full read-back, exactly as apply() does. The batch is still guarded by the
// generation, so a commit slipping in between the check and the batch makes the
// kernel refuse it (ERESTART) and the retry reads everything back.
//
// Profile cgroups: each apply checks only those not verified before under an
// unchanged parent directory (src/cgroups/verified.ts says why that holds); a
// failure or invalidate() forgets them, and the next apply checks every one.
//
// rtnetlink has no generation id: netcg's few ip rules and routes are dumped on
// every call (they are a handful however many profiles exist).
//
// Rule handles: a remembered table has none for the rules netcg added (the kernel
// assigns them). Deleting a rule needs its handle, so a plan against memory that
// deletes a rule is thrown away and made again from a full read-back. Profiles
// coming and going do not delete rules by handle (their chains go, with their rules;
// the dispatch maps lose an element), so this is rare.
import {
  applyWith,
  diffWith,
  readState,
  type ApplyReport,
  type DiffResult,
  type StateSource,
} from './apply.js';
import type { Backend, ReadState, RouteTables } from '../backends/types.js';
import { CgroupMemory } from '../cgroups/verified.js';
import type { Config } from '../config/index.js';
import type { DesiredState, TableState } from '../shared/model.js';
import { plan, type Plan } from '../plan/plan.js';

/** What the Reconciler needs beyond a Backend: the generation id, and rtnetlink alone. NetlinkBackend has both. */
export interface GenerationBackend extends Backend {
  nftGenid(): number;
  ownedRtnl(routeTables?: RouteTables): Pick<ReadState, 'ipRules' | 'routes'>;
  readState(table: string, routeTables?: RouteTables): ReadState;
  commitNft(ops: Parameters<NonNullable<Backend['commitNft']>>[0], genid?: number): void;
}

function hasGenerations(b: Backend): b is GenerationBackend {
  const x = b as Partial<GenerationBackend>;
  return (
    typeof x.nftGenid === 'function' &&
    typeof x.ownedRtnl === 'function' &&
    typeof x.readState === 'function' &&
    typeof x.commitNft === 'function'
  );
}

/** How the last plan's current state was obtained (for callers and tests that want to know). */
export type ReadKind = 'cached' | 'full';

interface Remembered {
  /** netcg's table as left, or undefined when netcg's table did not exist. */
  table: TableState | undefined;
  tableName: string;
  genid: number;
}

export class Reconciler {
  private remembered: Remembered | undefined;
  private closed = false;
  /** How the state of the most recent apply/diff was read: from memory (genid unchanged) or back from the kernel. */
  lastRead: ReadKind | undefined;
  private readonly source: StateSource;
  /** Profile cgroups verified by earlier applies (src/cgroups/verified.ts): only new or changed ones are checked again. */
  private readonly cgroups = new CgroupMemory();

  /**
   * `backend` stays owned by the caller (close it after the Reconciler). Any Backend
   * works; only one with generation ids (NetlinkBackend) gets the cache, others
   * read everything back each time, like apply().
   */
  constructor(readonly backend: Backend) {
    this.source = {
      planFor: (b, desired, routeTables) => this.planFor(b, desired, routeTables),
      committed: (_b, table, genid) => {
        this.remembered = genid === undefined ? undefined : { table, tableName: table.name, genid };
      },
      invalidate: () => this.invalidate(),
      cgroups: this.cgroups,
    };
  }

  /** Executes the plan from the kernel's state to `config`'s, like apply(); the lock, cgroups and rollback included. */
  apply(config: Config): ApplyReport {
    this.open();
    return applyWith(config, this.backend, this.source);
  }

  /** What apply would do, like diff(): reads only. */
  diff(config: Config): DiffResult {
    this.open();
    return diffWith(config, this.backend, this.source);
  }

  /** Forgets the remembered state: the next call reads everything back. */
  invalidate(): void {
    this.remembered = undefined;
    this.cgroups.forget();
  }

  /** Drops what it remembers. Does not close the backend (the caller owns it). */
  close(): void {
    this.invalidate();
    this.closed = true;
  }

  private open(): void {
    if (this.closed) throw new Error('Reconciler is closed');
  }

  /** The remembered state when the generation says it is still true, else undefined. */
  private cachedState(
    b: GenerationBackend,
    tableName: string,
    routeTables: RouteTables | undefined,
  ): ReadState | undefined {
    const r = this.remembered;
    if (!r || r.tableName !== tableName) return undefined;
    const genid = b.nftGenid();
    if (genid !== r.genid) return undefined;
    return { genid, ...(r.table ? { table: r.table } : {}), ...b.ownedRtnl(routeTables) };
  }

  private planFor(
    b: Backend,
    desired: DesiredState,
    routeTables: RouteTables | undefined,
  ): { current: ReadState; plan: Plan } {
    if (hasGenerations(b)) {
      const cached = this.cachedState(b, desired.table.name, routeTables);
      if (cached) {
        const p = plan(cached, desired);
        // A rule to delete has no handle in memory: only the kernel knows it.
        if (!p.nft.some((op) => op.object === 'rule' && op.verb === 'delete')) {
          this.lastRead = 'cached';
          return { current: cached, plan: p };
        }
      }
    }
    this.lastRead = 'full';
    const current = readState(b, desired.table.name, routeTables);
    return { current, plan: plan(current, desired) };
  }
}
