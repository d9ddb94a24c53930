-- The durable inbox of Odoo webhooks, and stock per variant.
--
-- A webhook is committed here before Odoo gets its answer; workers claim events with a
-- time-limited lease (SQLite has no SKIP LOCKED, and no write transaction is held across an Odoo
-- call). Events are hints, never catalog content: the worker re-reads Odoo.

create table webhook_event (
    webhook_event_id integer primary key autoincrement,
    model text not null,                      -- product.template, product.product, product.category, stock.quant
    record_id integer not null,
    kind text not null,                       -- save | unlink
    hinted_write_date text,                   -- the payload's write_date, microseconds kept
    payload text not null,                    -- the body as received (JSON)
    state text not null,                      -- pending | done | failed
    attempts integer not null default 0,
    run_at text not null,                     -- not before (backoff and re-read schedule)
    locked_until text,
    last_error text,
    outcome text,                             -- what processing concluded (applied, gone, never visible...)
    received_at text not null,
    updated_at text not null
);
create index webhook_event_due_idx on webhook_event (state, run_at);
create index webhook_event_record_idx on webhook_event (model, record_id, state);

create table variant_stock (
    variant_id integer primary key,
    qty_available real not null,
    free_qty real not null,
    updated_at text not null
);
