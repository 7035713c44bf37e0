import { z } from 'zod';
import type { GatewayDb } from '../db/database';
import { usageSummary, type UsageGroup } from '../db/usage-repo';
import { GatewayError } from '../errors/gateway-error';
import { MAX_MODEL_NAME } from '../http/body';
import { parseInput } from './keys';
import { queryInt, queryTime } from './limits';

/** Ids as newId makes them: a malformed one is refused, not taken as a filter matching nothing. */
const keyId = z.string().regex(/^key_[A-Za-z0-9_-]{1,64}$/, 'a key id (key_…)');
const teamId = z.string().regex(/^team_[A-Za-z0-9_-]{1,64}$/, 'a team id (team_…)');

/** What `after` (a previous page's next_after) may be: a group's value. */
const afterOf: Record<UsageGroup, z.ZodType<string>> = {
  key: keyId,
  // '' is the group of keys in no team.
  team: z.union([z.literal(''), teamId]),
  // Any name a record can hold: '' (refused before its model was read) up to the POST routes' cap.
  model: z.string().max(MAX_MODEL_NAME),
};

/** GET /admin/usage query: which grouping, the range [from, to), filters, and a page. */
export const usageQueryInput = z.strictObject({
  group_by: z.enum(['key', 'team', 'model']).default('key'),
  from: queryTime.optional(),
  to: queryTime.optional(),
  key_id: keyId.optional(),
  team_id: teamId.optional(),
  /** '' (present but empty) is the records refused before their model was read. */
  model: afterOf.model.optional(),
  limit: queryInt(1, 1000).default(100),
  /** The `next_after` of the previous page. */
  after: z.string().optional(),
});

const DAY_MS = 86_400_000;
const groupField = { key: 'key_id', team: 'team_id', model: 'model' } as const satisfies Record<
  UsageGroup,
  string
>;

/** Usage and spend per key, team or model over a time range (default: the last 30 days). */
export async function usageReport(db: GatewayDb, query: Record<string, string>) {
  const input = parseInput(usageQueryInput, query);
  if (input.after !== undefined && !afterOf[input.group_by].safeParse(input.after).success) {
    throw new GatewayError(
      'invalid_request',
      `after: not a ${input.group_by} of this report; pass the next_after of the previous page`,
      { param: 'after' },
    );
  }
  const to = input.to ?? Date.now() + 1;
  const from = input.from ?? to - 30 * DAY_MS;
  if (from >= to) {
    throw new GatewayError('invalid_request', 'from: must be before to', { param: 'from' });
  }
  const rows = await usageSummary(db, {
    groupBy: input.group_by,
    from,
    to,
    keyId: input.key_id,
    teamId: input.team_id,
    model: input.model,
    after: input.after,
    limit: input.limit + 1,
  });
  const page = rows.slice(0, input.limit);
  const field = groupField[input.group_by];
  return {
    object: 'list',
    group_by: input.group_by,
    from: new Date(from).toISOString(),
    to: new Date(to).toISOString(),
    data: page.map((row) => ({
      [field]: input.group_by === 'team' && row.group === '' ? null : row.group,
      requests: row.requests,
      errors: row.errors,
      input_tokens: row.inputTokens,
      output_tokens: row.outputTokens,
      cached_input_tokens: row.cachedInputTokens,
      cache_write_tokens: row.cacheWriteTokens,
      reasoning_tokens: row.reasoningTokens,
      cost_usd: row.costUsd,
    })),
    has_more: rows.length > input.limit,
    next_after: rows.length > input.limit ? (page.at(-1)?.group ?? null) : null,
  };
}
