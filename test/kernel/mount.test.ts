// addon.mount, exercised in a private mount namespace (unshare -m) so nothing is
// mounted on the host; the namespace disappears with the child process.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { describe, expect, it } from 'vitest';

const child = fileURLToPath(new URL('../fixtures/mount-child.mjs', import.meta.url));

describe('addon.mount', () => {
  it('mounts with flags and data, and reports errors with errno', () => {
    const dir = mkdtempSync(join(tmpdir(), 'netcg-mount-'));
    try {
      const out = execFileSync('unshare', ['-m', '--propagation', 'private', process.execPath, child, dir], {
        encoding: 'utf8',
      });
      const r = JSON.parse(out) as {
        line?: string;
        mode: string;
        missing?: { code: string; op: string; message: string };
      };
      // mountinfo: "... <mount point> <options> ... - tmpfs nctestfs rw,size=1024k,mode=711"
      expect(r.line).toMatch(/ rw,nosuid,nodev[ ,].* - tmpfs nctestfs rw,size=1024k,mode=711$/);
      expect(r.mode).toBe('711');
      expect(r.missing).toMatchObject({ code: 'ENOENT', op: 'mount' });
      expect(r.missing?.message).toContain('/no/such/dir');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    // The mount lived only in the child's namespace: the host never saw it.
    expect(execFileSync('cat', ['/proc/self/mountinfo'], { encoding: 'utf8' })).not.toContain(dir);
  });
});
