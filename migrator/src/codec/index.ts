/**
 * The legacy codecs: pick one from the workspace's `codec` settings and its keys, given already resolved (byte
 * transforms only: the keys are fetched by aws/codec-keys.ts, loadCodec).
 */
import type { CodecConfig } from '../../../workspaces/schema';
import { AesGcmCodec } from './aes-gcm';
import type { Codec } from './codec';
import { FernetCodec } from './fernet';
import { loadPluginCodec } from './plugin';

export { CodecError, type Codec, type CodecErrorKind, type ObjectContext } from './codec';

/** Builds the codec from its settings and already-resolved keys. `baseDir` anchors a plug-in's module path. */
export function createCodec(config: CodecConfig, keys: readonly string[], baseDir: string): Codec {
  switch (config.type) {
    case 'fernet':
      return new FernetCodec(keys, { storage: config.storage, maxObjectBytes: config.maxObjectBytes });
    case 'aes-256-gcm':
      return new AesGcmCodec(keys, { aad: config.aad, maxObjectBytes: config.maxObjectBytes });
    case 'plugin':
      return loadPluginCodec(config.module, baseDir, { keys, options: config.options });
  }
}
