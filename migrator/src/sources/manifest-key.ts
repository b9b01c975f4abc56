/**
 * Object keys in manifests: both S3 Inventory CSV files and S3 Batch Operations CSV manifests carry keys URL-encoded.
 *
 * How `+` reads: S3 Inventory writes keys form-encoded, a space as `+` and a literal plus as `%2B` (reported in
 * cloud-custodian/cloud-custodian#1997, "The S3 object key value supplied in S3 Inventory is URL-encoded with space
 * encoded as plus"), and Batch Operations hands manifest keys on to Lambda in the same encoding (AWS Lambda Powertools
 * decodes the s3Key of Batch Operations tasks with `unquote_plus`, tested against S3 Batch Operations:
 * aws-powertools/powertools-lambda-python#3572). So a `+` in a manifest key is decoded as a space, and a key with a
 * plus in it must be written with `%2B`; `encodeManifestKey` never writes a bare `+` or space,
 * so what this tool writes reads back the same under either convention.
 */

/** The key a manifest field names; throws on a malformed escape (the caller says which row). */
export function decodeManifestKey(field: string): string {
  return decodeURIComponent(field.replace(/\+/g, ' '));
}

/**
 * A key as a manifest field (and as a completion report writes it): every byte outside A-Z a-z 0-9 - _ . ~ and "/"
 * percent-encoded as UTF-8, "/" kept as AWS's own manifests show it (examplebucket,photos/jpgs/photo1.jpg).
 */
export function encodeManifestKey(key: string): string {
  return encodeURIComponent(key)
    .replace(/%2F/g, '/')
    .replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}
