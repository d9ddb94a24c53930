/** A price in the product's currency (Odoo's ISO code); plain number when it has none. */
export function formatPrice(price: number, currency?: string | null) {
  if (!currency) return price.toFixed(2);
  return new Intl.NumberFormat("en", { style: "currency", currency }).format(price);
}
