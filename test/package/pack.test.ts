// The package as users get it: `npm pack` (which builds the prebuilt addon and the
// man pages), install the tarball into a fresh project (which uses the prebuild:
// nothing is compiled), then drive the public API from there — by import, by its
// type declarations, and against the kernel in a throwaway namespace — and again
// after `npm rebuild --build-from-source` (the fallback for systems without a
// matching prebuild). scripts/verify-install.sh does `npm install -g` on a Debian 12
// without a compiler.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { removeCgroupParent } from '../testbed/cgroups.js';
import { createNetns, uniqueName, type Netns } from '../helpers/netns.js';

const repo = new URL('../..', import.meta.url).pathname;
let project: string;
let installOutput: string;
let ns: Netns;
const cgroupParent = uniqueName('ncpkg');

beforeAll(() => {
  project = mkdtempSync(join(tmpdir(), 'netcg-consumer-'));
  const packed = execFileSync('npm', ['pack', '--silent', '--pack-destination', project], {
    cwd: repo,
    encoding: 'utf8',
  })
    .trim()
    .split('\n')
    .pop()!;
  writeFileSync(
    join(project, 'package.json'),
    JSON.stringify({ name: 'consumer', version: '1.0.0', type: 'module', private: true }),
  );
  // A TypeScript consumer of a Node library has Node's types; netcg's declarations use Buffer.
  // --foreground-scripts: the install script's output (there should be none) is captured.
  const install = spawnSync(
    'npm',
    [
      'install',
      '--no-audit',
      '--no-fund',
      '--loglevel=error',
      '--foreground-scripts',
      join(project, packed),
      '@types/node@20',
    ],
    { cwd: project, encoding: 'utf8' },
  );
  installOutput = `${install.stdout}${install.stderr}`;
  if (install.status !== 0) throw new Error(`npm install failed:\n${installOutput}`);
  writeFileSync(
    join(project, 'netcg.yaml'),
    `table: pkgtest\ncgroupParent: ${cgroupParent}\nprofiles:\n  vpn:\n    classid: 1234\n    route: { via: tun0 }\n  dns:\n    classid: 1235\n    dns: { redirect: 5300 }\n`,
  );
  ns = createNetns('ncpkg');
  ns.ip('link', 'add', 'tun0', 'type', 'veth', 'peer', 'name', 'tun0p');
  ns.ip('link', 'set', 'tun0', 'up');
}, 1_200_000); // npm pack compiles the prebuild when the native sources changed

afterAll(() => {
  ns?.remove();
  removeCgroupParent(cgroupParent);
  if (project) rmSync(project, { recursive: true, force: true });
});

describe('the packed package, used from another project', () => {
  const installed = (rel: string) => join(project, 'node_modules/netcg', rel);
  /** The addon file node-gyp-build picks for the installed package (what src/native/index.ts loads). */
  const addonPicked = () =>
    execFileSync(
      process.execPath,
      ['-e', `console.log(require('node-gyp-build').path(${JSON.stringify(installed('.'))}))`],
      { cwd: installed('.'), encoding: 'utf8' },
    ).trim();

  it('ships its exports map, type declarations, man pages and a prebuilt addon, and compiles nothing', () => {
    const pkg = JSON.parse(readFileSync(installed('package.json'), 'utf8'));
    expect(pkg.exports['.']).toEqual({ types: './dist/index.d.ts', import: './dist/index.js' });
    expect(readFileSync(installed('dist/index.d.ts'), 'utf8')).toContain('apply');
    for (const page of pkg.man) expect(existsSync(installed(page)), page).toBe(true);
    expect(installOutput).not.toMatch(/gyp|make|g\+\+|netcg install/);
    expect(existsSync(installed('build'))).toBe(false);
    expect(addonPicked()).toBe(installed(`prebuilds/linux-${process.arch}/netcg.glibc.node`));
  });

  it('type-checks a TypeScript consumer against the declarations', () => {
    writeFileSync(
      join(project, 'consumer.ts'),
      `import { parseConfig, compile, plan, type ApplyReport, type Plan, ConfigError } from 'netcg';\n` +
        `const config = parseConfig('profiles:\\n  p:\\n    classid: 9\\n    ipv6: reject\\n', 'inline.yaml');\n` +
        `const p: Plan = plan({ ipRules: [], routes: [] }, compile(config, { linkRoutes: [] }));\n` +
        `const n: number = p.nft.length;\nconst r: ApplyReport | undefined = undefined;\nconst e: typeof ConfigError = ConfigError;\nexport { n, r, e };\n`,
    );
    writeFileSync(
      join(project, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          module: 'NodeNext',
          moduleResolution: 'NodeNext',
          target: 'ES2022',
          strict: true,
          noEmit: true,
          skipLibCheck: false,
          types: ['node'],
        },
        files: ['consumer.ts'],
      }),
    );
    execFileSync(process.execPath, [join(repo, 'node_modules/typescript/bin/tsc'), '-p', project], {
      cwd: project,
      stdio: 'pipe',
    });
  });

  function drive(): void {
    writeFileSync(
      join(project, 'drive.mjs'),
      `import { loadConfig, NetlinkBackend, diff, apply, down, ConfigError, parseConfig } from 'netcg';\n` +
        `const config = loadConfig('netcg.yaml');\n` +
        `const backend = new NetlinkBackend(${JSON.stringify(ns.path)});\n` +
        `try {\n` +
        `  const before = diff(config, backend).plan.changes.length;\n` +
        `  const first = apply(config, backend);\n` +
        `  const second = apply(config, backend);\n` +
        `  const after = diff(config, backend).plan.changes.length;\n` +
        `  let configError;\n  try { parseConfig('profiles: { p: { classid: 0, ipv6: reject } }', 'x.yaml'); } catch (e) { configError = e instanceof ConfigError && e.issues[0].path; }\n` +
        `  const gone = down(config, backend);\n` +
        `  console.log(JSON.stringify({ before, firstChanged: first.changed, secondChanged: second.changed, after, configError, deleted: gone.table.deleted }));\n` +
        `} finally { backend.close(); }\n`,
    );
    const out = JSON.parse(execFileSync(process.execPath, ['drive.mjs'], { cwd: project, encoding: 'utf8' }));
    expect(out).toEqual({
      before: expect.any(Number),
      firstChanged: true,
      secondChanged: false,
      after: 0,
      configError: 'profiles.p.classid',
      deleted: true,
    });
    expect(out.before).toBeGreaterThan(5);
  }

  it('drives loadConfig → diff → apply → down from the consumer, against the kernel (prebuilt addon)', () => {
    drive();
  });

  it('builds the addon from source with npm rebuild --build-from-source, then drives the same', () => {
    execFileSync('npm', ['rebuild', 'netcg', '--build-from-source', '--loglevel=error'], {
      cwd: project,
      stdio: 'pipe',
    });
    expect(addonPicked()).toBe(installed('build/Release/netcg.node'));
    drive();
  }, 900_000);
});
