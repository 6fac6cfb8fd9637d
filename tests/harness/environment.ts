import { FAKE_ADMIN_TOKEN } from "../fixtures/github-credentials";

// Loaded by .mocharc.json before any test: the admin token the `aks` stack reads from the environment
// (config/github.ts, parseAdminToken) is always the fixture's, never the developer's own GITHUB_TOKEN.
process.env.GITHUB_TOKEN = FAKE_ADMIN_TOKEN;
