// Product images as the browser loads them: straight from odoo-sync's `/api/images/{hash}`,
// which resizes once (widths snap to 128, 256, 512, 1024, 1920), answers WebP to browsers that
// accept it, and caches forever (the URL is the hash of the bytes). So no Next.js image
// optimisation is needed: a plain <img> with a srcset is enough.
import type { components } from "@odoo-sync/client";

type ImageView = components["schemas"]["ImageView"];

/** An image ready for an <img>: absolute URLs, a srcset and its intrinsic size. */
export type Picture = { src: string; srcSet: string; alt: string; width: number; height: number };

const WIDTHS = [256, 512, 1024];

// Where the browser reaches odoo-sync; the server-side ODOO_SYNC_URL may be an internal address.
const publicBase = () => process.env.ODOO_SYNC_PUBLIC_URL ?? process.env.ODOO_SYNC_URL ?? "http://127.0.0.1:8080";

/** Server side only: the URLs of one of odoo-sync's images. */
export function picture(image: ImageView, fallbackAlt: string, width = 512): Picture {
  const at = (w: number) => `${publicBase()}${image.url}?w=${w}`;
  return {
    src: at(width),
    srcSet: WIDTHS.filter((w) => w < image.width)
      .map((w) => `${at(w)} ${w}w`)
      .concat(`${at(image.width)} ${image.width}w`)
      .join(", "),
    alt: image.alt ?? fallbackAlt,
    width: image.width,
    height: image.height,
  };
}
