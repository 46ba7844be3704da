// Issue 5, "Config": random and damaged config files against a real namespace.
// Every file either applies cleanly (and `down` then restores the namespace) or is
// refused with an error naming the file and the key (ConfigError: FILE:LINE:COL:
// KEY: message), and a refused one leaves the namespace byte-for-byte unchanged and
// creates no cgroup.
//
// The namespace is a quiet one (test/helpers/quiet-netns.ts): no packet moves once it
// has settled, so the snapshot is `nft list ruleset` WITH counters, exactly as printed,
// and a foreign table with a counter makes "unchanged" non-trivial.
//
// The property runs in-process through the library (loadConfig, apply, down): the
// same code the CLI calls, without 60 node start-ups; a few fixed cases go through the
// CLI to pin down what a user sees.
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { apply, down } from '../../src/apply/apply.js';
import { NetlinkBackend } from '../../src/backends/netlink.js';
import { loadConfig } from '../../src/config/index.js';
import { removeCgroupParent } from '../testbed/cgroups.js';
import { ConfigError, NetcgError } from '../../src/shared/errors.js';
import type { Config } from '../../src/config/schema.js';
import {
  mutatedConfigArb,
  renderConfig,
  specDoc,
  validConfigArb,
  type ConfigCase,
} from '../helpers/arbitraries.js';
import { runCli } from '../helpers/cli.js';
import { uniqueName, type Netns } from '../helpers/netns.js';
import {
  VIA,
  cgroupParentDirs,
  cgroupTree,
  createQuietNetns,
  kernelSnapshot,
} from '../helpers/quiet-netns.js';

let ns: Netns;
let dir: string;
let backend: NetlinkBackend;
const parents = new Set<string>();
const seed = Number(process.env.NETCG_PROPERTY_SEED ?? Date.now() % 2 ** 31);

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'netcg-hostile-'));
  ns = createQuietNetns('nchc', (n) =>
    n.run(
      'nft',
      ['-f', '-'],
      'table inet foreign {\n  chain out {\n    type filter hook output priority 0; policy accept;\n    counter\n  }\n}\n',
    ),
  );
  backend = new NetlinkBackend(ns.path);
});

afterAll(() => {
  backend?.close();
  ns?.remove();
  for (const p of parents) removeCgroupParent(p);
  if (dir) rmSync(dir, { recursive: true, force: true });
});

function freshHead() {
  const head = { table: uniqueName('hct'), cgroupParent: uniqueName('hccg') };
  parents.add(head.cgroupParent);
  return head;
}

function writeFile(text: string): string {
  const file = join(dir, `${uniqueName('c')}.yaml`);
  writeFileSync(file, text);
  return file;
}

/** Loads and applies; on success, downs again. Returns what happened, for the property to judge. */
function tryApply(file: string): { ok: true } | { ok: false; err: unknown } {
  let config: Config;
  try {
    config = loadConfig(file);
  } catch (err) {
    return { ok: false, err };
  }
  parents.add(config.cgroupParent);
  try {
    apply(config, backend);
  } catch (err) {
    return { ok: false, err };
  }
  down(config, backend);
  return { ok: true };
}

/** The refusal names the file and (for a mutation aimed at a key) that key. */
function expectLocatedRefusal(err: unknown, file: string, text: string, c: ConfigCase | undefined): void {
  expect(err).toBeInstanceOf(NetcgError);
  if (err instanceof ConfigError) {
    expect(err.issues.length).toBeGreaterThan(0);
    const lineCount = text.split('\n').length;
    for (const issue of err.issues) {
      expect(issue.file).toBe(file);
      expect(issue.line).toBeGreaterThanOrEqual(1);
      expect(issue.line).toBeLessThanOrEqual(lineCount + 1);
      expect(issue.col).toBeGreaterThanOrEqual(1);
      // The text the CLI prints: FILE:LINE:COL: KEY: message (KEY absent only for a document-level problem).
      expect(err.message).toContain(
        `${file}:${issue.line}:${issue.col}: ${issue.path ? `${issue.path}: ` : ''}${issue.message}`,
      );
    }
    if (c && c.paths.length > 0) {
      const named = err.issues.some((i) => c.paths.some((p) => i.path === p || i.path.startsWith(`${p}.`)));
      expect(named, `${c.kind}: no issue names ${c.paths.join(' or ')}:\n${err.message}`).toBe(true);
    }
  } else {
    // Valid text that the host cannot take (an interface that does not exist, a profile named like a cgroup control file).
    expect((err as NetcgError).code).toMatch(/^E[A-Z]+$/);
    expect((err as NetcgError).message.length).toBeGreaterThan(10);
    if (c && c.paths.length > 0) expect((err as NetcgError).message).toContain(c.paths[0]!.split('.')[1]!);
  }
}

describe('hostile configs against a real namespace', () => {
  it('random valid configs apply cleanly and down restores the namespace byte-for-byte', () => {
    let applied = 0;
    fc.assert(
      fc.property(validConfigArb(VIA), fc.constantFrom<'yaml' | 'json'>('yaml', 'json'), (spec, format) => {
        const head = freshHead();
        const file = writeFile(renderConfig(head, specDoc(spec), format));
        const before = kernelSnapshot(ns);
        const r = tryApply(file);
        if (!r.ok) throw r.err;
        applied++;
        expect(kernelSnapshot(ns)).toBe(before);
        // down removed every profile cgroup it had created.
        expect(
          cgroupParentDirs(head.cgroupParent).flatMap((d) =>
            readdirSync(d, { withFileTypes: true })
              .filter((e) => e.isDirectory())
              .map((e) => join(d, e.name)),
          ),
        ).toEqual([]);
      }),
      { numRuns: 20, seed },
    );
    expect(applied).toBe(20);
  });

  it('mutated configs: applied cleanly, or refused naming file and key with the kernel byte-for-byte unchanged and no cgroup created', () => {
    const kinds = new Map<string, { refused: number; applied: number }>();
    fc.assert(
      fc.property(
        fc.constant(null).chain(() => {
          const head = freshHead();
          return mutatedConfigArb(head, VIA).map((c) => ({ ...c, head }));
        }),
        (c) => {
          const file = writeFile(c.text);
          const before = kernelSnapshot(ns);
          // Shrinking re-runs cases with the same head, and a clean apply + down may leave the empty parent: compare, do not assume absence.
          const cgroupsBefore = cgroupTree(c.head.cgroupParent);
          const r = tryApply(file);
          const tally = kinds.get(c.kind) ?? { refused: 0, applied: 0 };
          kinds.set(c.kind, tally);
          expect(kernelSnapshot(ns)).toBe(before);
          if (r.ok) {
            tally.applied++;
            return;
          }
          tally.refused++;
          expectLocatedRefusal(r.err, file, c.text, c);
          // No cgroup was created (or removed) below the net_cls or cgroup2 roots either.
          expect(cgroupTree(c.head.cgroupParent)).toEqual(cgroupsBefore);
        },
      ),
      { numRuns: 60, seed },
    );
    // Every run is a refusal or a clean apply; most mutations must actually be refused.
    const total = [...kinds.values()].reduce((n, t) => n + t.refused, 0);
    expect(total, JSON.stringify(Object.fromEntries(kinds))).toBeGreaterThan(40);
  });

  it('the CLI prints FILE:LINE:COL: KEY: for a damaged file and changes nothing (exit 1)', () => {
    const cases: Array<[string, string]> = [
      ['profiles:\n  vpn:\n    classid: 4294967296\n    route: { via: tun0 }\n', 'profiles.vpn.classid'],
      ['profiles:\n  "💥":\n    classid: 7\n    ipv6: reject\n', 'profiles.💥'],
      [
        `profiles:\n  p:\n    classid: 7\n    dns: { redirect: ${'['.repeat(2000)}1${']'.repeat(2000)} }\n`,
        'profiles.p.dns.redirect',
      ],
    ];
    for (const [body, path] of cases) {
      const head = freshHead();
      const file = writeFile(`table: ${head.table}\ncgroupParent: ${head.cgroupParent}\n${body}`);
      const before = kernelSnapshot(ns);
      const r = runCli(['apply', '-c', file, '--netns', ns.path]);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(
        new RegExp(`${file.replace(/[.]/g, '\\.')}:\\d+:\\d+: ${path.replace(/[.]/g, '\\.')}[.:]`),
      );
      expect(r.stderr).not.toMatch(/internal error/);
      expect(kernelSnapshot(ns)).toBe(before);
      expect(cgroupParentDirs(head.cgroupParent)).toEqual([]);
    }
  });
});
