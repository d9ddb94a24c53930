-- The catalog mirrored from Odoo, and the sync bookkeeping that makes runs durable.

create table category (
    category_id integer primary key,          -- Odoo product.category id
    name text not null,
    complete_name text not null,
    parent_id integer,
    write_date text not null,                 -- Odoo's, 'YYYY-MM-DD HH:MM:SS' UTC
    content_hash text not null,
    updated_at text not null
);

create table product (
    product_id integer primary key,           -- Odoo product.template id
    name text not null,
    default_code text,
    barcode text,
    list_price real not null,
    category_id integer,
    description_sale text,
    active integer not null,
    sale_ok integer not null,
    is_published integer not null,
    public_categ_ids text not null,           -- JSON array of ids
    extra text not null,                      -- JSON object of SYNC_EXTRA_FIELDS values
    write_date text not null,
    content_hash text not null,
    deleted_at text,                          -- set when Odoo no longer has the product
    change_seq integer not null,              -- bumped on every real change (change feed)
    created_at text not null,
    updated_at text not null
);
create index product_category_idx on product (category_id);
create index product_default_code_idx on product (default_code);
create index product_change_seq_idx on product (change_seq);

create table variant (
    variant_id integer primary key,           -- Odoo product.product id
    product_id integer not null references product (product_id) on delete cascade,
    position integer not null,
    default_code text,
    barcode text,
    lst_price real not null,
    active integer not null,
    attribute_value_ids text not null,        -- JSON array of product.template.attribute.value ids
    write_date text not null
);
create index variant_product_idx on variant (product_id);

create table product_translation (
    product_id integer not null references product (product_id) on delete cascade,
    lang text not null,
    name text not null,
    description_sale text,
    primary key (product_id, lang)
);

create table sync_run (
    sync_run_id integer primary key autoincrement,
    mode text not null,                       -- full | incremental
    trigger text not null,                    -- cli | api | schedule | cron | webhook | demo
    status text not null,                     -- running | succeeded | failed | skipped
    total integer,
    processed integer not null default 0,
    created integer not null default 0,
    updated integer not null default 0,
    unchanged integer not null default 0,
    archived integer not null default 0,
    deleted integer not null default 0,
    cursor text not null,                     -- JSON SyncCursor, committed with each batch
    error text,
    lease_owner text,
    lease_until text,
    started_at text not null,
    updated_at text not null,
    finished_at text
);
-- One run at a time, enforced by the database so that several processes agree.
create unique index sync_run_one_running_idx on sync_run (status) where status = 'running';

create table sync_state (
    key text primary key,
    value text not null,
    updated_at text not null
);
