// Loading a config of 10,000 profiles (as the benchmarks generate them: classid
// 1000+i, DNS redirect, IPv6 reject, a route via tun0), written as YAML and as JSON:
// every profile is there, in order, with its derived routing. And the same file
// with mistakes still reports them at their line. Timings are in bench/config-load.mjs.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, describe, expect, it } from 'vitest';

import { loadConfig, type ProfileConfig } from '../../src/config/index.js';
import type { ConfigError } from '../../src/shared/errors.js';

const N = 10_000;
const dir = mkdtempSync(join(tmpdir(), 'netcg-config-scale-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The YAML text for profiles p0..p{n-1}, 7 lines each after the 3 header lines; `edit` may change a profile's lines. */
function yamlText(n: number, edit: (i: number, lines: string[]) => string[] = (_, lines) => lines): string {
  const out = ['# generated', 'table: netcg', 'profiles:'];
  for (let i = 0; i < n; i++)
    out.push(
      ...edit(i, [
        `  p${i}:`,
        `    classid: ${1000 + i}`,
        '    dns:',
        '      redirect: 5354',
        '    ipv6: reject',
        '    route:',
        '      via: tun0',
      ]),
    );
  return `${out.join('\n')}\n`;
}

function write(name: string, text: string): string {
  const file = join(dir, name);
  writeFileSync(file, text);
  return file;
}

/** Profile i as the loader gives it: all share the lowest classid (1000) as mark and table. */
function expectedProfile(i: number): ProfileConfig {
  return {
    name: `p${i}`,
    classid: 1000 + i,
    dns: { redirect: 5354 },
    ipv6: 'reject',
    route: { via: 'tun0', mark: 1000, table: 1000, copyLinkRoutes: true, masquerade: true, failClosed: true },
  };
}

describe(`a config of ${N} profiles`, () => {
  it('loads from YAML: every profile, in file order, with the shared mark and table', () => {
    const config = loadConfig(write('big.yaml', yamlText(N)));
    const names = Object.keys(config.profiles);
    expect(names).toHaveLength(N);
    expect(names[0]).toBe('p0');
    expect(names[N - 1]).toBe(`p${N - 1}`);
    expect(config.profiles.p1234).toEqual(expectedProfile(1234));
    expect(config.profiles[`p${N - 1}`]).toEqual(expectedProfile(N - 1));
    expect(config).toMatchObject({ table: 'netcg', cgroupParent: 'netcg', ipRulePriority: 10000 });
  });

  it('loads from JSON (what bench/scenario.mjs writes) to the same profiles', () => {
    const profiles: Record<string, unknown> = {};
    for (let i = 0; i < N; i++)
      profiles[`p${i}`] = {
        classid: 1000 + i,
        dns: { redirect: 5354 },
        ipv6: 'reject',
        route: { via: 'tun0' },
      };
    const config = loadConfig(
      write('big.json', JSON.stringify({ table: 'netcg', cgroupParent: 'netcg-bench', profiles })),
    );
    expect(Object.keys(config.profiles)).toHaveLength(N);
    expect(config.cgroupParent).toBe('netcg-bench');
    expect(config.profiles.p9876).toEqual(expectedProfile(9876));
  });

  it('reports a mistake in the last profile at its line', () => {
    const file = write(
      'bad.yaml',
      yamlText(N, (i, lines) =>
        i === N - 1 ? lines.map((l) => l.replace(/classid: \d+/, 'classid: 0')) : lines,
      ),
    );
    const line = 3 + 7 * (N - 1) + 2;
    expect(() => loadConfig(file)).toThrow(
      `${file}:${line}:14: profiles.p${N - 1}.classid: classid 0 means "no class"`,
    );
  });

  it('reports the same mistake in every profile, each at its own line', () => {
    const file = write(
      'all-bad.yaml',
      yamlText(N, (_, lines) => lines.map((l) => l.replace('ipv6: reject', 'ipv6: allow'))),
    );
    let issues: ConfigError['issues'] = [];
    try {
      loadConfig(file);
    } catch (err) {
      issues = (err as ConfigError).issues;
    }
    expect(issues).toHaveLength(N);
    expect(issues[4321]).toMatchObject({ line: 3 + 7 * 4321 + 5, col: 11, path: 'profiles.p4321.ipv6' });
  });

  it('reports a duplicate key deep in the file', () => {
    const file = write(
      'dup.yaml',
      yamlText(N, (i, lines) =>
        i === 9000 ? [...lines.slice(0, 2), '    classid: 7', ...lines.slice(2)] : lines,
      ),
    );
    expect(() => loadConfig(file)).toThrow(
      `${file}:${3 + 7 * 9000 + 3}:5: profiles.p9000.classid: duplicate key "classid"`,
    );
  });
});
