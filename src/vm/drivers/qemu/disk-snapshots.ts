import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { BentoError, errorMessage } from '../../errors.js';
import { parseImageSnapshots, type DiskSnapshotInfo } from '../../snapshots.js';
import type { DiskSnapshotter } from '../driver.js';
import { qemuEscape } from './argv.js';

const run = promisify(execFile);

/** qemu-img on a big image with many snapshots still answers in seconds; this bounds a stuck one. */
const QEMU_IMG_TIMEOUT_MS = 10 * 60_000;

/** The last line qemu-img printed on stderr, else the error's own message. */
function qemuImgMessage(err: unknown): string {
  const stderr = (err as { stderr?: string }).stderr?.trim();
  return stderr ? (stderr.split('\n').pop() ?? stderr) : errorMessage(err);
}

/** Internal snapshots of stopped qcow2 images through `qemu-img snapshot` (off bentod's event loop). */
export class QemuImgSnapshots implements DiskSnapshotter {
  async list(disk: string): Promise<DiskSnapshotInfo[]> {
    try {
      // -U: a running VM holds the image's lock; reading its snapshot table is still safe.
      const { stdout } = await run('qemu-img', ['info', '-U', '-f', 'qcow2', '--output=json', '--', disk], { encoding: 'utf8', timeout: 60_000, maxBuffer: 64 * 1024 * 1024 });
      return parseImageSnapshots(stdout);
    } catch (err) {
      throw new BentoError('io-error', `cannot read the snapshots of ${disk}: ${qemuImgMessage(err)}`, { cause: err });
    }
  }

  create(disk: string, tag: string): Promise<void> {
    return this.snapshot('-c', disk, tag, 'create snapshot');
  }

  apply(disk: string, tag: string): Promise<void> {
    return this.snapshot('-a', disk, tag, 'revert to snapshot');
  }

  remove(disk: string, tag: string): Promise<void> {
    return this.snapshot('-d', disk, tag, 'delete snapshot');
  }

  private async snapshot(flag: string, disk: string, tag: string, what: string): Promise<void> {
    try {
      // No -U: qemu-img takes the image's write lock, so it fails rather than write under a running qemu.
      // `qemu-img snapshot` takes no -f; --image-opts names the format all the same (never probed).
      const opts = `driver=qcow2,file.driver=file,file.filename=${qemuEscape(disk)}`;
      await run('qemu-img', ['snapshot', flag, tag, '--image-opts', opts], { encoding: 'utf8', timeout: QEMU_IMG_TIMEOUT_MS });
    } catch (err) {
      throw new BentoError('io-error', `qemu-img could not ${what} ${tag} in ${disk}: ${qemuImgMessage(err)}`, { cause: err });
    }
  }
}
