import { notFound } from "next/navigation";
import { formatPrice, getProduct } from "../../../lib/catalog";
import { picture, type Picture } from "../../../lib/images";
import { VariantPicker } from "./variant-picker";

export async function generateMetadata({ params }: { params: Promise<{ id: string }> }) {
  const product = await getProduct(Number((await params).id)).catch(() => null);
  if (!product) return {};
  return { title: product.seo.title ?? product.name, description: product.seo.description ?? undefined };
}

export default async function ProductPage({ params }: { params: Promise<{ id: string }> }) {
  const { id } = await params;
  const productId = Number(id);
  if (!Number.isInteger(productId) || productId <= 0) notFound();
  const product = await getProduct(productId);
  if (!product) notFound();
  // The template's images first (its own, then its extra media by sequence), and each variant's
  // own first image, which the picker shows while that variant is chosen.
  const gallery = product.images.map((image) => picture(image, product.name));
  const variantPictures: Record<number, Picture> = Object.fromEntries(
    product.variants.flatMap((v) => (v.images[0] ? [[v.id, picture(v.images[0], product.name)]] : [])),
  );
  return (
    <main>
      <h1 data-testid="product-name">{product.name}</h1>
      {product.category && <p>{product.category.path}</p>}
      {product.ribbon && <p><strong>{product.ribbon}</strong></p>}
      <p data-testid="product-price">{formatPrice(product.price, product.currency)}</p>
      {product.description && <p>{product.description}</p>}
      <VariantPicker product={product} cover={gallery[0] ?? null} variantPictures={variantPictures} />
      {gallery.length > 1 && (
        <ul aria-label="more images" style={{ display: "flex", gap: 8, listStyle: "none", padding: 0 }}>
          {gallery.slice(1).map((image) => (
            <li key={image.src}>
              {/* eslint-disable-next-line @next/next/no-img-element -- odoo-sync resizes and caches */}
              <img src={image.src} srcSet={image.srcSet} sizes="96px" alt={image.alt} width={96} height={Math.round((96 * image.height) / image.width)} loading="lazy" />
            </li>
          ))}
        </ul>
      )}
    </main>
  );
}
