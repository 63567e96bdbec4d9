import { describe, expect, it } from 'vitest';
import { planRecovery, type RecoveryFacts } from './recover.js';

const facts = (over: Partial<RecoveryFacts>): RecoveryFacts => ({ marker: null, runStatus: 'running', migration: null, saved: false, partial: false, ...over });
const suspend = (paused = false) => ({ kind: 'suspend' as const, paused });
const restore = (paused = false) => ({ kind: 'restore' as const, paused });

describe('planRecovery: an interrupted suspend or restore ends saved or running, never in between', () => {
  it('no operation recorded: the VM is adopted as it is; a stray partial is dropped unless a migration writes it', () => {
    expect(planRecovery(facts({}))).toEqual({ actions: [], outcome: 'unchanged' });
    expect(planRecovery(facts({ partial: true }))).toEqual({ actions: ['delete-partial'], outcome: 'unchanged' });
    expect(planRecovery(facts({ partial: true, migration: 'active' }))).toEqual({ actions: [], outcome: 'unchanged' });
  });

  it.each([
    // [case, facts, plan]
    ['killed before the pause', { runStatus: 'running' }, { actions: [], outcome: 'running' }],
    ['paused, no migration yet', { runStatus: 'paused' }, { actions: ['cont'], outcome: 'running' }],
    ['migration still streaming (its receiver is gone)', { runStatus: 'paused', migration: 'active', partial: true }, { actions: ['cancel-migration', 'delete-partial', 'cont'], outcome: 'running' }],
    ['migration failed when bentod died', { runStatus: 'paused', migration: 'failed', partial: true }, { actions: ['delete-partial', 'cont'], outcome: 'running' }],
    ['completed, not renamed: the partial is not proven whole', { runStatus: 'postmigrate', migration: 'completed', partial: true }, { actions: ['delete-partial', 'cont'], outcome: 'running' }],
    ['renamed, qemu not yet quit', { runStatus: 'postmigrate', migration: 'completed', saved: true }, { actions: ['kill'], outcome: 'stopped-saved' }],
  ] as const)('suspend of a running guest, %s', (_name, f, plan) => {
    expect(planRecovery(facts({ marker: suspend(), ...f }))).toEqual(plan);
  });

  it('suspend of a paused guest stays paused when it is rolled back, and never gets `cont`', () => {
    expect(planRecovery(facts({ marker: suspend(true), runStatus: 'postmigrate', migration: 'completed', partial: true }))).toEqual({ actions: ['delete-partial'], outcome: 'paused' });
    expect(planRecovery(facts({ marker: suspend(true), runStatus: 'paused', migration: 'active' }))).toEqual({ actions: ['cancel-migration'], outcome: 'paused' });
    expect(planRecovery(facts({ marker: suspend(true), runStatus: 'postmigrate', saved: true }))).toEqual({ actions: ['kill'], outcome: 'stopped-saved' });
  });

  it.each([
    ['still loading (inmigrate): qemu is ended, the unconsumed state stays', { runStatus: 'inmigrate', saved: true }, { actions: ['kill'], outcome: 'stopped-saved' }],
    ['loaded, state not yet consumed: consumed before cont', { runStatus: 'paused', saved: true }, { actions: ['consume-saved', 'cont'], outcome: 'running' }],
    ['consumed, cont not sent', { runStatus: 'paused', saved: false }, { actions: ['cont'], outcome: 'running' }],
    ['running already, marker not cleared', { runStatus: 'running' }, { actions: [], outcome: 'running' }],
  ] as const)('restore, %s', (_name, f, plan) => {
    expect(planRecovery(facts({ marker: restore(), ...f }))).toEqual(plan);
  });

  it('a restore of a VM saved while paused ends paused, its state consumed', () => {
    expect(planRecovery(facts({ marker: restore(true), runStatus: 'paused', saved: true }))).toEqual({ actions: ['consume-saved'], outcome: 'paused' });
  });

  it('every plan that leaves qemu alive leaves no saved state behind, and `cont` always comes after consume', () => {
    const statuses = ['running', 'paused', 'postmigrate', 'inmigrate', 'prelaunch'];
    const migrations = [null, 'active', 'completed', 'failed'];
    for (const marker of [null, suspend(), suspend(true), restore(), restore(true)]) {
      for (const runStatus of statuses) {
        for (const migration of migrations) {
          for (const saved of [false, true]) {
            for (const partial of [false, true]) {
              if (!marker) continue;
              const p = planRecovery({ marker, runStatus, migration, saved, partial });
              const killed = p.actions.includes('kill');
              if (saved && !killed) expect(p.actions, JSON.stringify({ marker, runStatus, saved })).toContain('consume-saved');
              if (p.actions.includes('cont') && p.actions.includes('consume-saved')) expect(p.actions.indexOf('consume-saved')).toBeLessThan(p.actions.indexOf('cont'));
              if (killed) expect(p.outcome).toMatch(/^stopped/);
              if (partial) expect(p.actions).toContain('delete-partial');
            }
          }
        }
      }
    }
  });
});
