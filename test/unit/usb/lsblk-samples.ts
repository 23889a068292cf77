// Why: loads the hand-written lsblk samples and builds safety facts from them, shared by the USB unit tests.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import {
  classifyDrives,
  findNode,
  parseLsblk,
  type BlockNode,
  type Drive,
  type Mount,
} from '../../../src/usb/drives.js';
import type { TargetFacts } from '../../../src/usb/safety.js';

export type Sample = 'laptop-nvme-usb' | 'server-sata' | 'vm-virtio' | 'util-linux-2.34';

export function sample(name: Sample, mounts: Mount[] = []): { nodes: BlockNode[]; drives: Drive[] } {
  const json = readFileSync(fileURLToPath(new URL(`../../data/lsblk/${name}.json`, import.meta.url)), 'utf8');
  const nodes = parseLsblk(json);
  return { nodes, drives: classifyDrives(nodes, mounts) };
}

/** Target facts for a block device path in a sample, as inspectTarget would build them. */
export function blockFacts(name: Sample, path: string): TargetFacts {
  const { nodes, drives } = sample(name);
  for (const top of nodes) {
    const all: BlockNode[] = [];
    const walk = (n: BlockNode): void => {
      all.push(n);
      n.children.forEach(walk);
    };
    walk(top);
    const node = all.find((n) => n.path === path);
    if (node) {
      const found = findNode(nodes, node.majMin);
      const drive = drives.find((d) => d.majMin === found?.top.majMin);
      return { given: path, path, kind: 'block', node, drive };
    }
  }
  throw new Error(`${path} is not in sample ${name}`);
}
