import { mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { type BrowserContext, chromium, type Page } from "playwright-core";
import { build } from "vite";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type ApiHarness, startHarness } from "./harness.js";
import { CHAINS } from "./seed.js";

// The investigator console in Debian's Chromium (headless), served by the API on the real store.

const root = resolve(import.meta.dirname, "..", "..");
const shots = join(root, "test-results", "console");
const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";

let h: ApiHarness;
let ctx: BrowserContext;
let page: Page;
let profile: string;

beforeAll(async () => {
  // The API serves the console's build output; build it first (as CI and releases do).
  await build({
    configFile: join(root, "services", "api", "console", "vite.config.ts"),
    logLevel: "warn",
  });
  h = await startHarness("console", 300);
  mkdirSync(shots, { recursive: true });
  profile = mkdtempSync(join(tmpdir(), "chainscreen-chromium-"));
  ctx = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      "--no-first-run",
    ],
    viewport: { width: 1366, height: 900 },
    acceptDownloads: true,
  });
  page = ctx.pages()[0] ?? (await ctx.newPage());
});

afterAll(async () => {
  await ctx?.close();
  if (profile) rmSync(profile, { recursive: true, force: true });
  await h?.close();
});

describe("console", () => {
  it("refuses a wrong key and signs in with a real one", async () => {
    await page.goto(`${h.url}/`);
    await page
      .getByLabel("API key")
      .fill("cs_0000000000000000_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA");
    await page.getByRole("button", { name: "Sign in" }).click();
    await expect.poll(() => page.getByRole("alert").textContent()).toMatch(/unknown or revoked/);
    await page.getByLabel("API key").fill(h.keys.regulator);
    // Keyboard only: Enter submits the form.
    await page.getByLabel("API key").press("Enter");
    await page.getByTestId("signed-in-as").waitFor();
    expect(await page.getByTestId("signed-in-as").textContent()).toMatch(/regulator · fiu/);
    await page.locator("[data-flow-id]").first().waitFor();
    expect(await page.locator("[data-flow-id]").count()).toBe(50);
    await page.screenshot({ path: join(shots, "01-flows.png"), fullPage: true });
  });

  it("filters, sorts and pages flows", async () => {
    await page.getByLabel("Chain").fill("tron");
    await page.getByLabel("Min severity").selectOption("high");
    await page.getByRole("button", { name: "Apply filters" }).click();
    const want = h.flags.filter(
      (f) =>
        f.flag.status === "active" &&
        f.flag.transfer.chain === "tron" &&
        ["high", "severe"].includes(f.flag.severity),
    );
    await expect.poll(() => page.locator("[data-flow-id]").count()).toBe(Math.min(50, want.length));
    const chains = await page.locator("[data-flow-id] td:nth-child(2)").allTextContents();
    expect(new Set(chains)).toEqual(new Set(["tron"]));
    const ids = await page
      .locator("[data-flow-id]")
      .evaluateAll((rows) => rows.map((r) => r.getAttribute("data-flow-id")));
    const wantIds = new Set(want.map((f) => f.flag.id));
    for (const id of ids) expect(wantIds.has(id as string)).toBe(true);
    // Sort by amount (descending on first click), then ascending.
    await page.getByRole("button", { name: /^Amount/ }).click();
    await expect
      .poll(() => page.getByRole("columnheader", { name: /Amount/ }).getAttribute("aria-sort"))
      .toBe("descending");
    // aria-sort flips on click; the re-sorted rows arrive with the next response, so wait for them.
    const readAmounts = async () =>
      (await page.locator("[data-flow-id] td:nth-child(5)").allTextContents()).map((a) =>
        BigInt(a),
      );
    const descending = (xs: bigint[]) => xs.every((x, i) => i === 0 || (xs[i - 1] as bigint) >= x);
    await expect.poll(async () => descending(await readAmounts())).toBe(true);
    const amounts = await readAmounts();
    expect(amounts.length).toBe(Math.min(50, want.length));
    for (let i = 1; i < amounts.length; i++)
      expect((amounts[i - 1] as bigint) >= (amounts[i] as bigint)).toBe(true);
    await page.screenshot({ path: join(shots, "02-flows-filtered.png"), fullPage: true });
  });

  it("pages through all flows with Next", async () => {
    await page.getByLabel("Chain").fill("");
    await page.getByLabel("Min severity").selectOption("");
    await page.getByRole("button", { name: "Apply filters" }).click();
    await expect.poll(() => page.locator("[data-flow-id]").count()).toBe(50);
    const first = await page.locator("[data-flow-id]").first().getAttribute("data-flow-id");
    await page.getByRole("button", { name: "Next page" }).click();
    await expect.poll(() => page.getByText("Page 2").count()).toBe(1);
    await expect
      .poll(async () => page.locator("[data-flow-id]").first().getAttribute("data-flow-id"))
      .not.toBe(first);
    await page.getByRole("button", { name: "Previous page" }).click();
    await expect
      .poll(async () => page.locator("[data-flow-id]").first().getAttribute("data-flow-id"))
      .toBe(first);
  });

  it("exports the filtered flows as CSV", async () => {
    await page.getByLabel("Chain").fill("bitcoin");
    await page.getByRole("button", { name: "Apply filters" }).click();
    await expect
      .poll(() => page.locator("[data-flow-id] td:nth-child(2)").first().textContent())
      .toBe("bitcoin");
    const [download] = await Promise.all([
      page.waitForEvent("download"),
      page.getByRole("button", { name: "Export CSV" }).click(),
    ]);
    const file = join(shots, "flows.csv");
    await download.saveAs(file);
    const lines = readFileSync(file, "utf8").trimEnd().split("\n");
    const want = h.flags.filter(
      (f) => f.flag.status === "active" && f.flag.transfer.chain === "bitcoin",
    );
    expect(lines.length - 1).toBe(want.length);
    expect(lines[0]).toMatch(/^"id","transfer_id"/);
    await expect.poll(() => page.getByTestId("export-status").textContent()).toMatch(/Exported/);
  });

  it("opens an address page with its status, graph and timeline", async () => {
    const listed = CHAINS[1]?.listed[0] as string;
    await page.goto(`${h.url}/#/address/tron/${listed}`);
    await page.getByTestId("address-status").waitFor();
    expect(await page.getByTestId("address-status").textContent()).toMatch(/LISTED on ofac-sdn/);
    // cytoscape draws on canvases inside the container once laid out.
    await page.locator("[data-testid=address-graph] canvas").first().waitFor();
    expect(await page.getByTestId("address-graph").getAttribute("aria-label")).toMatch(
      /Graph of \d+ addresses and \d+ flows/,
    );
    expect(
      await page.locator("[data-testid=chart-transfers-per-day] rect.bar").count(),
    ).toBeGreaterThan(0);
    await page.screenshot({ path: join(shots, "03-address.png"), fullPage: true });
  });

  it("shows the dashboard charts and top counterparties", async () => {
    await page.getByRole("link", { name: "Dashboard" }).click();
    // Wait for this chart's own bars (other pages' SVGs may still be in the DOM for a moment).
    await page
      .locator("[data-testid='chart-flagged-volume-usd-per-chain'] rect.bar")
      .first()
      .waitFor();
    expect(
      await page.locator("[data-testid='chart-flagged-volume-usd-per-chain'] rect.bar").count(),
    ).toBeGreaterThan(0);
    await page.getByLabel("Group by").selectOption("programme");
    // The chart re-renders when the new series arrives.
    await expect.poll(() => page.locator(".legend").first().textContent()).toMatch(/CYBER2/);
    expect(
      await page.locator("[data-testid='chart-flagged-volume-usd-per-programme'] rect.bar").count(),
    ).toBeGreaterThan(0);
    await expect
      .poll(() => page.locator("[data-testid=top-counterparties] tbody tr").count())
      .toBe(15);
    await page.screenshot({ path: join(shots, "04-dashboard.png"), fullPage: true });
  });
});
