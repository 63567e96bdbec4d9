import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import type { Accel, AccelRequest } from './types.js';

/** What accelerator detection looks at; injected in tests. */
export interface AccelProbe {
  platform: NodeJS.Platform;
  /** Can /dev/kvm be opened read-write? */
  kvmUsable(): boolean;
  /** The CPU flags line(s) of /proc/cpuinfo (Linux), or '' when unknown. */
  cpuFlags(): string;
  /** Is Hypervisor.framework available (macOS sysctl kern.hv_support)? */
  hvfSupported(): boolean;
}

/** The real host. */
export const hostProbe: AccelProbe = {
  platform: process.platform,
  kvmUsable() {
    try {
      fs.accessSync('/dev/kvm', fs.constants.R_OK | fs.constants.W_OK);
      return true;
    } catch {
      return false;
    }
  },
  cpuFlags() {
    try {
      return fs
        .readFileSync('/proc/cpuinfo', 'utf8')
        .split('\n')
        .filter((l) => l.startsWith('flags'))
        .join('\n');
    } catch {
      return '';
    }
  },
  hvfSupported() {
    // Checked lazily and only on macOS; `sysctl -n kern.hv_support` prints 1 when HVF works.
    try {
      return execFileSync('sysctl', ['-n', 'kern.hv_support'], { encoding: 'utf8' }).trim() === '1';
    } catch {
      return false;
    }
  },
};

/** Why auto chose what it chose, for `bento inspect` and the logs. */
export interface AccelChoice {
  accel: Exclude<Accel, 'vz'>;
  why: string;
}

/**
 * Resolves `auto`: kvm only when /dev/kvm opens and the CPU shows vmx or svm (a /dev/kvm without them,
 * as under broken nested virtualisation, hangs guests); hvf on macOS when supported; else tcg.
 */
export function chooseAccel(request: AccelRequest, probe: AccelProbe = hostProbe): AccelChoice {
  if (request !== 'auto') return { accel: request, why: 'asked for' };
  if (probe.platform === 'linux') {
    if (!probe.kvmUsable()) return { accel: 'tcg', why: '/dev/kvm is missing or not accessible' };
    if (!/\b(vmx|svm)\b/.test(probe.cpuFlags())) return { accel: 'tcg', why: '/dev/kvm exists but the CPU shows no vmx/svm (nested virtualisation off)' };
    return { accel: 'kvm', why: '/dev/kvm usable and the CPU has vmx/svm' };
  }
  if (probe.platform === 'darwin') {
    return probe.hvfSupported() ? { accel: 'hvf', why: 'kern.hv_support is 1' } : { accel: 'tcg', why: 'Hypervisor.framework unavailable' };
  }
  return { accel: 'tcg', why: `no hardware accelerator known on ${probe.platform}` };
}

let cached: AccelChoice | undefined;
/** chooseAccel('auto') for this host, computed once. */
export function hostAccel(): AccelChoice {
  cached ??= chooseAccel('auto');
  return cached;
}
