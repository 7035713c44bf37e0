/**
 * What may reach a caller of an upstream's words: anything that looks like a credential is
 * removed, and so is every credential Vidai holds, verbatim (a short key of a self-hosted
 * server looks like nothing in particular, and a provider may echo it back).
 */
const MAX_MESSAGE = 500;

const secretPatterns = [
  /\b(?:sk|pk|rk|vk|key|token|api[-_]?key)[-_][A-Za-z0-9_*.-]{6,}/gi,
  /\bBearer\s+\S+/gi,
  /\b[A-Za-z0-9_-]{32,}\b/g,
  /([?&](?:key|api[-_]?key|token|sig)=)[^&\s"']+/gi,
];

/**
 * The credentials compiled configs hold (compile.ts adds each). Only ever added to: a config
 * compiled again keeps the old ones redacted too, which costs nothing and can leak nothing.
 */
const held = new Set<string>();
let longestFirst: string[] = [];

export function holdsSecret(value: string): void {
  if (value === '' || held.has(value)) return;
  held.add(value);
  longestFirst = [...held].sort((a, b) => b.length - a.length);
}

export function redactSecrets(text: string): string {
  let out = text;
  for (const secret of longestFirst) {
    if (out.includes(secret)) out = out.split(secret).join('[redacted]');
  }
  for (const pattern of secretPatterns) {
    out = out.replace(pattern, (match, prefix: unknown) =>
      typeof prefix === 'string' && match.startsWith(prefix) ? `${prefix}[redacted]` : '[redacted]',
    );
  }
  return out.length > MAX_MESSAGE ? `${out.slice(0, MAX_MESSAGE)}…` : out;
}
