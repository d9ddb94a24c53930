import { notFound } from "next/navigation";
import { formatPrice, getProduct } from "../../../lib/catalog";
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
  return (
    <main>
      <h1 data-testid="product-name">{product.name}</h1>
      {product.category && <p>{product.category.path}</p>}
      {product.ribbon && <p><strong>{product.ribbon}</strong></p>}
      <p data-testid="product-price">{formatPrice(product.price, product.currency)}</p>
      {product.description && <p>{product.description}</p>}
      <VariantPicker product={product} />
    </main>
  );
}
