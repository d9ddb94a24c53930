// app/api/cron/sync/route.ts in the Next.js site: Vercel Cron calls this route with
// `Authorization: Bearer $CRON_SECRET`; it forwards the call to odoo-sync, which starts an
// incremental run and answers at once (202 with the run id; 409 when a run is already going).
// Set ODOO_SYNC_URL (e.g. https://sync.shop.example) and CRON_SECRET (the same value as
// odoo-sync's) in the Vercel project.
export const dynamic = "force-dynamic";

export async function GET(request: Request): Promise<Response> {
  const auth = request.headers.get("authorization");
  if (auth !== `Bearer ${process.env.CRON_SECRET}`) {
    return new Response("unauthorized", { status: 401 });
  }
  const full = new URL(request.url).searchParams.get("full") === "true";
  const target = `${process.env.ODOO_SYNC_URL}/api/cron/sync${full ? "?full=true" : ""}`;
  const answer = await fetch(target, { headers: { authorization: auth }, cache: "no-store" });
  return new Response(await answer.text(), {
    status: answer.status,
    headers: { "content-type": answer.headers.get("content-type") ?? "application/json" },
  });
}
