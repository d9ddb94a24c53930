import { notFound } from "next/navigation";
import { formatPrice, getProduct } from "../../../lib/catalog";
import { VariantPicker } from "./variant-picker";

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
      <p data-testid="product-price">{formatPrice(product.price)}</p>
      {product.description && <p>{product.description}</p>}
      <VariantPicker variants={product.variants} />
    </main>
  );
}
