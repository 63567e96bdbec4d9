// Finds bento-vmm, the per-VM monitor that node-gyp builds beside the addon (native/src/vmm/vmm.c).
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { BentoError } from '../vm/errors.js';
import { findPackageRoot } from './native.js';

/** Environment variable that points bentod at one specific bento-vmm binary. */
export const VMM_PATH_ENV = 'BENTO_VMM_PATH';

/** The bento-vmm binary to run; throws 'unsupported' naming where it looked. */
export function vmmBinary(env: NodeJS.ProcessEnv = process.env): string {
  const override = env[VMM_PATH_ENV];
  if (override) return path.resolve(override);
  const root = findPackageRoot(path.dirname(fileURLToPath(import.meta.url)));
  const tried = root ? ['build/Release', 'build/Debug'].map((d) => path.join(root, 'native', d, 'bento-vmm')) : [];
  const found = tried.find((f) => fs.existsSync(f));
  if (found) return found;
  throw new BentoError(
    'unsupported',
    `bento-vmm (the per-VM monitor) is not built; looked in ${tried.join(', ') || 'no package root'}. Run \`npm rebuild bento\` or \`node scripts/build-native.mjs\`.`,
  );
}
