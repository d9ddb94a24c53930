// Compiled by `tsc --noEmit` only (never run): the generated types must keep these calls valid,
// and keep refusing the wrong ones.
import { createClient, type Product, type ProductList } from "../src/index";

const site = createClient({ baseUrl: "https://sync.shop.example/", token: "catalog-token" });

export async function firstPage(): Promise<ProductList | undefined> {
  const { data, error } = await site.GET("/api/products", {
    params: { query: { limit: 24, sort: "name", q: "chair" } },
  });
  if (error !== undefined) {
    return undefined;
  }
  return data;
}

export async function oneProduct(id: number): Promise<Product | undefined> {
  const { data } = await site.GET("/api/products/{id}", { params: { path: { id } } });
  return data;
}

export async function refused(): Promise<void> {
  // @ts-expect-error: no such route
  await site.GET("/api/product");
  // @ts-expect-error: the id is a number
  await site.GET("/api/products/{id}", { params: { path: { id: "x" } } });
}
