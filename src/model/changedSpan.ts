/** Where two texts differ: the smallest span of `old` to replace to get `text`. */

/** Characters compared at once (natively) before the first and after the last difference. */
const CHUNK = 256;

/** [start, oldEnd, newEnd]: `old` and `text` differ only in `[start, oldEnd)` / `[start, newEnd)`. */
export function changedSpan(
  old: string,
  text: string
): [number, number, number] {
  const limit = Math.min(old.length, text.length);
  let start = 0;
  while (
    start + CHUNK <= limit &&
    old.slice(start, start + CHUNK) === text.slice(start, start + CHUNK)
  ) {
    start += CHUNK;
  }
  while (start < limit && old[start] === text[start]) {
    start++;
  }
  let oldEnd = old.length;
  let newEnd = text.length;
  while (
    oldEnd - CHUNK >= start &&
    newEnd - CHUNK >= start &&
    old.slice(oldEnd - CHUNK, oldEnd) === text.slice(newEnd - CHUNK, newEnd)
  ) {
    oldEnd -= CHUNK;
    newEnd -= CHUNK;
  }
  while (
    oldEnd > start &&
    newEnd > start &&
    old[oldEnd - 1] === text[newEnd - 1]
  ) {
    oldEnd--;
    newEnd--;
  }
  return [start, oldEnd, newEnd];
}
