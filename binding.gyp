{
  "targets": [
    {
      "target_name": "netcg",
      "sources": [
        "native/addon.cc",
        "native/handle.cc",
        "native/errors.cc",
        "native/js.cc",
        "native/netlink/socket.cc",
        "native/netlink/events.cc",
        "native/netlink/monitor.cc",
        "native/nft/batch.cc",
        "native/nft/dump.cc",
        "native/nft/genid.cc",
        "native/nft/verdict.cc",
        "native/nft/expr/registry.cc",
        "native/nft/expr/meta.cc",
        "native/nft/expr/cmp.cc",
        "native/nft/expr/payload.cc",
        "native/nft/expr/immediate.cc",
        "native/nft/expr/bitwise.cc",
        "native/nft/expr/lookup.cc",
        "native/nft/expr/counter.cc",
        "native/nft/expr/redir.cc",
        "native/nft/expr/masq.cc",
        "native/nft/expr/reject.cc",
        "native/nft/expr/ct.cc",
        "native/nft/expr/socket.cc",
        "native/nft/expr/fib.cc",
        "native/rtnl/rule.cc",
        "native/rtnl/route.cc",
        "native/rtnl/link.cc",
        "native/proc/exec.cc",
        "native/proc/mount.cc",
        "native/proc/flock.cc",
        "native/proc/cgroup.cc",
        "native/proc/proc_cgroup.cc",
        "native/proc/spawn.cc",
        "native/proc/pidfd.cc",
        "native/proc/sysctl.cc"
      ],
      "include_dirs": [
        "<!(node -p \"require('node-addon-api').include_dir\")",
        "native"
      ],
      "defines": ["NAPI_VERSION=8", "NAPI_CPP_EXCEPTIONS", "NODE_ADDON_API_CPP_EXCEPTIONS_ALL"],
      "cflags!": ["-fno-exceptions"],
      "cflags_cc!": ["-fno-exceptions", "-std=gnu++17", "-std=gnu++20"],
      "cflags_cc": ["-std=c++17", "-fexceptions", "-Wall", "-Wextra", "-Wno-unused-parameter",
                    "<!@(pkg-config --cflags libnftnl libmnl)"],
      "libraries": ["<!@(pkg-config --libs libnftnl libmnl)"]
    }
  ]
}
