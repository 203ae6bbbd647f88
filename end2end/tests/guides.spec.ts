import { expect, test } from "@playwright/test";
import { strategies } from "./fixtures/strategies";

test("every strategy has a guide page reachable from the index", async ({ page, request }) => {
  await page.goto("/");
  await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Strategies" }).click();
  await expect(page.getByRole("heading", { name: "Strategies", level: 1 })).toBeVisible();
  for (const { id, name, guide_source: source } of await strategies(request)) {
    await expect(page.getByRole("link", { name, exact: true })).toHaveAttribute("href", `/strategies/${id}`);
  }
  for (const { id, name, guide_source: source } of await strategies(request)) {
    await page.goto(`/strategies/${id}`);
    await expect(page.getByRole("heading", { name, level: 1 })).toBeVisible();
    await expect(page.getByRole("heading", { name: "How it works" })).toBeVisible();
    await expect(page.getByRole("list", { name: "Sequence diagram" }).getByRole("listitem").first()).toBeVisible();
    await expect(page.getByRole("heading", { name: "Security notes" })).toBeVisible();
    await expect(page.getByTestId("guide-source")).toHaveText(source);
  }
  const missing = await page.goto("/strategies/floppy-disk");
  expect(missing?.status()).toBe(404);
  await expect(page.getByRole("heading", { name: "Page not found" })).toBeVisible();
});
