import { performance } from 'node:perf_hooks';
import { SseParser, type SseEvent } from '../src/sse/parser';
import { pool, post, warm, type Endpoint } from './load';
import { summarise, type LatencySummary } from './stats';

/**
 * Many concurrent paced SSE streams, timed per event (autocannon sees only whole responses):
 * time to first byte, the gaps between events, and whether each stream ran to `[DONE]` with
 * no gap longer than `stallMs`. Events are parsed with the gateway's own SSE parser.
 */
export interface StreamLevelResult {
  streams: number;
  completed: number;
  /** Ended without its end event (`[DONE]`, `message_stop`), with an error event, a non-200 status or a broken connection. */
  cut: number;
  /** Completed, but some gap between events was longer than the stall threshold. */
  stalled: number;
  /** Data events per completed stream (median), `[DONE]` included. */
  eventsPerStream: number;
  ttfb: LatencySummary;
  gap: LatencySummary;
  /** Start of the first stream to end of the last, in ms. */
  wallMs: number;
  /** CPU the metered processes used during the measured round, in µs (when a meter is given). */
  cpuUs: number | undefined;
}

/** How a stream of this wire format ends cleanly, and how it reports a failure. */
export type StreamProtocol = 'openai' | 'anthropic';

const ends: Record<StreamProtocol, (event: SseEvent) => 'done' | 'error' | undefined> = {
  // OpenAI: `data: [DONE]`; a failure mid-stream is a data event holding an `error` object.
  openai: (e) =>
    e.data === '[DONE]' ? 'done' : e.data.startsWith('{"error"') ? 'error' : undefined,
  // Anthropic: `event: message_stop`, or `event: error`.
  anthropic: (e) =>
    e.event === 'message_stop' ? 'done' : e.event === 'error' ? 'error' : undefined,
};

export interface StreamOptions {
  spreadMs: number;
  stallMs: number;
  /**
   * Sent on `n` connections at once before the measured round, so it times streaming, not TCP
   * handshakes (client → gateway → upstream); a JSON body does it fastest.
   */
  warmBody: string | undefined;
  protocol?: StreamProtocol;
  /** A stream counts as cut unless some event's data contains this (e.g. `"tool_calls"`). */
  mustContain?: string;
  /** Wraps the measured round (not the warm-up), e.g. the gateway workers' CPU. */
  meter?: { start(): void; stop(): number | undefined };
}

interface OneStream {
  ok: boolean;
  stalled: boolean;
  events: number;
  ttfb: number;
  gaps: number[];
}

async function oneStream(
  client: ReturnType<typeof pool>,
  endpoint: Endpoint,
  body: string,
  options: StreamOptions,
): Promise<OneStream> {
  const ended = ends[options.protocol ?? 'openai'];
  const result: OneStream = { ok: false, stalled: false, events: 0, ttfb: NaN, gaps: [] };
  const t0 = performance.now();
  let last = NaN;
  let done = false;
  let failed = false;
  let contains = options.mustContain === undefined;
  const parser = new SseParser((event) => {
    const now = performance.now();
    if (!Number.isNaN(last)) result.gaps.push(now - last);
    last = now;
    result.events++;
    const end = ended(event);
    if (end === 'done') done = true;
    else if (end === 'error') failed = true;
    if (!contains && event.data.includes(options.mustContain ?? '')) contains = true;
  });
  try {
    const res = await post(client, endpoint, body);
    if (res.statusCode !== 200) {
      await res.body.dump();
      return result;
    }
    const decoder = new TextDecoder();
    for await (const chunk of res.body as AsyncIterable<Buffer>) {
      if (Number.isNaN(result.ttfb)) result.ttfb = performance.now() - t0;
      parser.push(decoder.decode(chunk, { stream: true }));
    }
    parser.end();
  } catch {
    return result;
  }
  result.ok = done && !failed && contains;
  result.stalled = result.gaps.some((gap) => gap > options.stallMs);
  return result;
}

/**
 * Opens `n` streams, their starts spread evenly over `spreadMs` (as independent agents would
 * arrive; streams should last well beyond it, so all `n` run at once), and waits for all to end.
 */
export async function streamLevel(
  endpoint: Endpoint,
  body: string,
  n: number,
  options: StreamOptions,
): Promise<StreamLevelResult> {
  const client = pool(endpoint.origin, n);
  const round = () => {
    const start = performance.now();
    return Promise.all(
      Array.from(
        { length: n },
        (_, i) =>
          new Promise<OneStream>((resolve) =>
            setTimeout(
              () => resolve(oneStream(client, endpoint, body, options)),
              (i * options.spreadMs) / n,
            ),
          ),
      ),
    ).then((streams) => ({ streams, wallMs: performance.now() - start }));
  };
  try {
    if (options.warmBody !== undefined) await warm(client, endpoint, options.warmBody, n);
    options.meter?.start();
    const { streams, wallMs } = await round();
    const cpuUs = options.meter?.stop();
    const completed = streams.filter((s) => s.ok);
    return {
      streams: n,
      completed: completed.length,
      cut: n - completed.length,
      stalled: completed.filter((s) => s.stalled).length,
      eventsPerStream: summarise(completed.map((s) => s.events)).p50,
      ttfb: summarise(completed.map((s) => s.ttfb)),
      gap: summarise(completed.flatMap((s) => s.gaps)),
      wallMs,
      cpuUs,
    };
  } finally {
    await client.close();
  }
}
