{
  "targets": [
    {
      "target_name": "guplab",
      "sources": [
        "native/addon.cc",
        "native/consumers.cc",
        "native/device.cc",
        "native/errors.cc",
        "native/mapping.cc",
        "native/uffd.cc"
      ],
      "include_dirs": [
        "<!(node -p \"require('node-addon-api').include_dir\")",
        "kmod/uapi"
      ],
      "defines": ["NAPI_VERSION=8", "NAPI_CPP_EXCEPTIONS", "NODE_ADDON_API_DISABLE_DEPRECATED"],
      "cflags_cc": ["-std=c++17", "-fexceptions", "-Wall", "-Wextra"],
      "cflags_cc!": ["-fno-exceptions"]
    }
  ]
}
