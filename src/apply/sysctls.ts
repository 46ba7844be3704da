// Sets the sysctls compile asks for inside the target network namespace, through
// the addon (a short-lived thread that enters the namespace: no process is
// spawned, Node's own threads never change namespace). Only values that differ are
// written, and apply reports exactly those.
import type { SysctlValues } from '../compile/sysctls.js';
import { addon } from '../native/index.js';

export interface SysctlChange {
  key: string;
  /** The value netcg wrote. */
  value: string;
  /** The value before. */
  previous: string;
}

/** Makes `wanted` true in the namespace at `netns` (the caller's own when undefined); returns what had to change. */
export function ensureSysctls(netns: string | undefined, wanted: SysctlValues): SysctlChange[] {
  const changes: SysctlChange[] = [];
  for (const [key, value] of Object.entries(wanted)) {
    const previous = addon.sysctl(netns, key);
    if (previous === value) continue;
    addon.sysctl(netns, key, value);
    changes.push({ key, value, previous });
  }
  return changes;
}
