// A Reconciler over its own NetlinkBackend in a test namespace, both closed afterwards.
import { NetlinkBackend } from '../../src/backends/netlink.js';
import { Reconciler } from '../../src/apply/reconciler.js';

export function withReconciler<T>(netns: string, fn: (r: Reconciler) => T): T {
  const backend = new NetlinkBackend(netns);
  const r = new Reconciler(backend);
  try {
    return fn(r);
  } finally {
    r.close();
    backend.close();
  }
}
