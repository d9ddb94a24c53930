-- Facets (store/facets.rs): each attribute's values are counted by walking this index in
-- (attribute, value) order, and the price range and category counts read the filtered products
-- from the narrow second one instead of the wide product rows.
create index product_attribute_value_facet_idx
    on product_attribute_value (attribute_id, value_id, product_id);
create index product_facet_idx on product (category_id, list_price, active, deleted_at);
