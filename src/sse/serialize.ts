/** Frames one SSE event. Data with line breaks becomes several `data:` lines, as the grammar asks. */
export function formatSseEvent(data: string, event?: string): string {
  const head = event === undefined ? '' : `event: ${event}\n`;
  if (!data.includes('\n') && !data.includes('\r')) return `${head}data: ${data}\n\n`;
  return `${head}${data
    .split(/\r\n|\r|\n/)
    .map((line) => `data: ${line}\n`)
    .join('')}\n`;
}

export const sseHeaders = {
  'content-type': 'text/event-stream; charset=utf-8',
  'cache-control': 'no-cache',
} as const;
