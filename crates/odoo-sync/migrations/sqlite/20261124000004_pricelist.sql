-- Prices under the configured pricelist (SYNC_PRICELIST_ID). Odoo has no RPC method that returns
-- them and a pricelist item's change moves no product write_date, so its rules are mirrored here
-- and applied by odoo-sync.

create table pricelist_rule (
    rule_id integer primary key,              -- Odoo product.pricelist.item id
    rule text not null,                       -- JSON of domain::pricelist::PricelistRule
    write_date text not null
);

create table variant_price (
    variant_id integer primary key,
    price real,                               -- null: the rule computes from a base not synced
    rule_id integer,                          -- null: no rule applies, the sales price
    updated_at text not null
);
