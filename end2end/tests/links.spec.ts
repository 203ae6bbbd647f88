import { expect, test } from "@playwright/test";
import { ShopPage } from "./fixtures/shop";

test("a shared cart link opened in a second browser gives it a copy of the cart", async ({ page, browser, baseURL }) => {
  const shop = new ShopPage(page);
  await shop.gotoCatalog();
  await shop.addToCart("Canvas Backpack", 1);
  await shop.addToCart("Water Bottle", 2);
  await shop.gotoCart();
  await page.getByRole("button", { name: "Share this cart" }).click();
  const link = page.getByTestId("share-link");
  await expect(link).toBeVisible();
  const href = await link.getAttribute("href");
  expect(href).toMatch(/^\/share\//);

  const friendContext = await browser.newContext({ baseURL });
  const friendPage = await friendContext.newPage();
  const friend = new ShopPage(friendPage);
  // Opening the link changes nothing until its button is pressed.
  await friendPage.goto(href!);
  await friendPage.getByRole("button", { name: "Copy the shared cart into mine" }).click();
  await expect(friendPage).toHaveURL(/\/cart$/);
  await expect(friend.cartCount).toHaveText("2");
  expect(await friend.cartLines()).toEqual(["Canvas Backpack × 1", "Water Bottle × 1"]);
  await friendContext.close();
});

test("a magic login link goes to the mailbox, never to the page, and works once", async ({ page, browser, baseURL }) => {
  const shop = new ShopPage(page);
  await page.goto("/login");
  await page.getByLabel("Demo user").selectOption("bob");
  await page.getByRole("button", { name: "Get a magic link" }).click();
  await expect(page.getByTestId("magic-sent")).toContainText("on its way to their mailbox");
  await expect(page.locator('a[href^="/magic/"]')).toHaveCount(0);
  await page.getByRole("link", { name: "outbox" }).click();
  await expect(page.getByRole("heading", { name: "Outbox", level: 1 })).toBeVisible();
  const mail = page.locator('[data-testid="outbox-message"][data-recipient="bob"]').first();
  const href = (await mail.getByRole("link").getAttribute("href"))!;
  expect(href).toMatch(/^\/magic\//);
  await page.goto(href);
  await page.getByRole("button", { name: "Log me in" }).click();
  await expect(shop.who).toContainText("bob");

  const otherContext = await browser.newContext({ baseURL });
  const otherPage = await otherContext.newPage();
  await otherPage.goto(href);
  await otherPage.getByRole("button", { name: "Log me in" }).click();
  await expect(otherPage).toHaveURL(/\/login\?error=link_used$/);
  await expect(otherPage.getByRole("alert")).toContainText("already been used");
  await expect(otherPage.getByTestId("who")).toHaveText("Guest");
  await otherContext.close();
});
