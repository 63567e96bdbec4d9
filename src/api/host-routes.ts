// The hosts API: list the hosts (local and libvirt) with their connection state, add and remove
// libvirt hosts. The registry (src/vm/hosts.ts) holds the rules; these routes only shape replies.
import type { HostRegistry } from '../vm/hosts.js';
import { readJson, sendJson } from './http-util.js';
import type { Route } from './routes.js';

/** GET/POST /api/hosts, GET/DELETE /api/hosts/:name. */
export function hostRoutes(hosts: HostRegistry): Route[] {
  const NAME = '([^/]+)';
  return [
    { method: 'GET', pattern: /^\/api\/hosts$/, handler: ({ res }) => sendJson(res, 200, hosts.hosts()) },
    {
      method: 'POST',
      pattern: /^\/api\/hosts$/,
      // Kept in the preferences, then connected in the background: the reply never waits for libvirt.
      handler: async ({ req, res }) => sendJson(res, 201, hosts.addHost(await readJson(req))),
    },
    { method: 'GET', pattern: new RegExp(`^/api/hosts/${NAME}$`), handler: ({ res, params }) => sendJson(res, 200, hosts.hostInfo(params.name)) },
    {
      method: 'DELETE',
      pattern: new RegExp(`^/api/hosts/${NAME}$`),
      handler: async ({ res, params }) => {
        await hosts.removeHost(params.name);
        res.writeHead(204).end();
      },
    },
  ];
}
