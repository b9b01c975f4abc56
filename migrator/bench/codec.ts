/**
 * Codec throughput: decrypt and encrypt of 5 MiB objects streamed in 64 KiB chunks as an S3 GET delivers them: Fernet
 * in both stored forms under each storage setting (strict and "auto" side by side), with rotated keys, and AES-256-GCM.
 * Run: npm run bench:codec
 */
import { randomBytes } from 'crypto';
import * as os from 'os';
import { Readable } from 'stream';
import { AesGcmCodec } from '../src/codec/aes-gcm';
import type { Codec } from '../src/codec/codec';
import { FernetCodec, generateFernetKey, type FernetStorage } from '../src/codec/fernet';
import { gitRevision, machineLine, runBench, writeSection } from './benchmarks-md';

const SIZE = 5 * 1024 * 1024;
const ROUNDS = Number(process.env.BENCH_CODEC_ROUNDS ?? 40);

function chunks(buf: Buffer, size = 64 * 1024): Readable {
  const parts: Buffer[] = [];
  for (let i = 0; i < buf.length; i += size) parts.push(buf.subarray(i, i + size));
  return Readable.from(parts, { objectMode: false });
}

async function drain(stream: Readable): Promise<number> {
  let n = 0;
  for await (const c of stream) n += (c as Buffer).length;
  return n;
}

/** Decrypt rate of `decoder` and encrypt rate of `writer` (the legacy app's side, which wrote the objects). */
async function measure(decoder: Codec, writer: Codec): Promise<{ encrypt: number; decrypt: number }> {
  const plain = randomBytes(SIZE);
  const stored = writer.encrypt(plain, { key: 'k' });
  await drain(decoder.decrypt(chunks(stored), { key: 'k' })); // warm-up
  let t = process.hrtime.bigint();
  for (let i = 0; i < ROUNDS; i++) writer.encrypt(plain, { key: 'k' });
  const encSeconds = Number(process.hrtime.bigint() - t) / 1e9;
  t = process.hrtime.bigint();
  for (let i = 0; i < ROUNDS; i++) {
    const n = await drain(decoder.decrypt(chunks(stored), { key: 'k', size: stored.length }));
    if (n !== SIZE) throw new Error(`decrypted ${n} bytes, expected ${SIZE}`);
  }
  const decSeconds = Number(process.hrtime.bigint() - t) / 1e9;
  const mb = (SIZE * ROUNDS) / 1e6;
  return { encrypt: mb / encSeconds, decrypt: mb / decSeconds };
}

async function main(): Promise<void> {
  const MAX = 64 * 1024 * 1024;
  const [fOld, fNew] = [generateFernetKey(), generateFernetKey()];
  const [gOld, gNew] = [randomBytes(32).toString('base64'), randomBytes(32).toString('base64')];
  const fernet = (storage: FernetStorage, keys = [fOld]) => new FernetCodec(keys, { storage, maxObjectBytes: MAX });
  const gcm = (keys = [gOld]) => new AesGcmCodec(keys, { aad: 'object-key', maxObjectBytes: MAX });
  // [row, the codec that decrypts, the codec that wrote the objects (the older key where there are two)]
  const cases: Array<[string, Codec, Codec]> = [
    ['Fernet, text tokens, storage "base64url-text" (strict)', fernet('base64url-text'), fernet('base64url-text')],
    ['Fernet, text tokens, storage "auto"', fernet('auto'), fernet('base64url-text')],
    ['Fernet, raw tokens, storage "raw" (strict)', fernet('raw'), fernet('raw')],
    ['Fernet, raw tokens, storage "auto"', fernet('auto'), fernet('raw')],
    [
      'Fernet, text tokens, "auto", rotated keys (kept whole, every key\'s HMAC)',
      fernet('auto', [fNew, fOld]),
      fernet('auto'),
    ],
    ['AES-256-GCM, one key', gcm(), gcm()],
    ["AES-256-GCM, rotated keys (kept whole, every key's tag)", gcm([gNew, gOld]), gcm()],
  ];
  const rows: string[] = [];
  for (const [name, decoder, writer] of cases) {
    const r = await measure(decoder, writer);
    rows.push(`| ${name} | ${r.decrypt.toFixed(0)} | ${r.encrypt.toFixed(0)} |`);
    console.log(`${name}: decrypt ${r.decrypt.toFixed(0)} MB/s, encrypt ${r.encrypt.toFixed(0)} MB/s`);
  }
  const load = os.loadavg()[0].toFixed(1);
  writeSection(
    'codec',
    [
      '## Codec throughput',
      '',
      `Command: \`npm run bench:codec\` (${ROUNDS} rounds of one 5 MiB object each, one core, in memory, streamed in 64 KiB chunks as an S3 GET delivers it). Machine: ${machineLine()}; 1-minute load average ${load} when it ran (rates vary with other work on the cores).`,
      `Date: ${new Date().toISOString().slice(0, 10)}, revision ${gitRevision()}.`,
      '',
      '| codec | decrypt MB/s (plaintext) | encrypt MB/s |',
      '|---|---:|---:|',
      ...rows,
      '',
      'Fernet streams: base64 decoding, HMAC-SHA256 and AES-128-CBC as the bytes arrive, the HMAC checked at the end;',
      '"auto" decides the stored form from the first byte, so it costs what the strict setting costs. With rotated keys',
      "a 5 MiB object is kept whole while every key's MAC (AES-GCM: every key's decryption) is computed, then decrypted",
      'with the key found; a larger one is read twice instead. Neither codec is the bottleneck of a copy over the network.',
    ].join('\n'),
  );
}

runBench('codec', main, {
  describe:
    'Codec throughput: decrypt and encrypt of 5 MiB objects streamed in 64 KiB chunks, Fernet in both stored forms under each storage setting, with rotated keys, and AES-256-GCM, in memory (no S3)',
  env: [['BENCH_CODEC_ROUNDS', 'rounds per codec and direction (40)']],
});
