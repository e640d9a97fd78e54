'use strict'
// `npm run test:compat` runs `jest --config __test__/compat/jest/jest.config.js --detectOpenHandles`.
module.exports = {
  rootDir: __dirname,
  testEnvironment: 'node',
  testMatch: ['<rootDir>/*.test.js'],
}
