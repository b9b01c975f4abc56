/**
 * The order S3 lists keys in: ListObjectsV2 returns keys in ascending order of their UTF-8 bytes, and SQLite's default
 * (BINARY) collation orders the checkpoint's TEXT keys the same way. JavaScript's `<` compares UTF-16 code units,
 * which disagrees with UTF-8 byte order when one key has a character above U+FFFF (a surrogate pair, 0xD800-0xDFFF)
 * where the other has one in U+E000-U+FFFF: '\u{1F600}' < '\uFFFD' in JS, but its UTF-8 bytes sort after.
 *
 * `compareKeys` gives UTF-8 byte order without encoding: at the first differing code unit, surrogates are moved above
 * U+E000-U+FFFF, which yields code point order, and code point order is UTF-8 byte order.
 */

function weight(unit: number): number {
  if (unit >= 0xd800 && unit <= 0xdfff) return unit + 0x2000; // surrogates: after everything in the BMP
  if (unit >= 0xe000) return unit - 0x800; // U+E000-U+FFFF: just below them
  return unit;
}

/** Negative, zero or positive as `a` sorts before, with, or after `b` in UTF-8 byte order. */
export function compareKeys(a: string, b: string): number {
  if (a === b) return 0;
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x !== y) return weight(x) - weight(y);
  }
  return a.length - b.length;
}
