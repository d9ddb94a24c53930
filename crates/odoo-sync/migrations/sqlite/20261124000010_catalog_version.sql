-- One number that changes whenever anything a catalog answer shows may have changed: the catalog
-- API derives its ETags and its response cache from it, so a 304 or a cached page costs one
-- tiny read instead of the page's queries.
--
-- Triggers bump it in the writer's own transaction, so it can never be seen ahead of or behind
-- the rows it stands for, whichever process (serve, a CLI sync, a webhook worker) wrote them.
-- No-op upserts (`do update ... where` the content hash differs) update no row and fire nothing.

create table catalog_version (
    catalog_version_id integer primary key check (catalog_version_id = 1),
    version integer not null
);
insert into catalog_version (catalog_version_id, version) values (1, 1);

create trigger product_insert_bumps_catalog_version after insert on product
begin update catalog_version set version = version + 1; end;
create trigger product_update_bumps_catalog_version after update on product
begin update catalog_version set version = version + 1; end;
create trigger product_delete_bumps_catalog_version after delete on product
begin update catalog_version set version = version + 1; end;
create trigger variant_insert_bumps_catalog_version after insert on variant
begin update catalog_version set version = version + 1; end;
create trigger variant_update_bumps_catalog_version after update on variant
begin update catalog_version set version = version + 1; end;
create trigger variant_delete_bumps_catalog_version after delete on variant
begin update catalog_version set version = version + 1; end;
create trigger product_translation_insert_bumps_catalog_version after insert on product_translation
begin update catalog_version set version = version + 1; end;
create trigger product_translation_update_bumps_catalog_version after update on product_translation
begin update catalog_version set version = version + 1; end;
create trigger product_translation_delete_bumps_catalog_version after delete on product_translation
begin update catalog_version set version = version + 1; end;
create trigger category_insert_bumps_catalog_version after insert on category
begin update catalog_version set version = version + 1; end;
create trigger category_update_bumps_catalog_version after update on category
begin update catalog_version set version = version + 1; end;
create trigger category_delete_bumps_catalog_version after delete on category
begin update catalog_version set version = version + 1; end;
create trigger variant_stock_insert_bumps_catalog_version after insert on variant_stock
begin update catalog_version set version = version + 1; end;
create trigger variant_stock_update_bumps_catalog_version after update on variant_stock
begin update catalog_version set version = version + 1; end;
create trigger variant_stock_delete_bumps_catalog_version after delete on variant_stock
begin update catalog_version set version = version + 1; end;
