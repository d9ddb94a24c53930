-- The durable inbox of Odoo webhooks, and stock per variant (see migrations/sqlite). Claims use
-- a time-limited lease like SQLite's, taken with FOR UPDATE SKIP LOCKED so that the workers of
-- several processes pass each other instead of queueing on the same rows.

create table webhook_event (
    webhook_event_id bigint generated always as identity primary key,
    model text not null,                      -- product.template, product.product, product.category, stock.quant
    record_id bigint not null,
    kind text not null,                       -- save | unlink
    hinted_write_date timestamp,              -- the payload's write_date, microseconds kept
    payload text not null,                    -- the body as received, byte for byte
    state text not null,                      -- pending | done | failed
    attempts integer not null default 0,
    run_at timestamptz not null,              -- not before (backoff and re-read schedule)
    locked_until timestamptz,
    last_error text,
    outcome text,                             -- what processing concluded (applied, gone, never visible...)
    received_at timestamptz not null,
    updated_at timestamptz not null
);
create index webhook_event_due_idx on webhook_event (state, run_at);
create index webhook_event_record_idx on webhook_event (model, record_id, state);

create table variant_stock (
    variant_id bigint primary key,
    qty_available double precision not null,
    free_qty double precision not null,
    updated_at timestamptz not null
);
