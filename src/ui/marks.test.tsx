import { afterEach, expect, test, vi } from 'vitest';
import { fakeVm } from './fake-client.js';
import { planCommand, splitWords } from './command-line.js';
import { cloneName } from './table-commands.js';
import { renderApp, type Harness } from './test/render-app.js';

let h: Harness;
afterEach(() => h?.unmount());

const running = (name: string) => fakeVm(name, { state: 'running', pid: 100, startedAt: new Date().toISOString() });
const calls = (method: string) => h.client.calls.filter((c) => c.method === method).map((c) => c.args[0]);

test('Space marks rows; S on two marked VMs asks once, lists them and skips the one that does not fit', async () => {
  h = await renderApp([running('a'), running('b'), fakeVm('c')]);
  await h.press(' ', ' ', ' ');
  await h.waitFor('3 marked');
  expect(h.frame()).toMatch(/\*a\s/);
  await h.press('S');
  await h.waitFor('stop 2 VMs?');
  expect(h.frame()).toContain('stop: a, b.');
  expect(h.frame()).toContain('Skipped: c (c is not running)');
  expect(calls('stop')).toEqual([]);
  await h.press('y');
  await h.waitFor(/a\s+○ stopped/);
  await h.waitFor(/b\s+○ stopped/);
  expect(calls('stop')).toEqual(['a', 'b']);
  expect(h.frame()).not.toContain('marked');
});

test('n at the confirmation sends nothing; Esc clears the marks', async () => {
  h = await renderApp([running('a'), running('b')]);
  await h.press(' ', ' ', 'K');
  await h.waitFor('force stop 2 VMs?');
  await h.press('n');
  expect(calls('stop')).toEqual([]);
  expect(h.frame()).toContain('2 marked');
  await h.press('\x1b');
  expect(h.frame()).not.toContain('marked');
});

test('c asks for the clone name (a free default), m renames; a refusal names the reason', async () => {
  h = await renderApp([fakeVm('web'), fakeVm('web-2'), running('db')]);
  await h.press('j', 'c');
  await h.waitFor('Clone web');
  expect(h.frame()).toContain('web-3');
  await h.press('\r');
  await h.waitFor('cloned web as web-3; s starts it');
  expect(h.client.calls.find((c) => c.method === 'clone')!.args).toEqual(['web', 'web-3']);
  await h.waitFor(/>web-3\s/);
  await h.press('m', '\x15', 'n', 'e', 'w', '\r');
  await h.waitFor('renamed web-3 to new');
  expect(h.frame()).not.toMatch(/web-3\s+○/);
  expect(h.frame()).toMatch(/new\s+○ stopped/);
  await h.press('g', 'c');
  expect(h.frame()).toContain('✗ db is running: only a stopped VM can be cloned (S stops it)');
});

test(': runs the words as a bento command through the injected runner and shows its output; :q quits', async () => {
  const runCommand = vi.fn(async (args: string[]) => ({ exitCode: args[0] === 'stop' ? 0 : 1, output: args[0] === 'stop' ? 'web stopped (guest-shutdown)\n' : 'bento: no VM named "x"\n' }));
  h = await renderApp([running('web')], { props: { runCommand } });
  await h.press(':');
  await h.waitFor('run it (any bento command)');
  await h.press('stop "web"', '\r');
  await h.waitFor('› web stopped (guest-shutdown)');
  expect(runCommand).toHaveBeenLastCalledWith(['stop', 'web']);
  await h.press(':', 'start x', '\r');
  await h.waitFor('✗ no VM named "x"');
  // ↑ brings the last line back.
  await h.press(':', '\x1b[A');
  await h.waitFor(':start x');
  await h.press('\x1b', ':', 'q', '\r');
  expect(h.onQuit).toHaveBeenCalled();
});

test('the command line splits like a shell and refuses what takes the terminal', () => {
  expect(splitWords(`stop web 'db two' "a\\"b" c\\ d`)).toEqual(['stop', 'web', 'db two', 'a"b', 'c d']);
  expect(() => splitWords('stop "web')).toThrow('unclosed " quote');
  expect(planCommand(':bento stop web db')).toEqual({ kind: 'run', args: ['stop', 'web', 'db'] });
  expect(planCommand('ssh web')).toEqual({ kind: 'refuse', message: 'ssh is interactive: h opens an SSH session' });
  expect(planCommand('logs web -f').kind).toBe('refuse');
  expect(planCommand('q')).toEqual({ kind: 'quit' });
  expect(cloneName('web', new Set(['web-2']))).toBe('web-3');
  expect(cloneName('web-7', new Set())).toBe('web-8');
});
