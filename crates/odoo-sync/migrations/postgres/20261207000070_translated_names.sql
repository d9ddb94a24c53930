-- Attribute, value and website category names in each of SYNC_LANGS (JSON objects lang -> name),
-- shown by the catalog API under `?lang=`. Rows written before this migration have none until
-- their product (or the category tree) is written again: the next full sync fills them, and
-- until then the base language's name is shown, as for a language Odoo has no translation in.
alter table product_attribute_value add column attribute_name_translations jsonb not null default '{}';
alter table product_attribute_value add column name_translations jsonb not null default '{}';
alter table public_category add column name_translations jsonb not null default '{}';
