// End to end: `odoo-sync demo` (with its built-in Odoo simulator) and this example built and
// started with `next start`. A product page is cached by Next.js under `product:ID`; its name
// is edited in the simulator, whose automation rule tells odoo-sync, which syncs it and POSTs
// its signed "catalog.changed" webhook to app/api/revalidate; the page shows the new name
// without a rebuild, and odoo-sync lists that webhook as delivered.
import { expect, test } from "@playwright/test";
import { ChildProcess, spawn, spawnSync } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import readline from "node:readline";

const example = path.resolve(__dirname, "..");
const repo = path.resolve(example, "../..");
const adminToken = "example-admin-token";
// A Standard Webhooks secret: "whsec_" and base64 of the key.
const secret = "whsec_" + Buffer.from("odoo-sync nextjs example secret!").toString("base64");

const children: ChildProcess[] = [];

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => (typeof address === "object" && address ? resolve(address.port) : reject()));
    });
  });
}

function odooSyncBinary(): string {
  if (process.env.ODOO_SYNC_BIN) return process.env.ODOO_SYNC_BIN;
  const built = spawnSync("cargo", ["build", "-p", "odoo-sync", "--bin", "odoo-sync"], { cwd: repo, stdio: "inherit" });
  if (built.status !== 0) throw new Error("cargo build of odoo-sync failed");
  return path.join(process.env.CARGO_TARGET_DIR ?? path.join(repo, "target"), "debug", "odoo-sync");
}

/** Starts the demo and resolves with the simulator's URL once odoo-sync serves. */
function startDemo(port: number, sitePort: number): Promise<{ simUrl: string }> {
  const scratch = mkdtempSync(path.join(tmpdir(), "odoo-sync-example-"));
  const database = path.join(scratch, "demo.sqlite");
  const child = spawn(odooSyncBinary(), ["demo", "--products", "40", "--database", database], {
    env: {
      ...process.env,
      BIND: `127.0.0.1:${port}`,
      IMAGE_STORE: path.join(scratch, "images"),
      ADMIN_TOKEN: adminToken,
      SITE_WEBHOOK_URLS: `http://127.0.0.1:${sitePort}/api/revalidate`,
      SITE_WEBHOOK_SECRET: secret,
      SYNC_SCHEDULE: "off",
      RUST_LOG: "warn",
    },
    stdio: ["ignore", "pipe", "inherit"],
  });
  children.push(child);
  return new Promise((resolve, reject) => {
    let simUrl = "";
    child.on("exit", (code) => reject(new Error(`odoo-sync demo exited with ${code}`)));
    readline.createInterface({ input: child.stdout! }).on("line", (line) => {
      const sim = line.match(/simulator .* at (http\S+)/);
      if (sim) simUrl = sim[1];
      if (line.includes("catalog API:")) resolve({ simUrl });
    });
  });
}

async function startSite(port: number, odooSyncUrl: string) {
  const env = { ...process.env, ODOO_SYNC_URL: odooSyncUrl, SITE_WEBHOOK_SECRET: secret, NEXT_TELEMETRY_DISABLED: "1" };
  const build = spawnSync("npx", ["next", "build"], { cwd: example, env, stdio: "inherit" });
  if (build.status !== 0) throw new Error("next build failed");
  const child = spawn("npx", ["next", "start", "-p", String(port), "-H", "127.0.0.1"], { cwd: example, env, stdio: "inherit" });
  children.push(child);
  for (let i = 0; i < 120; i++) {
    try {
      if ((await fetch(`http://127.0.0.1:${port}/api/revalidate`, { method: "GET" })).status) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 500));
  }
  throw new Error("next start did not listen");
}

async function odooCall(simUrl: string, service: string, method: string, args: unknown[]) {
  const answer = await fetch(`${simUrl}/jsonrpc`, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ jsonrpc: "2.0", method: "call", params: { service, method, args }, id: 1 }),
  });
  const body = await answer.json();
  if (body.error) throw new Error(JSON.stringify(body.error));
  return body.result;
}

test.afterAll(() => {
  for (const child of children) child.kill("SIGTERM");
});

test("a product page shows an edit made in Odoo after odoo-sync's revalidation webhook", async ({ page }) => {
  const [apiPort, sitePort] = [await freePort(), await freePort()];
  const { simUrl } = await startDemo(apiPort, sitePort);
  const odooSync = `http://127.0.0.1:${apiPort}`;
  await startSite(sitePort, odooSync);

  // A product with a variant picker: attributes and several variants.
  const list = await (await fetch(`${odooSync}/api/products?limit=40`)).json();
  const product = list.products.find(
    (p: { attributes: unknown[]; variants: unknown[]; images: unknown[] }) =>
      p.attributes.length > 0 && p.variants.length > 1 && p.images.length > 0,
  );
  expect(product, "the demo catalog has products with variants").toBeTruthy();
  await page.goto(`http://127.0.0.1:${sitePort}/products/${product.id}`);
  await expect(page.getByTestId("product-name")).toHaveText(product.name);
  for (const attribute of product.attributes) {
    await expect(page.getByRole("group", { name: attribute.name })).toBeVisible();
  }
  await expect(page.getByTestId("variant")).toContainText(product.variants[0].sku ?? "");
  // Its image, loaded by the browser from odoo-sync's image API, resized.
  if (product.images.length > 0) {
    const image = page.getByTestId("product-image");
    await expect(image).toBeVisible();
    await expect.poll(() => image.evaluate((img: HTMLImageElement) => img.complete && img.naturalWidth)).toBeGreaterThan(0);
    expect(await image.getAttribute("src")).toContain(`${product.images[0].url}?w=`);
  }

  const uid = await odooCall(simUrl, "common", "authenticate", ["odoo", "admin", "admin", {}]);
  const renamed = `${product.name} (renamed in Odoo)`;
  await odooCall(simUrl, "object", "execute_kw", ["odoo", uid, "admin", "product.template", "write", [[product.id], { name: renamed }]]);
  await expect(async () => {
    await page.reload();
    await expect(page.getByTestId("product-name")).toHaveText(renamed, { timeout: 1_000 });
  }).toPass({ timeout: 60_000 });
  const delivered = await (
    await fetch(`${odooSync}/api/site-webhooks?status=delivered`, { headers: { Authorization: `Bearer ${adminToken}` } })
  ).json();
  expect(JSON.stringify(delivered)).toContain(`product:${product.id}`);
  await page.screenshot({ path: path.join(example, "test-results", "product-after-revalidation.png"), fullPage: true });
});
