// Why: install.env is sourced by bash on the node; prove that hostile values stay data and malformed files never run.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { shellAssignments } from '../../../src/render/shell.js';
import { HASH, KEY, validEnv } from './install-env.js';
import { bash, tempDir } from './run-bash.js';

let tmp: ReturnType<typeof tempDir>;
beforeEach(() => {
  tmp = tempDir();
});
afterEach(() => tmp.cleanup());

/** Loads FILE with config_load and prints the status, errors, and the named variables' values as hex. */
function load(content: string, show: string[] = []) {
  const file = tmp.file('install.env', content);
  const script = `set -euo pipefail
source lib/config.sh
rc=0
config_load "$1" || rc=$?
printf 'RC=%s\\n' "$rc"
for e in "\${CONFIG_ERRORS[@]}"; do printf 'ERR %s\\n' "$e"; done
shift
for v in "$@"; do
  declare -n ref="$v"
  for item in "\${ref[@]}"; do printf 'VAL %s %s\\n' "$v" "$(printf '%s' "$item" | od -An -tx1 | tr -d ' \\n')"; done
  unset -n ref
done`;
  const r = bash(script, [file, ...show], { PWNED: `${tmp.dir}/pwned` });
  const lines = r.stdout.split('\n');
  const values: Record<string, string[]> = {};
  for (const l of lines.filter((x) => x.startsWith('VAL '))) {
    const [, name = '', hex = ''] = l.split(' ');
    (values[name] ??= []).push(Buffer.from(hex, 'hex').toString('utf8'));
  }
  return {
    status: Number(lines.find((l) => l.startsWith('RC='))?.slice(3) ?? -1),
    errors: lines.filter((l) => l.startsWith('ERR ')).map((l) => l.slice(4)),
    values,
    stderr: r.stderr,
    pwned: bash('test -e "$1"', [`${tmp.dir}/pwned`]).status === 0,
  };
}

describe('install.env', () => {
  it('loads the renderer output: scalars, arrays, header comments', () => {
    const r = load(shellAssignments(validEnv(), 'make-iso test\nsecond header line'), [
      'MI_USER_PASSWORD_HASH',
      'MI_SSH_KEYS',
      'MI_NET_DNS',
      'MI_DISK_SERIAL',
    ]);
    expect(r.errors).toEqual([]);
    expect(r.status).toBe(0);
    expect(r.values.MI_USER_PASSWORD_HASH).toEqual([HASH]);
    expect(r.values.MI_SSH_KEYS).toEqual([KEY]);
    expect(r.values.MI_NET_DNS).toEqual(['1.1.1.1']);
    expect(r.values.MI_DISK_SERIAL).toBeUndefined();
  });

  it('keeps hostile values as exact data: quotes, $(), backticks, newlines, globs; nothing runs', () => {
    const hostile = [
      "it's '\\'' quoted",
      '$(touch "$PWNED")',
      '`touch "$PWNED"`',
      'line1\nline2; touch "$PWNED"',
      '\'; touch "$PWNED"; \'',
      '*',
      '${PWNED:?}',
    ];
    const r = load(
      shellAssignments(validEnv({ MI_DISK_SERIAL: hostile, MI_DISK_MODEL: hostile, MI_NO_PROXY: hostile[1] ?? '' })),
      ['MI_DISK_SERIAL', 'MI_DISK_MODEL', 'MI_NO_PROXY'],
    );
    expect(r.stderr).toBe('');
    expect(r.values.MI_DISK_SERIAL).toEqual(hostile);
    expect(r.values.MI_DISK_MODEL).toEqual(hostile);
    expect(r.values.MI_NO_PROXY).toEqual([hostile[1]]);
    expect(r.pwned).toBe(false);
  });

  it('rejects, without running anything, lines that are not single-quoted assignments of known keys', () => {
    const good = shellAssignments(validEnv());
    // the bad line comes right after the good file's last line
    const badLine = good.endsWith('\n') ? good.split('\n').length : good.split('\n').length + 1;
    for (const bad of [
      'MI_HOSTNAME=$(touch "$PWNED")',
      'MI_HOSTNAME="$(touch $PWNED)"',
      'MI_HOSTNAME=\'a\'; touch "$PWNED"',
      'MI_HOSTNAME=\'a\' touch "$PWNED"',
      'touch "$PWNED"',
      "MI_HOSTNAME=$'\\x41'",
      "PATH='/tmp'",
      "MI_TEST_TARGET='/dev/vda'",
      "MI_HOSTNAME=('a')",
      "MI_SSH_KEYS='a'",
      'MI_SSH_KEYS=(\'a\' $(touch "$PWNED"))',
      "MI_HOSTNAME='unterminated",
    ]) {
      const r = load(`${good}${bad}\n`);
      expect(r.status, bad).toBe(1);
      expect(r.errors[0], bad).toMatch(
        new RegExp(
          `install\\.env:${badLine}: (not a single-quoted|MI_\\w+ is not a known|PATH is not|MI_TEST_TARGET is not)`,
        ),
      );
      expect(r.pwned, bad).toBe(false);
    }
  });

  it('reports every invalid value at once', () => {
    const r = load(
      shellAssignments(
        validEnv({
          MI_OS_IMAGE: '../etc/shadow',
          MI_OS_IMAGE_SHA256: 'xyz',
          MI_USER_NAME: 'Root Admin',
          MI_USER_PASSWORD_HASH: 'plain-password',
          MI_SSH_KEYS: ['not a key'],
          MI_HOSTNAME: 'bad_host!',
          MI_HTTP_PROXY: 'http://a"b',
          MI_NET_MODE: 'static',
          MI_DISK_TRANSPORT: ['firewire'],
          MI_DISK_MIN_GIB: '1e9',
          MI_AFTER_INSTALL: 'explode',
        }),
      ),
    );
    expect(r.status).toBe(1);
    const keys = r.errors.map((e) => e.split(':')[0]);
    expect(keys).toEqual([
      'MI_OS_IMAGE',
      'MI_OS_IMAGE_SHA256',
      'MI_USER_NAME',
      'MI_USER_PASSWORD_HASH',
      'MI_SSH_KEYS',
      'MI_HOSTNAME',
      'MI_HTTP_PROXY',
      'MI_NET_ADDRESS',
      'MI_NET_PREFIX',
      'MI_DISK_TRANSPORT',
      'MI_DISK_MIN_GIB',
      'MI_AFTER_INSTALL',
    ]);
  });

  it('accepts a user with only ssh keys, refuses one with neither hash nor keys', () => {
    expect(load(shellAssignments(validEnv({ MI_USER_PASSWORD_HASH: '', MI_USER_SUDO: 'nopasswd' }))).status).toBe(0);
    expect(load(shellAssignments(validEnv({ MI_USER_PASSWORD_HASH: '', MI_USER_SUDO: 'password' }))).errors).toEqual([
      'MI_USER_SUDO: password needs MI_USER_PASSWORD_HASH: a key-only user could never type one',
    ]);
    const r = load(
      shellAssignments(validEnv({ MI_USER_PASSWORD_HASH: '', MI_SSH_KEYS: [], MI_USER_SUDO: 'nopasswd' })),
    );
    expect(r.errors).toEqual(['MI_USER_PASSWORD_HASH: empty and no MI_SSH_KEYS: nobody could log in']);
  });
});

describe('kernel command line', () => {
  const parse = (cmdline: string) => {
    const file = tmp.file('cmdline', cmdline);
    return bash(
      'source lib/config.sh; CONFIG_ERRORS=(); rc=0; cmdline_parse "$1" || rc=$?; printf "%s|%s|%s|%s|%s" "$rc" "$CMD_VOLID" "$CMD_PLAN" "$CMD_DEBUG" "${CONFIG_ERRORS[*]}"',
      [file],
      { PWNED: `${tmp.dir}/pwned` },
    ).stdout;
  };

  it('reads makeiso.volid, makeiso.plan and makeiso.debug', () => {
    expect(parse('BOOT_IMAGE=/boot/vmlinuz root=tmpfs makeiso.volid=MAKEISO0A1B2C3D quiet\n')).toBe(
      '0|MAKEISO0A1B2C3D|0|0|',
    );
    expect(parse('makeiso.volid=MAKEISO1 makeiso.plan=1 makeiso.debug=1 console=ttyS0\n')).toBe('0|MAKEISO1|1|1|');
    expect(parse('console=ttyS0\n')).toBe('0||0|0|');
  });

  it('refuses a volume id that is not [A-Za-z0-9_] and never expands it', () => {
    expect(parse('makeiso.volid=$(touch${IFS}$PWNED) makeiso.plan=*\n')).toMatch(
      /^1\|.*\|0\|0\|makeiso\.volid: not a volume id/,
    );
    expect(bash('test -e "$1"', [`${tmp.dir}/pwned`]).status).toBe(1);
  });
});
