import { changedSpan } from '../model/changedSpan';

/** `old` with its changed span replaced as `changedSpan` says gives `text`. */
function apply(old: string, text: string): string {
  const [start, oldEnd, newEnd] = changedSpan(old, text);
  return old.slice(0, start) + text.slice(start, newEnd) + old.slice(oldEnd);
}

describe('changedSpan', () => {
  const long = Array.from({ length: 3000 }, (_, i) => `{"n": ${i}}`).join(',');

  it('is empty for equal texts', () => {
    expect(changedSpan(long, `${long}`)).toEqual([
      long.length,
      long.length,
      long.length
    ]);
  });

  it.each([0, 1, 255, 256, 257, 5000, 20000])(
    'finds a one-character change at %i exactly',
    at => {
      const text = long.slice(0, at) + '#' + long.slice(at + 1);
      expect(changedSpan(long, text)).toEqual([at, at + 1, at + 1]);
      expect(apply(long, text)).toBe(text);
    }
  );

  it.each([
    [
      'an insertion',
      (s: string) => s.slice(0, 7000) + 'inserted' + s.slice(7000)
    ],
    ['a deletion', (s: string) => s.slice(0, 7000) + s.slice(7300)],
    ['a change at the end', (s: string) => s + ',{"n": "last"}'],
    ['a change at the start', (s: string) => '[' + s.slice(3)],
    [
      'a repeated pattern',
      (s: string) => s.replace('{"n": 1}', '{"n": 1},{"n": 1}')
    ]
  ])('keeps everything but %s', (_, edit) => {
    const text = edit(long);
    const [start, oldEnd, newEnd] = changedSpan(long, text);
    expect(apply(long, text)).toBe(text);
    expect(oldEnd - start + (newEnd - start)).toBeLessThanOrEqual(
      Math.abs(text.length - long.length) + 8
    );
  });

  it('handles empty texts', () => {
    expect(changedSpan('', 'abc')).toEqual([0, 0, 3]);
    expect(changedSpan('abc', '')).toEqual([0, 3, 0]);
  });
});
