import type { IncomingMessage, ServerResponse } from 'node:http';
import { z } from 'zod';
import { BentoError } from '../vm/errors.js';
import type { VmManager } from '../vm/manager.js';
import type { HostRegistry } from '../vm/hosts.js';
import { vmFiles } from '../vm/paths.js';
import { fieldsError, zodFields } from '../vm/spec.js';
import type { StatsReport, VersionInfo, VmStatsNotes } from '../vm/types.js';
import type { BootSelector } from '../vm/serial-log.js';
import { streamLog } from './log-stream.js';
import { readJson, sendError, sendJson } from './http-util.js';
import { openEventStream } from './sse.js';
import { crashPoint } from '../vm/test-hooks.js';
import type { ImageCache } from '../vm/images/cache.js';
import { imageRoutes } from './image-routes.js';
import { snapshotRoutes } from './snapshot-routes.js';
import { StatsSampler } from '../vm/stats.js';
import { hostRoutes } from './host-routes.js';

/** Why a VM of a libvirt host has no figures in GET /api/stats (bentod samples only its own VMs' processes). */
const LIBVIRT_STATS_NOTES: VmStatsNotes = {
  cpu: 'not sampled for VMs on libvirt hosts (their processes run under libvirtd)',
  guestMem: 'not sampled for VMs on libvirt hosts',
  disk: 'not sampled for VMs on libvirt hosts',
  net: 'not sampled for VMs on libvirt hosts',
};

const stopSchema = z.strictObject({
  force: z.boolean({ message: 'must be true or false' }).optional(),
  timeoutMs: z
    .number({ message: 'must be a number of milliseconds' })
    .int({ message: 'must be a whole number of milliseconds' })
    .min(0, { message: 'must not be negative' })
    .max(24 * 3600 * 1000, { message: 'must be at most one day' })
    .optional(),
});
const emptySchema = z.strictObject({});
// The name's own rules (the create rules) are checked by the manager; this only shapes the body.
const nameBodySchema = z.strictObject({ name: z.unknown() });
const startSchema = z.strictObject({ discard: z.boolean({ message: 'must be true or false' }).optional() });

type Params = { name: string; tag?: string };
type Handler = (ctx: { req: IncomingMessage; res: ServerResponse; params: Params; url: URL }) => Promise<void> | void;
/** One endpoint: method, path pattern (its first group is the decoded `name` param) and handler. */
export interface Route {
  method: string;
  pattern: RegExp;
  handler: Handler;
}

function parseBody<T>(schema: z.ZodType<T>, body: unknown): T {
  const r = schema.safeParse(body);
  if (!r.success) throw fieldsError(zodFields(r.error));
  return r.data;
}

/**
 * The API of DESIGN.md, as a route table over every host's engine (the registry; VM names are
 * `HOST/VM` for VMs of libvirt hosts) and the image cache, when bentod has one. What only local VMs
 * have (edit, suspend, clone, rename, snapshots, stats) goes to the local engine; for a VM of a
 * libvirt host it is refused by the action table, naming the host.
 */
export function buildRoutes(hosts: HostRegistry<VmManager>, version: VersionInfo, images?: ImageCache): Route[] {
  const NAME = '([^/]+)';
  const manager = hosts.local;
  const local = (name: string, action: Parameters<typeof hosts.localName>[1]): string => hosts.localName(name, action);
  // Samples only while someone subscribes (/api/events?stats=1) or asks (GET /api/stats).
  const stats = new StatsSampler({ running: () => manager.runningVms() });
  const action = (verb: string, fn: (name: string, body: unknown) => Promise<unknown>): Route => ({
    method: 'POST',
    pattern: new RegExp(`^/api/vms/${NAME}/${verb}$`),
    handler: async ({ req, res, params }) => sendJson(res, 200, await fn(params.name, await readJson(req))),
  });
  return [
    {
      method: 'GET',
      pattern: /^\/api\/version$/,
      handler: ({ res }) => {
        crashPoint('version');
        sendJson(res, 200, version);
      },
    },
    { method: 'GET', pattern: /^\/api\/vms$/, handler: ({ res }) => sendJson(res, 200, hosts.list()) },
    {
      method: 'POST',
      pattern: /^\/api\/vms$/,
      handler: async ({ req, res }) => sendJson(res, 201, await hosts.create(await readJson(req))),
    },
    { method: 'GET', pattern: new RegExp(`^/api/vms/${NAME}$`), handler: ({ res, params }) => sendJson(res, 200, hosts.get(params.name)) },
    {
      method: 'GET',
      pattern: new RegExp(`^/api/vms/${NAME}/inspect$`),
      handler: async ({ res, params }) => sendJson(res, 200, await hosts.inspect(params.name)),
    },
    {
      method: 'PATCH',
      pattern: new RegExp(`^/api/vms/${NAME}$`),
      handler: async ({ req, res, params }) => sendJson(res, 200, await manager.patch(local(params.name, 'edit'), await readJson(req))),
    },
    {
      method: 'DELETE',
      pattern: new RegExp(`^/api/vms/${NAME}$`),
      handler: async ({ res, params, url }) => {
        const force = url.searchParams.get('force');
        if (force !== null && !['0', '1', 'true', 'false'].includes(force)) {
          throw new BentoError('invalid-input', 'force must be 1, 0, true or false', { fields: [{ field: 'force', message: 'must be 1, 0, true or false' }] });
        }
        await hosts.remove(params.name, { force: force === '1' || force === 'true' });
        res.writeHead(204).end();
      },
    },
    action('start', (name, body) => hosts.start(name, parseBody(startSchema, body))),
    action('suspend', (name, body) => (parseBody(emptySchema, body), manager.suspend(local(name, 'suspend')))),
    action('stop', (name, body) => hosts.stop(name, parseBody(stopSchema, body))),
    action('pause', (name, body) => (parseBody(emptySchema, body), hosts.pause(name))),
    action('resume', (name, body) => (parseBody(emptySchema, body), hosts.resume(name))),
    action('restart', (name, body) => hosts.restart(name, parseBody(stopSchema, body))),
    {
      method: 'POST',
      pattern: new RegExp(`^/api/vms/${NAME}/clone$`),
      handler: async ({ req, res, params }) => sendJson(res, 201, await manager.clone(local(params.name, 'clone'), parseBody(nameBodySchema, await readJson(req)))),
    },
    action('rename', (name, body) => manager.rename(local(name, 'rename'), parseBody(nameBodySchema, body))),
    ...snapshotRoutes(manager, NAME, local),
    {
      method: 'GET',
      pattern: new RegExp(`^/api/vms/${NAME}/log$`),
      handler: ({ res, params, url }) => {
        // A libvirt VM's log is the one its console relay keeps in bentod's folder for it.
        const vm = hosts.get(params.name);
        const boot = parseBoot(url.searchParams.get('boot'));
        const follow = url.searchParams.get('follow') === '1';
        const end = streamLog(vmFiles(vm.dir), res, { follow, boot });
        if (!end) throw new BentoError('not-found', `${vm.name}: that boot is no longer in the serial log (only the current and the rotated log are kept)`);
        if (!follow) return;
        // A follow of a VM that is deleted would otherwise wait forever on a file that no longer exists.
        const off = hosts.onChange((ev) => ev.kind === 'deleted' && ev.name === vm.name && end());
        res.on('close', off);
      },
    },
    {
      method: 'GET',
      pattern: /^\/api\/events$/,
      handler: ({ req, res, url }) =>
        openEventStream(req, res, hosts, url.searchParams.get('snapshot') === '1', images, flag(url, 'stats') ? stats : undefined),
    },
    { method: 'GET', pattern: /^\/api\/stats$/, handler: async ({ res }) => sendJson(res, 200, withLibvirtNotes(await stats.report(), hosts)) },
    ...hostRoutes(hosts),
    ...(images ? imageRoutes(images, manager) : []),
  ];
}

/** The stats report plus each running VM of a libvirt host, with no figures and the notes saying why. */
function withLibvirtNotes(report: StatsReport, hosts: HostRegistry): StatsReport {
  const vms = { ...report.vms };
  for (const vm of hosts.list()) {
    if (vm.libvirt && vm.state !== 'stopped') vms[vm.name] = { last: null, history: [], notes: LIBVIRT_STATS_NOTES };
  }
  return { ...report, vms };
}

/** A 0/1 query flag; anything else is the client's error. */
function flag(url: URL, name: string): boolean {
  const v = url.searchParams.get(name);
  if (v === null || v === '0') return false;
  if (v === '1') return true;
  throw fieldsError([{ field: name, message: 'must be 1 or 0' }]);
}

/** The `boot` query of the log route: absent or 0 = current, -N = N boots back, `all`. */
function parseBoot(v: string | null): BootSelector {
  if (v === null || v === '' || v === '0') return { kind: 'current' };
  if (v === 'all') return { kind: 'all' };
  if (/^-[1-9]\d{0,5}$/.test(v)) return { kind: 'back', n: -Number(v) };
  throw fieldsError([{ field: 'boot', message: 'must be 0 (the current boot), a negative number of boots back such as -1, or all' }]);
}

/** Decodes one percent-encoded path segment; malformed encoding is the client's error (400), not bentod's. */
export function decodeSegment(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    throw new BentoError('invalid-input', `malformed percent-encoding in the path: ${segment.slice(0, 80)}`, {
      fields: [{ field: 'name', message: 'is not valid percent-encoded UTF-8' }],
    });
  }
}

function parseUrl(raw: string | undefined): URL {
  try {
    return new URL(raw ?? '/', 'http://bentod');
  } catch {
    throw new BentoError('invalid-input', 'malformed request path');
  }
}

/** Dispatches one request; every failure becomes a JSON error, never a crash. */
export async function dispatch(routes: Route[], req: IncomingMessage, res: ServerResponse): Promise<void> {
  try {
    const url = parseUrl(req.url);
    let pathMatched = false;
    for (const r of routes) {
      const m = r.pattern.exec(url.pathname);
      if (!m) continue;
      pathMatched = true;
      if (r.method !== req.method) continue;
      const params: Params = { name: decodeSegment(m[1] ?? '') };
      if (m[2] !== undefined) params.tag = decodeSegment(m[2]);
      await r.handler({ req, res, params, url });
      return;
    }
    if (pathMatched) throw new BentoError('invalid-input', `${req.method} is not allowed on ${url.pathname}`);
    throw new BentoError('not-found', `no such endpoint: ${req.method} ${url.pathname}`);
  } catch (err) {
    sendError(res, err);
  }
}
