// Why: the build checks that the installer's tools in a bootkit rootfs can run there: their
// interpreter (PT_INTERP) and shared libraries (DT_NEEDED) must exist in the same tree. Only
// those few fields are needed, so this small reader is enough; the npm ELF parsers are either
// unmaintained or far larger than the 80 lines it takes (and one more dependency to audit).
export interface ElfInfo {
  bits: 32 | 64;
  /** PT_INTERP: the dynamic loader, e.g. "/lib64/ld-linux-x86-64.so.2". */
  interp?: string;
  /** DT_NEEDED: shared libraries by soname, in order. */
  needed: string[];
  /** DT_RUNPATH, else DT_RPATH, split at ':'. */
  runpath: string[];
  soname?: string;
}

export class ElfError extends Error {}

const PT_LOAD = 1;
const PT_DYNAMIC = 2;
const PT_INTERP = 3;
const DT_NEEDED = 1;
const DT_STRTAB = 5;
const DT_SONAME = 14;
const DT_RPATH = 15;
const DT_RUNPATH = 29;

export function isElf(buf: Buffer): boolean {
  return buf.length >= 4 && buf[0] === 0x7f && buf.toString('latin1', 1, 4) === 'ELF';
}

/** Reads the interpreter and dynamic section of an ELF file held in buf; null if not ELF. */
export function parseElf(buf: Buffer): ElfInfo | null {
  if (!isElf(buf)) return null;
  const bits = buf[4] === 2 ? 64 : buf[4] === 1 ? 32 : 0;
  if (bits === 0 || (buf[5] !== 1 && buf[5] !== 2)) throw new ElfError('unknown ELF class or byte order');
  const le = buf[5] === 1;
  const need = (off: number, n: number) => {
    if (off < 0 || off + n > buf.length) throw new ElfError(`truncated ELF file (offset ${off})`);
  };
  const u16 = (o: number) => (need(o, 2), le ? buf.readUInt16LE(o) : buf.readUInt16BE(o));
  const u32 = (o: number) => (need(o, 4), le ? buf.readUInt32LE(o) : buf.readUInt32BE(o));
  const u64 = (o: number) => (need(o, 8), Number(le ? buf.readBigUInt64LE(o) : buf.readBigUInt64BE(o)));
  const word = bits === 64 ? u64 : u32;
  const ws = bits === 64 ? 8 : 4;

  const phoff = bits === 64 ? u64(0x20) : u32(0x1c);
  const phentsize = u16(bits === 64 ? 0x36 : 0x2a);
  const phnum = u16(bits === 64 ? 0x38 : 0x2c);
  const loads: Array<{ vaddr: number; offset: number; filesz: number }> = [];
  let dynamic: { offset: number; size: number } | undefined;
  let interp: string | undefined;
  for (let i = 0; i < phnum; i++) {
    const p = phoff + i * phentsize;
    const type = u32(p);
    const offset = bits === 64 ? u64(p + 8) : u32(p + 4);
    const vaddr = bits === 64 ? u64(p + 16) : u32(p + 8);
    const filesz = bits === 64 ? u64(p + 32) : u32(p + 16);
    if (type === PT_LOAD) loads.push({ vaddr, offset, filesz });
    else if (type === PT_DYNAMIC) dynamic = { offset, size: filesz };
    else if (type === PT_INTERP) {
      need(offset, filesz);
      interp = buf.toString('latin1', offset, offset + filesz).replace(/\0.*$/s, '');
    }
  }
  const info: ElfInfo = { bits, needed: [], runpath: [], ...(interp ? { interp } : {}) };
  if (!dynamic) return info;

  const tags: Array<[number, number]> = [];
  for (let o = dynamic.offset; o + 2 * ws <= dynamic.offset + dynamic.size; o += 2 * ws) {
    const tag = word(o);
    if (tag === 0) break;
    tags.push([tag, word(o + ws)]);
  }
  const strtabVaddr = tags.find(([t]) => t === DT_STRTAB)?.[1];
  if (strtabVaddr === undefined) throw new ElfError('dynamic section without DT_STRTAB');
  const seg = loads.find((l) => strtabVaddr >= l.vaddr && strtabVaddr < l.vaddr + l.filesz);
  if (!seg) throw new ElfError('DT_STRTAB outside the loaded segments');
  const strtab = strtabVaddr - seg.vaddr + seg.offset;
  const str = (off: number) => {
    need(strtab + off, 1);
    const end = buf.indexOf(0, strtab + off);
    if (end < 0) throw new ElfError('unterminated string');
    return buf.toString('utf8', strtab + off, end);
  };
  let rpath: string[] = [];
  for (const [tag, val] of tags) {
    if (tag === DT_NEEDED) info.needed.push(str(val));
    else if (tag === DT_SONAME) info.soname = str(val);
    else if (tag === DT_RUNPATH) info.runpath = str(val).split(':').filter(Boolean);
    else if (tag === DT_RPATH) rpath = str(val).split(':').filter(Boolean);
  }
  if (info.runpath.length === 0) info.runpath = rpath;
  return info;
}

/** e_machine values of the architectures a node can run, by Debian/k3s architecture name. */
const ELF_MACHINES: Record<number, string> = {
  3: '386',
  40: 'arm',
  62: 'amd64',
  183: 'arm64',
  243: 'riscv64',
  21: 'ppc64le',
};

/** The architecture an ELF file is built for (`amd64`, `arm64`, ...); null if not ELF. */
export function elfArchitecture(buf: Buffer): string | null {
  if (!isElf(buf) || buf.length < 20) return null;
  const machine = buf[5] === 2 ? buf.readUInt16BE(18) : buf.readUInt16LE(18);
  return ELF_MACHINES[machine] ?? `ELF machine ${machine}`;
}
