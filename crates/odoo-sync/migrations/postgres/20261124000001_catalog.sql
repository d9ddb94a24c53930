-- The catalog mirrored from Odoo, and the sync bookkeeping that makes runs durable: the same
-- tables as migrations/sqlite, with PostgreSQL's types. Several odoo-sync processes may share
-- this database; what they must agree on is enforced here (one running run, change_seq order,
-- the catalog version).

create table category (
    category_id bigint primary key,           -- Odoo product.category id
    name text not null,
    complete_name text collate "C" not null,
    parent_id bigint,
    write_date timestamp not null,            -- Odoo's, UTC, whole seconds
    content_hash text not null,
    updated_at timestamptz not null
);

-- change_seq values are taken while the catalog version row is locked (see
-- 20261124000010_catalog_version.sql), so they are handed out in commit order and a reader of
-- the change feed never sees a later one before an earlier one.
create sequence product_change_seq as bigint;

create table product (
    product_id bigint primary key,            -- Odoo product.template id
    -- "C": byte order, as SQLite sorts, whatever the database's locale.
    name text collate "C" not null,
    default_code text,
    barcode text,
    list_price double precision not null,
    category_id bigint,
    description_sale text,
    active boolean not null,
    sale_ok boolean not null,
    is_published boolean not null,
    public_categ_ids jsonb not null,          -- array of ids
    -- json, not jsonb: keeps the keys in the order Odoo sent them, which the API prints.
    extra json not null,                      -- object of SYNC_EXTRA_FIELDS values
    write_date timestamp not null,
    content_hash text not null,
    -- Names in every language and codes, tokenised by odoo-sync as SQLite's FTS5 unicode61
    -- tokenizer does (lower case, diacritics removed), so both stores find the same products.
    search tsvector not null,
    deleted_at timestamptz,                   -- set when Odoo no longer has the product
    change_seq bigint not null,               -- from product_change_seq on every real change
    created_at timestamptz not null,
    updated_at timestamptz not null
);
create index product_category_idx on product (category_id);
create index product_default_code_idx on product (default_code);
create index product_change_seq_idx on product (change_seq);
create index product_name_idx on product (name, product_id);
create index product_price_idx on product (list_price, product_id);
create index product_write_date_idx on product (write_date, product_id);
create index product_search_idx on product using gin (search);

create table variant (
    variant_id bigint primary key,            -- Odoo product.product id
    product_id bigint not null references product (product_id) on delete cascade,
    position integer not null,
    default_code text,
    barcode text,
    lst_price double precision not null,
    active boolean not null,
    attribute_value_ids jsonb not null,       -- array of product.template.attribute.value ids
    write_date timestamp not null
);
create index variant_product_idx on variant (product_id);
create index variant_default_code_idx on variant (default_code);

create table product_translation (
    product_id bigint not null references product (product_id) on delete cascade,
    lang text not null,
    name text not null,
    description_sale text,
    primary key (product_id, lang)
);

create table sync_run (
    sync_run_id bigint generated always as identity primary key,
    mode text not null,                       -- full | incremental
    trigger text not null,                    -- cli | api | schedule | cron | webhook | demo
    status text not null,                     -- running | succeeded | failed | skipped
    total bigint,
    processed bigint not null default 0,
    created bigint not null default 0,
    updated bigint not null default 0,
    unchanged bigint not null default 0,
    archived bigint not null default 0,
    deleted bigint not null default 0,
    cursor jsonb not null,                    -- SyncCursor, committed with each batch
    error text,
    lease_owner text,
    lease_until timestamptz,
    started_at timestamptz not null,
    updated_at timestamptz not null,
    finished_at timestamptz
);
-- One run at a time, enforced by the database so that several processes agree.
create unique index sync_run_one_running_idx on sync_run (status) where status = 'running';

create table sync_state (
    key text primary key,
    value text not null,
    updated_at timestamptz not null
);
