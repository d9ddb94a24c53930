-- Catalog images. The bytes live in the image store (IMAGE_STORE), named by the SHA-256 of the
-- bytes (`content_hash`); the database keeps only metadata and references.
--
-- image_blob: every blob stored, found again from Odoo's ir.attachment checksum (SHA-1 of the
-- same bytes), so an image whose checksum is known is never downloaded again. `unused_since` is
-- set when no product_image row points to it any more: a sweep deletes the blob a grace period
-- later (a page rendered just before may still point to it).
create table image_blob (
    checksum text primary key,
    content_hash text not null,
    mime text not null,
    width integer not null,
    height integer not null,
    size bigint not null,
    created_at text not null,
    unused_since text
);
create index image_blob_content_hash on image_blob (content_hash);

-- product_image: what a product (variant_id null) or a variant shows, in position order.
create table product_image (
    product_id bigint not null,
    variant_id bigint,
    position integer not null,
    checksum text not null,
    content_hash text not null,
    mime text not null,
    width integer not null,
    height integer not null,
    size bigint not null,
    alt text
);
create index product_image_product on product_image (product_id, position);
-- Whether a blob is still used (marking orphans) is a look-up by checksum.
create index product_image_checksum on product_image (checksum);

alter table sync_run add column images_fetched bigint not null default 0;
alter table sync_run add column images_unchanged bigint not null default 0;

create trigger product_image_insert_bumps_catalog_version after insert on product_image
begin update catalog_version set version = version + 1; end;
create trigger product_image_delete_bumps_catalog_version after delete on product_image
begin update catalog_version set version = version + 1; end;
