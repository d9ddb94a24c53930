-- Outgoing "catalog changed" webhooks to websites (SITE_WEBHOOK_URLS): one row per event and
-- target URL, written in the transaction of the catalog change it reports, so a committed change
-- always has its event and a rolled-back one never does. Workers lease due rows (locked_until),
-- then mark them delivered, due again later (attempts, next_at, last_status, last_error) or failed.
-- Failed rows stay until replayed.

create table site_outbox (
    site_outbox_id integer primary key autoincrement,
    -- The Standard Webhooks `webhook-id`: the same for every attempt and every target.
    event_id text not null,
    url text not null,
    body text not null,
    status text not null default 'pending' check (status in ('pending', 'delivered', 'failed')),
    attempts integer not null default 0,
    next_at text not null,
    locked_until text,
    last_status integer,
    last_error text,
    created_at text not null,
    updated_at text not null,
    delivered_at text,
    unique (event_id, url)
);

create index site_outbox_due_idx on site_outbox (status, next_at);
