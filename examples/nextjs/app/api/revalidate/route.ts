// odoo-sync's "catalog changed" webhook: verified with the Standard Webhooks signature (the
// secret is SITE_WEBHOOK_SECRET, shared with odoo-sync), then each tag it names is revalidated.
import { revalidateTag } from "next/cache";
import { Webhook, WebhookVerificationError } from "standardwebhooks";

type CatalogEvent = {
  type: string;
  tags?: string[];
  changeToken?: string;
};

export async function POST(request: Request) {
  const secret = process.env.SITE_WEBHOOK_SECRET;
  if (!secret) {
    return Response.json({ error: "SITE_WEBHOOK_SECRET is not set" }, { status: 500 });
  }
  const body = await request.text();
  let event: CatalogEvent;
  try {
    event = new Webhook(secret).verify(body, Object.fromEntries(request.headers)) as CatalogEvent;
  } catch (error) {
    if (error instanceof WebhookVerificationError) {
      return Response.json({ error: "bad signature" }, { status: 401 });
    }
    throw error;
  }
  const tags = event.tags ?? [];
  for (const tag of tags) {
    revalidateTag(tag);
  }
  return Response.json({ type: event.type, revalidated: tags });
}
