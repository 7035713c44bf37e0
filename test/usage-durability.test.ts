import { Agent, fetch as undiciFetch } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMockOpenAI, MOCK_REPLY } from '../src/providers/mock/mock-openai';
import { openaiUpstreamConfig, startGateway } from './helpers/gateway';
import { startUpstream, type UpstreamServer } from './mocks/upstream-server';

/**
 * Usage records survive the crash of the worker that answered: a worker hands each record to
 * the primary before the reply's last byte goes out, so `kill -9` of a worker under load loses
 * no record of a request whose answer a client received.
 */
let upstream: UpstreamServer;

beforeAll(async () => {
  upstream = await startUpstream(createMockOpenAI({ chunkDelayMs: 2 }));
});
afterAll(async () => upstream?.close());

interface Outcome {
  answered: string[];
  failed: number;
}

/** One client: requests back to back (streamed every other one) until told to stop. */
async function client(
  url: string,
  key: string,
  name: string,
  dispatcher: Agent,
  running: () => boolean,
  outcome: Outcome,
): Promise<void> {
  for (let n = 0; running(); n++) {
    const id = `${name}-${n}`;
    const stream = n % 2 === 1;
    try {
      const res = await undiciFetch(`${url}/v1/chat/completions`, {
        method: 'POST',
        dispatcher,
        headers: {
          authorization: `Bearer ${key}`,
          'content-type': 'application/json',
          'x-request-id': id,
        },
        body: JSON.stringify({
          model: 'gpt-test',
          stream,
          messages: [{ role: 'user', content: id }],
        }),
      });
      const body = await res.text();
      const complete = stream
        ? body.endsWith('data: [DONE]\n\n')
        : (JSON.parse(body) as { choices: Array<{ message: { content: string } }> }).choices[0]
            ?.message.content === MOCK_REPLY;
      if (res.status === 200 && complete) outcome.answered.push(id);
      else outcome.failed++;
    } catch {
      outcome.failed++;
    }
  }
}

describe('kill -9 of a worker under load', () => {
  it('loses no usage record of a request that was answered', async () => {
    const gateway = await startGateway({
      config: openaiUpstreamConfig(upstream.url),
      workers: 2,
      env: { TEST_UPSTREAM_KEY: 'k' },
    });
    // Limits on, so admission goes through leases from the primary as well.
    const { key } = await gateway.createKey({
      name: 'load',
      models: ['*'],
      rpm: 1_000_000,
      tpm: 1_000_000_000,
    });
    const dispatcher = new Agent({ connections: 12 });
    let running = true;
    const outcome: Outcome = { answered: [], failed: 0 };
    const clients = Array.from({ length: 12 }, (_, i) =>
      client(gateway.url, key, `c${i}`, dispatcher, () => running, outcome),
    );
    // Under load: enough requests answered (the machine may be busy with other tests).
    for (let waited = 0; outcome.answered.length <= 20 && waited < 15_000; waited += 100) {
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    await new Promise((resolve) => setTimeout(resolve, 500));
    const [victim] = gateway.workerPids();
    const answeredBeforeKill = outcome.answered.length;
    process.kill(victim!, 'SIGKILL');
    await new Promise((resolve) => setTimeout(resolve, 1500));
    running = false;
    await Promise.all(clients);
    await dispatcher.close();

    expect(answeredBeforeKill).toBeGreaterThan(20);
    expect(outcome.answered.length).toBeGreaterThan(answeredBeforeKill);
    expect(gateway.output()).toMatch(/"event":"worker_exited".*"signal":"SIGKILL"/);

    let missing: string[] = [];
    let rows = 0;
    const code = await gateway.stop('SIGTERM', () => {
      const stored = new Set(
        gateway
          .query<{ request_id: string }>('select request_id from usage_records')
          .map((row) => row.request_id),
      );
      rows = stored.size;
      missing = outcome.answered.filter((id) => !stored.has(id));
    });
    expect(code, gateway.output().slice(-3000)).toBe(0);
    expect(missing).toEqual([]);
    expect(rows).toBeGreaterThanOrEqual(outcome.answered.length);
  });
});
