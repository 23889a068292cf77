// Why: the test seams let a test run the installer without real disks; the guard must notice
// every one of them, so none can steer the installer while it may still choose a real disk.
// The seams used to escape it: MI_SYS_CLASS_NET, MI_BOOT_LABEL, and any seam the guard did not list.
import { describe, expect, it } from 'vitest';
import { bash } from './run-bash.js';

/** Runs guard_test_seams with ENV; prints SEAMS=0|1 and whether it let the run go on. */
function guard(env: Record<string, string>) {
  return bash(
    `set -euo pipefail
source lib/log.sh
source lib/guard.sh
if test_seams_in_use; then echo SEAMS=1; else echo SEAMS=0; fi
MI_FAIL_FILE=$(mktemp)
rc=0
(guard_test_seams) || rc=$?
if ((rc == 0)); then echo PASSED; else printf 'REFUSED %s\n' "$(<"$MI_FAIL_FILE")"; fi
rm -f -- "$MI_FAIL_FILE"`,
    [],
    env,
  );
}

describe('guard_test_seams', () => {
  it('lets a run with no seam go on', () => {
    const r = guard({});
    expect(r.stdout).toBe('SEAMS=0\nPASSED\n');
    expect(r.status).toBe(0);
  });

  it.each(['MI_TEST_SYS_CLASS_NET', 'MI_TEST_BOOT_LABEL', 'MI_TEST_SOMETHING_NEW'])(
    'notices %s and refuses to go on without a test loop device',
    (name) => {
      const r = guard({ [name]: '/tmp/x' });
      expect(r.stdout).toMatch(/^SEAMS=1\nREFUSED .*MI_TEST_\* variables are set but MI_TEST_TARGET is not/);
      expect(r.stdout).not.toContain('PASSED');
    },
  );

  it('an empty MI_TEST_* variable is no seam', () => {
    expect(guard({ MI_TEST_NO_REBOOT: '' }).stdout).toBe('SEAMS=0\nPASSED\n');
  });
});

describe('the seams carry the MI_TEST_ prefix', () => {
  it('no installer script reads an MI_ variable as a seam outside that prefix', () => {
    const r = bash(`grep -rhoE '\\$\\{MI_(SYS_CLASS_NET|BOOT_LABEL)[:}-]' installer.sh lib || true`);
    expect(r.stdout).toBe('');
    const label = bash(`set -euo pipefail; source lib/log.sh; source lib/bootentry.sh; printf '%s' "$BOOT_LABEL"`, [], {
      MI_TEST_BOOT_LABEL: 'test label',
    });
    expect(label.stdout).toBe('test label');
  });
});
