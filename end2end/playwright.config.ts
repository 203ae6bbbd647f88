import { defineConfig } from "@playwright/test";

// The suite runs against the server binary that `cargo leptos build` produced; scripts/test.sh
// builds it once. Playwright cannot download browsers here, so it drives Debian's Chromium.
const port = Number(process.env.E2E_PORT ?? 3100);
const baseURL = `http://127.0.0.1:${port}`;
const dataDir = process.env.E2E_DATA_DIR ?? "target/e2e-data";

export default defineConfig({
  testDir: "./tests",
  timeout: 60_000,
  expect: { timeout: 10_000 },
  fullyParallel: true,
  workers: 2,
  retries: 0,
  forbidOnly: !!process.env.CI,
  reporter: "list",
  use: {
    baseURL,
    trace: "retain-on-failure",
    launchOptions: {
      executablePath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium",
      args: [
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        "--disable-quic",
      ],
    },
  },
  projects: [{ name: "chromium", use: { browserName: "chromium" } }],
  webServer: {
    command: process.env.E2E_SERVER_BIN ?? "target/debug/server",
    cwd: "..",
    url: `${baseURL}/api/v1/health`,
    reuseExistingServer: false,
    timeout: 120_000,
    stdout: "ignore",
    stderr: "pipe",
    env: {
      LEPTOS_SITE_ADDR: `127.0.0.1:${port}`,
      LEPTOS_SITE_ROOT: "target/site",
      LEPTOS_OUTPUT_NAME: "session-strategies",
      LEPTOS_ENV: "PROD",
      DATA_DIR: dataDir,
      INSTANCE_ID: "e2e-1",
      DEMO_OUTBOX: "true",
      REDIS_URL: process.env.REDIS_URL ?? "redis://127.0.0.1:6379",
      RUST_LOG: "warn",
    },
  },
});
