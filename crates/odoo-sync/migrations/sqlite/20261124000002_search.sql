-- Full-text search over names (every language), SKUs and barcodes, accent- and case-insensitive:
-- a French shop searching "eleve" finds "élève". rowid is the product id.
create virtual table product_search using fts5(
    names,
    codes,
    tokenize = 'unicode61 remove_diacritics 2'
);

create index product_name_idx on product (name, product_id);
create index product_price_idx on product (list_price, product_id);
create index product_write_date_idx on product (write_date, product_id);
create index variant_default_code_idx on variant (default_code);
