import { expect, test } from "@playwright/test";
import { openInspector, ShopPage } from "./fixtures/shop";

test("under memcached the inspector shows the node and the CAS token, which each change moves on", async ({
  page,
}) => {
  const shop = new ShopPage(page);
  await shop.gotoCatalog();
  await shop.switchTo("memcached");
  await shop.addToCart("Green Tea", 1);
  await page.reload();
  let inspector = await openInspector(page);
  await expect(inspector.getByTestId("server-copy")).toContainText("Memcached");
  const detail = inspector.getByTestId("server-detail");
  await expect(detail).toHaveText(/^node 127\.0\.0\.1:\d+, CAS token \d+$/);
  const before = await detail.textContent();
  await expect(inspector.getByTestId("server-key")).not.toBeEmpty();
  expect(Number(await inspector.getByTestId("server-ttl").getAttribute("data-seconds"))).toBeGreaterThan(0);

  await shop.addToCart("Desk Lamp", 2);
  await page.reload();
  inspector = await openInspector(page);
  await expect(inspector.getByTestId("server-detail")).not.toHaveText(before ?? "");
  await expect(shop.cartCount).toHaveText("2");
});
