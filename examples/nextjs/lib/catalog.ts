// The catalog, read from odoo-sync with the typed client (clients/typescript), cached by Next.js
// under the tags odoo-sync names in its "catalog.changed" webhooks: a page stays cached until
// app/api/revalidate/route.ts hears that one of its tags changed.
import { createClient } from "@odoo-sync/client";

import type { Product } from "@odoo-sync/client";

export type { Product, Variant } from "@odoo-sync/client";

const client = createClient({
  baseUrl: process.env.ODOO_SYNC_URL ?? "http://127.0.0.1:8080",
  // A private catalog (CATALOG_PUBLIC=false): read with CATALOG_TOKEN, on the server side only.
  token: process.env.ODOO_SYNC_CATALOG_TOKEN,
});

/** A fetch that Next.js caches until one of `tags` is revalidated. */
function cachedUnder(tags: string[]) {
  return (request: Request) => fetch(request, { cache: "force-cache", next: { tags } });
}

export async function listProducts(options: { category?: number; cursor?: string; limit?: number }) {
  const tags = ["products", ...(options.category ? [`category:${options.category}`] : [])];
  const { data, error, response } = await client.GET("/api/products", {
    params: { query: { limit: options.limit ?? 12, category: options.category, cursor: options.cursor } },
    fetch: cachedUnder(tags),
  });
  if (error || !data) {
    throw new Error(`odoo-sync answered ${response.status} for the product list`);
  }
  return data;
}

export async function getProduct(id: number): Promise<Product | null> {
  const { data, response } = await client.GET("/api/products/{id}", {
    params: { path: { id } },
    fetch: cachedUnder([`product:${id}`]),
  });
  if (response.status === 404) {
    return null;
  }
  if (!data) {
    throw new Error(`odoo-sync answered ${response.status} for product ${id}`);
  }
  return data;
}

export async function listCategories() {
  const { data, response } = await client.GET("/api/categories", {
    fetch: cachedUnder(["products"]),
  });
  if (!data) {
    throw new Error(`odoo-sync answered ${response.status} for the categories`);
  }
  return data;
}

export { formatPrice } from "./price";
