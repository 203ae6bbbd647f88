import { expect, test } from "@playwright/test";
import { ShopPage } from "./fixtures/shop";

test("pages hydrate under a nonce-based Content-Security-Policy and nothing is blocked", async ({ page }) => {
  const violations: string[] = [];
  page.on("console", (message) => {
    if (/Content Security Policy/i.test(message.text())) violations.push(message.text());
  });
  const response = await page.goto("/");
  const policy = response?.headers()["content-security-policy"] ?? "";
  expect(policy).toMatch(/script-src 'self' 'nonce-[A-Za-z0-9+/=_-]+' 'wasm-unsafe-eval'/);
  expect(policy).toContain("frame-ancestors 'none'");
  await expect(page.locator("html")).toHaveAttribute("data-hydrated", "true");
  const shop = new ShopPage(page);
  await shop.addToCart("Green Tea", 1);
  await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Compare" }).click();
  await expect(page.getByRole("heading", { name: "Compare the strategies", level: 1 })).toBeVisible();
  expect(violations).toEqual([]);
  // An injected inline script has no nonce: the browser refuses to run it.
  const ran = await page.evaluate(async () => {
    const script = document.createElement("script");
    script.textContent = "window.__injected = true";
    document.body.append(script);
    await new Promise((resolve) => setTimeout(resolve, 50));
    return (window as unknown as { __injected?: boolean }).__injected === true;
  });
  expect(ran).toBe(false);
});

test("a login form on another site cannot log the visitor in (login CSRF)", async ({ page, baseURL }) => {
  const shop = new ShopPage(page);
  await shop.gotoCatalog();
  await expect(shop.who).toHaveText("Guest");
  // The attacker's page: its own origin, a form that posts to the shop's login.
  await page.goto("about:blank");
  await page.setContent(`
    <form method="post" action="${baseURL}/sfn/login">
      <input name="username" value="bob"><input name="password" value="builder">
      <button type="submit">Win a prize</button>
    </form>`);
  await page.getByRole("button", { name: "Win a prize" }).click();
  await expect(page.getByRole("heading", { name: "This form came from another site" })).toBeVisible();
  await shop.gotoCatalog();
  await expect(shop.who).toHaveText("Guest");
});

test("your sessions lists every device, and logging out everywhere else ends them", async ({ browser, baseURL }) => {
  // Carol is signed in on a laptop (redis) and a phone (cookie).
  const laptop = await browser.newContext({ baseURL });
  const phone = await browser.newContext({ baseURL });
  const onLaptop = new ShopPage(await laptop.newPage());
  const onPhone = new ShopPage(await phone.newPage());
  await onPhone.gotoCatalog();
  await onPhone.switchTo("cookie");
  await onPhone.logIn("carol", "christmas");
  await onLaptop.gotoCatalog();
  await onLaptop.switchTo("redis");
  await onLaptop.logIn("carol", "christmas");

  await onLaptop.page.getByRole("link", { name: "Your sessions" }).click();
  await expect(onLaptop.page.getByRole("heading", { name: "Your sessions", level: 1 })).toBeVisible();
  const sessions = onLaptop.page.getByTestId("session");
  await expect(sessions.filter({ hasText: "cookie" }).first()).toBeVisible();
  await expect(onLaptop.page.locator('[data-testid="session"][data-current="true"]')).toContainText("redis");
  await onLaptop.page.getByRole("button", { name: "Log out everywhere else" }).click();
  await expect(onLaptop.page.locator('[data-testid="session"][data-current="false"]')).toHaveCount(0);

  await onPhone.page.reload();
  await expect(onPhone.who).toHaveText("Guest");
  await onLaptop.page.reload();
  await expect(onLaptop.who).toContainText("carol");
  await laptop.close();
  await phone.close();
});
