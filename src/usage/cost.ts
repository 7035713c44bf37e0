import { priceTable, type PriceRow } from './price-table';
import type { TokenUsage } from './usage';

/** USD per million tokens. */
export interface Price {
  input: number;
  cachedInput: number;
  cacheWrite: number;
  output: number;
}

function fromRow([input, cachedInput, cacheWrite, output]: PriceRow): Price {
  return { input, cachedInput, cacheWrite, output };
}

const DATED = /(-\d{4}-\d{2}-\d{2}|-\d{8}|@\d{8}|-latest|-\d{4})$/;

/** The table's price for a model id the provider is sent: exact, without a vendor prefix, or without a date suffix. */
export function tablePrice(model: string): Price | undefined {
  const bare = model.includes('/') ? model.slice(model.lastIndexOf('/') + 1) : model;
  for (const id of [model, bare, bare.replace(DATED, '')]) {
    const row = priceTable[id];
    if (row !== undefined) return fromRow(row);
  }
  return undefined;
}

/**
 * The cost of one call. Input tokens include cached and cache-written ones (TokenUsage), so the
 * uncached rest is priced at the input price and each cached or written token only at its own.
 */
export function costOf(usage: TokenUsage, price: Price): number {
  const cached = Math.min(usage.cachedInputTokens, usage.inputTokens);
  const written = Math.min(usage.cacheWriteTokens, usage.inputTokens - cached);
  const fresh = usage.inputTokens - cached - written;
  return (
    (fresh * price.input +
      cached * price.cachedInput +
      written * price.cacheWrite +
      usage.outputTokens * price.output) /
    1_000_000
  );
}

/** The dearest of several prices, column by column: what a call may cost whichever serves it. */
export function maxPrice(prices: ReadonlyArray<Price | undefined>): Price | undefined {
  let max: Price | undefined;
  for (const p of prices) {
    if (p === undefined) continue;
    max =
      max === undefined
        ? { ...p }
        : {
            input: Math.max(max.input, p.input),
            cachedInput: Math.max(max.cachedInput, p.cachedInput),
            cacheWrite: Math.max(max.cacheWrite, p.cacheWrite),
            output: Math.max(max.output, p.output),
          };
  }
  return max;
}
