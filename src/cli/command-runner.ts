import { spawn } from 'node:child_process';
import type { CommandRunner } from '../ui/command-line.js';

/** Output kept from one `:` command: its tail is what the TUI shows. */
const KEEP_BYTES = 64 * 1024;

/**
 * The TUI's `:` runner: this same bento (`process.execPath` and its script) run with the words as
 * arguments against the same home and socket, stdin closed (a command never waits on the keyboard
 * the TUI owns), stdout and stderr collected together.
 */
export function commandRunner(home: string, socket: string): CommandRunner {
  const self = process.argv[1] ?? 'bento';
  return (args) =>
    new Promise((resolve, reject) => {
      const child = spawn(process.execPath, [...process.execArgv, self, ...args], {
        stdio: ['ignore', 'pipe', 'pipe'],
        env: { ...process.env, BENTO_HOME: home, BENTO_SOCKET: socket, NO_COLOR: '1' },
      });
      let out = '';
      const take = (b: Buffer): void => {
        out += b.toString('utf8');
        if (out.length > KEEP_BYTES) out = out.slice(-KEEP_BYTES);
      };
      child.stdout.on('data', take);
      child.stderr.on('data', take);
      child.on('error', reject);
      child.on('close', (code, signal) => resolve({ exitCode: code ?? (signal ? 128 : 1), output: out }));
    });
}
