-- What a storefront renders (Odoo's website_sale): SEO texts, ribbon, currency and website of a
-- product, its attributes and values (the variant picker), and the website category tree.
-- Empty / null where Odoo has no website_sale.

alter table product add column slug text not null default '';          -- Odoo's slug: name-id
alter table product add column website_id integer;
alter table product add column website_url text;
alter table product add column seo_title text;
alter table product add column seo_description text;
alter table product add column ribbon text;                             -- the ribbon's name
alter table product add column currency text;                           -- ISO code

-- One row per attribute value a product offers (product.template.attribute.value), in picker
-- order: `position` orders the attributes, then the values within one.
create table product_attribute_value (
    product_id integer not null references product (product_id) on delete cascade,
    position integer not null,
    attribute_id integer not null,             -- product.attribute id
    attribute_name text not null,
    display_type text not null,                -- radio | select | color | pills | multi
    value_id integer not null,                 -- product.attribute.value id
    ptav_id integer not null,                  -- product.template.attribute.value id
    name text not null,
    html_color text,
    price_extra real not null,
    primary key (product_id, ptav_id)
);
create index product_attribute_value_value_idx on product_attribute_value (value_id);

create table public_category (
    public_category_id integer primary key,    -- Odoo product.public.category id
    name text not null,
    parent_id integer,
    sequence integer not null,
    website_id integer,
    updated_at text not null
);

-- Both are shown by the catalog API: their writes move the catalog version (see
-- 20261124000010_catalog_version.sql).
create trigger product_attribute_value_insert_bumps_catalog_version after insert on product_attribute_value
begin update catalog_version set version = version + 1; end;
create trigger product_attribute_value_delete_bumps_catalog_version after delete on product_attribute_value
begin update catalog_version set version = version + 1; end;
create trigger public_category_insert_bumps_catalog_version after insert on public_category
begin update catalog_version set version = version + 1; end;
create trigger public_category_update_bumps_catalog_version after update on public_category
begin update catalog_version set version = version + 1; end;
create trigger public_category_delete_bumps_catalog_version after delete on public_category
begin update catalog_version set version = version + 1; end;
