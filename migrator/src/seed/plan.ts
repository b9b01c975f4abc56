/**
 * What the seeder writes: keys, sizes and user metadata, the way the legacy chat app laid its photos out
 * (`chats/<chat id>/photos/<uuid>.jpg`, image/jpeg, who uploaded it when), all drawn from the seed.
 *
 * With `oddKeys`, a fixed set of keys that break naive tools is added: spaces, `+`, `%` and percent-escapes that must
 * not be decoded, composed and decomposed Unicode (two distinct keys), CJK and emoji, XML-special characters, a
 * 24-level prefix, a double slash, leading and trailing spaces, a 1024-byte key (S3's maximum), an encrypted empty
 * photo, and a zero-byte "folder marker" stored as is (not encrypted, as consoles create them).
 */
import { SeededRandom } from './random';
import { drawSize, NAMED_SIZES, type SizeSpec } from './sizes';

export interface PlannedObject {
  /** Position in the plan; also picks the object's content bytes. */
  readonly index: number;
  readonly key: string;
  /** Plaintext size. */
  readonly size: number;
  readonly contentType?: string;
  readonly metadata: Record<string, string>;
  /** False for objects stored as they are (the folder marker); true for everything the legacy app encrypted. */
  readonly encrypted: boolean;
  /** Why the key is in the odd set, for odd keys. */
  readonly odd?: string;
}

export interface PlanOptions {
  readonly count: number;
  readonly size: SizeSpec;
  readonly oddKeys: boolean;
  readonly seed: string;
  /** Prepended to every key (default "chats/"). */
  readonly prefix: string;
}

/** S3's (and RGW's) longest key, in UTF-8 bytes. */
export const MAX_KEY_BYTES = 1024;

const JPEG = 'image/jpeg';

/** The odd keys, relative to `<prefix>odd-keys/photos/`; sizes are drawn from the small band unless fixed. */
function oddKeys(
  base: string,
): Array<{ name: string; why: string; size?: number; encrypted?: boolean; contentType?: string }> {
  const deep = Array.from({ length: 24 }, (_, i) => `d${String(i + 1).padStart(2, '0')}`).join('/');
  // Padded to exactly MAX_KEY_BYTES with the base (a base too long for it makes the plan refuse the prefix).
  const longName = `long-${'x'.repeat(Math.max(1, MAX_KEY_BYTES - Buffer.byteLength(`${base}long-.jpg`)))}.jpg`;
  return [
    { name: 'holiday photo 1.jpg', why: 'spaces' },
    { name: 'a+b=c&d.jpg', why: 'plus, equals, ampersand' },
    { name: '100% real.jpg', why: 'percent sign' },
    { name: 'escaped%2Fslash%20and%41.jpg', why: 'percent-escapes that must not be decoded' },
    { name: 'caf\u00e9.jpg', why: 'Unicode, composed (NFC)' },
    { name: 'cafe\u0301.jpg', why: 'Unicode, decomposed (NFD): a different key from the NFC one' },
    { name: '\u65e5\u672c\u8a9e\u306e\u5199\u771f \u{1F4F7}.jpg', why: 'CJK and a 4-byte emoji' },
    { name: `quote's "and" <angle> {brace} [bracket].jpg`, why: 'XML-special characters' },
    { name: 'question?hash#semi;colon:comma,.jpg', why: 'URL-special characters' },
    { name: '~tilde*star!bang(paren)$dollar@at.jpg', why: 'more punctuation' },
    { name: `${deep}/photo.jpg`, why: 'a 24-level prefix' },
    { name: 'double//slash.jpg', why: 'an empty path segment' },
    { name: ' leading-space.jpg', why: 'a leading space' },
    { name: 'trailing-space.jpg ', why: 'a trailing space' },
    { name: 'UPPER-lower.JPG', why: 'case' },
    { name: longName, why: `the longest key S3 allows (${MAX_KEY_BYTES} bytes)` },
    { name: 'empty.jpg', why: 'an empty photo (encrypted empty plaintext)', size: 0 },
    {
      name: 'folder-marker/',
      why: 'a zero-byte folder marker, stored as is (not encrypted)',
      size: 0,
      encrypted: false,
      contentType: 'application/x-directory',
    },
  ];
}

/** A date between 2019 and 2024 (the legacy app's years), from the generator. */
function uploadedAt(rng: SeededRandom): string {
  const from = Date.UTC(2019, 0, 1);
  const to = Date.UTC(2024, 11, 31);
  return new Date(from + Math.floor((rng.next() * (to - from)) / 1000) * 1000).toISOString();
}

export function planObjects(o: PlanOptions): PlannedObject[] {
  const rng = new SeededRandom(o.seed);
  const chats = Math.max(1, Math.ceil(o.count / 20));
  const objects: PlannedObject[] = [];
  const seen = new Set<string>();
  const add = (obj: PlannedObject) => {
    const bytes = Buffer.byteLength(obj.key);
    if (bytes > MAX_KEY_BYTES)
      throw new RangeError(`--prefix is too long: it makes a key of ${bytes} bytes, and S3 allows ${MAX_KEY_BYTES}`);
    if (seen.has(obj.key)) return; // a UUID collision is as likely as the seed repeating; never write a key twice
    seen.add(obj.key);
    objects.push(obj);
  };
  for (let i = 0; i < o.count; i += 1) {
    const chatId = String(10_000 + rng.int(0, chats - 1));
    const user = `user-${rng.int(1, 5000)}`;
    add({
      index: objects.length,
      key: `${o.prefix}${chatId}/photos/${rng.uuid()}.jpg`,
      size: drawSize(o.size, rng),
      contentType: JPEG,
      metadata: {
        'uploaded-by': user,
        'chat-id': chatId,
        'uploaded-at': uploadedAt(rng),
        'original-name': `IMG_${rng.int(1, 9999).toString().padStart(4, '0')}.JPG`,
      },
      encrypted: true,
    });
  }
  if (o.oddKeys) {
    const base = `${o.prefix}odd-keys/photos/`;
    for (const odd of oddKeys(base)) {
      add({
        index: objects.length,
        key: `${base}${odd.name}`,
        size: odd.size ?? drawSize(NAMED_SIZES.small, rng),
        contentType: odd.contentType ?? JPEG,
        metadata: { 'uploaded-by': `user-${rng.int(1, 5000)}`, 'chat-id': 'odd-keys', 'uploaded-at': uploadedAt(rng) },
        encrypted: odd.encrypted ?? true,
        odd: odd.why,
      });
    }
  }
  return objects;
}
