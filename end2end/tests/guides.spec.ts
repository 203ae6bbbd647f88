import { expect, test } from "@playwright/test";

const guides: [string, string, string][] = [
  ["memory", "In-memory store", "src/store.rs"],
  ["cookie", "Encrypted cookie", "src/cookie.rs"],
  ["jwt", "JSON Web Token", "src/jwt.rs"],
  ["redis", "Redis store", "src/redis_store.rs"],
  ["sql", "SQL store", "src/sql_store.rs"],
  ["cache-aside", "Redis cache over SQL", "src/cache_aside.rs"],
  ["signed-url", "Signed URL", "src/signed_url.rs"],
];

test("every strategy has a guide page reachable from the index", async ({ page }) => {
  await page.goto("/");
  await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Strategies" }).click();
  await expect(page.getByRole("heading", { name: "Strategies", level: 1 })).toBeVisible();
  for (const [id, title, source] of guides) {
    await page.goto(`/strategies/${id}`);
    await expect(page.getByRole("heading", { name: title, level: 1 })).toBeVisible();
    await expect(page.getByRole("heading", { name: "How it works" })).toBeVisible();
    await expect(page.getByRole("list", { name: "Sequence diagram" }).getByRole("listitem").first()).toBeVisible();
    await expect(page.getByRole("heading", { name: "Security notes" })).toBeVisible();
    await expect(page.getByTestId("guide-source")).toHaveText(source);
  }
  const missing = await page.goto("/strategies/floppy-disk");
  expect(missing?.status()).toBe(404);
  await expect(page.getByRole("heading", { name: "Page not found" })).toBeVisible();
});
