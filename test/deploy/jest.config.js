/**
 * `npm run test:deploy`: builds the image with the real Dockerfile and runs it with podman
 * (test/deploy/README.md). Apart from the main suite, which it would slow by minutes.
 */
const base = require('../../jest.config.js');

/** @type {import('jest').Config} */
module.exports = {
  ...base,
  rootDir: '../..',
  roots: ['<rootDir>/test/deploy'],
  testPathIgnorePatterns: ['/node_modules/'],
  testTimeout: 20 * 60_000,
  globalSetup: undefined,
};
