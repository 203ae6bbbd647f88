import { expect, test } from "@playwright/test";
import { ShopPage } from "./fixtures/shop";
import { strategies } from "./fixtures/strategies";

test("/compare measures every strategy, charts its size and runs the latency test", async ({ page, request }) => {
  const ids = (await strategies(request)).map((strategy) => strategy.id);
  const shop = new ShopPage(page);
  await shop.gotoCatalog();
  await shop.addToCart("Green Tea", 1);
  await shop.addToCart("Enamel Mug", 2);
  await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Compare" }).click();
  await expect(page.getByRole("heading", { name: "Compare the strategies", level: 1 })).toBeVisible();
  await expect(page.getByRole("heading", { name: "With your cart of 2 lines" })).toBeVisible();

  const table = page.getByTestId("compare-table");
  for (const id of ids) {
    const row = table.getByTestId(`compare-row-${id}`);
    await expect(row).toBeVisible();
    await expect(row.getByTestId("client-bytes")).toHaveText(/^\d+ B$/);
  }
  await expect(table.getByTestId("compare-row-redis").getByTestId("client-bytes")).toHaveText("26 B");
  const cookieBytes = parseInt((await table.getByTestId("compare-row-cookie").getByTestId("client-bytes").textContent()) ?? "0", 10);
  expect(cookieBytes).toBeGreaterThan(200);

  const chart = page.getByTestId("size-chart");
  await expect(chart.getByTestId("cookie-limit")).toBeAttached();
  for (const id of ids) {
    const series = chart.getByTestId(`series-${id}`);
    await expect(series).toBeAttached();
    const points = ((await series.getAttribute("points")) ?? "").trim().split(/\s+/);
    expect(points.length, id).toBe(11);
    await expect(chart.getByTestId(`legend-${id}`)).toBeVisible();
  }

  // Before hydration the button posts the form and the server measures everything at once (the
  // next test); once hydrated, the page measures one strategy at a time and shows progress.
  await expect(page.locator("html")).toHaveAttribute("data-hydrated", "true");
  await page.getByTestId("run-latency").click();
  await expect(page.getByTestId("latency-progress")).toBeVisible();
  await expect(page.getByTestId("latency-status")).toHaveText(`Done: ${ids.length} strategies measured.`, {
    timeout: 90_000,
  });
  await expect(page.getByTestId("latency-progress")).toHaveAttribute("value", String(ids.length));
  const results = page.getByTestId("latency-table");
  for (const id of ids) {
    await expect(results.getByTestId(`latency-row-${id}`)).toContainText(/\d+(\.\d)? (µs|ms)/);
    await expect(page.getByTestId("latency-chart").getByTestId(`latency-bar-${id}`)).toBeAttached();
  }
});

test("/compare works without JavaScript, latency run included", async ({ browser }) => {
  const context = await browser.newContext({ javaScriptEnabled: false });
  const page = await context.newPage();
  await page.goto("/compare");
  await expect(page.getByTestId("compare-table").getByTestId("compare-row-jwt")).toBeVisible();
  await page.getByTestId("run-latency").click();
  await expect(page).toHaveURL(/run=latency/);
  await expect(page.getByTestId("latency-table").getByTestId("latency-row-sql")).toContainText(/(µs|ms)/);
  await context.close();
});

// Ten columns of short verdicts: on a laptop the table fits its page, on a phone each row is a
// card; at neither width does a cell stick out of the table, nor the page scroll sideways.
for (const width of [1280, 390]) {
  test(`/compare fits a ${width} px wide window`, async ({ page }) => {
    await page.setViewportSize({ width, height: 900 });
    await page.goto("/compare");
    const table = page.getByTestId("compare-table");
    await expect(table.getByTestId("compare-row-memory")).toBeVisible();
    // Every reason opened: the widest the cells get.
    for (const details of await table.locator("details").all()) {
      await details.evaluate((element) => element.setAttribute("open", ""));
    }
    const overflow = await table.evaluate((element) => {
      const edge = element.getBoundingClientRect().right;
      // The cells on screen (a phone's cards keep the header row for screen readers only).
      const onScreen = (cell: Element) => {
        const head = cell.closest("thead");
        return !head || head.getBoundingClientRect().width > 1;
      };
      const cells = Array.from(element.querySelectorAll("th, td")).filter(onScreen);
      return {
        cells: cells
          .filter((cell) => cell.getBoundingClientRect().right > edge + 1 || cell.scrollWidth > cell.clientWidth + 1)
          .map((cell) => cell.textContent),
        table: edge - window.innerWidth,
        page: document.documentElement.scrollWidth - window.innerWidth,
      };
    });
    expect(overflow.cells).toEqual([]);
    expect(overflow.table).toBeLessThanOrEqual(0);
    expect(overflow.page).toBeLessThanOrEqual(0);
  });
}
