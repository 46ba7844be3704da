#!/usr/bin/env bash
# Captures the fuzz target's seed corpus (native/fuzz/corpus/) from the kernel:
# builds netlink_capture, creates a throwaway network namespace holding netcg's
# documented ruleset (docs/ruleset.md) plus extra expression kinds, a foreign
# table, ip rules and routes, dumps it all raw, and removes the namespace.
# Never touches the host's own namespace. Usage: scripts/fuzz-capture.sh [OUTDIR]
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-native/fuzz/corpus}
build=${FUZZ_BUILD_DIR:-build-fuzz}
bash scripts/fuzz.sh --build-only
ns="netcg-fuzzcap-$$"
trap 'ip netns del "$ns" 2>/dev/null || true' EXIT
ip netns add "$ns"
in_ns() { nsenter --net="/run/netns/$ns" "$@"; }

in_ns ip link set lo up
in_ns ip link add lan0 type veth peer name lan1
in_ns ip link add tun0 type veth peer name tun1
in_ns ip link set lan0 up; in_ns ip link set tun0 up
in_ns ip addr add 198.18.0.1/24 dev lan0
in_ns ip -6 addr add 2001:db8::1/64 dev lan0 nodad
in_ns ip route add default via 198.18.0.2 dev lan0
in_ns ip route add default dev tun0 table 43 proto 110
in_ns ip route add 198.18.0.0/24 dev lan0 table 43 proto 110 scope link
in_ns ip -6 route add default dev tun0 table 43 proto 110
in_ns ip rule add fwmark 0x2b/0xffffffff lookup 43 priority 10000 proto 110
in_ns ip rule add not from 198.51.100.0/24 lookup 44 priority 10001
in_ns ip rule add from all iif lo prohibit priority 10002
in_ns ip -6 rule add fwmark 0x2b lookup 43 priority 10000 proto 110

in_ns nft -f - <<'NFT'
table inet netcg {
	map dns_dispatch { typeof meta cgroup : verdict; elements = { 42 : jump dns_unlocator } }
	map ipv6_dispatch { typeof meta cgroup : verdict; elements = { 42 : jump ipv6_unlocator } }
	map route_dispatch { typeof meta cgroup : verdict; elements = { 43 : jump route_vpn, 44 : drop } }
	set ports { type inet_service; flags interval; elements = { 53, 5300-5400 } }
	map marks { type ipv4_addr : mark; elements = { 198.51.100.1 : 0x2b } }
	chain dns_unlocator {
		udp dport 53 counter redirect to :5354
		tcp dport 53 counter redirect to :5354
	}
	chain ipv6_unlocator { counter reject; }
	chain route_vpn { counter meta mark set 0x0000002b; }
	chain nat_output { type nat hook output priority -100; policy accept; counter meta cgroup vmap @dns_dispatch; }
	chain route_output {
		type route hook output priority mangle; policy accept;
		counter meta cgroup vmap @route_dispatch
		ct mark set meta mark
		meta mark set ct mark
		ct state established,related accept
		socket cgroupv2 level 1 "/" accept
		fib daddr type local accept
		ip daddr & 255.255.255.0 == 198.51.100.0 counter
		ip6 daddr 2001:db8::/32 reject with icmpv6 type admin-prohibited
		tcp dport @ports reject with tcp reset
		meta mark set ip daddr map @marks
	}
	chain filter_output { type filter hook output priority filter; policy drop; meta nfproto ipv6 counter meta cgroup vmap @ipv6_dispatch; }
	chain nat_postrouting { type nat hook postrouting priority srcnat; policy accept; meta mark 0x0000002b oifname "tun0" counter masquerade; }
}
table ip foreign {
	chain input { type filter hook input priority 0; policy accept; iifname "lan0" limit rate 10/second log prefix "x " accept; }
	chain forward_f { type filter hook forward priority 0; ip saddr 198.18.0.0/15 jump user_a; }
	chain user_a { comment "user chain"; counter goto user_b; }
	chain user_b { return; }
}
NFT
# Enough rules for a rule dump of several datagrams (multi-part).
for i in $(seq 1 60); do echo "add rule inet netcg route_vpn ip daddr 198.18.$((i / 250)).$((i % 250 + 1)) counter accept"; done | in_ns nft -f -

# Sockets for the inet_diag seeds: TCP listeners and bound UDP sockets on the
# port the SockDiag decoder filters on (and another), IPv4 and IPv6, one owned by nobody.
in_ns /usr/bin/python3 test/fixtures/listen.py 5354 & l1=$!
in_ns setpriv --reuid=65534 --regid=65534 --clear-groups /usr/bin/python3 test/fixtures/listen.py 9040 tcp & l2=$!
trap 'kill $l1 $l2 2>/dev/null; ip netns del "$ns" 2>/dev/null || true' EXIT
sleep 1

mkdir -p "$out"
in_ns "$build/netlink_capture" "$out"
