-- Several pricelists (SYNC_PRICELIST_IDS): each synced pricelist with its currency, and rules
-- and prices keyed by pricelist. Prices are derived data: they are recomputed from the rules by
-- the first pricing after the upgrade (the pricing state goes, so that pricing reads the rules
-- again and prices every variant).

create table pricelist (
    pricelist_id integer primary key,          -- Odoo product.pricelist id
    name text not null,
    currency text,                             -- ISO code of the pricelist's currency
    position integer not null,                 -- order in SYNC_PRICELIST_IDS
    updated_at text not null
);

drop table pricelist_rule;
create table pricelist_rule (
    pricelist_id integer not null,
    rule_id integer not null,                  -- Odoo product.pricelist.item id
    rule text not null,                        -- JSON of domain::pricelist::PricelistRule
    write_date text not null,
    primary key (pricelist_id, rule_id)
);

drop table variant_price;
create table variant_price (
    pricelist_id integer not null,
    variant_id integer not null,
    price real,                                -- null: the rule computes from a base not synced
    rule_id integer,                           -- null: no rule applies, the sales price
    updated_at text not null,
    primary key (variant_id, pricelist_id)
);

delete from sync_state where key = 'pricing';

-- Both are shown by the catalog API (see 20261124000010_catalog_version.sql).
create trigger variant_price_insert_bumps_catalog_version after insert on variant_price
begin update catalog_version set version = version + 1; end;
create trigger variant_price_update_bumps_catalog_version after update on variant_price
begin update catalog_version set version = version + 1; end;
create trigger variant_price_delete_bumps_catalog_version after delete on variant_price
begin update catalog_version set version = version + 1; end;
create trigger pricelist_insert_bumps_catalog_version after insert on pricelist
begin update catalog_version set version = version + 1; end;
create trigger pricelist_update_bumps_catalog_version after update on pricelist
begin update catalog_version set version = version + 1; end;
create trigger pricelist_delete_bumps_catalog_version after delete on pricelist
begin update catalog_version set version = version + 1; end;
