// The config trust decision (src/config/trust.ts): lstat facts per step of the path → findings.
import { describe, expect, it } from 'vitest';

import { trustFindings, untrustedMessage, type PathFact } from '../../src/config/trust.js';

const dir = (path: string, mode = 0o755, uid = 0): PathFact => ({ path, role: 'directory', uid, mode });
const file = (path: string, mode = 0o644, uid = 0): PathFact => ({ path, role: 'config', uid, mode });
const link = (path: string, uid = 0): PathFact => ({ path, role: 'link', uid, mode: 0o777 });

const etc = [dir('/'), dir('/etc'), dir('/etc/netcg')];

describe('trustFindings', () => {
  it('accepts root-owned 0644 in root-owned 0755 directories', () => {
    expect(trustFindings([...etc, file('/etc/netcg/config.yaml')])).toEqual([]);
  });

  it('refuses a world-writable config, naming the mode and the fix', () => {
    const [f, ...rest] = trustFindings([...etc, file('/etc/netcg/config.yaml', 0o666)]);
    expect(rest).toEqual([]);
    expect(f).toMatchObject({ path: '/etc/netcg/config.yaml', role: 'config', problem: 'world-writable' });
    expect(f!.message).toBe(
      '/etc/netcg/config.yaml (the config file) is group- and world-writable (mode 0666)',
    );
    expect(f!.fix).toBe('chmod go-w /etc/netcg/config.yaml');
  });

  it('refuses a group-writable config', () => {
    expect(trustFindings([...etc, file('/etc/netcg/c.yaml', 0o664)])).toMatchObject([
      { problem: 'group-writable', fix: 'chmod go-w /etc/netcg/c.yaml' },
    ]);
  });

  it('refuses a config owned by another user, with the chown fix', () => {
    expect(trustFindings([...etc, file('/etc/netcg/c.yaml', 0o644, 1000)])).toMatchObject([
      {
        problem: 'owner',
        message: expect.stringContaining('owned by uid 1000, not root'),
        fix: 'chown root:root /etc/netcg/c.yaml',
      },
    ]);
  });

  it('refuses a writable or foreign directory on the path', () => {
    const found = trustFindings([
      dir('/'),
      dir('/etc', 0o777),
      dir('/etc/netcg', 0o755, 1000),
      file('/etc/netcg/c.yaml'),
    ]);
    expect(found.map((f) => [f.path, f.role, f.problem])).toEqual([
      ['/etc', 'directory', 'world-writable'],
      ['/etc/netcg', 'directory', 'owner'],
    ]);
  });

  it('accepts a root-owned sticky directory (/tmp) but not a sticky one owned by someone else', () => {
    expect(
      trustFindings([dir('/'), dir('/tmp', 0o1777), dir('/tmp/x', 0o700), file('/tmp/x/c.yaml')]),
    ).toEqual([]);
    expect(trustFindings([dir('/'), dir('/tmp', 0o1777, 1000), file('/tmp/c.yaml')])).toMatchObject([
      { path: '/tmp', problem: 'owner' },
      { path: '/tmp', problem: 'world-writable' },
    ]);
    // Sticky: nobody but root and the entry's owner may rename or delete an entry, group or world.
    expect(trustFindings([dir('/'), dir('/srv', 0o1775), file('/srv/c.yaml')])).toEqual([]);
  });

  it('checks a link by its owner only (its mode means nothing) and the target as the config', () => {
    expect(
      trustFindings([...etc, link('/etc/netcg/config.yaml'), dir('/'), dir('/srv'), file('/srv/c.yaml')]),
    ).toEqual([]);
    expect(
      trustFindings([...etc, link('/etc/netcg/config.yaml', 1000), file('/srv/c.yaml', 0o666)]),
    ).toMatchObject([
      { role: 'link', problem: 'owner', fix: 'chown -h root:root /etc/netcg/config.yaml' },
      { role: 'config', path: '/srv/c.yaml', problem: 'world-writable' },
    ]);
  });

  it('reports a directory passed twice once, and quotes paths a shell would split', () => {
    expect(trustFindings([dir('/', 0o777), dir('/', 0o777), file('/my conf.yaml', 0o646)])).toMatchObject([
      { path: '/', problem: 'world-writable' },
      { fix: "chmod go-w '/my conf.yaml'" },
    ]);
  });
});

describe('untrustedMessage', () => {
  it('names the file, each problem with its fix, and the override', () => {
    const text = untrustedMessage(
      '/etc/netcg/c.yaml',
      trustFindings([...etc, file('/etc/netcg/c.yaml', 0o666, 1000)]),
    );
    expect(text.split('\n')).toEqual([
      'refusing the config /etc/netcg/c.yaml: netcg runs as root, and someone other than root can change what it reads',
      '/etc/netcg/c.yaml (the config file) is owned by uid 1000, not root; fix: chown root:root /etc/netcg/c.yaml',
      '/etc/netcg/c.yaml (the config file) is group- and world-writable (mode 0666); fix: chmod go-w /etc/netcg/c.yaml',
      'or pass --trust-config to use it anyway',
    ]);
  });
});
