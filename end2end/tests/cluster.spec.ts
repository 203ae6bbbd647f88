import { expect, test } from "@playwright/test";
import { ShopPage } from "./fixtures/shop";

// The cluster run the Playwright config starts: three instances behind HAProxy. The tests stop
// and fill its processes, so they take turns.
const cluster = process.env.CLUSTER_URL ?? "http://127.0.0.1:3200";
test.describe.configure({ mode: "serial" });

test("on /cluster, switch to sticky sessions, stop the instance holding a memory session and watch it go", async ({ page }) => {
  const shop = new ShopPage(page);
  await page.goto(`${cluster}/cluster`);
  await expect(page.getByRole("heading", { name: "Cluster", level: 1 })).toBeVisible();
  for (const name of ["app-1", "app-2", "app-3"]) {
    await expect(page.getByTestId(`process-${name}`)).toHaveAttribute("data-state", "up");
  }
  await expect(page.getByTestId("mode")).toHaveAttribute("data-mode", "round-robin");
  await page.getByTestId("switch-mode").click();
  await expect(page.getByTestId("mode")).toHaveAttribute("data-mode", "sticky");

  // A memory session, on the instance the load balancer now keeps this browser on.
  await page.goto(`${cluster}/`);
  await shop.switchTo("memory");
  await shop.addToCart("Green Tea", 1);
  const instance = ((await page.getByTestId("instance").locator("code").textContent()) ?? "").trim();
  expect(instance).toMatch(/^app-[123]$/);
  await page.goto(`${cluster}/cart`);
  await expect(page.getByTestId("instance")).toContainText(instance);
  await expect(shop.cartCount).toHaveText("1");

  await page.goto(`${cluster}/cluster`);
  await expect(page.getByTestId("served-by")).toContainText(instance);
  // The outcome is the hydrated page's: a click before hydration posts the form, and the plain
  // post comes back to /cluster without it.
  await expect(page.locator("html")).toHaveAttribute("data-hydrated", "true");
  await page.getByTestId(`toggle-${instance}`).click();
  await expect(page.getByTestId("outcome-memory")).toContainText("lost");
  await expect(page.getByTestId("outcome-redis")).toContainText("kept");
  await expect(page.getByTestId(`process-${instance}`)).toHaveAttribute("data-state", "stopped");

  // The next page comes from another instance, which never had the session.
  await expect
    .poll(async () => {
      await page.goto(`${cluster}/`);
      return (await page.getByTestId("instance").locator("code").textContent())?.trim();
    })
    .not.toBe(instance);
  await expect(shop.cartCount).toHaveText("0");

  // Start it again, for whoever comes next.
  await page.goto(`${cluster}/cluster`);
  await page.getByTestId(`toggle-${instance}`).click();
  await expect(page.getByTestId(`process-${instance}`)).toHaveAttribute("data-state", "up");
});

test("on /cluster, fill Memcached until it evicts: an idle memcached session is gone, with a notice", async ({
  page,
}) => {
  const shop = new ShopPage(page);
  await page.goto(`${cluster}/`);
  await shop.switchTo("memcached");
  await shop.addToCart("Green Tea", 1);
  await page.goto(`${cluster}/cluster`);
  for (const name of ["memcached-1", "memcached-2"]) {
    await expect(page.getByTestId(`process-${name}`)).toHaveAttribute("data-state", "up");
  }
  await expect(page.locator("html")).toHaveAttribute("data-hydrated", "true");
  await page.getByTestId("fill-memcached").click();
  await expect(page.getByTestId("outcome-memcached")).toContainText("evicted", { timeout: 30_000 });
  await expect(page.getByTestId("outcome-redis")).toContainText("refuses writes when full");
  // The page's next look at the session finds it gone, and says so.
  await expect(page.locator("[data-notice=session_invalid]")).toBeVisible();

  await page.goto(`${cluster}/`);
  await expect(shop.cartCount).toHaveText("0");
});

test("on /cluster, kill the Redis primary: the Sentinels promote the replica, the redis cart survives, and the old primary rejoins as a replica", async ({
  page,
}) => {
  const shop = new ShopPage(page);
  await page.goto(`${cluster}/`);
  await shop.switchTo("redis");
  await shop.addToCart("Green Tea", 1);
  await page.goto(`${cluster}/cluster`);
  // Which node is the primary now (an earlier run may have left redis-2 the primary).
  const primary = page.locator("tr[data-role=primary]");
  await expect(primary).toHaveCount(1);
  const killed = (await primary.getAttribute("data-testid"))!.replace("process-", "");
  const promoted = killed === "redis-1" ? "redis-2" : "redis-1";
  await expect(page.getByTestId(`process-${promoted}`)).toHaveAttribute("data-role", "replica");
  for (const name of ["sentinel-1", "sentinel-2", "sentinel-3"]) {
    await expect(page.getByTestId(`process-${name}`)).toHaveAttribute("data-state", "up");
  }
  await expect(page.locator("html")).toHaveAttribute("data-hydrated", "true");
  await page.getByTestId("kill-redis-primary").click();
  await expect(page.getByTestId("outcome-redis")).toContainText("the Sentinels promote the replica", {
    timeout: 15_000,
  });
  // The page itself comes through this redis session: it answers 503 until the instances have
  // found the new primary.
  await expect
    .poll(
      async () => {
        await page.goto(`${cluster}/cluster`);
        return page.getByTestId("failover").count();
      },
      { timeout: 20_000 },
    )
    .toBe(1);
  await expect(page.getByTestId("failover")).toContainText(`${killed} was killed; the Sentinels promoted ${promoted}`);
  await expect(page.getByTestId("failover")).toContainText(/redis sessions answered 503 until about \d+ ms/);
  await expect(page.getByTestId(`process-${killed}`)).toHaveAttribute("data-state", "stopped");
  await expect(page.getByTestId(`process-${promoted}`)).toHaveAttribute("data-role", "primary");

  // The cart, from the promoted node, once the instances have found it.
  await expect
    .poll(
      async () => {
        await page.goto(`${cluster}/cart`);
        return (await shop.cartCount.textContent())?.trim();
      },
      { timeout: 15_000 },
    )
    .toBe("1");

  // The killed node starts again, under the new primary.
  await page.goto(`${cluster}/cluster`);
  await expect(page.locator("html")).toHaveAttribute("data-hydrated", "true");
  await page.getByTestId(`toggle-${killed}`).click();
  await expect(page.getByTestId(`process-${killed}`)).toHaveAttribute("data-role", "replica", { timeout: 15_000 });
});

test("on /cluster, the orders service's two instances are listed and a logout's reach is measured per strategy", async ({ page, request }) => {
  await page.goto(`${cluster}/cluster`);
  for (const name of ["orders-1", "orders-2"]) {
    await expect(page.getByTestId(`process-${name}`)).toHaveAttribute("data-state", "up");
  }
  await expect(page.locator("html")).toHaveAttribute("data-hydrated", "true");
  await page.getByTestId("measure-logout-reach").click();
  const list = await (await request.get(`${cluster}/api/v1/strategies`)).json();
  for (const { id, second_service } of list as { id: string; second_service: string }[]) {
    const row = page.getByTestId(`logout-reach-${id}`);
    if (second_service === "refused") {
      await expect(row).toContainText("cannot");
    } else {
      await expect(row).toContainText(/\d+\.\d ms/);
    }
  }
});
