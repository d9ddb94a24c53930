-- Outgoing "catalog changed" webhooks to websites (see migrations/sqlite/…_site_outbox.sql):
-- one row per event and target URL, written in the catalog change's own transaction. Several
-- instances claim due rows with `for update skip locked` and a lease, so each is sent by one.

create table site_outbox (
    site_outbox_id bigserial primary key,
    event_id text not null,
    url text not null,
    body text not null,
    status text not null default 'pending' check (status in ('pending', 'delivered', 'failed')),
    attempts integer not null default 0,
    next_at timestamptz not null,
    locked_until timestamptz,
    last_status integer,
    last_error text,
    created_at timestamptz not null,
    updated_at timestamptz not null,
    delivered_at timestamptz,
    unique (event_id, url)
);

create index site_outbox_due_idx on site_outbox (status, next_at);
