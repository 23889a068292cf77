// Why: the e2e tests that boot an installed node check it over ssh through a QEMU user-network
// host forward on 127.0.0.1; one copy of the port, the ssh call and its failure message.
import { spawnSync } from 'node:child_process';
import { createServer } from 'node:net';
import { tailLines, type Vm } from './qemu.js';

/** A free TCP port on 127.0.0.1 for the ssh host forward. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

/** ssh as `user` with the private key `key()` (read at each call: tests make it in beforeAll). */
export function sshClient(key: () => string, user = 'edge') {
  function ssh(port: number, command: string): { status: number | null; out: string } {
    const r = spawnSync(
      'ssh',
      [
        ...['-i', key(), '-p', String(port), '-o', 'BatchMode=yes', '-o', 'StrictHostKeyChecking=no'],
        ...['-o', 'UserKnownHostsFile=/dev/null', '-o', 'ConnectTimeout=20', '-o', 'LogLevel=ERROR'],
        `${user}@127.0.0.1`,
        command,
      ],
      { encoding: 'utf8', timeout: 90_000 },
    );
    return { status: r.status, out: `${r.stdout ?? ''}${r.stderr ?? ''}` };
  }

  /** Runs COMMAND over ssh, failing with its output and the serial tail when it exits non-zero. */
  function sshOk(vm: Vm, port: number, command: string): string {
    const r = ssh(port, command);
    if (r.status !== 0) {
      throw new Error(
        `ssh '${command}' exited ${r.status}:\n${r.out}\n--- serial tail ---\n${tailLines(vm.serialLog(), 40)}`,
      );
    }
    return r.out;
  }

  /** Runs COMMAND over ssh until it succeeds (a daemon still starting), or fails with its last output. */
  async function sshEventually(vm: Vm, port: number, command: string, ms: number): Promise<string> {
    const deadline = Date.now() + ms;
    for (;;) {
      const r = ssh(port, command);
      if (r.status === 0) return r.out;
      if (Date.now() > deadline) return sshOk(vm, port, command);
      await new Promise((res) => setTimeout(res, 5000));
    }
  }

  return { ssh, sshOk, sshEventually };
}
