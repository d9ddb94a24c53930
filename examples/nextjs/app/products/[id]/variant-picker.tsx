"use client";

import { useState } from "react";
import type { Variant } from "../../../lib/catalog";

/** Picks one of the product's active variants; shows its SKU, price and stock. */
export function VariantPicker({ variants }: { variants: Variant[] }) {
  const active = variants.filter((variant) => variant.active);
  const [chosen, setChosen] = useState(active[0]?.id);
  const variant = active.find((v) => v.id === chosen);
  if (active.length === 0) return <p>Not available.</p>;
  return (
    <section aria-label="variants">
      {active.length > 1 && (
        <select value={chosen} onChange={(event) => setChosen(Number(event.target.value))}>
          {active.map((v) => (
            <option key={v.id} value={v.id}>
              {v.sku ?? `Variant ${v.id}`}
            </option>
          ))}
        </select>
      )}
      {variant && (
        <p>
          {variant.sku && <span>SKU {variant.sku} · </span>}
          <span>{variant.pricelistPrice ?? variant.price}</span>
          {variant.stock && <span> · {variant.stock.free > 0 ? "in stock" : "out of stock"}</span>}
        </p>
      )}
    </section>
  );
}
