# bento's native addon. Built at install by scripts/build-native.mjs (node-gyp rebuild in this folder);
# src/native/native.ts loads build/Release/bento_native.node (or build/Debug).
# On macOS a second module, bento_vz.node (the Virtualization.framework binding, src/vz/*.mm), is
# built beside it; src/vm/drivers/vz/binding.ts loads it. `node-gyp rebuild --bento_vz=false` leaves
# it out (scripts/build-native.mjs does that when it fails, so the first addon still gets built).
# Where libvirt's development files are installed (pkg-config knows `libvirt`), a third module,
# bento_libvirt.node (the libvirt binding, src/libvirt/*.cc), is built too;
# src/vm/drivers/libvirt/binding.ts loads it. `--bento_libvirt=false` leaves it out.
{
  'variables': {
    'bento_vz%': 'true',
    # Probed, not assumed: without libvirt-dev the binding is simply not built, and the install
    # still succeeds (bentod then says libvirt hosts need libvirt-dev). Errors of pkg-config itself
    # (not installed) also read as "false".
    'bento_libvirt%': '<!(pkg-config --exists libvirt 2>/dev/null && echo true || echo false)',
  },
  'targets': [
    {
      'target_name': 'bento_native',
      # Sources every OS compiles: what Node lacks and bento needs (peer credentials, terminal modes,
      # flock).
      'sources': [
        'src/addon.cc',
        'src/checks.cc',
        'src/flock.cc',
        'src/peer.cc',
        'src/termios.cc',
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
      ],
    },
    {
      # The per-VM monitor (src/vmm/vmm.c): qemu's parent, owner of the console log and the VM's
      # lock. A plain C program, not an addon, so each running VM costs well under a megabyte.
      'target_name': 'bento-vmm',
      'type': 'executable',
      'sources': ['src/vmm/vmm.c'],
      'cflags': ['-std=gnu11', '-Wall', '-Wextra', '-O2'],
      'xcode_settings': {
        'MACOSX_DEPLOYMENT_TARGET': '11.0',
        'OTHER_CFLAGS': ['-std=gnu11', '-Wall', '-Wextra', '-O2'],
      },
    },
  ],
  'conditions': [
    # The libvirt binding is its own module so bento_native never links libvirt: a host without
    # libvirt's shared library still loads the peer-credentials addon.
    ['bento_libvirt=="true"', {
      'targets': [
        {
          'target_name': 'bento_libvirt',
          'sources': [
            'src/checks.cc',
            'src/libvirt/args.cc',
            'src/libvirt/connection.cc',
            'src/libvirt/console.cc',
            'src/libvirt/domain.cc',
            'src/libvirt/errors.cc',
            'src/libvirt/libvirt_addon.cc',
            'src/libvirt/runtime.cc',
          ],
          'include_dirs': [
            "<!(node -p \"require('node-addon-api').include_dir\")",
          ],
          'defines': [
            'NAPI_VERSION=8',
            'NAPI_CPP_EXCEPTIONS',
            'NODE_ADDON_API_DISABLE_DEPRECATED',
          ],
          'cflags!': ['-fno-exceptions'],
          'cflags_cc!': ['-fno-exceptions'],
          'cflags_cc': ['-std=c++17', '-Wall', '-Wextra', '<!@(pkg-config --cflags libvirt)'],
          'libraries': ['<!@(pkg-config --libs libvirt)'],
          'xcode_settings': {
            'GCC_ENABLE_CPP_EXCEPTIONS': 'YES',
            'CLANG_CXX_LANGUAGE_STANDARD': 'c++17',
            'CLANG_CXX_LIBRARY': 'libc++',
            'MACOSX_DEPLOYMENT_TARGET': '11.0',
            'OTHER_CPLUSPLUSFLAGS': ['-Wall', '-Wextra', '<!@(pkg-config --cflags libvirt)'],
          },
        },
      ],
    }],
    # The vz binding is its own module so bento_native stays free of Objective-C and of
    # Virtualization.framework: Linux never sees these sources, and a Mac whose SDK cannot build
    # them still gets the peer-credentials addon.
    ['OS=="mac" and bento_vz=="true"', {
      'targets': [
        {
          'target_name': 'bento_vz',
          'sources': [
            'src/vz/vz_addon.mm',
            'src/vz/vz_common.cc',
            'src/vz/vz_config.cc',
            'src/vz/vz_configuration.mm',
            'src/vz/vz_machine.mm',
            'src/vz/vz_objc.mm',
          ],
          'include_dirs': [
            "<!(node -p \"require('node-addon-api').include_dir\")",
          ],
          'defines': [
            'NAPI_VERSION=8',
            'NAPI_CPP_EXCEPTIONS',
            'NODE_ADDON_API_DISABLE_DEPRECATED',
          ],
          'cflags!': ['-fno-exceptions'],
          'cflags_cc!': ['-fno-exceptions'],
          'link_settings': {
            'libraries': [
              '$(SDKROOT)/System/Library/Frameworks/Foundation.framework',
              '$(SDKROOT)/System/Library/Frameworks/Security.framework',
              '$(SDKROOT)/System/Library/Frameworks/Virtualization.framework',
            ],
          },
          'xcode_settings': {
            'GCC_ENABLE_CPP_EXCEPTIONS': 'YES',
            'CLANG_CXX_LANGUAGE_STANDARD': 'c++17',
            'CLANG_CXX_LIBRARY': 'libc++',
            # ARC for the .mm files (gyp adds -fobjc-arc to Objective-C/C++ compiles). ARC in
            # Objective-C++ is exception-safe by default (-fobjc-arc-exceptions).
            'CLANG_ENABLE_OBJC_ARC': 'YES',
            'MACOSX_DEPLOYMENT_TARGET': '11.0',
            # An API newer than the deployment target used without an @available guard fails the
            # build instead of crashing on an older macOS.
            'OTHER_CFLAGS': ['-Wall', '-Wextra', '-Werror=unguarded-availability', '-Werror=unguarded-availability-new'],
          },
        },
      ],
    }],
  ],
}
