import { defineConfig } from "@playwright/test";

// Debian's Chromium (scripts/test installs it); Playwright downloads no browser.
export default defineConfig({
  testDir: "tests",
  timeout: 240_000,
  workers: 1,
  reporter: [["list"]],
  use: {
    browserName: "chromium",
    launchOptions: { executablePath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium" },
  },
});
