// Why: the one home of the older shell tooling's config-file key names and where each lives in
// make-iso answers: the loader names it for a stray legacy key, `import-config` for one it cannot
// carry over.
import { PASSWORD_HASH_HELP } from './schema.js';

/** Keys people know from the older shell tooling, and where they live now. */
export const KNOWN_ELSEWHERE: Record<string, string> = {
  user_name: 'it is `user.name` in make-iso answers',
  username: 'it is `user.name` in make-iso answers',
  ssh_key: 'it is `user.sshKeys` (a list) in make-iso answers',
  ssh_keys: 'it is `user.sshKeys` (a list) in make-iso answers',
  password: `a plain password is refused: ${PASSWORD_HASH_HELP}; put the hash in \`user.passwordHash\``,
  passwd: `a plain password is refused: ${PASSWORD_HASH_HELP}; put the hash in \`user.passwordHash\``,
  http_proxy: 'it is `proxy.http` in make-iso answers',
  https_proxy: 'it is `proxy.https` in make-iso answers',
  no_proxy: 'it is `proxy.noProxy` in make-iso answers',
  host_type: 'it is `hostType` in make-iso answers',
  static_ip: 'it is `network.address` (with `network.mode: static`) in make-iso answers',
  subnet_mask: 'it is `network.prefix`, a prefix length (255.255.255.0 is 24), in make-iso answers',
  default_gate_way: 'it is `network.gateway` in make-iso answers',
  default_gateway: 'it is `network.gateway` in make-iso answers',
  dns_name_server: 'it is `network.dns` (a list) in make-iso answers',
  lvm_size_ingb: 'it is `lvm.sizeGiB` in make-iso answers',
  huge_page_config: 'it is `hugepages` (a number of 2 MiB pages) in make-iso answers',
  user_custom_ntp_servers: 'it is `ntp.servers` (a list) in make-iso answers',
  services: 'it is `cloudInit.services` in make-iso answers',
  write_files: 'it is `cloudInit.writeFiles` in make-iso answers',
  runcmd: 'it is `cloudInit.runcmd` in make-iso answers',
};
