// `npm run test:compat` runs `ava --config __test__/compat/ava/ava.config.mjs`.
export default {
  // Relative to the project directory, which AVA takes from the nearest package.json (the root).
  files: ['__test__/compat/ava/*.test.js'],
  timeout: '10s',
}
