// Takes the README's screenshots from a running server: `node scripts/screenshots.mjs [baseURL]`.
import { chromium } from "@playwright/test";

const baseURL = process.argv[2] ?? "http://127.0.0.1:3000";
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium",
  args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"],
});
const page = await browser.newPage({ baseURL, viewport: { width: 1200, height: 760 } });
await page.goto("/");
for (const product of ["Green Tea", "Green Tea", "Enamel Mug", "Headphones"]) {
  const count = await page.getByTestId("cart-count").textContent();
  await page.getByRole("button", { name: `Add ${product} to cart` }).click();
  await page.waitForFunction((before) => document.querySelector("[data-testid=cart-count]")?.textContent !== before, count);
}
await page.goto("/login");
await page.getByLabel("Username").fill("alice");
await page.getByLabel("Password").fill("wonderland");
await page.getByRole("button", { name: "Log in", exact: true }).click();
await page.getByTestId("who").filter({ hasText: "alice" }).waitFor();
await page.getByLabel("Session strategy").selectOption("cookie");
await page.getByRole("button", { name: "Switch" }).click();
await page.getByTestId("current-strategy").filter({ hasText: "cookie" }).waitFor();
await page.getByLabel("Session strategy").selectOption("jwt");
await page.getByRole("button", { name: "Switch" }).click();
await page.getByTestId("current-strategy").filter({ hasText: "jwt" }).waitFor();
await page.goto("/cart");
// The drawer remembers being open; open it only if it is closed.
if (!(await page.getByTestId("inspector").evaluate((drawer) => drawer.open))) {
  await page.getByTestId("inspector").locator("summary").click();
}
await page.getByTestId("inspected-strategy").waitFor();
await page.setViewportSize({ width: 1200, height: 1300 });
await page.screenshot({ path: "../docs/screenshot-cart.png", fullPage: true });
await page.setViewportSize({ width: 1200, height: 760 });
await page.goto("/");
await page.screenshot({ path: "../docs/screenshot-shop.png" });
// The comparison, drawer closed, after a latency run.
if (await page.getByTestId("inspector").evaluate((drawer) => drawer.open)) {
  await page.getByTestId("inspector").locator("summary").click();
}
await page.goto("/compare");
await page.waitForFunction(() => document.documentElement.dataset.hydrated === "true");
await page.getByTestId("run-latency").click();
await page.getByTestId("latency-status").filter({ hasText: "Done" }).waitFor({ timeout: 120_000 });
await page.setViewportSize({ width: 1200, height: 2200 });
await page.screenshot({ path: "../docs/screenshot-compare.png", fullPage: true });
await browser.close();
