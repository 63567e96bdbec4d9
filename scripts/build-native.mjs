// Builds the native addon (native/ -> native/build/Release/bento_native.node) with node-gyp.
// Runs as the package's `install` script and by hand (`node scripts/build-native.mjs`).
// A failed build is fatal on Linux, where bentod cannot check its clients without the addon. On macOS
// it only warns, so `npm ci` still works on a Mac without the Xcode command line tools; the loader
// then explains at run time what is missing.
// The libvirt binding (bento_libvirt.node) is optional everywhere: binding.gyp builds it only when
// pkg-config finds libvirt, and when its build fails this script builds again without it. Either
// way it writes why into native/build/bento_libvirt.status, which the loader
// (src/vm/drivers/libvirt/binding.ts) quotes.
import { spawnSync } from 'node:child_process';
// Imported rather than global: the lint config gives scripts/*.mjs no Node globals.
import console from 'node:console';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import process from 'node:process';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const nativeDir = path.join(root, 'native');
const GYP_BIN = 'node-gyp/bin/node-gyp.js';

/** The node-gyp entry script npm ships, or undefined when none is found. */
function findNodeGypScript() {
  // npm sets this for lifecycle scripts: the node-gyp it bundles, matching its own version.
  const fromNpm = process.env.npm_config_node_gyp;
  if (fromNpm && fs.existsSync(fromNpm)) return fromNpm;
  // Run by hand: look for npm's own copy next to this node, then for a local dependency.
  const npmDirs = [];
  if (process.env.npm_execpath) npmDirs.push(path.resolve(path.dirname(process.env.npm_execpath), '..'));
  const binDir = path.dirname(process.execPath);
  npmDirs.push(path.join(binDir, '..', 'lib', 'node_modules', 'npm')); // Unix layout
  npmDirs.push(path.join(binDir, 'node_modules', 'npm')); // Windows layout
  for (const base of [...npmDirs, root]) {
    try {
      return createRequire(path.join(base, 'package.json')).resolve(GYP_BIN);
    } catch {
      // not there; try the next place
    }
  }
  return undefined;
}

/** Extra node-gyp flags: build against the running node's own headers when they sit beside it. */
function headerArgs() {
  // Without this, node-gyp run by hand downloads headers, which fails offline. npm passes the
  // configured nodedir itself (npm_config_nodedir), so an explicit setting always wins.
  if (process.env.npm_config_nodedir || process.platform === 'win32') return [];
  const prefix = path.resolve(path.dirname(process.execPath), '..');
  const headers = path.join(prefix, 'include', 'node');
  const complete = ['node_api.h', 'common.gypi'].every((f) => fs.existsSync(path.join(headers, f)));
  return complete ? [`--nodedir=${prefix}`] : [];
}

/** Runs `node-gyp rebuild` in native/; returns an error description, or undefined on success. */
function build(extra = []) {
  const script = findNodeGypScript();
  const args = ['rebuild', '--jobs=max', ...headerArgs(), ...extra];
  const [command, argv] = script ? [process.execPath, [script, ...args]] : ['node-gyp', args];
  console.log(`bento: building the native addon: ${[command, ...argv].join(' ')} (in ${nativeDir})`);
  const result = spawnSync(command, argv, {
    cwd: nativeDir,
    stdio: 'inherit',
    // Only a bare `node-gyp` from PATH needs a shell on Windows (it is a .cmd there).
    shell: !script && process.platform === 'win32',
  });
  if (result.error) {
    const missing = /** @type {NodeJS.ErrnoException} */ (result.error).code === 'ENOENT';
    return missing ? 'node-gyp was not found (neither bundled with npm nor on PATH)' : result.error.message;
  }
  if (result.signal) return `node-gyp was killed by ${result.signal}`;
  if (result.status !== 0) return `node-gyp exited with status ${result.status}`;
  const built = path.join(nativeDir, 'build', 'Release', 'bento_native.node');
  if (!fs.existsSync(built)) return `node-gyp succeeded but ${built} is missing`;
  console.log(`bento: native addon built: ${built}`);
  return undefined;
}

/** Why the libvirt binding will not be built on this machine, or undefined when it will be tried. */
function libvirtUnavailable() {
  const probe = spawnSync('pkg-config', ['--exists', 'libvirt'], { stdio: 'ignore' });
  if (probe.error) return 'pkg-config, which finds libvirt\'s development files, was not installed when bento was built';
  if (probe.status !== 0) return "libvirt's development files (libvirt-dev) were not installed when bento was built";
  return undefined;
}

let libvirtSkipped = libvirtUnavailable();
let libvirtFailed = false;
// Decided here, once, so binding.gyp's own probe (for node-gyp run by hand) cannot disagree.
const extra = libvirtSkipped === undefined ? [] : ['--bento_libvirt=false'];
let failure = build(extra);
if (failure !== undefined && libvirtSkipped === undefined) {
  // The libvirt binding must not cost the rest: build again without it; bentod then says why
  // libvirt hosts are unavailable.
  console.warn(`\nbento: WARNING: the build with the libvirt binding failed (${failure}); building without it.\n`);
  // The loader (src/vm/drivers/libvirt/binding.ts) recognises this wording's start.
  libvirtSkipped = `its build failed (${failure}; the compiler's output is in the install log)`;
  libvirtFailed = true;
  extra.push('--bento_libvirt=false');
  failure = build(extra);
}
if (failure !== undefined && process.platform === 'darwin') {
  // The vz binding (Objective-C++, needs the macOS 13 SDK) must not cost the peer-credentials addon:
  // build again without it; bentod then runs with QEMU and says why vz is unavailable.
  console.warn(`\nbento: WARNING: the build with the vz backend failed (${failure}); building without it.\n`);
  extra.push('--bento_vz=false');
  const without = build(extra);
  if (without === undefined) {
    console.warn('bento: built without the vz backend: VMs use QEMU until the vz binding builds (`npm rebuild bento`).\n');
  }
  failure = without;
}
if (failure === undefined) {
  const status = path.join(nativeDir, 'build', 'bento_libvirt.status');
  if (libvirtSkipped === undefined) {
    fs.rmSync(status, { force: true });
    console.log(`bento: libvirt binding built: ${path.join(nativeDir, 'build', 'Release', 'bento_libvirt.node')}`);
  } else {
    fs.writeFileSync(status, `${libvirtSkipped}\n`);
    const advice = libvirtFailed
      ? 'fix the errors above, then run `node scripts/build-native.mjs`'
      : 'install libvirt-dev and pkg-config, then run `node scripts/build-native.mjs`';
    console.log(`bento: the libvirt binding was not built: ${libvirtSkipped}. libvirt hosts need it: ${advice}.`);
  }
}
if (failure !== undefined) {
  const retry = 'run `npm rebuild bento` (or `node scripts/build-native.mjs` in the checkout)';
  if (process.platform === 'linux') {
    console.error(
      `\nbento: ERROR: the native addon failed to build: ${failure}.\n` +
        'bentod needs it to check who connects to its socket, so installation stops here.\n' +
        'Install a C++ toolchain, make and python3 (Debian: apt-get install build-essential python3) ' +
        `and Node's headers, then ${retry}.\n`,
    );
    process.exit(1);
  } else if (process.platform === 'darwin') {
    console.warn(
      `\nbento: WARNING: the native addon failed to build: ${failure}.\n` +
        'Without it the vz backend (Virtualization.framework) and the Unix-socket peer checks are ' +
        'unavailable. The usual cause is missing Xcode command line tools: run `xcode-select --install`, ' +
        `then ${retry}.\n`,
    );
  } else {
    console.warn(
      `\nbento: WARNING: the native addon failed to build on ${process.platform}: ${failure}.\n` +
        `Features that need it (peer checks on bentod's socket) are unavailable; to retry, ${retry}.\n`,
    );
  }
}
