/** A price in the product's currency (Odoo's ISO code); plain number when it has none. */
export function formatPrice(price: number | null | undefined, currency?: string | null) {
  // null: the pricelist asked for cannot price this product (odoo-sync never guesses a price).
  if (price === null || price === undefined) return "Price on request";
  if (!currency) return price.toFixed(2);
  return new Intl.NumberFormat("en", { style: "currency", currency }).format(price);
}
