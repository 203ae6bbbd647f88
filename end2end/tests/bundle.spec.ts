import { expect, test } from "@playwright/test";

// Each page's code is a WebAssembly chunk of its own (app/src/routes.rs, `cargo leptos --split`):
// the first page brings the main module and its own chunk, and another page's chunk arrives only
// when that page is first visited, by a client-side navigation that still works.
test("a page's code is downloaded when the page is first visited, not before", async ({ page }) => {
  const wasm: string[] = [];
  let documents = 0;
  page.on("request", (request) => {
    if (request.resourceType() === "document") documents += 1;
    const path = new URL(request.url()).pathname;
    if (path.endsWith(".wasm")) wasm.push(path);
  });
  const fetched = (page: RegExp) => wasm.some((path) => page.test(path));

  await page.goto("/");
  await expect(page.locator("html")).toHaveAttribute("data-hydrated", "true");
  expect(fetched(/catalog_route_view/)).toBe(true);
  expect(fetched(/compare_route_view/)).toBe(false);

  await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Compare" }).click();
  await expect(page.getByRole("heading", { name: "Compare the strategies", level: 1 })).toBeVisible();
  expect(fetched(/compare_route_view/)).toBe(true);
  expect(documents).toBe(1);

  // A second page the same way: one more chunk, still no page load.
  await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Strategies" }).click();
  await expect(page.getByRole("heading", { name: "Strategies", level: 1 })).toBeVisible();
  expect(fetched(/guide_index_route_view/)).toBe(true);
  expect(documents).toBe(1);
});
