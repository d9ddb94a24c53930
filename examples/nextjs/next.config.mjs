/** @type {import('next').NextConfig} */
const nextConfig = {
  // The catalog is read at request time and cached by tag until odoo-sync says it changed.
  poweredByHeader: false,
  // The typed client is TypeScript source, shared with the repository (clients/typescript).
  transpilePackages: ["@odoo-sync/client"],
};

export default nextConfig;
