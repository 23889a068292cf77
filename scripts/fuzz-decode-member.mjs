// Why: the decodeMember unit test once failed with zstd's "Restored data doesn't match
// checksum" and passed on rerun. This loop runs the test's logic over many fresh payloads
// and chunkings (against dist/, so `npm run build` first) and saves any failing payload,
// member and chunking to a JSON file, so a failure can become a fixed test case.
// Usage: node scripts/fuzz-decode-member.mjs [iterations=500] [out-dir=/tmp]
import { randomBytes } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { ByteReader } from '../dist/io/byte-reader.js';
import { decodeMember } from '../dist/initramfs/compression.js';

async function* chunked(buf, sizes) {
  let off = 0;
  for (let i = 0; off < buf.length; i++) {
    const n = sizes[i % sizes.length];
    yield buf.subarray(off, off + n);
    off += n;
  }
}

const iterations = Number(process.argv[2] ?? 500);
const outDir = process.argv[3] ?? '/tmp';
const tail = Buffer.from('070701-next-archive');
let fails = 0;
for (let k = 0; k < iterations; k++) {
  const payload = Buffer.concat([randomBytes(20000), Buffer.alloc(30000, 'a')]);
  const member = execFileSync('zstd', ['-q', '-c'], { input: payload });
  const data = Buffer.concat([member, tail]);
  const e = member.length;
  const irregular = Array.from({ length: 7 }, () => 1 + Math.floor(Math.random() * 3000));
  for (const sizes of [[13], [4096], [e], [e - 1, 1], [e - 2, 1, 1], [e + 1], irregular]) {
    try {
      const reader = new ByteReader(chunked(data, sizes));
      const parts = [];
      for await (const p of decodeMember(reader, 'zstd')) parts.push(p);
      if (!Buffer.concat(parts).equals(payload)) throw new Error('decoded bytes differ');
      if (reader.position !== e) throw new Error(`stopped at ${reader.position}, member ends at ${e}`);
    } catch (err) {
      fails++;
      const file = path.join(outDir, `decode-member-fail-${process.pid}-${k}.json`);
      const record = {
        sizes,
        error: String(err),
        payload: payload.toString('base64'),
        member: member.toString('base64'),
      };
      fs.writeFileSync(file, JSON.stringify(record));
      console.log(`FAIL iteration ${k} chunking ${sizes.join(',')}: ${String(err)} (saved ${file})`);
    }
  }
}
console.log(`${iterations} payloads x 7 chunkings: ${fails} failures`);
process.exitCode = fails ? 1 : 0;
