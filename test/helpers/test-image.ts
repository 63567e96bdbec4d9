import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { defaultGuestUser } from '../../src/vm/spec.js';
import { ROOT } from './bento.js';

/** The file name build-test-image.sh gives the image. */
export const TEST_IMAGE_NAME = 'debian-12-bento-test-amd64.qcow2';

/**
 * The cloud-like Debian 12 test image (systemd, cloud-init, openssh-server, GRUB on its disk),
 * built or reused by scripts/build-test-image.sh. Fails loudly when it cannot be had: a test that
 * needs it never skips.
 */
export function testImage(): string {
  const dir = process.env.BENTO_TEST_IMAGE_DIR ?? path.join(os.homedir(), '.cache', 'bento', 'test-image');
  const file = path.join(dir, TEST_IMAGE_NAME);
  if (!fs.existsSync(path.join(dir, 'READY')) || !fs.existsSync(file)) {
    // Cached by its recipe stamp: a no-op when the image is already there and current.
    execFileSync('bash', [path.join(ROOT, 'scripts', 'build-test-image.sh')], { stdio: ['ignore', 'ignore', 'inherit'] });
  }
  if (!fs.existsSync(file)) throw new Error(`the test image ${file} is missing: run \`npm run image\` (scripts/build-test-image.sh)`);
  return file;
}

/** The guest user a seed names when bento runs as this host user (root gets `bento`). */
export function expectedGuestUser(): string {
  return defaultGuestUser(os.userInfo().username);
}
