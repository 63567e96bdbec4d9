// Builds the native addon (native/ -> native/build/Release/bento_native.node) with node-gyp.
// Runs as the package's `install` script and by hand (`node scripts/build-native.mjs`).
// A failed build is fatal on Linux, where bentod cannot check its clients without the addon. On macOS
// it only warns, so `npm ci` still works on a Mac without the Xcode command line tools; the loader
// then explains at run time what is missing.
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

let failure = build();
if (failure !== undefined && process.platform === 'darwin') {
  // The vz binding (Objective-C++, needs the macOS 13 SDK) must not cost the peer-credentials addon:
  // build again without it; bentod then runs with QEMU and says why vz is unavailable.
  console.warn(`\nbento: WARNING: the build with the vz backend failed (${failure}); building without it.\n`);
  const without = build(['--bento_vz=false']);
  if (without === undefined) {
    console.warn('bento: built without the vz backend: VMs use QEMU until the vz binding builds (`npm rebuild bento`).\n');
  }
  failure = without;
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
