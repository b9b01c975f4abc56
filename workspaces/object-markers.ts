/**
 * Names the runtime and the stacks share about the objects in the new bucket: here, where both may import them (the
 * stacks never import the migrator's runtime). The runtime's side is migrator/src/objects/provenance.ts.
 *
 * A tombstone: what the app's store writes in the new bucket when it deletes a photo while a legacy bucket exists (the
 * modes of store/modes.ts that can meet a copy in flight or an instance that falls back), instead of a plain delete. It
 * is a zero-byte object with this metadata key (its value: when), tagged for a lifecycle rule that expires it. Because
 * the key exists, every copy of the photo that was still in flight (the migrator's, or copy-on-miss) is refused by
 * `If-None-Match: *`: a deleted photo never comes back, not even briefly. The store reads a tombstone as "no such
 * photo" and does not fall back to legacy.
 */
export const TOMBSTONE = {
  metadataKey: 'bucketmove-tombstone',
  tagKey: 'bucketmove',
  tagValue: 'tombstone',
} as const;
