// Two projects: `unit` needs nothing but Node and Terraform's offline mirror; `integration` runs against a real
// S3 server (the local Ceph RGW rig, started once by its global setup, or any endpoint given by environment).
// tsconfig's isolatedModules makes ts-jest transpile file by file (fast); `tsc --noEmit` type-checks separately.
const transform = { '^.+\\.ts$': ['ts-jest', {}] };

module.exports = {
  projects: [
    {
      displayName: 'unit',
      testEnvironment: 'node',
      transform,
      testMatch: ['<rootDir>/test/**/*.test.ts'],
      testPathIgnorePatterns: ['/node_modules/', '<rootDir>/test/integration/'],
    },
    {
      displayName: 'integration',
      testEnvironment: 'node',
      transform,
      testMatch: ['<rootDir>/test/integration/**/*.test.ts'],
      // One local S3 rig for the run (or the endpoint of BUCKETMOVE_TEST_STATE); see test/integration/README.md.
      globalSetup: '<rootDir>/test/integration/setup/global-setup.ts',
      globalTeardown: '<rootDir>/test/integration/setup/global-teardown.ts',
      setupFilesAfterEnv: ['<rootDir>/test/integration/setup/timeout.ts'],
    },
  ],
};
