-- One number that changes whenever anything a catalog answer shows may have changed (the API's
-- ETags and response cache; see migrations/sqlite/20261124000010_catalog_version.sql).
--
-- Triggers bump it in the writer's own transaction, whichever process wrote. They are statement
-- triggers with transition tables: one bump per statement that changed rows, not one per row (a
-- page write touches thousands), and none for a statement that changed nothing (a no-op upsert).
--
-- The bump locks the row until commit, so catalog writers take turns. odoo-sync's writers lock
-- it first (`select ... for update`), before any catalog row, so two of them cannot deadlock, and
-- they take change_seq values while holding it.

create table catalog_version (
    catalog_version_id integer primary key check (catalog_version_id = 1),
    version bigint not null
);
insert into catalog_version (catalog_version_id, version) values (1, 1);

create function catalog_version_bump_on_new_rows() returns trigger
language plpgsql as $$
begin
    if exists (select from new_rows) then
        update catalog_version set version = version + 1 where catalog_version_id = 1;
    end if;
    return null;
end
$$;

create function catalog_version_bump_on_old_rows() returns trigger
language plpgsql as $$
begin
    if exists (select from old_rows) then
        update catalog_version set version = version + 1 where catalog_version_id = 1;
    end if;
    return null;
end
$$;

do $$
declare
    shown text;
begin
    foreach shown in array array['product', 'variant', 'product_translation', 'category',
                                 'variant_stock', 'variant_price']
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
