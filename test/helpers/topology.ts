// The real-traffic bench (host, lan and vpn namespaces); shared with `npm run demo`.
export { buildTopology, FAR, LAN, VPN, type Topology } from '../testbed/topology.js';
