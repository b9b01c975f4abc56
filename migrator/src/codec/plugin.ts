/**
 * A codec from a module of the team's own, for a legacy format this package does not know. The workspace names the
 * module path (relative to the workspace file). The module exports, as `codec`, `createCodec` or `default`, either an
 * object that implements the Codec interface or a factory `({ keys, options }) => Codec`.
 *
 * The contract a plug-in must keep is the interface's: its plaintext stream fails before its end when the object
 * does not authenticate, it throws CodecError with the right kind, and its messages hold no key material.
 *
 * `plaintextSize` and `memoryNeed` are optional. A plug-in that does not declare `memoryNeed(storedSize)` (the bytes
 * its decrypt holds for an object of that size) is assumed to read whole and hold PLUGIN_DEFAULT_FACTOR (4) times the
 * object, so the migrator's memory budget stays true for it; a plug-in that streams should declare its few chunks.
 */
import * as path from 'path';
import { decryptMemoryNeed, PLUGIN_DEFAULT_FACTOR } from '../../../workspaces/codec-memory';
import { ConfigError } from '../../../workspaces/errors';
import type { Codec } from './codec';

/** What a plug-in module exports (or its factory returns): the Codec interface, two members optional. */
export type PluginCodec = Omit<Codec, 'plaintextSize' | 'memoryNeed'> &
  Partial<Pick<Codec, 'plaintextSize' | 'memoryNeed'>>;

export interface PluginInput {
  readonly keys: readonly string[];
  readonly options: Readonly<Record<string, unknown>>;
}

export function loadPluginCodec(modulePath: string, baseDir: string, input: PluginInput): Codec {
  const resolved = path.resolve(baseDir, modulePath);
  let mod: Record<string, unknown>;
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    mod = require(resolved) as Record<string, unknown>;
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    const why =
      e.code === 'MODULE_NOT_FOUND' && String(e.message).includes(resolved)
        ? 'no such module'
        : e.message.split('\n')[0];
    throw new ConfigError(`codec.module: cannot load codec plug-in "${modulePath}" (resolved to ${resolved}): ${why}`);
  }
  const exported = mod.codec ?? mod.createCodec ?? mod.default;
  const candidate = typeof exported === 'function' ? (exported as (i: PluginInput) => unknown)(input) : exported;
  const codec = candidate as Partial<PluginCodec> | undefined;
  if (
    !codec ||
    typeof codec.name !== 'string' ||
    typeof codec.decrypt !== 'function' ||
    typeof codec.encrypt !== 'function'
  ) {
    throw new ConfigError(
      `codec.module: "${modulePath}" must export (as "codec", "createCodec" or default) an object with name, decrypt and encrypt, or a factory returning one`,
    );
  }
  return {
    name: codec.name,
    decrypt: codec.decrypt.bind(codec),
    encrypt: codec.encrypt.bind(codec),
    plaintextSize: typeof codec.plaintextSize === 'function' ? codec.plaintextSize.bind(codec) : () => undefined,
    memoryNeed:
      typeof codec.memoryNeed === 'function'
        ? codec.memoryNeed.bind(codec)
        : (storedSize) => decryptMemoryNeed({ kind: 'whole', factor: PLUGIN_DEFAULT_FACTOR }, storedSize),
  };
}
