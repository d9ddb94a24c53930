//! The static schema of every simulated model: fields (type, comodel, labels, flags) and the
//! default `_order`. Pure data; no records, no behaviour.

/// Odoo field types the simulator knows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ty {
    Char,
    Text,
    Html,
    Integer,
    Float,
    Monetary,
    Boolean,
    Selection,
    Many2one,
    One2many,
    Many2many,
    Datetime,
    Date,
    Binary,
    Other,
}

impl Ty {
    pub fn parse(s: &str) -> Ty {
        match s {
            "char" => Ty::Char,
            "text" => Ty::Text,
            "html" => Ty::Html,
            "integer" => Ty::Integer,
            "float" => Ty::Float,
            "monetary" => Ty::Monetary,
            "boolean" => Ty::Boolean,
            "selection" => Ty::Selection,
            "many2one" => Ty::Many2one,
            "one2many" => Ty::One2many,
            "many2many" => Ty::Many2many,
            "datetime" => Ty::Datetime,
            "date" => Ty::Date,
            "binary" => Ty::Binary,
            _ => Ty::Other,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Ty::Char => "char",
            Ty::Text => "text",
            Ty::Html => "html",
            Ty::Integer => "integer",
            Ty::Float => "float",
            Ty::Monetary => "monetary",
            Ty::Boolean => "boolean",
            Ty::Selection => "selection",
            Ty::Many2one => "many2one",
            Ty::One2many => "one2many",
            Ty::Many2many => "many2many",
            Ty::Datetime => "datetime",
            Ty::Date => "date",
            Ty::Binary => "binary",
            Ty::Other => "properties",
        }
    }

    pub fn is_text(self) -> bool {
        matches!(self, Ty::Char | Ty::Text | Ty::Html | Ty::Selection)
    }

    pub fn is_number(self) -> bool {
        matches!(self, Ty::Integer | Ty::Float | Ty::Monetary)
    }

    pub fn is_x2many(self) -> bool {
        matches!(self, Ty::One2many | Ty::Many2many)
    }
}

/// One field of a model.
#[derive(Debug)]
pub struct FieldDef {
    pub name: &'static str,
    pub ty: Ty,
    pub comodel: &'static str,
    pub string: &'static str,
    pub required: bool,
    /// Computed on read (never stored in a record slot).
    pub computed: bool,
    pub translate: bool,
}

/// One model: its name, label, fields and default order.
#[derive(Debug)]
pub struct ModelDef {
    pub name: &'static str,
    pub description: &'static str,
    pub order: &'static str,
    pub fields: &'static [FieldDef],
}

impl FieldDef {
    /// Whether Odoo stores the field (image fields are stored as attachments, and the extra
    /// media lists are plain one2many: the simulator computes them on read).
    pub fn stored(&self) -> bool {
        !self.computed
            || self.name == "id"
            || self.ty == Ty::Binary
            || self.name.ends_with("_image_ids")
    }

    /// Whether a write may set it (the resized `image_*` follow `image_1920`).
    pub fn writable(&self) -> bool {
        !self.computed
            || matches!(
                self.name,
                "image_1920"
                    | "image_variant_1920"
                    | "product_template_image_ids"
                    | "product_variant_image_ids"
            )
    }
}

impl ModelDef {
    pub fn field(&self, name: &str) -> Option<(usize, &'static FieldDef)> {
        self.fields.iter().enumerate().find(|(_, f)| f.name == name)
    }

    pub fn slot(&self, name: &str) -> Option<usize> {
        self.field(name).map(|(i, _)| i)
    }

    pub fn has_active(&self) -> bool {
        self.field("active").is_some()
    }
}

const fn f(name: &'static str, ty: Ty, string: &'static str) -> FieldDef {
    FieldDef {
        name,
        ty,
        comodel: "",
        string,
        required: false,
        computed: false,
        translate: false,
    }
}

const fn rel(name: &'static str, ty: Ty, comodel: &'static str, string: &'static str) -> FieldDef {
    FieldDef {
        comodel,
        ..f(name, ty, string)
    }
}

const fn req(mut d: FieldDef) -> FieldDef {
    d.required = true;
    d
}

const fn comp(mut d: FieldDef) -> FieldDef {
    d.computed = true;
    d
}

const fn trans(mut d: FieldDef) -> FieldDef {
    d.translate = true;
    d
}

const ID: FieldDef = comp(f("id", Ty::Integer, "ID"));
const DISPLAY_NAME: FieldDef = comp(f("display_name", Ty::Char, "Display Name"));
const WRITE_DATE: FieldDef = f("write_date", Ty::Datetime, "Last Updated on");
const CREATE_DATE: FieldDef = f("create_date", Ty::Datetime, "Created on");

pub const TEMPLATE: &str = "product.template";
pub const PRODUCT: &str = "product.product";
pub const CATEGORY: &str = "product.category";
pub const ATTRIBUTE: &str = "product.attribute";
pub const ATTR_VALUE: &str = "product.attribute.value";
pub const PTAL: &str = "product.template.attribute.line";
pub const PTAV: &str = "product.template.attribute.value";
pub const PUBLIC_CATEGORY: &str = "product.public.category";
pub const UOM: &str = "uom.uom";
pub const LANG: &str = "res.lang";
pub const IR_MODEL: &str = "ir.model";
pub const IR_FIELDS: &str = "ir.model.fields";
pub const AUTOMATION: &str = "base.automation";
pub const ACTION: &str = "ir.actions.server";
pub const LOCATION: &str = "stock.location";
pub const QUANT: &str = "stock.quant";
pub const PRICELIST: &str = "product.pricelist";
pub const PRICELIST_ITEM: &str = "product.pricelist.item";
pub const RIBBON: &str = "product.ribbon";
pub const CURRENCY: &str = "res.currency";
pub const ATTACHMENT: &str = "ir.attachment";
pub const PRODUCT_IMAGE: &str = "product.image";

/// The models `website_sale` adds; gone after `Db::uninstall_website`.
pub const WEBSITE_MODELS: &[&str] = &[PUBLIC_CATEGORY, RIBBON, PRODUCT_IMAGE];
/// The product.template fields `website_sale` (and `website`) add; product.product inherits them.
pub const WEBSITE_TEMPLATE_FIELDS: &[&str] = &[
    "is_published",
    "public_categ_ids",
    "website_sequence",
    "website_id",
    "website_url",
    "website_meta_title",
    "website_meta_description",
    "website_ribbon_id",
    "product_template_image_ids",
    "product_variant_image_ids",
];

static TEMPLATE_FIELDS: [FieldDef; 40] = [
    req(trans(f("name", Ty::Char, "Name"))),
    f("default_code", Ty::Char, "Internal Reference"),
    // Odoo computes it from the variants on every read (`store: false` in fields_get).
    comp(f("barcode", Ty::Char, "Barcode")),
    f("list_price", Ty::Float, "Sales Price"),
    f("standard_price", Ty::Float, "Cost"),
    req(rel("categ_id", Ty::Many2one, CATEGORY, "Product Category")),
    trans(f("description_sale", Ty::Text, "Sales Description")),
    f("active", Ty::Boolean, "Active"),
    f("sale_ok", Ty::Boolean, "Sales"),
    f("purchase_ok", Ty::Boolean, "Purchase"),
    req(f("type", Ty::Selection, "Product Type")),
    f("is_storable", Ty::Boolean, "Track Inventory"),
    req(rel("uom_id", Ty::Many2one, UOM, "Unit of Measure")),
    f("is_published", Ty::Boolean, "Is Published"),
    rel(
        "public_categ_ids",
        Ty::Many2many,
        PUBLIC_CATEGORY,
        "Website Product Category",
    ),
    f("website_sequence", Ty::Integer, "Website Sequence"),
    rel("website_id", Ty::Many2one, "website", "Website"),
    // `/shop/<slug>`, computed from the name and id (`store: false` in fields_get).
    comp(f("website_url", Ty::Char, "Website URL")),
    trans(f("website_meta_title", Ty::Char, "Website meta title")),
    trans(f(
        "website_meta_description",
        Ty::Text,
        "Website meta description",
    )),
    rel("website_ribbon_id", Ty::Many2one, RIBBON, "Ribbon"),
    rel(
        "attribute_line_ids",
        Ty::One2many,
        PTAL,
        "Product Attributes",
    ),
    WRITE_DATE,
    CREATE_DATE,
    rel("company_id", Ty::Many2one, "res.company", "Company"),
    rel("currency_id", Ty::Many2one, "res.currency", "Currency"),
    f("is_favorite", Ty::Boolean, "Favorite"),
    ID,
    DISPLAY_NAME,
    req(comp(rel(
        "product_variant_ids",
        Ty::One2many,
        PRODUCT,
        "Products",
    ))),
    comp(f(
        "product_variant_count",
        Ty::Integer,
        "# Product Variants",
    )),
    comp(f("qty_available", Ty::Float, "Quantity On Hand")),
    f("description", Ty::Html, "Description"),
    comp(f("free_qty", Ty::Float, "Free To Use Quantity")),
    // image.mixin: kept as `ir.attachment` rows (`res_field`), read through them (see images.rs).
    comp(f("image_1920", Ty::Binary, "Image")),
    comp(f("image_1024", Ty::Binary, "Image 1024")),
    comp(f("image_512", Ty::Binary, "Image 512")),
    comp(f("image_256", Ty::Binary, "Image 256")),
    comp(f("image_128", Ty::Binary, "Image 128")),
    comp(rel(
        "product_template_image_ids",
        Ty::One2many,
        PRODUCT_IMAGE,
        "Extra Product Media",
    )),
];

static PRODUCT_FIELDS: [FieldDef; 22] = [
    req(rel(
        "product_tmpl_id",
        Ty::Many2one,
        TEMPLATE,
        "Product Template",
    )),
    f("default_code", Ty::Char, "Internal Reference"),
    f("barcode", Ty::Char, "Barcode"),
    f("active", Ty::Boolean, "Active"),
    rel(
        "product_template_attribute_value_ids",
        Ty::Many2many,
        PTAV,
        "Attribute Values",
    ),
    f("write_date", Ty::Datetime, "Write Date"),
    CREATE_DATE,
    ID,
    DISPLAY_NAME,
    req(comp(trans(f("name", Ty::Char, "Name")))),
    comp(f("lst_price", Ty::Float, "Sales Price")),
    comp(f("price_extra", Ty::Float, "Variant Price Extra")),
    comp(f("is_favorite", Ty::Boolean, "Favorite")),
    comp(f("qty_available", Ty::Float, "Quantity On Hand")),
    comp(f("free_qty", Ty::Float, "Free To Use Quantity")),
    // The variant's own image; its `image_*` fall back to the template's when it has none.
    comp(f("image_variant_1920", Ty::Binary, "Variant Image")),
    comp(f("image_1920", Ty::Binary, "Image")),
    comp(f("image_1024", Ty::Binary, "Image 1024")),
    comp(f("image_512", Ty::Binary, "Image 512")),
    comp(f("image_256", Ty::Binary, "Image 256")),
    comp(f("image_128", Ty::Binary, "Image 128")),
    comp(rel(
        "product_variant_image_ids",
        Ty::One2many,
        PRODUCT_IMAGE,
        "Extra Variant Images",
    )),
];

static CATEGORY_FIELDS: [FieldDef; 8] = [
    req(f("name", Ty::Char, "Name")),
    comp(f("complete_name", Ty::Char, "Complete Name")),
    rel("parent_id", Ty::Many2one, CATEGORY, "Parent Category"),
    comp(f("parent_path", Ty::Char, "Parent Path")),
    WRITE_DATE,
    CREATE_DATE,
    ID,
    DISPLAY_NAME,
];

static PUBLIC_CATEGORY_FIELDS: [FieldDef; 8] = [
    req(trans(f("name", Ty::Char, "Name"))),
    rel(
        "parent_id",
        Ty::Many2one,
        PUBLIC_CATEGORY,
        "Parent Category",
    ),
    f("sequence", Ty::Integer, "Sequence"),
    rel("website_id", Ty::Many2one, "website", "Website"),
    comp(f("parent_path", Ty::Char, "Parent Path")),
    WRITE_DATE,
    ID,
    DISPLAY_NAME,
];

static RIBBON_FIELDS: [FieldDef; 4] = [
    req(trans(f("name", Ty::Char, "Ribbon Name"))),
    WRITE_DATE,
    ID,
    DISPLAY_NAME,
];

static CURRENCY_FIELDS: [FieldDef; 6] = [
    req(f("name", Ty::Char, "Currency")),
    req(f("symbol", Ty::Char, "Symbol")),
    f("active", Ty::Boolean, "Active"),
    WRITE_DATE,
    ID,
    DISPLAY_NAME,
];

static ATTRIBUTE_FIELDS: [FieldDef; 7] = [
    req(trans(f("name", Ty::Char, "Attribute"))),
    f("display_type", Ty::Selection, "Display Type"),
    f("create_variant", Ty::Selection, "Variant Creation"),
    f("sequence", Ty::Integer, "Sequence"),
    WRITE_DATE,
    ID,
    DISPLAY_NAME,
];

static ATTR_VALUE_FIELDS: [FieldDef; 7] = [
    req(trans(f("name", Ty::Char, "Value"))),
    req(rel("attribute_id", Ty::Many2one, ATTRIBUTE, "Attribute")),
    f("sequence", Ty::Integer, "Sequence"),
    f("html_color", Ty::Char, "Color"),
    WRITE_DATE,
    ID,
    DISPLAY_NAME,
];

static PTAL_FIELDS: [FieldDef; 9] = [
    req(rel(
        "product_tmpl_id",
        Ty::Many2one,
        TEMPLATE,
        "Product Template",
    )),
    req(rel("attribute_id", Ty::Many2one, ATTRIBUTE, "Attribute")),
    f("sequence", Ty::Integer, "Sequence"),
    rel("value_ids", Ty::Many2many, ATTR_VALUE, "Values"),
    rel(
        "product_template_value_ids",
        Ty::One2many,
        PTAV,
        "Product Attribute Values",
    ),
    f("active", Ty::Boolean, "Active"),
    WRITE_DATE,
    ID,
    DISPLAY_NAME,
];

static PTAV_FIELDS: [FieldDef; 11] = [
    // Related to product_attribute_value_id's, not stored: a value renamed is renamed here.
    comp(trans(f("name", Ty::Char, "Value"))),
    rel(
        "product_tmpl_id",
        Ty::Many2one,
        TEMPLATE,
        "Product Template",
    ),
    req(rel(
        "product_attribute_value_id",
        Ty::Many2one,
        ATTR_VALUE,
        "Attribute Value",
    )),
    rel("attribute_id", Ty::Many2one, ATTRIBUTE, "Attribute"),
    req(rel(
        "attribute_line_id",
        Ty::Many2one,
        PTAL,
        "Attribute Line",
    )),
    f("price_extra", Ty::Float, "Extra Price"),
    f("ptav_active", Ty::Boolean, "Active"),
    comp(f("html_color", Ty::Char, "HTML Color Index")),
    WRITE_DATE,
    ID,
    DISPLAY_NAME,
];

static UOM_FIELDS: [FieldDef; 4] = [
    req(trans(f("name", Ty::Char, "Unit of Measure"))),
    f("active", Ty::Boolean, "Active"),
    ID,
    DISPLAY_NAME,
];

static LANG_FIELDS: [FieldDef; 5] = [
    req(f("name", Ty::Char, "Name")),
    req(f("code", Ty::Char, "Locale Code")),
    f("active", Ty::Boolean, "Active"),
    ID,
    DISPLAY_NAME,
];

static IR_MODEL_FIELDS: [FieldDef; 4] = [
    req(f("model", Ty::Char, "Model")),
    req(f("name", Ty::Char, "Model Description")),
    ID,
    DISPLAY_NAME,
];

static IR_FIELDS_FIELDS: [FieldDef; 9] = [
    req(f("name", Ty::Char, "Field Name")),
    req(f("model", Ty::Char, "Model Name")),
    req(rel("model_id", Ty::Many2one, IR_MODEL, "Model")),
    f("field_description", Ty::Char, "Field Label"),
    f("ttype", Ty::Selection, "Field Type"),
    f("relation", Ty::Char, "Related Model"),
    f("store", Ty::Boolean, "Stored"),
    ID,
    DISPLAY_NAME,
];

static AUTOMATION_FIELDS: [FieldDef; 11] = [
    req(f("name", Ty::Char, "Automation Rule Name")),
    req(rel("model_id", Ty::Many2one, IR_MODEL, "Model")),
    req(f("trigger", Ty::Selection, "Trigger")),
    rel(
        "trigger_field_ids",
        Ty::Many2many,
        IR_FIELDS,
        "Trigger Fields",
    ),
    f("filter_domain", Ty::Char, "Apply on"),
    rel("action_server_ids", Ty::One2many, ACTION, "Actions"),
    f("active", Ty::Boolean, "Active"),
    WRITE_DATE,
    CREATE_DATE,
    ID,
    DISPLAY_NAME,
];

static ACTION_FIELDS: [FieldDef; 12] = [
    req(f("name", Ty::Char, "Action Name")),
    req(f("state", Ty::Selection, "Type")),
    f("usage", Ty::Selection, "Usage"),
    req(rel("model_id", Ty::Many2one, IR_MODEL, "Model")),
    f("webhook_url", Ty::Char, "Webhook URL"),
    rel(
        "webhook_field_ids",
        Ty::Many2many,
        IR_FIELDS,
        "Webhook Fields",
    ),
    comp(f("webhook_sample_payload", Ty::Text, "Sample Payload")),
    rel(
        "base_automation_id",
        Ty::Many2one,
        AUTOMATION,
        "Automation Rule",
    ),
    WRITE_DATE,
    CREATE_DATE,
    ID,
    DISPLAY_NAME,
];

static LOCATION_FIELDS: [FieldDef; 8] = [
    req(f("name", Ty::Char, "Location Name")),
    f("complete_name", Ty::Char, "Full Location Name"),
    req(f("usage", Ty::Selection, "Location Type")),
    rel("location_id", Ty::Many2one, LOCATION, "Parent Location"),
    f("active", Ty::Boolean, "Active"),
    WRITE_DATE,
    ID,
    DISPLAY_NAME,
];

static QUANT_FIELDS: [FieldDef; 9] = [
    req(rel("product_id", Ty::Many2one, PRODUCT, "Product")),
    req(rel("location_id", Ty::Many2one, LOCATION, "Location")),
    f("quantity", Ty::Float, "Quantity"),
    f("reserved_quantity", Ty::Float, "Reserved Quantity"),
    f("inventory_quantity", Ty::Float, "Counted Quantity"),
    WRITE_DATE,
    CREATE_DATE,
    ID,
    DISPLAY_NAME,
];

static PRICELIST_FIELDS: [FieldDef; 6] = [
    req(f("name", Ty::Char, "Pricelist Name")),
    rel("currency_id", Ty::Many2one, "res.currency", "Currency"),
    f("active", Ty::Boolean, "Active"),
    WRITE_DATE,
    ID,
    DISPLAY_NAME,
];

static PRICELIST_ITEM_FIELDS: [FieldDef; 21] = [
    req(rel("pricelist_id", Ty::Many2one, PRICELIST, "Pricelist")),
    rel("product_tmpl_id", Ty::Many2one, TEMPLATE, "Product"),
    rel("product_id", Ty::Many2one, PRODUCT, "Variant"),
    rel("categ_id", Ty::Many2one, CATEGORY, "Product Category"),
    req(f("applied_on", Ty::Selection, "Apply On")),
    req(f("compute_price", Ty::Selection, "Compute Price")),
    req(f("base", Ty::Selection, "Based on")),
    f("fixed_price", Ty::Float, "Fixed Price"),
    f("percent_price", Ty::Float, "Percentage Price"),
    f("price_discount", Ty::Float, "Price Discount"),
    f("price_round", Ty::Float, "Price Rounding"),
    f("price_surcharge", Ty::Float, "Extra Fee"),
    f("price_min_margin", Ty::Float, "Min. Price Margin"),
    f("price_max_margin", Ty::Float, "Max. Price Margin"),
    f("min_quantity", Ty::Float, "Min. Quantity"),
    f("date_start", Ty::Datetime, "Start Date"),
    f("date_end", Ty::Datetime, "End Date"),
    WRITE_DATE,
    CREATE_DATE,
    ID,
    DISPLAY_NAME,
];

static ATTACHMENT_FIELDS: [FieldDef; 13] = [
    req(f("name", Ty::Char, "Name")),
    f("res_model", Ty::Char, "Resource Model"),
    f("res_field", Ty::Char, "Resource Field"),
    f("res_id", Ty::Integer, "Resource ID"),
    f("type", Ty::Selection, "Type"),
    f("checksum", Ty::Char, "Checksum/SHA1"),
    f("file_size", Ty::Integer, "File Size"),
    f("mimetype", Ty::Char, "Mime Type"),
    f("datas", Ty::Binary, "File Content (base64)"),
    WRITE_DATE,
    CREATE_DATE,
    ID,
    DISPLAY_NAME,
];

static PRODUCT_IMAGE_FIELDS: [FieldDef; 11] = [
    req(f("name", Ty::Char, "Name")),
    f("sequence", Ty::Integer, "Sequence"),
    rel(
        "product_tmpl_id",
        Ty::Many2one,
        TEMPLATE,
        "Product Template",
    ),
    rel(
        "product_variant_id",
        Ty::Many2one,
        PRODUCT,
        "Product Variant",
    ),
    f("video_url", Ty::Char, "Video URL"),
    comp(f("image_1920", Ty::Binary, "Image")),
    comp(f("image_128", Ty::Binary, "Image 128")),
    WRITE_DATE,
    CREATE_DATE,
    ID,
    DISPLAY_NAME,
];

pub static MODELS: [ModelDef; 22] = [
    ModelDef {
        name: TEMPLATE,
        description: "Product",
        order: "is_favorite desc, name",
        fields: &TEMPLATE_FIELDS,
    },
    ModelDef {
        name: PRODUCT,
        description: "Product Variant",
        order: "is_favorite desc, default_code, name, id",
        fields: &PRODUCT_FIELDS,
    },
    ModelDef {
        name: CATEGORY,
        description: "Product Category",
        order: "complete_name",
        fields: &CATEGORY_FIELDS,
    },
    ModelDef {
        name: PUBLIC_CATEGORY,
        description: "Website Product Category",
        order: "sequence, name, id",
        fields: &PUBLIC_CATEGORY_FIELDS,
    },
    ModelDef {
        name: ATTRIBUTE,
        description: "Product Attribute",
        order: "sequence, id",
        fields: &ATTRIBUTE_FIELDS,
    },
    ModelDef {
        name: ATTR_VALUE,
        description: "Attribute Value",
        order: "attribute_id, sequence, id",
        fields: &ATTR_VALUE_FIELDS,
    },
    ModelDef {
        name: PTAL,
        description: "Product Template Attribute Line",
        order: "sequence, attribute_id, id",
        fields: &PTAL_FIELDS,
    },
    ModelDef {
        name: PTAV,
        description: "Product Template Attribute Value",
        order: "attribute_line_id, product_attribute_value_id, id",
        fields: &PTAV_FIELDS,
    },
    ModelDef {
        name: UOM,
        description: "Product Unit of Measure",
        order: "name",
        fields: &UOM_FIELDS,
    },
    ModelDef {
        name: LANG,
        description: "Languages",
        order: "active desc, name",
        fields: &LANG_FIELDS,
    },
    ModelDef {
        name: IR_MODEL,
        description: "Models",
        order: "model",
        fields: &IR_MODEL_FIELDS,
    },
    ModelDef {
        name: IR_FIELDS,
        description: "Fields",
        order: "name",
        fields: &IR_FIELDS_FIELDS,
    },
    ModelDef {
        name: AUTOMATION,
        description: "Automation Rule",
        order: "id",
        fields: &AUTOMATION_FIELDS,
    },
    ModelDef {
        name: ACTION,
        description: "Server Actions",
        order: "name, id",
        fields: &ACTION_FIELDS,
    },
    ModelDef {
        name: LOCATION,
        description: "Inventory Locations",
        order: "complete_name, id",
        fields: &LOCATION_FIELDS,
    },
    ModelDef {
        name: QUANT,
        description: "Quants",
        order: "id",
        fields: &QUANT_FIELDS,
    },
    ModelDef {
        name: PRICELIST,
        description: "Pricelist",
        order: "id",
        fields: &PRICELIST_FIELDS,
    },
    ModelDef {
        name: PRICELIST_ITEM,
        description: "Pricelist Rule",
        order: "applied_on, min_quantity desc, id",
        fields: &PRICELIST_ITEM_FIELDS,
    },
    ModelDef {
        name: RIBBON,
        description: "Product ribbon",
        order: "id",
        fields: &RIBBON_FIELDS,
    },
    ModelDef {
        name: CURRENCY,
        description: "Currency",
        order: "active desc, name",
        fields: &CURRENCY_FIELDS,
    },
    ModelDef {
        name: ATTACHMENT,
        description: "Attachment",
        order: "id desc",
        fields: &ATTACHMENT_FIELDS,
    },
    ModelDef {
        name: PRODUCT_IMAGE,
        description: "Product Image",
        order: "sequence, id",
        fields: &PRODUCT_IMAGE_FIELDS,
    },
];

pub fn model_def(name: &str) -> Option<&'static ModelDef> {
    MODELS.iter().find(|m| m.name == name)
}

/// product.template's field definition order in Odoo 18 (demo18 with website_sale, stock, sale),
/// as `fields_get` lists it; `fields_get(allfields=...)` answers in this order.
pub static TEMPLATE_FIELD_ORDER: &[&str] = &[
    "website_id",
    "website_published",
    "is_published",
    "can_publish",
    "website_url",
    "is_seo_optimized",
    "website_meta_title",
    "website_meta_description",
    "website_meta_keywords",
    "website_meta_og_img",
    "seo_name",
    "image_1920",
    "image_1024",
    "image_512",
    "image_256",
    "image_128",
    "activity_ids",
    "activity_state",
    "activity_user_id",
    "activity_type_id",
    "activity_type_icon",
    "activity_date_deadline",
    "my_activity_date_deadline",
    "activity_summary",
    "activity_exception_decoration",
    "activity_exception_icon",
    "message_is_follower",
    "message_follower_ids",
    "message_partner_ids",
    "message_ids",
    "has_message",
    "message_needaction",
    "message_needaction_counter",
    "message_has_error",
    "message_has_error_counter",
    "message_attachment_count",
    "rating_ids",
    "website_message_ids",
    "message_has_sms_error",
    "name",
    "sequence",
    "description",
    "description_purchase",
    "description_sale",
    "type",
    "combo_ids",
    "service_tracking",
    "categ_id",
    "currency_id",
    "cost_currency_id",
    "list_price",
    "standard_price",
    "volume",
    "volume_uom_name",
    "weight",
    "weight_uom_name",
    "sale_ok",
    "purchase_ok",
    "uom_id",
    "uom_name",
    "uom_po_id",
    "company_id",
    "packaging_ids",
    "seller_ids",
    "variant_seller_ids",
    "active",
    "color",
    "is_product_variant",
    "attribute_line_ids",
    "valid_product_template_attribute_line_ids",
    "product_variant_ids",
    "product_variant_id",
    "product_variant_count",
    "barcode",
    "default_code",
    "pricelist_item_count",
    "product_document_ids",
    "product_document_count",
    "can_image_1024_be_zoomed",
    "has_configurable_attributes",
    "product_tooltip",
    "is_favorite",
    "product_tag_ids",
    "product_properties",
    "id",
    "display_name",
    "create_uid",
    "create_date",
    "write_uid",
    "write_date",
    "taxes_id",
    "tax_string",
    "supplier_taxes_id",
    "property_account_income_id",
    "property_account_expense_id",
    "account_tag_ids",
    "fiscal_country_codes",
    "is_storable",
    "responsible_id",
    "property_stock_production",
    "property_stock_inventory",
    "sale_delay",
    "tracking",
    "description_picking",
    "description_pickingout",
    "description_pickingin",
    "qty_available",
    "virtual_available",
    "incoming_qty",
    "outgoing_qty",
    "location_id",
    "warehouse_id",
    "has_available_route_ids",
    "route_ids",
    "nbr_moves_in",
    "nbr_moves_out",
    "nbr_reordering_rules",
    "reordering_min_qty",
    "reordering_max_qty",
    "route_from_categ_ids",
    "show_on_hand_qty_status_button",
    "show_forecasted_qty_status_button",
    "cost_method",
    "valuation",
    "lot_valuated",
    "service_type",
    "sale_line_warn",
    "sale_line_warn_msg",
    "expense_policy",
    "visible_expense_policy",
    "sales_count",
    "invoice_policy",
    "optional_product_ids",
    "hs_code",
    "country_of_origin",
    "rating_last_value",
    "rating_last_feedback",
    "rating_last_image",
    "rating_count",
    "rating_avg",
    "rating_avg_text",
    "rating_percentage_satisfaction",
    "rating_last_text",
    "website_description",
    "description_ecommerce",
    "alternative_product_ids",
    "accessory_product_ids",
    "website_size_x",
    "website_size_y",
    "website_ribbon_id",
    "website_sequence",
    "public_categ_ids",
    "product_template_image_ids",
    "base_unit_count",
    "base_unit_id",
    "base_unit_price",
    "base_unit_name",
    "compare_list_price",
    "allow_out_of_stock_order",
    "available_threshold",
    "show_availability",
    "out_of_stock_message",
];
