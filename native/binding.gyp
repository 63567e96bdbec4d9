# bento's native addon. Built at install by scripts/build-native.mjs (node-gyp rebuild in this folder);
# src/native/native.ts loads build/Release/bento_native.node (or build/Debug).
{
  'targets': [
    {
      'target_name': 'bento_native',
      # Sources every OS compiles: what Node lacks and bentod needs (peer credentials).
      'sources': [
        'src/addon.cc',
        'src/peer.cc',
      ],
      # node -p runs with this folder as cwd, so the relative include_dir resolves wherever npm
      # hoisted node-addon-api.
      'include_dirs': [
        "<!(node -p \"require('node-addon-api').include_dir\")",
      ],
      'defines': [
        # Node 20 supports Node-API 9; 8 is all we use, and pinning it keeps the addon loadable by
        # any Node >= 12.22 that might host it (e.g. the signed node binary for vz VMs).
        'NAPI_VERSION=8',
        # C++ exceptions carry argument and errno errors to JS as thrown Errors.
        'NAPI_CPP_EXCEPTIONS',
        'NODE_ADDON_API_DISABLE_DEPRECATED',
      ],
      # Node's common.gypi turns exceptions off; the C++ wrapper needs them on.
      'cflags!': ['-fno-exceptions'],
      'cflags_cc!': ['-fno-exceptions'],
      'cflags_cc': ['-std=c++17', '-Wall', '-Wextra'],
      'xcode_settings': {
        'GCC_ENABLE_CPP_EXCEPTIONS': 'YES',
        'CLANG_CXX_LANGUAGE_STANDARD': 'c++17',
        'CLANG_CXX_LIBRARY': 'libc++',
        # Virtualization.framework needs macOS 11 at least; Node 20 itself does too.
        'MACOSX_DEPLOYMENT_TARGET': '11.0',
      },
      'msvs_settings': {
        'VCCLCompilerTool': {
          'ExceptionHandling': 1,
          'AdditionalOptions': ['/std:c++17'],
        },
      },
      'conditions': [
        ['OS=="win"', {
          'defines': ['_HAS_EXCEPTIONS=1'],
        }],
        ['OS=="mac"', {
          # PENDING (vz backend, not written yet): the Objective-C++ binding goes here once
          # src/vz/*.mm exists. Listing a missing file would break every macOS install, so the
          # entries stay commented until then:
          #
          # 'sources': [
          #   'src/vz/vz.mm',
          # ],
          # 'link_settings': {
          #   'libraries': [
          #     '$(SDKROOT)/System/Library/Frameworks/Foundation.framework',
          #     '$(SDKROOT)/System/Library/Frameworks/Virtualization.framework',
          #   ],
          # },
          # 'xcode_settings': {
          #   'CLANG_ENABLE_OBJC_ARC': 'YES',
          #   'OTHER_CPLUSPLUSFLAGS': ['-fobjc-arc'],
          # },
          # 'defines': ['BENTO_WITH_VZ=1'],
        }],
      ],
    },
  ],
}
