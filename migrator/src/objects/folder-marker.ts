/**
 * A folder marker: the zero-byte object a console or a sync tool makes for a "folder" (a key ending in "/"). The legacy
 * app never encrypted one, so it is copied as it is (empty), never handed to the codec.
 */
export function isFolderMarker(key: string, storedSize: number): boolean {
  return storedSize === 0 && key.endsWith('/');
}
