-- What a storefront renders (Odoo's website_sale): SEO texts, ribbon, currency and website of a
-- product, its attributes and values (the variant picker), and the website category tree: the
-- same tables as migrations/sqlite, with PostgreSQL's types. Empty / null where Odoo has no
-- website_sale.

alter table product add column slug text not null default '';          -- Odoo's slug: name-id
alter table product add column website_id bigint;
alter table product add column website_url text;
alter table product add column seo_title text;
alter table product add column seo_description text;
alter table product add column ribbon text;                             -- the ribbon's name
alter table product add column currency text;                           -- ISO code

-- One row per attribute value a product offers (product.template.attribute.value), in picker
-- order: `position` orders the attributes, then the values within one.
create table product_attribute_value (
    product_id bigint not null references product (product_id) on delete cascade,
    position integer not null,
    attribute_id bigint not null,              -- product.attribute id
    attribute_name text not null,
    display_type text not null,                -- radio | select | color | pills | multi
    value_id bigint not null,                  -- product.attribute.value id
    ptav_id bigint not null,                   -- product.template.attribute.value id
    name text not null,
    html_color text,
    price_extra double precision not null,
    primary key (product_id, ptav_id)
);
create index product_attribute_value_value_idx on product_attribute_value (value_id);

create table public_category (
    public_category_id bigint primary key,     -- Odoo product.public.category id
    name text not null,
    parent_id bigint,
    sequence integer not null,
    website_id bigint,
    updated_at timestamptz not null
);

-- Both are shown by the catalog API: their writes move the catalog version (see
-- 20261124000010_catalog_version.sql).
do $$
declare
    shown text;
begin
    foreach shown in array array['product_attribute_value', 'public_category']
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
