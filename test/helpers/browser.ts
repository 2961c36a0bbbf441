import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { type BrowserContext, type ConsoleMessage, chromium, type Locator, type Page } from "playwright-core";
import { build } from "vite";
import { type App, buildApp } from "../../src/api/app.js";
import { loadConfig } from "../../src/config.js";
import { createLogger } from "../../src/lib/logger.js";
import { openServices, type ServiceOptions, type Services } from "../../src/main.js";
import { fastClient } from "./autotask.js";
import { TEST_MASTER_KEY } from "./services.js";

/**
 * What the browser tests (test/e2e) share: the web UI built as `npm run build:web` makes it, Debian's
 * chromium driven by playwright-core, console errors collected, polling helpers, sign-in, screenshots.
 */

export const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
export const REPO = fileURLToPath(new URL("../../", import.meta.url));
/** Where the tests' screenshots go (not committed; docs copy some of them). */
export const SHOTS = join(REPO, "test-results", "screenshots");
export const DESKTOP = { width: 1280, height: 800 };
export const PHONE = { width: 390, height: 844 };
/** The default deadline of a page action or a poll. */
export const WAIT = 15_000;

/**
 * Builds the web UI into `outDir` as `npm run build:web` does: vitest sets NODE_ENV=test, which would
 * bundle React's development build, so NODE_ENV is production for the build.
 */
export async function buildWebUi(outDir: string): Promise<void> {
  const nodeEnv = process.env.NODE_ENV;
  process.env.NODE_ENV = "production";
  try {
    await build({
      configFile: join(REPO, "src/web/vite.config.ts"),
      mode: "production",
      logLevel: "warn",
      build: { outDir, emptyOutDir: true },
    });
  } finally {
    process.env.NODE_ENV = nodeEnv;
  }
}

/** Headless chromium with its profile in `profileDir`; its first page has `timeout` as default. */
export async function launchChromium(
  profileDir: string,
  viewport = DESKTOP,
  timeout = WAIT,
): Promise<{ context: BrowserContext; page: Page }> {
  const context = await chromium.launchPersistentContext(profileDir, {
    executablePath: CHROMIUM,
    headless: true,
    viewport,
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
  const page = context.pages()[0] ?? (await context.newPage());
  page.setDefaultTimeout(timeout);
  mkdirSync(SHOTS, { recursive: true });
  return { context, page };
}

export interface WatchOptions {
  /** Errors a scenario provokes on purpose: each one seen is removed from here instead of reported. */
  expected?: string[];
  /** Where the page is, prefixed to each error. */
  label?: () => string;
  /** Collect console errors (default) or only uncaught page errors. */
  console?: boolean;
}

/** Pushes the page's console errors and uncaught errors into `errors`. */
export function watchConsole(page: Page, errors: string[], options: WatchOptions = {}): string[] {
  const prefix = () => (options.label ? `[${options.label()}] ` : "");
  if (options.console !== false)
    page.on("console", (m: ConsoleMessage) => {
      if (m.type() !== "error") return;
      const text = `${m.text()} @ ${m.location().url}`;
      const expected = options.expected ?? [];
      const i = expected.findIndex((e) => text.includes(e));
      if (i >= 0) expected.splice(i, 1);
      else errors.push(`${prefix()}${text}`);
    });
  page.on("pageerror", (e) => errors.push(`${prefix()}page error: ${e.message}`));
  return errors;
}

/** Polls `read` until `ok` holds; fails with the last value seen. */
export async function until<T>(
  what: string,
  read: () => Promise<T>,
  ok: (v: T) => boolean,
  timeout = WAIT,
  everyMs = 150,
): Promise<T> {
  const end = Date.now() + timeout;
  let last: T | undefined;
  for (;;) {
    try {
      last = await read();
      if (ok(last)) return last;
    } catch {
      /* not there yet */
    }
    if (Date.now() > end)
      throw new Error(`timed out waiting for ${what}; last value: ${JSON.stringify(last)}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/** A locator's text (textContent: innerText would depend on layout); `timeout` defaults to the page's. */
export const textOf = async (l: Locator, timeout?: number) =>
  (await l.textContent(timeout === undefined ? {} : { timeout })) ?? "";

/** Polls until the locator's text matches `re`; returns that text. */
export const waitText = (what: string, l: Locator, re: RegExp, timeout = WAIT) =>
  until(
    what,
    () => textOf(l, 1000),
    (t) => re.test(t),
    timeout,
  );

/** The sign-in form: opens `baseUrl`, fills username and password, presses "Sign in". */
export async function signIn(page: Page, baseUrl: string, username: string, password: string) {
  await page.goto(baseUrl);
  await page.getByLabel("Username", { exact: true }).fill(username);
  await page.getByLabel("Password", { exact: true }).fill(password);
  await page.getByRole("button", { name: "Sign in" }).click();
}

/**
 * A full-page screenshot into SHOTS as `<name>.png` at the current size, scrolled to the top, and with
 * `phone` also `<name>-phone.png` at PHONE width; the page is left at DESKTOP size.
 */
export async function shot(page: Page, name: string, { desktop = true, phone = false } = {}) {
  await page.evaluate("window.scrollTo(0, 0)");
  if (desktop) await page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });
  if (!phone) return;
  await page.setViewportSize(PHONE);
  await page.evaluate("window.scrollTo(0, 0)");
  await page.screenshot({ path: join(SHOTS, `${name}-phone.png`), fullPage: true });
  await page.setViewportSize(DESKTOP);
}

/**
 * nocbridge's services on an in-memory store, with `origins` (the emulators) allowed as PSA addresses;
 * `httpWebhooks` lets the emulator's plain-HTTP webhooks in.
 */
export async function openTestServices(
  origins: string[],
  dataDir: string,
  { httpWebhooks = false, ...options }: ServiceOptions & { httpWebhooks?: boolean } = {},
): Promise<Services> {
  const config = loadConfig(
    {
      NOCBRIDGE_MASTER_KEY: TEST_MASTER_KEY,
      LOG_LEVEL: "silent",
      ...(httpWebhooks ? { NOCBRIDGE_ALLOW_HTTP_WEBHOOKS: "1" } : {}),
    },
    { databaseUrl: ":memory:", dataDir, host: "127.0.0.1", port: 0 },
  );
  config.psaUrls = config.psaUrls.withOrigins(...origins);
  return openServices(config, { logger: createLogger("silent"), autotask: fastClient, ...options });
}

/** The API and the built web UI in `webRoot`, listening on a free local port. */
export async function serveWebUi(
  services: Services,
  webRoot: string,
): Promise<{ app: App; baseUrl: string }> {
  const app = await buildApp({ portal: services.portal, sync: services.sync, webRoot });
  await app.listen({ host: "127.0.0.1", port: 0 });
  const addr = app.server.address();
  return { app, baseUrl: `http://127.0.0.1:${typeof addr === "object" && addr ? addr.port : 0}` };
}
