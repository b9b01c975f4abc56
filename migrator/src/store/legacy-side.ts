/**
 * The legacy bucket through the legacy codec: what the read fallback decrypts, and (legacy-only and
 * read-both-write-legacy) where the app writes and deletes, encrypting as the legacy app did. The store loads this
 * module only in the modes that use the legacy bucket, so in new-only neither it nor the codec is ever required.
 */
import {
  DeleteObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { Readable } from 'stream';
import type { CodecConfig } from '../../../workspaces/schema';
import { isNoSuchKey } from '../aws/errors';
import { createCodec } from '../codec';
import { CodecError, type Codec } from '../codec/codec';
import { resolveKeys } from '../aws/codec-keys';
import { readWhole } from '../codec/read-whole';
import { isFolderMarker } from '../objects/folder-marker';
import { readLegacy, rereadLegacy, type LegacyObject } from '../objects/read-legacy';
import { StoreError } from './errors';
import { appMetadata, type Photo, type PhotoInfo, type PutOptions, type PutResult } from './photo';

/** A legacy object decrypted whole (and so authenticated), with what a copy into the new bucket needs. */
export interface DecodedLegacy {
  readonly photo: Photo;
  /** The authenticated plaintext, when the object was small enough to decrypt whole before serving. */
  readonly plaintext?: Buffer;
  readonly object: Omit<LegacyObject, 'body'>;
}

export class LegacySide {
  constructor(
    readonly client: S3Client,
    readonly bucket: string,
    readonly codec: Codec,
    /** Objects up to this stored size are decrypted whole before they are served. */
    readonly bufferBytes: number,
  ) {}

  /** Builds the codec from its settings and keys (the variable or secret the settings name). */
  static async loadCodec(config: CodecConfig, env: NodeJS.ProcessEnv, region: string): Promise<Codec> {
    const keys = config.keys ? await resolveKeys(config.keys, { env, region }) : [];
    return createCodec(config, keys, process.cwd());
  }

  /** Opens the object (GET, headers read, body not yet): undefined when the legacy bucket does not have it. */
  async open(key: string): Promise<LegacyObject | undefined> {
    return readLegacy(this.client, this.bucket, key);
  }

  /**
   * Decrypts an opened object. Up to `bufferBytes` the whole plaintext is decrypted and authenticated first (a bad
   * object throws StoreError "corrupt", no byte served); above, the plaintext streams and fails before its end.
   */
  async decode(key: string, obj: LegacyObject): Promise<DecodedLegacy> {
    const { body, ...object } = obj;
    const photo = {
      source: 'legacy' as const,
      contentType: obj.contentType,
      etag: `"${obj.etag}"`,
      metadata: obj.metadata,
    };
    if (isFolderMarker(key, obj.size)) {
      // A zero-byte "folder/" object was never encrypted (consoles create them); the migrator copies it as is too.
      body.destroy();
      const plaintext = Buffer.alloc(0);
      return { object, plaintext, photo: { ...photo, body: Readable.from([]), contentLength: 0 } };
    }
    const reread = rereadLegacy(this.client, this.bucket, key, obj.etag);
    const plain = this.codec.decrypt(body, { key, size: obj.size, reread });
    if (obj.size > this.bufferBytes) {
      return { object, photo: { ...photo, body: plain, contentLength: this.codec.plaintextSize(obj.size) } };
    }
    let plaintext: Buffer;
    try {
      plaintext = await readWhole(plain, this.bufferBytes);
    } catch (err) {
      body.destroy();
      if (err instanceof CodecError) {
        throw new StoreError(
          err.kind === 'too-large' ? 'too-large' : 'corrupt',
          'legacy',
          `decrypting the legacy object failed (${err.kind}): ${err.message}`,
          `Codec.${err.kind}`,
        );
      }
      throw err;
    }
    return {
      object,
      plaintext,
      photo: { ...photo, body: Readable.from([plaintext]), contentLength: plaintext.length },
    };
  }

  async head(key: string): Promise<PhotoInfo | undefined> {
    try {
      const out = await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: key }));
      return {
        source: 'legacy',
        contentType: out.ContentType,
        contentLength: out.ContentLength === undefined ? undefined : this.codec.plaintextSize(out.ContentLength),
        etag: out.ETag,
        lastModified: out.LastModified,
        metadata: out.Metadata ?? {},
      };
    } catch (err) {
      if (isNoSuchKey(err)) return undefined;
      throw err;
    }
  }

  /** legacy-only and read-both-write-legacy: writes as the legacy app did, encrypted with the codec's current key. */
  async put(key: string, body: Buffer, o: PutOptions): Promise<PutResult> {
    const stored = this.codec.encrypt(body, { key, size: body.length });
    const out = await this.client.send(
      new PutObjectCommand({
        Bucket: this.bucket,
        Key: key,
        Body: stored,
        ContentLength: stored.length,
        ContentType: o.contentType,
        CacheControl: o.cacheControl,
        ContentDisposition: o.contentDisposition,
        Metadata: appMetadata(o.metadata),
      }),
    );
    return { etag: out.ETag, versionId: out.VersionId, size: body.length };
  }

  async delete(key: string): Promise<void> {
    await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: key }));
  }

  async checkBucket(): Promise<void> {
    await this.client.send(new HeadBucketCommand({ Bucket: this.bucket }));
  }
}
