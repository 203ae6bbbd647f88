import { expect, test } from "@playwright/test";
import { ShopPage } from "./fixtures/shop";
import { strategies } from "./fixtures/strategies";

// A deployment behind HTTPS sets COOKIE_SECURE: every cookie is `Secure` with a `__Host-` name.
// Chromium treats 127.0.0.1 as a secure origin, so it keeps such cookies from the second server
// playwright.config.ts starts with COOKIE_SECURE=true (SECURE_URL) as it would over HTTPS.
// The encrypted-cookie strategy once sealed its cookie under one name and opened it under the
// `__Host-` one: every request came back a fresh guest, and no browser test ran this mode.
const secureURL = process.env.SECURE_URL!;

test("every cookie strategy keeps the session with Secure, __Host- cookies", async ({ browser, request }) => {
  const list = (await strategies(request)).filter(({ credentials }) =>
    credentials.some(({ transport }) => transport === "cookie"),
  );
  test.setTimeout(list.length * 30_000);
  for (const { id } of list) {
    await test.step(`under ${id}`, async () => {
      const context = await browser.newContext({ baseURL: secureURL });
      const page = await context.newPage();
      const shop = new ShopPage(page);
      await shop.gotoCatalog();
      await shop.switchTo(id);
      await shop.addToCart("Green Tea", 1);
      await shop.logIn("alice", "wonderland");
      await shop.addToCart("Enamel Mug", 2);
      await page.reload();
      await expect(shop.currentStrategy).toHaveText(id);
      await expect(shop.who).toContainText("alice");
      await expect(shop.cartCount).toHaveText("2");
      await expect(page.locator("[data-notice]"), id).toHaveCount(0);
      const cookies = await context.cookies();
      expect(cookies.length, id).toBeGreaterThan(0);
      for (const cookie of cookies) {
        expect(cookie.name, id).toMatch(/^__Host-/);
        expect(cookie.secure, cookie.name).toBe(true);
        expect(cookie.httpOnly, cookie.name).toBe(true);
        expect(cookie.path, cookie.name).toBe("/");
      }
      await shop.logOut();
      await context.close();
    });
  }
});
