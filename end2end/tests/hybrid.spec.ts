import { expect, test } from "@playwright/test";
import { openInspector, ShopPage } from "./fixtures/shop";

test("under hybrid a cart change rewrites the cart's cookie and leaves the identity token as it is", async ({
  page,
  context,
}) => {
  const shop = new ShopPage(page);
  await shop.gotoCatalog();
  await shop.switchTo("hybrid");
  await shop.addToCart("Green Tea", 1);
  const cookie = async (name: string) =>
    (await context.cookies()).find((cookie) => cookie.name === name);
  const identity = await cookie("identity");
  const state = await cookie("state");
  expect(identity?.httpOnly).toBe(true);
  expect(state?.httpOnly).toBe(true);

  await shop.addToCart("Desk Lamp", 2);
  await expect(shop.cartCount).toHaveText("2");
  expect((await cookie("identity"))?.value).toBe(identity?.value);
  expect((await cookie("state"))?.value).not.toBe(state?.value);

  // The inspector shows both: the token's claims, without the cart, and the cart as only the
  // server can open it.
  await page.reload();
  const inspector = await openInspector(page);
  const token = inspector.getByTestId("artifact-identity").getByTestId("decoded");
  await expect(token).toContainText('"typ": "identity+jwt"');
  await expect(token).not.toContainText("product_id");
  const cart = inspector.getByTestId("artifact-state").getByTestId("decoded");
  await expect(cart).toContainText('"product_id"');

  await shop.logIn("alice", "wonderland");
  await expect(shop.who).toContainText("alice");
  expect((await cookie("identity"))?.value).not.toBe(identity?.value);
  await expect(shop.cartCount).toHaveText("2");
});
