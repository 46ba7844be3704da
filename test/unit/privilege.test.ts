// What the state-changing commands need, decided before they touch anything (src/cli/privilege.ts).
import { describe, expect, it } from 'vitest';

import { missingPrivilege, profileRefusal } from '../../src/cli/privilege.js';

const NET_ADMIN = 1n << 12n;
const SYS_ADMIN = 1n << 21n;

describe('missingPrivilege', () => {
  it('needs CAP_NET_ADMIN, and CAP_SYS_ADMIN with --netns', () => {
    expect(missingPrivilege('apply', 0n, false)).toBe(
      "netcg apply changes the kernel's network policy: needs root (CAP_NET_ADMIN)",
    );
    expect(missingPrivilege('watch', NET_ADMIN, false)).toBeUndefined();
    expect(missingPrivilege('down', NET_ADMIN, true)).toBe(
      'netcg down --netns enters another network namespace: needs root (CAP_SYS_ADMIN)',
    );
    expect(missingPrivilege('down', NET_ADMIN | SYS_ADMIN, true)).toBeUndefined();
  });
});

describe('profileRefusal', () => {
  it('lets root and the owner through, names the owner to anyone else', () => {
    expect(profileRefusal('p', 'alice', 1000, 0)).toBeUndefined();
    expect(profileRefusal('p', undefined, undefined, 0)).toBeUndefined();
    expect(profileRefusal('p', 'alice', 1000, 1000)).toBeUndefined();
    expect(profileRefusal('p', 'alice', 1000, 1001)).toBe(
      'profile p belongs to alice: only alice and root may move processes into it',
    );
    expect(profileRefusal('p', 'ghost', undefined, 1001)).toBe(
      'profile p belongs to ghost: only ghost and root may move processes into it',
    );
    expect(profileRefusal('q', undefined, undefined, 1001)).toBe(
      'profile q has no owner: moving processes into it needs root',
    );
  });
});
