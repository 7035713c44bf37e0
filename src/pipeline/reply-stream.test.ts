import { describe, expect, it } from 'vitest';
import { replyStream, type ReplyFeed, type StreamEnd } from './reply-stream';
import type { ChunkSink, ChunkSource } from './transport';

const bytes = (text: string) => new TextEncoder().encode(text);
const text = (chunk: Uint8Array) => new TextDecoder().decode(chunk);

/** A source the test drives: it pushes when told, and logs what the stream asks of its flow. */
function drivenSource() {
  let sink: ChunkSink | undefined;
  const asked: string[] = [];
  const source: ChunkSource = (s) => {
    sink = s;
    return {
      pause: () => void asked.push('pause'),
      resume: () => void asked.push('resume'),
      cancel: (reason) => void asked.push(`cancel ${String(reason)}`),
    };
  };
  return { source, asked, sink: () => sink! };
}

/** A feed that passes each chunk on and closes at the end. */
function passing(stops: StreamEnd[] = []): ReplyFeed {
  return {
    data: (out, chunk) => out.enqueue(chunk),
    end: (out) => out.close(),
    error: (out, error) => out.error(error),
    ended: () => false,
    stop: (end) => void stops.push(end),
  };
}

describe('replyStream', () => {
  it('says when its first chunk is in, and the reader still gets that chunk first', async () => {
    const driven = drivenSource();
    const stream = replyStream(driven.source, passing());
    driven.sink().data(bytes('a'));
    expect(await stream.first).toBe(true);
    driven.sink().data(bytes('b'));
    driven.sink().end();
    const read: string[] = [];
    const reader = stream.getReader();
    for (let r = await reader.read(); !r.done; r = await reader.read()) read.push(text(r.value));
    expect(read).toEqual(['a', 'b']);
  });

  it('pauses the upstream while a chunk waits for the client, and resumes it as the client reads', async () => {
    const driven = drivenSource();
    const stream = replyStream(driven.source, passing());
    driven.sink().data(bytes('x'));
    expect(driven.asked).toEqual(['pause']);
    const reader = stream.getReader();
    expect(text((await reader.read()).value!)).toBe('x');
    await new Promise((resolve) => setTimeout(resolve, 0));
    expect(driven.asked.at(-1)).toBe('resume');
  });

  it('reads the rest of the upstream to its end once the reply is closed, even with the client behind', () => {
    const driven = drivenSource();
    replyStream(driven.source, {
      ...passing(),
      data: (out, chunk) => {
        out.enqueue(chunk);
        out.close(); // the last event: the reply is complete, the upstream's end not yet read
      },
    });
    driven.sink().data(bytes('last'));
    expect(driven.asked).toEqual(['pause', 'resume']);
  });

  it('is false for a stream that closes with nothing, and rejects when it fails', async () => {
    const empty = drivenSource();
    const closed = replyStream(empty.source, passing());
    empty.sink().end();
    expect(await closed.first).toBe(false);
    const broken = drivenSource();
    const failed = replyStream(broken.source, passing());
    broken.sink().error(new Error('broke'));
    await expect(failed.first).rejects.toThrow('broke');
  });

  it('on a cancel: stops the feed as cancelled, lets the upstream go, and drops later writes', async () => {
    const driven = drivenSource();
    const stops: StreamEnd[] = [];
    const stream = replyStream(driven.source, passing(stops));
    await stream.cancel('gone');
    expect(stops).toEqual([{ outcome: 'cancelled' }]);
    expect(driven.asked).toEqual(['cancel gone']);
    expect(() => driven.sink().data(bytes('late'))).not.toThrow();
  });

  it('contains a fault of the feed: the read fails, the feed stops as an error, the upstream goes', async () => {
    const driven = drivenSource();
    const stops: StreamEnd[] = [];
    const feed = passing(stops);
    const stream = replyStream(driven.source, {
      ...feed,
      data: () => {
        throw new Error('a fault of the feed');
      },
    });
    expect(() => driven.sink().data(bytes('x'))).not.toThrow();
    await expect(stream.getReader().read()).rejects.toThrow('a fault of the feed');
    expect(stops.map((s) => s.outcome)).toEqual(['error']);
    expect(driven.asked).toContain('cancel undefined');
  });

  it('passes an upstream failure to the feed only until its accounting has ended', () => {
    const driven = drivenSource();
    const errors: unknown[] = [];
    replyStream(driven.source, {
      ...passing(),
      ended: () => true,
      error: (_, e) => errors.push(e),
    });
    driven.sink().error(new Error('late'));
    expect(errors).toEqual([]);
  });
});
