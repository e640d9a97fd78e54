// `npm run test:compat` runs `vitest run --config __test__/compat/vitest/vitest.config.mjs`.
// Two projects run the same files: in child processes (vitest's default pool) and in
// worker_threads, where the addon is loaded inside a Worker that vitest terminates.
import { defineConfig } from 'vitest/config'

const root = import.meta.dirname ?? new URL('.', import.meta.url).pathname

export default defineConfig({
  test: {
    root,
    projects: [
      { test: { name: 'forks', root, include: ['*.test.mjs'], pool: 'forks' } },
      { test: { name: 'threads', root, include: ['*.test.mjs'], pool: 'threads' } },
    ],
  },
})
