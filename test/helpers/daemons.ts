// dnsmasq and echo gateways inside namespaces, always stopped via DaemonSet.stopAll();
// shared with `npm run demo`.
export { DaemonSet, digAnswer, DNSMASQ, type Daemon } from '../testbed/daemons.js';
