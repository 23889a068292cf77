// Why: a valid install.env (every contract key) that installer tests vary one key at a time.
import type { ShellValue } from '../../../src/render/shell.js';

export const HASH = '$6$salty$KvzWKWLYEXXyw/4wzxu854gkPY3lhi7u.wm/HJabfYGIHFFddhyZ3xA43wiP4pG2CNfejds7h3eeku.O.9PSx0';
export const KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl user@host';

/** Every contract key with a valid value (docs/contracts.md). */
export function validEnv(over: Record<string, ShellValue> = {}): Array<[string, ShellValue]> {
  const base: Record<string, ShellValue> = {
    MI_VERSION: '0.1.0',
    MI_OS_IMAGE: 'images/emt.raw.gz',
    MI_OS_IMAGE_SHA256: 'a'.repeat(64),
    MI_USER_NAME: 'edge',
    MI_USER_PASSWORD_HASH: HASH,
    MI_SSH_KEYS: [KEY],
    MI_HOSTNAME: 'node-1',
    MI_HTTP_PROXY: 'http://proxy.example:3128',
    MI_HTTPS_PROXY: 'http://proxy.example:3128',
    MI_NO_PROXY: 'localhost,127.0.0.1',
    MI_NET_MODE: 'dhcp',
    MI_NET_INTERFACE: '',
    MI_NET_ADDRESS: '',
    MI_NET_PREFIX: '',
    MI_NET_GATEWAY: '',
    MI_NET_DNS: ['1.1.1.1'],
    MI_NTP_SERVERS: ['pool.ntp.org'],
    MI_HOST_TYPE: 'kubernetes',
    MI_LVM_SIZE_GIB: '0',
    MI_HUGEPAGES: '0',
    MI_DISK_MATCH: 'any',
    MI_DISK_PICK: 'smallest',
    MI_DISK_BY_ID: [],
    MI_DISK_BY_PATH: [],
    MI_DISK_SERIAL: [],
    MI_DISK_WWN: [],
    MI_DISK_MODEL: [],
    MI_DISK_TRANSPORT: [],
    MI_DISK_MIN_GIB: '',
    MI_DISK_MAX_GIB: '',
    MI_DISK_ROTATIONAL: '',
    MI_DISK_WIPE_EXISTING: 'no',
    MI_AFTER_INSTALL: 'reboot',
    MI_CLOUD_INIT: 'no',
    MI_USER_APPS_DIR: '',
    MI_USER_SUDO: 'password',
    MI_PERSISTENT_SIZE_GIB: '',
    MI_K3S_BUNDLE: '',
    MI_K3S_SHA256S: [],
    MI_K3S_DATA_DIR: '',
    MI_K3S_EXTRA_ARGS: [],
  };
  return Object.entries({ ...base, ...over });
}
