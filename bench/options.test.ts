import { describe, expect, it } from 'vitest';
import { parseOptions } from './options';

describe('bench options: --node-args', () => {
  it('splits the flags given after "=" and passes none by default', () => {
    expect(parseOptions(['--node-args=--max-semi-space-size=32  --trace-gc']).nodeArgs).toEqual([
      '--max-semi-space-size=32',
      '--trace-gc',
    ]);
    expect(parseOptions([]).nodeArgs).toEqual([]);
  });
});
