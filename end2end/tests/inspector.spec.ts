import { expect, test, type Page } from "@playwright/test";
import { ShopPage } from "./fixtures/shop";

async function openInspector(page: Page) {
  const inspector = page.getByTestId("inspector");
  await inspector.locator("summary").click();
  await expect(inspector.getByTestId("inspected-strategy")).toBeVisible();
  return inspector;
}

test("under jwt the inspector decodes the claims, cart included, and the token grows", async ({ page }) => {
  const shop = new ShopPage(page);
  await shop.gotoCatalog();
  await shop.switchTo("jwt");
  await shop.addToCart("Enamel Mug", 1);
  let inspector = await openInspector(page);
  const token = inspector.getByTestId("artifact-jwt");
  await expect(token.getByTestId("decoded")).toContainText('"product_id": 3');
  await expect(token.getByTestId("decoded")).toContainText('"alg": "HS256"');
  const before = parseInt((await token.getByTestId("artifact-bytes").textContent()) ?? "0", 10);

  await shop.addToCart("Headphones", 2);
  await page.reload();
  inspector = await openInspector(page);
  const grown = inspector.getByTestId("artifact-jwt");
  await expect(grown.getByTestId("decoded")).toContainText('"product_id": 8');
  const after = parseInt((await grown.getByTestId("artifact-bytes").textContent()) ?? "0", 10);
  expect(after).toBeGreaterThan(before);
  await expect(inspector.getByTestId("server-copy")).toContainText("nothing");
});

test("under redis the inspector shows the key and its time to live", async ({ page }) => {
  const shop = new ShopPage(page);
  await shop.gotoCatalog();
  await shop.switchTo("redis");
  await shop.addToCart("Green Tea", 1);
  await page.reload();
  const inspector = await openInspector(page);
  await expect(inspector.getByTestId("server-copy")).toContainText("Redis");
  await expect(inspector.getByTestId("server-key")).not.toBeEmpty();
  const ttl = parseInt((await inspector.getByTestId("server-ttl").textContent()) ?? "0", 10);
  expect(ttl).toBeGreaterThan(0);
  await expect(inspector.getByTestId("artifact-sid")).toBeVisible();
});

test("under signed-url the inspector shows the s parameter", async ({ page }) => {
  const shop = new ShopPage(page);
  await shop.gotoCatalog();
  await shop.switchTo("signed-url");
  await shop.addToCart("Green Tea", 1);
  const inspector = await openInspector(page);
  await expect(inspector.getByTestId("artifact-s")).toContainText("url s");
  await expect(inspector.getByTestId("server-copy")).toContainText("server store");
});
