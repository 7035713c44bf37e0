import { describe, expect, it } from 'vitest';
import { budgetView } from './limits';

describe('budgetView', () => {
  it('shows dollars to a millionth, without the noise of summed float costs', () => {
    const row = { rpm: null, tpm: null, budgetUsd: 0.03, budgetPeriod: 'lifetime' as const };
    const view = budgetView(row, 0.1 + 0.2 - 0.292, Date.now());
    expect(view).toMatchObject({ spent_usd: 0.008, remaining_usd: 0.022 });
  });

  it('is null without a budget', () => {
    expect(budgetView({ rpm: 1, tpm: null, budgetUsd: null, budgetPeriod: null }, 0, 0)).toBeNull();
  });
});
