import { describe, expect, it } from 'vitest';
import { median, medianSummary, summarise } from './stats';

describe('summarise', () => {
  it('takes nearest-rank percentiles of the raw samples', () => {
    const samples = Array.from({ length: 100 }, (_, i) => 100 - i); // 100 … 1, unsorted
    expect(summarise(samples)).toEqual({
      count: 100,
      p50: 50,
      p90: 90,
      p99: 99,
      max: 100,
      mean: 50.5,
    });
  });

  it('keeps sub-millisecond resolution', () => {
    expect(summarise([0.125, 0.25, 0.375]).p50).toBe(0.25);
  });

  it('gives NaN, not zero, for no samples', () => {
    expect(summarise([]).p50).toBeNaN();
  });
});

describe('median', () => {
  it('is the middle value, or the mean of the two middle values', () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 3, 2])).toBe(2.5);
  });

  it('ignores runs that measured nothing', () => {
    expect(median([undefined, 5, Number.NaN])).toBe(5);
    expect(median([])).toBeNaN();
  });

  it('combines summaries field by field', () => {
    const a = summarise([1, 2, 3]);
    const b = summarise([2, 4, 6]);
    const c = summarise([3, 6, 9]);
    expect(medianSummary([a, b, c])).toEqual(b);
  });
});
