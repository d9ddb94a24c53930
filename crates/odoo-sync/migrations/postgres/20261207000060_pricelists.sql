-- Several pricelists (SYNC_PRICELIST_IDS), as in migrations/sqlite: prices are recomputed by the
-- first pricing after the upgrade.

create table pricelist (
    pricelist_id bigint primary key,           -- Odoo product.pricelist id
    name text not null,
    currency text,                             -- ISO code of the pricelist's currency
    position integer not null,                 -- order in SYNC_PRICELIST_IDS
    updated_at timestamptz not null
);

drop table pricelist_rule;
create table pricelist_rule (
    pricelist_id bigint not null,
    rule_id bigint not null,                   -- Odoo product.pricelist.item id
    rule jsonb not null,                       -- domain::pricelist::PricelistRule
    write_date timestamp not null,
    primary key (pricelist_id, rule_id)
);

drop table variant_price;
create table variant_price (
    pricelist_id bigint not null,
    variant_id bigint not null,
    price double precision,                    -- null: the rule computes from a base not synced
    rule_id bigint,                            -- null: no rule applies, the sales price
    updated_at timestamptz not null,
    primary key (variant_id, pricelist_id)
);

delete from sync_state where key = 'pricing';

-- Both are shown by the catalog API (see 20261124000010_catalog_version.sql).
do $$
declare
    shown text;
begin
    foreach shown in array array['variant_price', 'pricelist']
    loop
        execute format('create trigger %1$s_insert_bumps_catalog_version after insert on %1$s '
                       'referencing new table as new_rows for each statement '
                       'execute function catalog_version_bump_on_new_rows()', shown);
        execute format('create trigger %1$s_update_bumps_catalog_version after update on %1$s '
                       'referencing new table as new_rows for each statement '
                       'execute function catalog_version_bump_on_new_rows()', shown);
        execute format('create trigger %1$s_delete_bumps_catalog_version after delete on %1$s '
                       'referencing old table as old_rows for each statement '
                       'execute function catalog_version_bump_on_old_rows()', shown);
    end loop;
end
$$;
