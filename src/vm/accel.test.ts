import { describe, expect, it } from 'vitest';
import { chooseAccel, type AccelProbe } from './accel.js';

function probe(over: Partial<AccelProbe>): AccelProbe {
  return { platform: 'linux', kvmUsable: () => true, cpuFlags: () => 'flags : fpu vme vmx sse', hvfSupported: () => false, ...over };
}

describe('chooseAccel', () => {
  it('keeps an explicit request', () => {
    expect(chooseAccel('tcg', probe({})).accel).toBe('tcg');
    expect(chooseAccel('kvm', probe({ kvmUsable: () => false })).accel).toBe('kvm');
  });
  it('picks kvm with a usable /dev/kvm and vmx or svm', () => {
    expect(chooseAccel('auto', probe({})).accel).toBe('kvm');
    expect(chooseAccel('auto', probe({ cpuFlags: () => 'flags : svm lm' })).accel).toBe('kvm');
  });
  it('picks tcg when /dev/kvm exists but the CPU shows no vmx/svm (broken nesting)', () => {
    const c = chooseAccel('auto', probe({ cpuFlags: () => 'flags : fpu vme sse hypervisor' }));
    expect(c.accel).toBe('tcg');
    expect(c.why).toMatch(/vmx\/svm/);
  });
  it('does not mistake a flag that merely contains the letters for vmx', () => {
    expect(chooseAccel('auto', probe({ cpuFlags: () => 'flags : vmxfoo svmbar' })).accel).toBe('tcg');
  });
  it('picks tcg without /dev/kvm', () => {
    expect(chooseAccel('auto', probe({ kvmUsable: () => false })).accel).toBe('tcg');
  });
  it('picks hvf on macOS when supported, tcg otherwise', () => {
    expect(chooseAccel('auto', probe({ platform: 'darwin', hvfSupported: () => true })).accel).toBe('hvf');
    expect(chooseAccel('auto', probe({ platform: 'darwin' })).accel).toBe('tcg');
  });
});
