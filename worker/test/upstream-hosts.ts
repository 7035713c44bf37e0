/** Where the Worker's conformance config (worker/vitest.config.ts) puts its upstreams: answered in the test (harness.ts). */
export const UPSTREAM_HOSTS = {
  openai: 'http://openai.upstream.test',
  anthropic: 'http://anthropic.upstream.test',
  gemini: 'http://gemini.upstream.test',
  dead: 'http://dead.upstream.test',
};
