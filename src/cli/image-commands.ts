// `bento image pull|ls|rm`: the image cache through bentod.
import path from 'node:path';
import type { Command } from 'commander';
import type { BentoClient } from '../api/client.js';
import { BentoError } from '../vm/errors.js';
import type { PullResult } from '../vm/images/types.js';
import { formatCatalogTable, formatImageTable } from './image-format.js';
import { PullRenderer, pulledLine } from './pull-progress.js';

/** What the image commands need from the CLI around them. */
export interface ImageCommandDeps {
  client: () => Promise<BentoClient>;
  print: (text: string) => void;
}

/**
 * A relative path (`./disk.qcow2`, `../x.img`) means a file here, but bentod has another working
 * folder: send it absolute. Catalog ids, absolute paths and URLs go as typed.
 */
export function absoluteRef(ref: string, cwd = process.cwd()): string {
  return /^\.\.?\//.test(ref) ? path.resolve(cwd, ref) : ref;
}

async function pull(deps: ImageCommandDeps, typed: string, o: { force?: boolean; json?: boolean }): Promise<void> {
  const { result, seconds } = await pullWithProgress(await deps.client(), typed, { force: o.force ?? false });
  if (o.json) deps.print(JSON.stringify(result, null, 2));
  else deps.print(pulledLine(typed, result, seconds));
}

/**
 * Pulls an image through bentod with its progress on stderr (a bar on a terminal, plain lines
 * otherwise); `vm` names the VM it is for (create --image), so TUIs show the pull in that VM's row.
 */
export async function pullWithProgress(c: BentoClient, typed: string, o: { force?: boolean; vm?: string } = {}): Promise<{ result: PullResult; seconds: number }> {
  const ref = absoluteRef(typed);
  const stderr = process.stderr;
  const renderer = new PullRenderer({ write: (t) => void stderr.write(t), isTTY: stderr.isTTY === true, columns: stderr.columns }, typed);
  const stop = new AbortController();
  // Subscribed before the POST, so the first progress event is not missed.
  const closeEvents = await c.events({
    onEvent: () => undefined,
    onImage: (p) => p.ref === ref && renderer.update(p),
    onEnd: (err) => stop.abort(err ?? new BentoError('daemon-unavailable', 'bentod closed the event stream')),
  });
  const interrupted = (): void => stop.abort(new BentoError('cancelled', `pull of ${typed} interrupted; run it again to resume`));
  process.once('SIGINT', interrupted);
  process.once('SIGTERM', interrupted);
  const t0 = Date.now();
  let result: PullResult;
  try {
    result = await c.pullImage(ref, { force: o.force ?? false, signal: stop.signal, ...(o.vm ? { vm: o.vm } : {}) });
  } finally {
    renderer.clear();
    closeEvents();
    process.off('SIGINT', interrupted);
    process.off('SIGTERM', interrupted);
  }
  return { result, seconds: (Date.now() - t0) / 1000 };
}

/** Adds `bento image …` to the program. */
export function addImageCommands(program: Command, deps: ImageCommandDeps): void {
  const image = program.command('image').description('base images: a catalog of cloud images and a verified cache (pull, ls, rm)');
  image
    .command('pull <ref>')
    .description('download and verify an image: a catalog id (debian-12, debian-12:aarch64), a path or a URL')
    .option('--force', 'download again even when it is cached')
    .option('--json', 'print the pulled image as JSON')
    .action((ref: string, o: { force?: boolean; json?: boolean }) => pull(deps, ref, o));
  image
    .command('ls')
    .description('list cached images (REF SHA256 SIZE FORMAT PULLED USED BY) and what the catalog offers')
    .option('--json', 'print JSON for scripts: {cached, catalog}')
    .option('--catalog', 'list every catalog entry instead')
    .action(async (o: { json?: boolean; catalog?: boolean }) => {
      const list = await (await deps.client()).images();
      if (o.json) deps.print(JSON.stringify(o.catalog ? list.catalog : list, null, 2));
      else deps.print(o.catalog ? formatCatalogTable(list.catalog) : formatImageTable(list));
    });
  image
    .command('rm <ref>')
    .description('remove a cached image (by ref or sha256 prefix); refused while a VM uses it')
    .action(async (ref: string) => {
      await (await deps.client()).removeImage(absoluteRef(ref));
      deps.print(`removed ${ref}`);
    });
}
