import AxeBuilder from "@axe-core/playwright";
import { expect, test } from "@playwright/test";
import { openInspector, ShopPage } from "./fixtures/shop";

const PAGES = ["/", "/cart", "/compare", "/strategies/cache-aside"];

for (const path of PAGES) {
  test(`${path} has no serious or critical accessibility violations`, async ({ page }) => {
    const shop = new ShopPage(page);
    await shop.gotoCatalog();
    await shop.addToCart("Green Tea", 1);
    await page.goto(path);
    await openInspector(page);
    const results = await new AxeBuilder({ page })
      .withTags(["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"])
      .analyze();
    const serious = results.violations
      .filter((violation) => violation.impact === "serious" || violation.impact === "critical")
      .map((violation) => `${violation.id}: ${violation.help} (${violation.nodes.map((node) => node.target.join(" ")).join(", ")})`);
    expect(serious).toEqual([]);
  });
}

test("a 375 px phone never scrolls sideways", async ({ page }) => {
  await page.setViewportSize({ width: 375, height: 740 });
  const shop = new ShopPage(page);
  await shop.gotoCatalog();
  await shop.switchTo("jwt");
  await shop.addToCart("Green Tea", 1);
  for (const path of [...PAGES, "/login", "/orders", "/strategies"]) {
    await page.goto(path);
    await openInspector(page);
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
    expect(overflow, path).toBeLessThanOrEqual(0);
  }
});
