/**
 * The walls between the three halves of bucketmove (infrastructure, the app's store, the migration engine), enforced
 * by `npm run lint:deps` (part of `npm test`). docs/architecture.md draws them.
 */
module.exports = {
  forbidden: [
    {
      name: 'stacks-not-runtime',
      severity: 'error',
      comment:
        'The stacks describe infrastructure: they never import the migrator runtime (what both need lives in workspaces/).',
      from: { path: '^(stacks/|main\\.ts$)' },
      to: { path: '^migrator/' },
    },
    {
      name: 'codecs-pure',
      severity: 'error',
      comment: 'Codecs are byte transforms: no AWS client, no AWS code (their keys come resolved: aws/codec-keys.ts).',
      from: { path: '^migrator/src/codec/' },
      to: { path: '(^migrator/src/aws/|@aws-sdk/|@smithy/)' },
    },
    {
      name: 'store-not-engine',
      severity: 'error',
      comment:
        "The app's store never imports the migration engine: both use the object primitives in migrator/src/objects/.",
      from: { path: '^migrator/src/(store|gateway|service)/' },
      to: { path: '^migrator/src/(migrate|audit|teardown|batch|sources|seed|demo)/' },
    },
    {
      name: 'objects-are-primitives',
      severity: 'error',
      comment: 'The object primitives serve the engine and the store alike, so they import neither.',
      from: { path: '^migrator/src/objects/' },
      to: { path: '^migrator/src/(migrate|store|audit|teardown|batch|sources|cli|gateway|service)/' },
    },
    {
      name: 'shipped-not-rig',
      severity: 'error',
      comment: "Shipped code never imports the development rig (the demo is the rig's own tour: it may).",
      from: { path: '^(migrator/src/|stacks/|workspaces/|main\\.ts$)', pathNot: '^migrator/src/demo/' },
      to: { path: '^migrator/rig/' },
    },
    {
      name: 'only-commands-import-cli',
      severity: 'error',
      comment:
        'Command-line plumbing stays at the edge: modules raise errors (workspaces/errors.ts), the commands render them.',
      from: { path: '^migrator/src/', pathNot: '^migrator/src/(cli|demo)/|/(main|cli)\\.ts$' },
      to: { path: '^migrator/src/cli/' },
    },
    {
      name: 'shipped-not-tests-or-benches',
      severity: 'error',
      from: { path: '^(migrator/src/|stacks/|workspaces/|main\\.ts$)' },
      to: { path: '^(test/|migrator/bench/)' },
    },
    {
      name: 'no-circular',
      severity: 'error',
      comment: 'No runtime cycles (a type-only import back, such as a report and its renderer, is allowed).',
      from: {},
      to: { circular: true, viaOnly: { dependencyTypesNot: ['type-only'] } },
    },
    {
      name: 'no-orphans',
      severity: 'error',
      comment: 'Every source file is imported or is an entry point.',
      from: {
        orphan: true,
        pathNot: [
          '\\.d\\.ts$',
          '(^|/)\\.[^/]+\\.(js|cjs|mjs|ts|json)$',
          '^main\\.ts$',
          '^bin/',
          '^scripts/',
          '^migrator/bench/',
          '^migrator/rig/cli\\.ts$',
          '/(main|cli|handler|demo)\\.ts$',
          '^migrator/src/cli/',
          '^jest\\.config',
          '^test/',
        ],
      },
      to: {},
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^(dist|node_modules|\\.cache|cdktf\\.out)/' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
  },
};
