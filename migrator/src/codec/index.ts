/** The legacy codecs: pick one from the workspace's `codec` settings and its keys. */
import * as path from 'path';
import type { LoadedWorkspace } from '../../../workspaces/load';
import type { CodecConfig } from '../../../workspaces/schema';
import { AesGcmCodec } from './aes-gcm';
import type { Codec } from './codec';
import { FernetCodec } from './fernet';
import { resolveKeys, type KeyDeps } from './keys';
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

/** Resolves the workspace's codec keys (env var or Secrets Manager) and builds its codec. */
export async function loadCodec(ws: LoadedWorkspace, deps: KeyDeps = {}): Promise<Codec> {
  const keys = ws.codec.keys ? await resolveKeys(ws.codec.keys, { region: ws.legacy.region ?? ws.region, ...deps }) : [];
  return createCodec(ws.codec, keys, path.dirname(ws.file));
}
