// `netcg completion bash`: the printed script is sourced in a real bash, its
// completion function is called with COMP_WORDS/COMP_CWORD set as bash would set
// them, and COMPREPLY is checked. Profile names come from the config named on the
// command line, through the real CLI (a `netcg` on PATH that runs dist/bin/netcg.js).
// Needs `npm run build:ts` (as the e2e tests do).
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { cliOk, NETCG_CLI } from '../helpers/cli.js';

describe('netcg completion bash', () => {
  let dir: string;
  let script: string;
  let config: string;

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'netcg-completion-'));
    writeFileSync(join(dir, 'netcg'), `#!/bin/sh\nexec '${process.execPath}' '${resolve(NETCG_CLI)}' "$@"\n`);
    chmodSync(join(dir, 'netcg'), 0o755);
    script = join(dir, 'netcg.bash');
    writeFileSync(script, cliOk(['completion', 'bash']).stdout);
    config = join(dir, 'my.yaml');
    writeFileSync(
      config,
      'profiles:\n  unlocator: { classid: 42, ipv6: reject }\n  vpn: { classid: 43, route: { via: tun0 } }\n',
    );
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  /** COMPREPLY after completing the last of `words` (the word being typed, '' for a fresh one). */
  function complete(...words: string[]): string[] {
    const r = spawnSync(
      'bash',
      [
        '-c',
        'source "$SCRIPT" && COMP_WORDS=("$@") && COMP_CWORD=$(($# - 1)) && { _netcg; printf "%s\\n" "${COMPREPLY[@]}"; }',
        'bash',
        'netcg',
        ...words,
      ],
      {
        encoding: 'utf8',
        env: { ...process.env, SCRIPT: script, PATH: `${dir}:${process.env.PATH}`, NETCG_CONFIG: config },
      },
    );
    if (r.status !== 0) throw new Error(`bash exited ${r.status}: ${r.stderr}`);
    return r.stdout.split('\n').filter(Boolean).sort();
  }

  it('registers _netcg for netcg', () => {
    const r = spawnSync('bash', ['-c', 'source "$1" && complete -p netcg', 'bash', script], {
      encoding: 'utf8',
    });
    expect(r.stdout.trim()).toBe('complete -F _netcg netcg');
  });

  it('completes command names', () => {
    expect(complete('')).toEqual(
      expect.arrayContaining([
        'apply',
        'completion',
        'diff',
        'down',
        'enroll',
        'export',
        'leave',
        'ps',
        'run',
      ]),
    );
    expect(complete('ex')).toEqual(['export']);
    expect(complete('help', 'dow')).toEqual(['down']);
  });

  it("completes each command's own options", () => {
    expect(complete('diff', '-')).toEqual([
      '--config',
      '--help',
      '--json',
      '--netns',
      '--trust-config',
      '-c',
    ]);
    expect(complete('export', '--f')).toEqual(['--format']);
    expect(complete('apply', '--b')).toEqual(['--backend']);
  });

  it('completes option values by their meaning', () => {
    expect(complete('export', '--format', '')).toEqual(['nft', 'sh']);
    expect(complete('export', '-f', 's')).toEqual(['sh']);
    expect(complete('apply', '--backend', '')).toEqual(['netlink', 'nft']);
    expect(complete('diff', '-c', join(dir, 'my.y'))).toEqual([config]);
    expect(complete('completion', '')).toEqual(['bash', 'zsh']);
  });

  it('completes profile names for run, enroll and ps from the config given with -c', () => {
    expect(complete('run', '-c', config, '')).toEqual(['unlocator', 'vpn']);
    expect(complete('ps', '--config', config, 'v')).toEqual(['vpn']);
    expect(complete('enroll', '-c', config, 'u')).toEqual(['unlocator']);
  });

  it('falls back to $NETCG_CONFIG for profile names, and completes nothing for a missing config', () => {
    expect(complete('run', '')).toEqual(['unlocator', 'vpn']);
    expect(complete('run', '-c', join(dir, 'absent.yaml'), '')).toEqual([]);
  });

  it('after the profile: a command for run, PIDs for enroll', () => {
    expect(complete('run', '-c', config, 'vpn', 'bas')).toContain('bash');
    expect(complete('enroll', '-c', config, 'vpn', '1')).toContain('1');
  });
});

describe('netcg completion zsh', () => {
  it("is the bash completion under zsh's bashcompinit", () => {
    const zsh = cliOk(['completion', 'zsh']).stdout;
    expect(zsh.startsWith('#compdef netcg\n')).toBe(true);
    expect(zsh).toContain('autoload -U +X bashcompinit && bashcompinit');
    expect(zsh).toContain('complete -F _netcg netcg');
    expect(spawnSync('bash', ['-n'], { input: zsh }).status).toBe(0);
  });

  it('refuses an unknown shell with exit status 1', () => {
    const r = spawnSync(process.execPath, [NETCG_CLI, 'completion', 'fish'], { encoding: 'utf8' });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain("unknown shell 'fish': use bash or zsh");
  });
});
