import { createApp } from '../src/app';
import { workerDeps } from './deps';

export { CounterObject } from './counter-object';

type App = ReturnType<typeof createApp>;
/** One app per isolate, built on its first request (bindings arrive with requests). */
let app: Promise<App> | undefined;

/** The Workers entry: the same Hono app as on Node, with the deps of worker/deps.ts. */
export default {
  async fetch(request, env, ctx) {
    app ??= workerDeps(env)
      .then(createApp)
      .catch((err: unknown) => {
        app = undefined;
        throw err;
      });
    return (await app).fetch(request, env, ctx);
  },
} satisfies ExportedHandler<Env>;
