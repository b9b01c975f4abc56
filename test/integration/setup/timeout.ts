// Integration tests talk to a real server and spawn CLIs: give each test a minute unless it says otherwise.
// (`testTimeout` in a project's config is not applied by jest 30; this is.)
jest.setTimeout(60_000);
