{
  "targets": [
    {
      "target_name": "netcg",
      "sources": ["<!@(sed -e '/^#/d' -e '/^$/d' native/sources.txt)"],
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
