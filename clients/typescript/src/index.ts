/**
 * Typed client of the odoo-sync HTTP API. `schema.d.ts` is generated from the server's OpenAPI
 * document (`scripts/generate-ts-client`); this file only adds the base URL and the token.
 */
import createFetchClient, { type Client, type ClientOptions } from "openapi-fetch";
import type { components, paths } from "./schema";

export type { components, paths };

type Schemas = components["schemas"];
export type Product = Schemas["ProductView"];
export type Variant = Schemas["VariantView"];
export type Category = Schemas["CategoryView"];
export type ProductList = Schemas["ProductList"];
export type CategoryList = Schemas["CategoryList"];
export type ChangeFeed = Schemas["ChangeFeed"];
export type SyncRun = Schemas["RunView"];
export type SyncStatus = Schemas["StatusView"];

/** The error body of every non-2xx JSON answer. */
export interface ApiError {
  error: { code: string; message: string; requestId?: string; runId?: number };
}

export interface OdooSyncOptions extends Omit<ClientOptions, "baseUrl"> {
  /** Where odoo-sync answers, e.g. `https://sync.shop.example` (no trailing `/api`). */
  baseUrl: string;
  /**
   * Sent as `Authorization: Bearer …`: `CATALOG_TOKEN` for a private catalog, `ADMIN_TOKEN` for
   * the sync API. Keep the admin token on the server side.
   */
  token?: string;
}

export type OdooSyncClient = Client<paths>;

export function createClient({ baseUrl, token, ...rest }: OdooSyncOptions): OdooSyncClient {
  const client = createFetchClient<paths>({ ...rest, baseUrl: baseUrl.replace(/\/+$/, "") });
  if (token !== undefined) {
    client.use({
      onRequest({ request }) {
        request.headers.set("Authorization", `Bearer ${token}`);
        return request;
      },
    });
  }
  return client;
}
