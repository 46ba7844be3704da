// Splitting two lists by object identity, for the planner's fast path.
//
// compile hands out the very same (frozen) chain and element objects for every
// profile whose config did not change (src/compile/table.ts), and the Reconciler
// plans against the desired state it compiled last. So when 1 profile of 10,000 is
// added, both sides share ~30,000 chain objects and only a handful differ. An
// object present in both lists needs no comparison at all: the planner only has to
// look at what is left over, which makes a plan cost O(N) pointer compares instead
// of O(N) keyed lookups and rule comparisons.
//
// Correctness rests on one invariant of netcg's tables, which the kernel enforces
// for what it reports and compile for what it produces: names are unique among a
// table's chains, and keys among a map's elements. An object on both sides then
// has no other namesake on either side, so leaving it out cannot hide a match.

export interface Shared<T> {
  item: T;
  haveIndex: number;
  wantIndex: number;
}

export interface IdentitySplit<T> {
  /** Objects only in `have`, in `have`'s order, with their index there. */
  haveOnly: Array<{ item: T; index: number }>;
  /** Objects only in `want`, in `want`'s order, with their index there. */
  wantOnly: Array<{ item: T; index: number }>;
  /** True when every object of `have` is in `want` and vice versa. */
  readonly same: boolean;
  /** Visits the objects in both lists, in `have`'s order (not materialised: usually nearly everything). */
  eachShared(fn: (s: Shared<T>) => void): void;
}

/**
 * The common prefix and suffix are found by walking (no allocation: the usual case
 * is one change at the end or in the middle); the middle, if any, by a Map. Only
 * frozen objects are looked for there: compile freezes everything it hands out
 * again, and a state read back from the kernel has no frozen object, so planning
 * against a read-back pays no hashing for a match that cannot exist. (Leaving an
 * object out of the matching is always safe: it is then compared by content.)
 */
export function splitByIdentity<T>(have: readonly T[], want: readonly T[]): IdentitySplit<T> {
  const min = Math.min(have.length, want.length);
  let prefix = 0;
  while (prefix < min && have[prefix] === want[prefix]) prefix++;
  let suffix = 0;
  while (suffix < min - prefix && have[have.length - 1 - suffix] === want[want.length - 1 - suffix]) suffix++;
  const haveEnd = have.length - suffix;
  const wantEnd = want.length - suffix;

  // The middle: which of its (frozen) objects are on both sides.
  const haveMid = new Map<T, number>();
  let frozen = 0;
  for (let i = prefix; i < haveEnd; i++) {
    const h = have[i]!;
    if (!Object.isFrozen(h)) continue;
    haveMid.set(h, i);
    frozen++;
  }
  // The same object twice (which unique names already rule out): match nothing rather than guess.
  if (haveMid.size !== frozen) return nothingShared(have, want);
  const middle: Array<Shared<T>> = [];
  const wantOnly: Array<{ item: T; index: number }> = [];
  const matched = new Uint8Array(haveEnd - prefix);
  for (let i = prefix; i < wantEnd; i++) {
    const w = want[i]!;
    const h = frozen > 0 ? haveMid.get(w) : undefined;
    if (h === undefined || matched[h - prefix]) wantOnly.push({ item: w, index: i });
    else {
      matched[h - prefix] = 1;
      middle.push({ item: w, haveIndex: h, wantIndex: i });
    }
  }

  const haveOnly: Array<{ item: T; index: number }> = [];
  for (let i = prefix; i < haveEnd; i++)
    if (!matched[i - prefix]) haveOnly.push({ item: have[i]!, index: i });
  if (middle.length > 1) middle.sort((a, b) => a.haveIndex - b.haveIndex);

  return {
    haveOnly,
    wantOnly,
    same: haveOnly.length === 0 && wantOnly.length === 0,
    eachShared(fn) {
      for (let i = 0; i < prefix; i++) fn({ item: have[i]!, haveIndex: i, wantIndex: i });
      for (const m of middle) fn(m);
      for (let k = suffix; k > 0; k--)
        fn({ item: have[have.length - k]!, haveIndex: have.length - k, wantIndex: want.length - k });
    },
  };
}

function nothingShared<T>(have: readonly T[], want: readonly T[]): IdentitySplit<T> {
  return {
    haveOnly: have.map((item, index) => ({ item, index })),
    wantOnly: want.map((item, index) => ({ item, index })),
    same: have.length === 0 && want.length === 0,
    eachShared() {},
  };
}
