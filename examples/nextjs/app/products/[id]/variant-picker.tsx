"use client";

import { useMemo, useState } from "react";
import type { Product } from "../../../lib/catalog";
import type { Picture } from "../../../lib/images";
import { formatPrice } from "../../../lib/price";

type Choice = Record<number, number>; // attribute id -> value id

/**
 * The variant picker, built from the product alone: one control per attribute in Odoo's order
 * (colour swatches for `color` attributes, a select otherwise), and the variant whose values
 * match the choice, with its price and stock.
 */
export function VariantPicker({
  product,
  cover,
  variantPictures,
}: {
  product: Product;
  /** The product's first image, shown when the chosen variant has none of its own. */
  cover: Picture | null;
  variantPictures: Record<number, Picture>;
}) {
  const variants = product.variants.filter((variant) => variant.active);
  const first = variants[0];
  const [choice, setChoice] = useState<Choice>(() =>
    Object.fromEntries((first?.attributes ?? []).map((a) => [a.attributeId, a.valueId])),
  );
  const variant = useMemo(
    () => variants.find((v) => v.attributes.every((a) => choice[a.attributeId] === a.valueId)),
    [variants, choice],
  );
  const shown = (variant && variantPictures[variant.id]) ?? cover;
  const image = shown && (
    // eslint-disable-next-line @next/next/no-img-element -- odoo-sync resizes and caches
    <img
      data-testid="product-image"
      src={shown.src}
      srcSet={shown.srcSet}
      sizes="(max-width: 600px) 100vw, 512px"
      alt={shown.alt}
      width={Math.min(512, shown.width)}
      height={Math.round((Math.min(512, shown.width) * shown.height) / shown.width)}
      style={{ maxWidth: "100%", height: "auto" }}
    />
  );
  if (variants.length === 0) return <>{image}<p>Not available.</p></>;
  const pick = (attributeId: number, valueId: number) => setChoice({ ...choice, [attributeId]: valueId });
  return (
    <section aria-label="variants">
      {image}
      {product.attributes.map((attribute) => (
        <fieldset key={attribute.id} style={{ border: 0, padding: 0, margin: "12px 0" }}>
          <legend>{attribute.name}</legend>
          {attribute.displayType === "color" ? (
            attribute.values.map((value) => (
              <button
                key={value.id}
                type="button"
                title={value.name}
                aria-pressed={choice[attribute.id] === value.id}
                onClick={() => pick(attribute.id, value.id)}
                style={{
                  width: 28,
                  height: 28,
                  marginRight: 6,
                  borderRadius: "50%",
                  background: value.htmlColor ?? "#ccc",
                  outline: choice[attribute.id] === value.id ? "2px solid #111" : "none",
                  border: "1px solid #999",
                }}
              />
            ))
          ) : (
            <select
              aria-label={attribute.name}
              value={choice[attribute.id]}
              onChange={(event) => pick(attribute.id, Number(event.target.value))}
            >
              {attribute.values.map((value) => (
                <option key={value.id} value={value.id}>
                  {value.name}
                </option>
              ))}
            </select>
          )}
        </fieldset>
      ))}
      {variant ? (
        <p data-testid="variant">
          {variant.sku && <span>SKU {variant.sku} · </span>}
          <span>{formatPrice(variant.pricelistPrice ?? variant.price, product.currency)}</span>
          {variant.stock && <span> · {variant.stock.free > 0 ? "in stock" : "out of stock"}</span>}
        </p>
      ) : (
        <p>This combination is not sold.</p>
      )}
    </section>
  );
}
