import { expect, test } from "@playwright/test";
import { ShopPage } from "./fixtures/shop";

test("a guest cart survives login, strategy switches, a reload and ends in an order", async ({ page }) => {
  const shop = new ShopPage(page);
  await shop.gotoCatalog();
  await expect(page.getByRole("listitem").filter({ has: page.getByRole("heading", { level: 2 }) })).toHaveCount(12);
  await expect(shop.currentStrategy).toHaveText("memory");

  await shop.addToCart("Green Tea", 1);
  await shop.addToCart("Green Tea", 2);
  await shop.addToCart("Enamel Mug", 3);
  expect(await shop.cookieNames()).toContain("sid");

  await shop.logIn("alice", "wonderland");
  await expect(shop.cartCount).toHaveText("3");

  await shop.switchTo("cookie");
  await expect(shop.who).toContainText("alice");
  await expect(shop.cartCount).toHaveText("3");
  let cookies = await shop.cookieNames();
  expect(cookies).toContain("session");
  expect(cookies).not.toContain("sid");

  await shop.switchTo("memory");
  await expect(shop.who).toContainText("alice");
  await expect(shop.cartCount).toHaveText("3");
  cookies = await shop.cookieNames();
  expect(cookies).toContain("sid");
  expect(cookies).not.toContain("session");

  await page.reload();
  await expect(shop.who).toContainText("alice");
  await expect(shop.cartCount).toHaveText("3");
  await expect(shop.currentStrategy).toHaveText("memory");

  await shop.gotoCart();
  expect(await shop.cartLines()).toEqual(["Green Tea × 2", "Enamel Mug × 1"]);
  await expect(page.getByTestId("cart-total")).toHaveText("$24.00");

  // The orders service cannot read a memory session (it lives in one shop process): check out
  // under a shared strategy.
  await shop.switchTo("sql");
  await shop.gotoCart();
  await shop.checkOut();
  await expect(page.getByTestId("order").first()).toContainText("2 × Green Tea");
  await expect(shop.cartCount).toHaveText("0");

  await shop.logOut();
  await expect(shop.cartCount).toHaveText("0");
});

test("the cart page changes quantities, removes lines and empties the cart", async ({ page }) => {
  const shop = new ShopPage(page);
  await shop.gotoCatalog();
  await shop.addToCart("Fountain Pen", 1);
  await shop.addToCart("Wool Socks", 2);
  await shop.gotoCart();

  await page.getByLabel("Quantity of Wool Socks").fill("5");
  await page.getByRole("row", { name: /Wool Socks/ }).getByRole("button", { name: "Update" }).click();
  await expect(shop.cartCount).toHaveText("6");

  await page.getByRole("button", { name: "Remove Fountain Pen" }).click();
  await expect(shop.cartCount).toHaveText("5");
  expect(await shop.cartLines()).toEqual(["Wool Socks × 5"]);

  await page.getByRole("button", { name: "Empty cart" }).click();
  await expect(page.getByTestId("empty-cart")).toBeVisible();
  await expect(shop.cartCount).toHaveText("0");
});

test("a wrong password says so and keeps the guest cart", async ({ page }) => {
  const shop = new ShopPage(page);
  await shop.gotoCatalog();
  await shop.addToCart("Desk Lamp", 1);
  await page.goto("/login");
  await page.getByLabel("Username").fill("alice");
  await page.getByLabel("Password").fill("not-her-password");
  await page.getByRole("button", { name: "Log in", exact: true }).click();
  await expect(page.getByRole("alert")).toContainText("Wrong username or password");
  await expect(shop.who).toHaveText("Guest");
  await expect(shop.cartCount).toHaveText("1");
});

test("a tampered session cookie starts a fresh session with a notice", async ({ page, context, baseURL }) => {
  const shop = new ShopPage(page);
  await shop.gotoCatalog();
  await shop.switchTo("cookie");
  await shop.addToCart("Headphones", 1);
  const cookie = (await context.cookies()).find((c) => c.name === "session");
  expect(cookie).toBeDefined();
  const value = cookie!.value;
  const flipped = value.slice(0, 20) + (value[20] === "A" ? "B" : "A") + value.slice(21);
  await context.addCookies([{ name: "session", value: flipped, url: baseURL! }]);
  await page.reload();
  await expect(page.locator("[data-notice=session_invalid]")).toContainText("could not be read");
  await expect(shop.cartCount).toHaveText("0");
});
