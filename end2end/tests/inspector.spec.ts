import { expect, test } from "@playwright/test";
import { openInspector, ShopPage } from "./fixtures/shop";

test("under jwt the inspector decodes the claims, cart included, and the token grows", async ({ page }) => {
  const shop = new ShopPage(page);
  await shop.gotoCatalog();
  await shop.switchTo("jwt");
  await shop.addToCart("Enamel Mug", 1);
  let inspector = await openInspector(page);
  const token = inspector.getByTestId("artifact-jwt");
  await expect(token.getByTestId("decoded")).toContainText('"product_id": 3');
  await expect(token.getByTestId("decoded")).toContainText('"alg": "EdDSA"');
  const before = parseInt((await token.getByTestId("artifact-bytes").textContent()) ?? "0", 10);

  await shop.addToCart("Headphones", 2);
  await page.reload();
  inspector = await openInspector(page);
  const grown = inspector.getByTestId("artifact-jwt");
  await expect(grown.getByTestId("decoded")).toContainText('"product_id": 8');
  const after = parseInt((await grown.getByTestId("artifact-bytes").textContent()) ?? "0", 10);
  expect(after).toBeGreaterThan(before);
  await expect(inspector.getByTestId("server-copy")).toContainText("nothing");
});

test("under redis the inspector shows the key and its time to live", async ({ page }) => {
  const shop = new ShopPage(page);
  await shop.gotoCatalog();
  await shop.switchTo("redis");
  await shop.addToCart("Green Tea", 1);
  await page.reload();
  const inspector = await openInspector(page);
  await expect(inspector.getByTestId("server-copy")).toContainText("Redis");
  await expect(inspector.getByTestId("server-key")).not.toBeEmpty();
  const ttl = Number(await inspector.getByTestId("server-ttl").getAttribute("data-seconds"));
  expect(ttl).toBeGreaterThan(0);
  // The TTL counts down live.
  const countdown = inspector.getByTestId("server-ttl-countdown");
  const first = await countdown.textContent();
  await expect(countdown).toHaveText(/^\d+:\d\d(:\d\d)?$/);
  await expect.poll(() => countdown.textContent(), { timeout: 5_000 }).not.toBe(first);
  await expect(inspector.getByTestId("artifact-sid")).toBeVisible();
});

test("under signed-url the inspector shows the s parameter", async ({ page }) => {
  const shop = new ShopPage(page);
  await shop.gotoCatalog();
  await shop.switchTo("signed-url");
  await shop.addToCart("Green Tea", 1);
  const inspector = await openInspector(page);
  await expect(inspector.getByTestId("artifact-s")).toContainText("url s");
  await expect(inspector.getByTestId("server-copy")).toContainText("server store");
});

test("under jwt the token's exp counts down live", async ({ page }) => {
  const shop = new ShopPage(page);
  await shop.gotoCatalog();
  await shop.switchTo("jwt");
  await shop.addToCart("Enamel Mug", 1);
  await page.reload();
  const inspector = await openInspector(page);
  const countdown = inspector.getByTestId("artifact-jwt").getByTestId("exp-countdown");
  await expect(countdown).toHaveText(/^1[45]:\d\d$/);
  const first = await countdown.textContent();
  await expect.poll(() => countdown.textContent(), { timeout: 5_000 }).not.toBe(first);
});

test("under cache-aside the trace shows a cache miss, then hits", async ({ page }) => {
  const shop = new ShopPage(page);
  await shop.gotoCatalog();
  await shop.switchTo("cache-aside");
  await shop.addToCart("Green Tea", 1);
  // The write replaced the cached copy with a "changed" mark for a second (reads go to SQL and
  // a late fill cannot put an older copy back). Reload until the mark has lapsed: then a load
  // misses and fills, and the next one hits.
  const inspector = await openInspector(page);
  const steps = inspector.getByTestId("trace").getByTestId("trace-step");
  const cacheReads = async () => {
    const outcomes: string[] = [];
    for (const step of await steps.all()) {
      const text = (await step.textContent()) ?? "";
      if (text.includes("redis GET cache:")) outcomes.push((await step.getAttribute("data-outcome")) ?? "");
    }
    return outcomes;
  };
  const missThenHit = (outcomes: string[]) => {
    const miss = outcomes.indexOf("miss");
    return miss >= 0 && outcomes.slice(miss + 1).includes("hit") && outcomes.at(-1) === "hit";
  };
  let seen: string[] = [];
  await expect
    .poll(
      async () => {
        await page.reload();
        await openInspector(page);
        seen = await cacheReads();
        return missThenHit(seen);
      },
      { timeout: 15_000, message: `cache reads: ${seen.join(", ")}` },
    )
    .toBe(true);
  await expect(steps.filter({ hasText: "sql SELECT" }).first()).toBeVisible();
  await expect(steps.filter({ hasText: "sql UPDATE WHERE data = read" }).first()).toBeVisible();
  await expect(steps.filter({ hasText: "#changed" }).first()).toBeVisible();
});

test("the inspector drawer stays as the user left it", async ({ page }) => {
  const shop = new ShopPage(page);
  await shop.gotoCatalog();
  const inspector = page.getByTestId("inspector");
  await expect(inspector).not.toHaveAttribute("open");
  await inspector.locator("summary").click();
  await expect(inspector).toHaveAttribute("open", "");
  // The drawer's `toggle` event (which stores the choice) fires a task after the click.
  const remembered = () => page.evaluate(() => localStorage.getItem("inspector-open"));
  await expect.poll(remembered).toBe("1");
  await shop.gotoCart();
  await expect(page.getByTestId("inspector")).toHaveAttribute("open", "");
  await page.reload();
  await expect(page.getByTestId("inspector")).toHaveAttribute("open", "");
  // Keyboard: focus the summary and toggle it with Enter.
  await page.getByTestId("inspector").locator("summary").focus();
  await page.keyboard.press("Enter");
  await expect(page.getByTestId("inspector")).not.toHaveAttribute("open");
  await expect.poll(remembered).toBe("0");
  await page.reload();
  await expect(page.getByTestId("inspector")).not.toHaveAttribute("open");
});

test("a countdown that ticks before the WebAssembly arrives does not break hydration", async ({ page }) => {
  const shop = new ShopPage(page);
  const errors: string[] = [];
  page.on("pageerror", (error) => errors.push(error.message));
  page.on("console", (message) => {
    if (message.type() === "error") errors.push(message.text());
  });
  await shop.gotoCatalog();
  await shop.addToCart("Green Tea", 1);
  // The memory store's copy now shows a ticking time to live. Hold the WebAssembly back long
  // enough for /inspector.js to tick it before hydration reaches it.
  await page.route("**/*.wasm", async (route) => {
    await new Promise((resolve) => setTimeout(resolve, 2500));
    await route.continue();
  });
  await page.reload();
  await expect(page.locator("html[data-hydrated=true]")).toBeAttached({ timeout: 20_000 });
  await expect(page.getByTestId("server-ttl-countdown")).toHaveText(/^\d+:\d\d$/);
  expect(errors).toEqual([]);
  await shop.gotoCart();
});
