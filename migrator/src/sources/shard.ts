/**
 * Sharding: `--shard i/n` gives task i (1-based) of n the keys whose stable hash falls in its shard, so n tasks
 * started on the same source copy every key exactly once between them, each with its own checkpoint.
 *
 * The hash is the first 8 bytes of SHA-256 over the key's UTF-8 bytes, taken modulo n: stable across machines, Node
 * versions and runs, and even for any key distribution (keys with a common prefix spread like any others).
 */
import { createHash } from 'crypto';

export interface Shard {
  /** 1-based. */
  readonly index: number;
  readonly count: number;
}

export const MAX_SHARDS = 4096;

/** The 0-based shard of a key among `count`. */
export function shardOfKey(key: string, count: number): number {
  const digest = createHash('sha256').update(key, 'utf8').digest();
  return Number(digest.readBigUInt64BE(0) % BigInt(count));
}

export function inShard(key: string, shard: Shard | undefined): boolean {
  return !shard || shard.count === 1 || shardOfKey(key, shard.count) === shard.index - 1;
}

/** "i/n" as given on the command line; the message says what is wrong and what is expected. */
export function parseShard(text: string): Shard {
  const m = /^\s*(\d+)\s*\/\s*(\d+)\s*$/.exec(text);
  if (!m)
    throw new Error(`--shard "${text}" is not i/n: give the task's number and the number of tasks, e.g. --shard 2/4`);
  const index = Number(m[1]);
  const count = Number(m[2]);
  if (count < 1 || count > MAX_SHARDS)
    throw new Error(`--shard ${text}: the number of tasks must be 1 to ${MAX_SHARDS}`);
  if (index < 1 || index > count) throw new Error(`--shard ${text}: the task's number must be 1 to ${count}`);
  return { index, count };
}

export function formatShard(s: Shard): string {
  return `${s.index}/${s.count}`;
}
