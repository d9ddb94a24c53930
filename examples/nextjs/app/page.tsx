import Link from "next/link";
import { formatPrice, listCategories, listProducts } from "../lib/catalog";

type Category = Awaited<ReturnType<typeof listCategories>>["categories"][number];

function flatten(categories: Category[], depth = 0): { category: Category; depth: number }[] {
  return categories.flatMap((category) => [
    { category, depth },
    ...flatten(category.children, depth + 1),
  ]);
}

export default async function Listing({
  searchParams,
}: {
  searchParams: Promise<{ category?: string; cursor?: string }>;
}) {
  const { category, cursor } = await searchParams;
  const categoryId = category ? Number(category) : undefined;
  const [{ products, nextCursor }, { categories }] = await Promise.all([
    listProducts({ category: categoryId, cursor }),
    listCategories(),
  ]);
  const link = (query: Record<string, string | number | undefined>) => {
    const params = new URLSearchParams();
    for (const [key, value] of Object.entries(query)) {
      if (value !== undefined) params.set(key, String(value));
    }
    const text = params.toString();
    return text ? `/?${text}` : "/";
  };
  return (
    <main style={{ display: "grid", gridTemplateColumns: "220px 1fr", gap: 24 }}>
      <nav aria-label="categories">
        <Link href="/">All products</Link>
        <ul style={{ listStyle: "none", padding: 0 }}>
          {flatten(categories).map(({ category: c, depth }) => (
            <li key={c.id} style={{ paddingLeft: depth * 12 }}>
              <Link href={link({ category: c.id })} aria-current={c.id === categoryId ? "page" : undefined}>
                {c.name}
              </Link>{" "}
              <small>({c.totalProductCount})</small>
            </li>
          ))}
        </ul>
      </nav>
      <section>
        <ul data-testid="products" style={{ listStyle: "none", padding: 0, display: "grid", gridTemplateColumns: "repeat(3, 1fr)", gap: 12 }}>
          {products.map((product) => (
            <li key={product.id} style={{ border: "1px solid #ddd", borderRadius: 8, padding: 12 }}>
              <Link href={`/products/${product.id}`}>{product.name}</Link>
              <div>{formatPrice(product.price, product.currency)}</div>
            </li>
          ))}
        </ul>
        <p>
          {cursor && <Link href={link({ category: categoryId })}>First page</Link>}{" "}
          {nextCursor && <Link href={link({ category: categoryId, cursor: nextCursor })}>Next page</Link>}
        </p>
      </section>
    </main>
  );
}
