import type { ReactNode } from "react";
import Link from "next/link";

export const metadata = {
  title: "odoo-sync shop",
  description: "A Next.js storefront reading its catalog from odoo-sync",
};

export default function RootLayout({ children }: { children: ReactNode }) {
  return (
    <html lang="en">
      <body style={{ fontFamily: "system-ui, sans-serif", margin: "0 auto", maxWidth: 960, padding: 16 }}>
        <header style={{ marginBottom: 24 }}>
          <Link href="/" style={{ fontWeight: 700, fontSize: 20, textDecoration: "none" }}>
            odoo-sync shop
          </Link>
        </header>
        {children}
      </body>
    </html>
  );
}
