import { expect, test, type Page } from "@playwright/test";
import { rmSync } from "node:fs";
import { launchWithoutCookies, ShopPage } from "./fixtures/shop";
import { strategies } from "./fixtures/strategies";

/** The journey under one strategy, in a browser context of its own; `orders` is how the orders
 * service checks its sessions. */
async function journey(page: Page, strategy: string, orders: string) {
  const shop = new ShopPage(page);
  await shop.gotoCatalog();
  await shop.addToCart("Green Tea", 1);
  await shop.addToCart("Enamel Mug", 2);
  await shop.logIn("alice", "wonderland");
  await expect(shop.cartCount).toHaveText("2");

  await shop.switchTo(strategy);
  await expect(shop.who).toContainText("alice");
  await expect(shop.cartCount).toHaveText("2");
  await shop.addToCart("Green Tea", 3);

  const other = strategy === "memory" ? "cookie" : "memory";
  await shop.switchTo(other);
  await expect(shop.who).toContainText("alice");
  await expect(shop.cartCount).toHaveText("3");
  await shop.switchTo(strategy);
  await expect(shop.cartCount).toHaveText("3");

  await page.reload();
  await expect(shop.currentStrategy).toHaveText(strategy);
  await expect(shop.who).toContainText("alice");
  await shop.gotoCart();
  expect(await shop.cartLines()).toEqual(["Green Tea × 2", "Enamel Mug × 1"]);

  if (orders === "refused") {
    // The orders service cannot read a session that lives in one shop process: it says so,
    // and the cart is kept.
    await page.getByRole("button", { name: "Check out" }).click();
    await expect(page.getByRole("alert")).toContainText("one shop process");
    await expect(shop.cartCount).toHaveText("3");
  } else {
    await shop.checkOut();
    await expect(page.getByTestId("order").first()).toContainText("2 × Green Tea");
    await expect(page.getByTestId("orders-served-by")).toContainText(`orders-1, which checked the session by ${orders}`);
    await expect(shop.cartCount).toHaveText("0");
  }
  await expect(shop.currentStrategy).toHaveText(strategy);
  await shop.logOut();
}

// The list comes from the server at run time, so every strategy it runs is driven here; each
// journey is a step of its own, in a fresh browser context.
test("the shop journey under every strategy the server runs", async ({ browser, request }) => {
  const list = await strategies(request);
  test.setTimeout(list.length * 60_000);
  for (const { id, second_service } of list) {
    await test.step(`the shop journey under ${id}`, async () => {
      const context = await browser.newContext();
      await journey(await context.newPage(), id, second_service);
      await context.close();
    });
  }
});

test("a whole visit works under signed-url with cookies blocked", async ({ baseURL, launchOptions }) => {
  const { context, setCookies, profile } = await launchWithoutCookies(baseURL!, launchOptions);
  const page = context.pages()[0] ?? (await context.newPage());
  const shop = new ShopPage(page);
  await shop.gotoCatalog();
  // The control: with cookies blocked, a cookie strategy cannot keep even one item.
  await Promise.all([
    page.waitForResponse(/\/sfn\/cart_add/),
    page.getByRole("button", { name: "Add Baseball Cap to cart" }).click(),
  ]);
  await page.waitForLoadState();
  await page.goto("/");
  await expect(shop.cartCount).toHaveText("0");

  await shop.switchTo("signed-url");
  await expect(page).toHaveURL(/\?s=/);
  setCookies.length = 0;
  await shop.addToCart("Fountain Pen", 1);
  await shop.addToCart("Wool Socks", 2);
  await shop.logIn("bob", "builder");
  await expect(shop.cartCount).toHaveText("2");
  await shop.gotoCart();
  expect(await shop.cartLines()).toEqual(["Fountain Pen × 1", "Wool Socks × 1"]);
  await shop.checkOut();
  await expect(page.getByTestId("order").first()).toContainText("Fountain Pen");
  await shop.logOut();
  expect(setCookies).toEqual([]);
  expect(await context.cookies()).toEqual([]);
  await context.close();
  rmSync(profile, { recursive: true, force: true });
});

test("under jwt the token the browser sends grows with the cart", async ({ page }) => {
  const shop = new ShopPage(page);
  await shop.gotoCatalog();
  await shop.switchTo("jwt");
  await shop.addToCart("Green Tea", 1);
  const bytes = page.getByTestId("client-bytes");
  const before = parseInt((await bytes.textContent()) ?? "0", 10);
  expect(before).toBeGreaterThan(100);
  await shop.addToCart("Desk Lamp", 2);
  await expect
    .poll(async () => parseInt((await bytes.textContent()) ?? "0", 10))
    .toBeGreaterThan(before);
});
