import { describe, expect, it, vi } from 'vitest';
import { Cancel } from './cancel';

describe('Cancel', () => {
  it('calls each listener once, on the first abort only', () => {
    const cancel = new Cancel();
    const a = vi.fn();
    const b = vi.fn();
    cancel.addEventListener('abort', a);
    cancel.addEventListener('abort', b);
    cancel.abort();
    cancel.abort();
    expect(cancel.aborted).toBe(true);
    expect(a).toHaveBeenCalledTimes(1);
    expect(b).toHaveBeenCalledTimes(1);
  });

  it('never calls a listener that was removed, or added after the abort (as AbortSignal)', () => {
    const cancel = new Cancel();
    const removed = vi.fn();
    const kept = vi.fn();
    cancel.addEventListener('abort', removed);
    cancel.addEventListener('abort', kept);
    cancel.removeEventListener('abort', removed);
    cancel.abort();
    const late = vi.fn();
    cancel.addEventListener('abort', late);
    expect(removed).not.toHaveBeenCalled();
    expect(kept).toHaveBeenCalledTimes(1);
    expect(late).not.toHaveBeenCalled();
  });

  it('follows a real AbortSignal or another Cancel until unlinked', () => {
    const controller = new AbortController();
    const follower = new Cancel();
    follower.follow(controller.signal);
    controller.abort();
    expect(follower.aborted).toBe(true);

    const upstream = new Cancel();
    const unlinked = new Cancel();
    const unlink = unlinked.follow(upstream);
    unlink();
    upstream.abort();
    expect(unlinked.aborted).toBe(false);

    const already = new Cancel();
    already.abort();
    const late = new Cancel();
    late.follow(already);
    expect(late.aborted).toBe(true);
  });
});
