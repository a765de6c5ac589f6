/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  transform: {
    '^.+\\.ts$': 'ts-jest',
    // oauth4webapi ships only as an ES module; compile it to CommonJS like the project's own code.
    '/node_modules/oauth4webapi/.+\\.js$': ['ts-jest', { tsconfig: { allowJs: true }, diagnostics: false }],
  },
  transformIgnorePatterns: ['/node_modules/(?!oauth4webapi/)'],
  testTimeout: 30000,
  globalSetup: '<rootDir>/test/global-setup.ts',
  // Sockets and timers belong to each test; a leak shows up as a hang, so fail fast instead.
  forceExit: false,
};
