-- Pricelist prices are part of what a catalog answer shows: their changes bump the catalog
-- version too (see 20261124000010_catalog_version.sql).

create trigger variant_price_insert_bumps_catalog_version after insert on variant_price
begin update catalog_version set version = version + 1; end;
create trigger variant_price_update_bumps_catalog_version after update on variant_price
begin update catalog_version set version = version + 1; end;
create trigger variant_price_delete_bumps_catalog_version after delete on variant_price
begin update catalog_version set version = version + 1; end;
