// `bento host add|ls|rm`: the libvirt hosts bentod connects to (kept in its preferences).
import type { Command } from 'commander';
import type { BentoClient } from '../api/client.js';
import { BentoError } from '../vm/errors.js';
import { LOCAL_HOST, validateHostName, validateHostUri } from '../vm/host-name.js';
import type { HostInfo } from '../vm/types.js';
import { formatHostTable } from './host-format.js';

/** What the host commands need from the CLI around them. */
export interface HostCommandDeps {
  client: () => Promise<BentoClient>;
  print: (text: string) => void;
}

/**
 * Every host bentod knows. A bentod from before hosts has no /api/hosts: it has the local host only.
 */
export async function listHosts(c: Pick<BentoClient, 'hosts'>): Promise<HostInfo[]> {
  try {
    return await c.hosts();
  } catch (err) {
    if (err instanceof BentoError && err.code === 'not-found') return [];
    throw err;
  }
}

/** Adds `bento host` and its subcommands to the program. */
export function addHostCommands(program: Command, deps: HostCommandDeps): void {
  const host = program
    .command('host')
    .description('libvirt hosts whose VMs bento shows beside the local ones: add, ls, rm');

  host
    .command('add <name> <uri>')
    .description("add a libvirt host (qemu+ssh://user@host/system, qemu+tcp://…, qemu+tls://…); credentials stay libvirt's own")
    .action(async (name: string, uri: string) => {
      // Checked here first so a typo costs no round trip; bentod checks the same rules.
      validateHostName(name);
      validateHostUri(uri);
      const h = await (await deps.client()).addHost(name, uri);
      deps.print(`${h.name} ${h.state}`);
    });

  host
    .command('ls')
    .description('list hosts: NAME KIND URI STATE VMS SINCE/REASON')
    .option('--json', 'print JSON for scripts')
    .action(async (o: { json?: boolean }) => {
      const hosts = await listHosts(await deps.client());
      if (o.json) deps.print(JSON.stringify(hosts, null, 2));
      else deps.print(formatHostTable(hosts));
    });

  host
    .command('rm <name>')
    .description("remove a host: bento forgets it and its VMs leave the list (the domains stay on the host)")
    .action(async (name: string) => {
      if (name === LOCAL_HOST) throw new BentoError('invalid-input', `"${LOCAL_HOST}" is this machine's own VMs and cannot be removed`);
      await (await deps.client()).removeHost(name);
      deps.print(`removed ${name} (its domains are untouched)`);
    });
}
