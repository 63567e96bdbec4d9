import type { Disposer, StartRequest, StateEvent, StopRequest, Vm, VmChange } from './types.js';

/**
 * What every host offers bentod: its VMs and the operations on them, by the VM's name on that host
 * (a local VM's name; a libvirt domain's name without `HOST/`). The local engine (VmManager) and each
 * libvirt host (LibvirtHost) implement it, and the HostRegistry dispatches to them by host.
 *
 * libvirt is an engine of its own rather than one more Driver: a Driver runs VMs that bento owns as
 * a folder plus processes (provision a folder, start and adopt a process by its pid, kill strays),
 * while a libvirt host's VMs are owned by libvirtd: they exist, start and stop whether or not bentod
 * runs, other clients (virsh) change them, and libvirtd tells us so in events. What bento keeps for
 * them is a cache of libvirtd's truth, per connection, not per folder.
 *
 * Events carry the VM's full name (`HOST/VM` for libvirt VMs), as clients show it.
 */
export interface HostEngine {
  /** Every VM of the host (while a libvirt host is unreachable: the last known ones, reachable=false). */
  list(): Vm[];
  /** One VM, or not-found. */
  get(name: string): Vm;
  /** Validates and creates a VM (body.name without the host). */
  create(body: unknown): Promise<Vm>;
  start(name: string, req?: StartRequest): Promise<Vm>;
  /** Stops gracefully within req.timeoutMs, then forced; req.force stops at once. */
  stop(name: string, req?: StopRequest): Promise<Vm>;
  pause(name: string): Promise<Vm>;
  resume(name: string): Promise<Vm>;
  restart(name: string, req?: StopRequest): Promise<Vm>;
  /** Deletes the VM; a running one needs force. */
  remove(name: string, opts?: { force?: boolean }): Promise<void>;
  /** The VM plus backend details. */
  inspect(name: string): Promise<Record<string, unknown>>;
  /** Every state change of the host's VMs. */
  onState(listener: (ev: StateEvent) => void): Disposer;
  /** VMs created, changed or deleted. */
  onChange(listener: (ev: VmChange) => void): Disposer;
}
