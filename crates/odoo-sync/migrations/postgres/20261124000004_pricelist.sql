-- Prices under the configured pricelist (SYNC_PRICELIST_ID), as in migrations/sqlite.

create table pricelist_rule (
    rule_id bigint primary key,               -- Odoo product.pricelist.item id
    rule jsonb not null,                      -- domain::pricelist::PricelistRule
    write_date timestamp not null
);

create table variant_price (
    variant_id bigint primary key,
    price double precision,                   -- null: the rule computes from a base not synced
    rule_id bigint,                           -- null: no rule applies, the sales price
    updated_at timestamptz not null
);
