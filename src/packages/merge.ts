// Why: a released bootkit may lack the installer's tooling (efibootmgr, lvm2, parted, ...).
// Given package files, their payloads are laid over the bootkit's rootfs (later wins), the
// requirements are checked again against the merged root, and every added executable and every
// required tool must find its libraries, loader and #! interpreter there: a build that would
// fail on the node fails here instead, naming each missing library and who needs it.
import {
  type BootkitContents,
  checkRequirements,
  findTool,
  libraryProblems,
  type LibraryProblem,
  type MissingRequirement,
  requirementsError,
} from '../bootkit/requirements.js';
import { UserError } from '../errors.js';
import type { RootfsIndex } from '../initramfs/scan.js';
import { describeRequirement, type Requirement } from '../requirements.js';
import type { RootfsChange } from '../rootfs/change.js';
import type { PackageContents, PackageEntry } from './entries.js';

/** A path a package puts where the bootkit (or an earlier package) already has something. */
export interface Replacement {
  path: string;
  /** The package file that wins. */
  by: string;
  /** "the bootkit" or the earlier package's file. */
  over: string;
}

export interface PackageMerge {
  /** Rootfs files to add, in package order, paths resolved through the bootkit's symlinks. */
  files: RootfsChange['files'];
  replaced: Replacement[];
  /** Required tools the bootkit lacked and which package supplies each. */
  supplied: Array<{ requirement: Requirement; pkg: PackageContents }>;
  /** The merged root (for tests and reports). */
  index: RootfsIndex;
}

const BOOTKIT = 'the bootkit';

/**
 * Lays the packages over the bootkit root (in order; a later package wins) and checks the
 * result. Throws a UserError when a required tool is still missing, or when a library,
 * loader or interpreter of an added executable or a required tool is missing.
 */
export function mergePackages(
  packages: readonly PackageContents[],
  root: { index: RootfsIndex; contents: BootkitContents },
  requirements: readonly Requirement[],
  missingBefore: readonly MissingRequirement[],
): PackageMerge {
  const { index, contents } = root;
  // A kernel module cannot come from a package (it belongs to one kernel build).
  const modules = missingBefore.filter((m) => m.requirement.kind !== 'tool');
  if (modules.length > 0) {
    throw new UserError(
      `the bootkit's kernel lacks what the installer needs (${modules.length}): ${modules.map((m) => describeRequirement(m.requirement)).join('; ')}; kernel modules cannot be added from packages: use a bootkit release whose kernel has them`,
    );
  }
  const added = new Map<string, { entry: PackageEntry; pkg: PackageContents }>();
  const replaced: Replacement[] = [];
  for (const pkg of packages) {
    for (const e of pkg.entries) {
      const path = index.canonical(e.path);
      if (path === '') continue;
      if (e.type === 'dir') {
        if (!index.has(path) && !added.has(path)) added.set(path, { entry: { ...e, path }, pkg });
        continue;
      }
      const before = added.get(path);
      if (before && before.entry.type !== 'dir') replaced.push({ path, by: pkg.file, over: before.pkg.file });
      else if (!before && index.has(path)) replaced.push({ path, by: pkg.file, over: BOOTKIT });
      added.set(path, { entry: { ...e, path }, pkg });
    }
  }
  const merged = index.withAdded(
    [...added.values()].map(({ entry: e }) =>
      e.type === 'symlink' ? { path: e.path, type: e.type, target: e.target } : { path: e.path, type: e.type },
    ),
  );
  for (const { entry: e } of added.values()) if (e.type === 'file') contents.addPackageFile(e.path, e.mode, e.content);

  const stillMissing = checkRequirements(requirements, merged, contents).filter(
    (m) => !m.reason && m.requirement.kind === 'tool',
  );
  if (stillMissing.length > 0) {
    const err = requirementsError(stillMissing);
    throw new UserError(err.message.replace('the bootkit lacks', 'the bootkit and the given packages lack'));
  }
  const supplied: PackageMerge['supplied'] = [];
  for (const m of missingBefore) {
    if (m.requirement.kind !== 'tool') continue;
    const at = findTool(m.requirement.name, merged);
    const by = at ? added.get(at) : undefined;
    if (by) supplied.push({ requirement: m.requirement, pkg: by.pkg });
  }

  const execs = [...added.values()].filter(({ entry }) => entry.type === 'file').map(({ entry }) => entry.path);
  const tools = requirements
    .filter((r) => r.kind === 'tool' && r.when !== 'optional')
    .map((r) => findTool(r.name, merged))
    .filter((p): p is string => p !== null);
  const problems = libraryProblems([...execs, ...tools], merged, contents);
  if (problems.length > 0) throw libraryError(problems);

  const files: RootfsChange['files'] = [...added.values()].map(({ entry: e }) =>
    e.type === 'file'
      ? { path: e.path, mode: e.mode, content: e.content }
      : e.type === 'symlink'
        ? { path: e.path, symlink: e.target }
        : { path: e.path, dir: true as const, mode: e.mode },
  );
  return { files, replaced, supplied, index: merged };
}

/** One line: each missing library (loader, interpreter) and who needs it. */
export function libraryError(problems: readonly LibraryProblem[]): UserError {
  const byMissing = new Map<string, string[]>();
  for (const p of problems) {
    const k = p.kind === 'library' ? p.missing : `${p.kind} ${p.missing}`;
    byMissing.set(k, [...(byMissing.get(k) ?? []), `/${p.who}`]);
  }
  const items = [...byMissing].map(([lib, who]) => `${lib} (needed by ${who.join(', ')})`);
  return new UserError(
    `after adding the packages, the installer's root lacks (${byMissing.size}): ${items.join('; ')}; add the packages that hold them`,
  );
}
