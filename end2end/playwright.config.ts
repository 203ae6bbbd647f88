import { defineConfig } from "@playwright/test";

// The suite runs against the server binary that `cargo leptos build` produced; scripts/test.sh
// builds it once. Playwright cannot download browsers here, so it drives Debian's Chromium.
const port = Number(process.env.E2E_PORT ?? 3100);
const baseURL = `http://127.0.0.1:${port}`;
const dataDir = process.env.E2E_DATA_DIR ?? "target/e2e-data";
// The cluster run (`server cluster`: three instances behind HAProxy) for the /cluster test, on
// ports of its own; cluster.spec.ts reads CLUSTER_URL.
const clusterPort = Number(process.env.E2E_CLUSTER_PORT ?? 3200);
process.env.CLUSTER_URL = `http://127.0.0.1:${clusterPort}`;
// A second single instance with COOKIE_SECURE=true (what a deployment behind HTTPS sets), for
// secure-cookies.spec.ts, which reads SECURE_URL.
const securePort = Number(process.env.E2E_SECURE_PORT ?? 3110);
process.env.SECURE_URL = `http://127.0.0.1:${securePort}`;
// The orders service (`server orders`) beside the first instance, over its data directory (the
// same database and session key), as scripts/run.sh starts it.
const ordersPort = Number(process.env.E2E_ORDERS_PORT ?? 3150);
const siteEnv = {
  LEPTOS_SITE_ROOT: "target/site",
  LEPTOS_OUTPUT_NAME: "session-strategies",
  LEPTOS_ENV: "PROD",
  RUST_LOG: "warn",
};
const serverBin = process.env.E2E_SERVER_BIN ?? "target/debug/server";

/** The server binary run as `command`, ready once `health` answers, with `env` on top of what
 * every one gets. */
function serverProcess(command: string, health: string, env: Record<string, string>) {
  return {
    command,
    cwd: "..",
    url: health,
    reuseExistingServer: false,
    timeout: 120_000,
    stdout: "ignore" as const,
    stderr: "pipe" as const,
    env: {
      ...siteEnv,
      REDIS_URL: process.env.REDIS_URL ?? "redis://127.0.0.1:6379",
      ...env,
    },
  };
}

/** One instance of the shop on `instancePort`. */
function singleServer(instancePort: number, env: Record<string, string>) {
  const health = `http://127.0.0.1:${instancePort}/api/v1/health`;
  return serverProcess(serverBin, health, { LEPTOS_SITE_ADDR: `127.0.0.1:${instancePort}`, ...env });
}

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
  webServer: [
    singleServer(port, {
      DATA_DIR: dataDir,
      INSTANCE_ID: "e2e-1",
      DEMO_OUTBOX: "true",
      ORDERS_URL: `http://127.0.0.1:${ordersPort}`,
    }),
    serverProcess(`${serverBin} orders`, `http://127.0.0.1:${ordersPort}/api/v1/orders/health`, {
      ORDERS_ADDR: `127.0.0.1:${ordersPort}`,
      SHOP_URL: baseURL,
      DATA_DIR: dataDir,
      INSTANCE_ID: "orders-1",
    }),
    // Places its orders itself (no orders service shares its key).
    singleServer(securePort, {
      DATA_DIR: `${dataDir}-secure`,
      INSTANCE_ID: "e2e-secure",
      COOKIE_SECURE: "true",
      ORDERS_URL: "off",
    }),
    {
      command: `${serverBin} cluster`,
      cwd: "..",
      url: `http://127.0.0.1:${clusterPort}/api/v1/health`,
      reuseExistingServer: false,
      timeout: 120_000,
      stdout: "ignore",
      stderr: "pipe",
      // Sent SIGTERM at the end: the supervisor stops everything it started.
      gracefulShutdown: { signal: "SIGTERM", timeout: 15_000 },
      env: {
        ...siteEnv,
        CLUSTER_PORT: String(clusterPort),
        CLUSTER_STATS_PORT: String(clusterPort + 1),
        CLUSTER_CONTROL_PORT: String(clusterPort + 2),
        CLUSTER_BASE_PORT: String(clusterPort + 3),
        CLUSTER_REDIS_PORT: process.env.E2E_CLUSTER_REDIS_PORT ?? "6392",
        CLUSTER_MEMCACHED_PORT: process.env.E2E_CLUSTER_MEMCACHED_PORT ?? "11393",
        CLUSTER_DIR: "target/e2e-cluster",
        // The test run's PostgreSQL (scripts/test.sh), else one SQLite file the instances share.
        DATABASE_URL: process.env.TEST_POSTGRES_URL ?? "sqlite://target/e2e-cluster/shop.db?mode=rwc",
      },
    },
  ],
});
