import { expect, test } from "@playwright/test";
import { ShopPage } from "./fixtures/shop";

test.use({ javaScriptEnabled: false });

test("without JavaScript the forms still add to the cart, log in and check out", async ({ page }) => {
  const shop = new ShopPage(page);
  await shop.gotoCatalog();
  await shop.addToCart("Coffee Beans", 1);
  await shop.addToCart("Potted Fern", 2);

  await shop.logIn("bob", "builder");
  await expect(shop.cartCount).toHaveText("2");

  await shop.switchTo("cookie");
  await expect(shop.who).toContainText("bob");
  await expect(shop.cartCount).toHaveText("2");

  await shop.checkOut();
  await expect(page.getByTestId("order").first()).toContainText("Coffee Beans");
  await expect(shop.cartCount).toHaveText("0");
});

test("without JavaScript a wrong password comes back with a message", async ({ page }) => {
  await page.goto("/login");
  await page.getByLabel("Username").fill("bob");
  await page.getByLabel("Password").fill("wrong");
  await page.getByRole("button", { name: "Log in", exact: true }).click();
  await expect(page).toHaveURL(/\/login\?error=invalid_credentials$/);
  await expect(page.getByRole("alert")).toContainText("Wrong username or password");
});
