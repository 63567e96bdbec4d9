// The snapshot API: list, take, restore and remove internal snapshots of a VM's disks (and RAM).
// The engine (VmManager + src/vm/snapshots.ts) holds the rules; these routes check shapes and tags.
import { z } from 'zod';
import { BentoError } from '../vm/errors.js';
import type { VmAction } from '../vm/actions.js';
import type { VmManager } from '../vm/manager.js';
import { checkTag } from '../vm/snapshots.js';
import { readJson, sendJson } from './http-util.js';
import type { Route } from './routes.js';
import { fieldsError, zodFields } from '../vm/spec.js';

const takeSchema = z.strictObject({ tag: z.string({ message: 'must be a string' }).optional() });

/** Checks a body's shape; a failure names each field. */
function parseBody<T>(schema: z.ZodType<T>, body: unknown): T {
  const r = schema.safeParse(body);
  if (!r.success) throw fieldsError(zodFields(r.error));
  return r.data;
}

/** The tag from a route's path, checked by the tag rule (a bad one is `invalid-input` naming `tag`). */
function pathTag(tag: string | undefined): string {
  if (tag === undefined) throw new BentoError('internal', 'snapshot route without a tag');
  return checkTag(tag);
}

/**
 * GET/POST /api/vms/:name/snapshots, POST /api/vms/:name/snapshots/:tag/restore and
 * DELETE /api/vms/:name/snapshots/:tag. `name` is the route table's VM name pattern; `local` turns
 * a VM name into the local engine's (refusing VMs of libvirt hosts, which have no snapshots here).
 */
export function snapshotRoutes(manager: VmManager, name: string, local: (name: string, action: VmAction) => string = (n) => n): Route[] {
  const TAG = '([^/]+)';
  return [
    {
      method: 'GET',
      pattern: new RegExp(`^/api/vms/${name}/snapshots$`),
      handler: async ({ res, params }) => sendJson(res, 200, await manager.snapshots(local(params.name, 'snapshots'))),
    },
    {
      method: 'POST',
      pattern: new RegExp(`^/api/vms/${name}/snapshots$`),
      handler: async ({ req, res, params }) => {
        const body = parseBody(takeSchema, await readJson(req));
        sendJson(res, 201, await manager.snapshot(local(params.name, 'snapshot'), body.tag));
      },
    },
    {
      method: 'POST',
      pattern: new RegExp(`^/api/vms/${name}/snapshots/${TAG}/restore$`),
      handler: async ({ req, res, params }) => {
        const tag = pathTag(params.tag);
        parseBody(z.strictObject({}), await readJson(req));
        sendJson(res, 200, await manager.restoreSnapshot(local(params.name, 'snapshot'), tag));
      },
    },
    {
      method: 'DELETE',
      pattern: new RegExp(`^/api/vms/${name}/snapshots/${TAG}$`),
      handler: async ({ res, params }) => {
        await manager.removeSnapshot(local(params.name, 'snapshot'), pathTag(params.tag));
        res.writeHead(204).end();
      },
    },
  ];
}
