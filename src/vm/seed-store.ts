import fs from 'node:fs';
import { writeFileSync } from 'atomically';
import { z } from 'zod';
import { seedFiles, writeSeedIso } from './cloud-init.js';
import { vmFiles } from './paths.js';
import type { MountSpec, VmSpec } from './types.js';

const inputSchema = z.object({ version: z.literal(1), userData: z.string().nullable() });

/** Keeps what a VM's seed was made from beside it (the user-data is not in the spec), so it can be remade. */
export function saveSeedInput(dir: string, userData: string | null): void {
  writeFileSync(vmFiles(dir).seedInput, `${JSON.stringify({ version: 1, userData })}\n`, { mode: 0o600 });
}

/** Whether two share lists differ in anything the guest sees. */
export function mountsChanged(a: MountSpec[], b: MountSpec[]): boolean {
  return JSON.stringify(a) !== JSON.stringify(b);
}

/**
 * Remakes a VM's seed for a changed spec (same instance-id: cloud-init keeps the guest's identity and
 * SSH host keys; the mount script is read afresh at the next boot). Returns false, changing nothing,
 * for a seed made by an older bento that kept no seed input: its guest has no mount script to run.
 */
export async function rewriteSeed(dir: string, spec: VmSpec, sshKeys: string[]): Promise<boolean> {
  const files = vmFiles(dir);
  let input: z.infer<typeof inputSchema>;
  try {
    input = inputSchema.parse(JSON.parse(fs.readFileSync(files.seedInput, 'utf8')));
  } catch {
    return false;
  }
  await writeSeedIso(files.seed, seedFiles({ spec, sshKeys, userData: input.userData }));
  return true;
}
