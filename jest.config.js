/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  // The template's own tests (the bot, the README, monitoring/, packing a fork), then each package's.
  roots: ['<rootDir>/test', '<rootDir>/packages/kit/test', '<rootDir>/packages/sandbox/test'],
  testMatch: ['**/*.test.ts'],
  // test/deploy builds and runs the container image: `npm run test:deploy`, after the suite in CI.
  testPathIgnorePatterns: ['/node_modules/', '<rootDir>/test/deploy/'],
  // The packages run from source, as `npm start` runs them (tsconfig.json maps the same names).
  moduleNameMapper: {
    '^@clickdesk-bot/kit$': '<rootDir>/packages/kit/src/index.ts',
    '^@clickdesk-bot/sandbox$': '<rootDir>/packages/sandbox/src/index.ts',
    '^@clickdesk-bot/sandbox/testing$': '<rootDir>/packages/sandbox/src/testing/index.ts',
  },
  transform: {
    '^.+\\.ts$': 'ts-jest',
    // oauth4webapi ships only as an ES module; compile it to CommonJS like the project's own code.
    '/node_modules/oauth4webapi/.+\\.js$': ['ts-jest', { tsconfig: { allowJs: true }, diagnostics: false }],
  },
  transformIgnorePatterns: ['/node_modules/(?!oauth4webapi/)'],
  testTimeout: 30000,
  globalSetup: '<rootDir>/packages/kit/test/global-setup.ts',
  // Sockets and timers belong to each test; a leak shows up as a hang, so fail fast instead.
  forceExit: false,
};
