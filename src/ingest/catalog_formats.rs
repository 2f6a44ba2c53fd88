//! Catalog readers: Flipkart's export, shelftalk's CSV and JSON lines.

use std::io::Read;

use super::csv::{csv_rows, Fields};
use super::jsonl::{jsonl_rows, JsonFields};
use super::source::peek_first_line;
use super::text::{clean_text, split_category, tags_from};
use super::{
    rule, CatalogFormat, IngestError, Quarantine, Row, Rules, MAX_DESCRIPTION_CHARS, MAX_NAME_CHARS,
};
use crate::catalog::{Minor, Product};

const FLIPKART_COLS: &[&str] = &[
    "pid",
    "product_name",
    "brand",
    "product_category_tree",
    "retail_price",
    "discounted_price",
    "description",
];
const FLIPKART_REQUIRED: &[&str] = &["pid", "product_name", "retail_price", "discounted_price"];
const CSV_COLS: &[&str] = &[
    "sku",
    "name",
    "brand",
    "category",
    "price",
    "list_price",
    "description",
];
const CSV_REQUIRED: &[&str] = &["sku", "name", "price"];

/// Reads a catalog; `name` is the file name used in messages.
pub fn read_catalog(
    reader: impl Read + Send + 'static,
    name: &str,
    format: CatalogFormat,
    rules: &Rules,
) -> Result<Box<dyn Iterator<Item = Row<Product>>>, IngestError> {
    let (first, reader) = peek_first_line(reader, name)?;
    let format = match format {
        CatalogFormat::Auto => detect(&first).ok_or_else(|| IngestError::UnknownFormat {
            file: name.to_string(),
        })?,
        f => f,
    };
    let r = rules.clone();
    match format {
        CatalogFormat::Flipkart => csv_rows(
            reader,
            name,
            "flipkart",
            FLIPKART_COLS,
            FLIPKART_REQUIRED,
            rules,
            move |f| flipkart(f, &r),
        ),
        CatalogFormat::Csv | CatalogFormat::Auto => csv_rows(
            reader,
            name,
            "shelftalk csv",
            CSV_COLS,
            CSV_REQUIRED,
            rules,
            move |f| own_csv(f, &r),
        ),
        CatalogFormat::Jsonl => Ok(jsonl_rows(reader, rules, move |line, obj| {
            jsonl(&JsonFields { obj, line }, &r)
        })),
    }
}

fn detect(first: &str) -> Option<CatalogFormat> {
    let lower = first.to_ascii_lowercase();
    if lower.starts_with('{') {
        Some(CatalogFormat::Jsonl)
    } else if lower.contains("product_category_tree") && lower.contains("pid") {
        Some(CatalogFormat::Flipkart)
    } else if lower.split(',').any(|c| c.trim() == "sku") {
        Some(CatalogFormat::Csv)
    } else {
        None
    }
}

/// Builds the product once the fields are known good.
fn product(
    sku: &str,
    name: &str,
    brand: Option<&str>,
    category: Vec<String>,
    price: Minor,
    list_price: Option<Minor>,
    description: Option<&str>,
) -> Product {
    let tags = tags_from(&category);
    Product {
        sku: clean_text(sku, 64),
        name: clean_text(name, MAX_NAME_CHARS),
        brand: brand.map(|b| clean_text(b, 60)).filter(|b| !b.is_empty()),
        category,
        price,
        list_price: list_price.filter(|l| *l > price),
        description: description
            .map(|d| clean_text(d, MAX_DESCRIPTION_CHARS))
            .unwrap_or_default(),
        tags,
    }
}

/// Flipkart's category tree: `["A >> B >> C >> Product name..."]`. Trailing elements that are the
/// (often truncated) product name are dropped.
fn flipkart_category(tree: &str, name: &str) -> Vec<String> {
    let inner = tree
        .trim()
        .trim_start_matches('[')
        .trim_end_matches(']')
        .trim()
        .trim_matches('"');
    let mut parts = split_category(inner, ">>");
    let name_lower = name.to_lowercase();
    while parts.len() > 1 {
        let last = parts[parts.len() - 1].to_lowercase();
        let stem = last.trim_end_matches("...").trim();
        let looks_like_name = last.ends_with("...")
            || name_lower.starts_with(stem)
            || (stem.split(' ').count() >= 3 && name_lower.contains(stem));
        if looks_like_name {
            parts.pop();
        } else {
            break;
        }
    }
    parts.truncate(4);
    parts
}

fn flipkart(f: &Fields<'_>, rules: &Rules) -> Result<Product, Quarantine> {
    let sku = f.req(0)?;
    let name = f.req(1)?;
    let brand = f.opt(2)?;
    let category = flipkart_category(f.opt(3)?.unwrap_or(""), name);
    let retail = f.price(4, rules)?;
    let discounted = f.price(5, rules)?;
    let Some(price) = discounted.or(retail) else {
        return Err(f.q(
            "discounted_price",
            rule::MISSING_FIELD,
            "no price".into(),
            b"",
        ));
    };
    let description = f.opt(6)?;
    Ok(product(
        sku,
        name,
        brand,
        category,
        price,
        retail,
        description,
    ))
}

fn own_csv(f: &Fields<'_>, rules: &Rules) -> Result<Product, Quarantine> {
    let sku = f.req(0)?;
    let name = f.req(1)?;
    let brand = f.opt(2)?;
    let category = split_category(f.opt(3)?.unwrap_or(""), ">");
    let price = f.price(4, rules)?.ok_or_else(|| {
        f.q(
            "price",
            rule::MISSING_FIELD,
            "required value is empty".into(),
            b"",
        )
    })?;
    let list = f.price(5, rules)?;
    let description = f.opt(6)?;
    Ok(product(
        sku,
        name,
        brand,
        category,
        price,
        list,
        description,
    ))
}

fn jsonl(j: &JsonFields, rules: &Rules) -> Result<Product, Quarantine> {
    let max = rules.max_field_bytes;
    let sku = j.req_str("sku", 256)?;
    let name = j.req_str("name", max)?;
    let brand = j.opt_str("brand", max)?;
    let category = j.category("category")?;
    let price = j.opt_price("price", rules)?.ok_or_else(|| {
        j.q(
            "price",
            rule::MISSING_FIELD,
            "required value is missing".into(),
        )
    })?;
    let list = j.opt_price("list_price", rules)?;
    let description = j.opt_str("description", max)?;
    Ok(product(
        &sku,
        &name,
        brand.as_deref(),
        category,
        price,
        list,
        description.as_deref(),
    ))
}

/// The accepted products of a catalog file in any format (rejected rows are dropped, not
/// quarantined): products to benchmark with, outside the store.
pub fn read_catalog_file(
    path: &std::path::Path,
    rules: &Rules,
) -> Result<Vec<Product>, IngestError> {
    let src = super::open_source(path)?;
    Ok(read_catalog(
        src.reader,
        &path.display().to_string(),
        CatalogFormat::Auto,
        rules,
    )?
    .filter_map(|row| match row {
        Row::Accepted { record, .. } => Some(record),
        Row::Quarantined(_) => None,
    })
    .collect())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::panic)]
    use super::*;

    fn read(text: &'static str, fmt: CatalogFormat) -> Vec<Row<Product>> {
        read_catalog(text.as_bytes(), "t.csv", fmt, &Rules::default())
            .unwrap()
            .collect()
    }

    #[test]
    fn flipkart_tree_drops_the_product_name() {
        let cat = flipkart_category(
            r#"["Footwear >> Women's Footwear >> Ballerinas >> Bruno Manetti Ballerinas"]"#,
            "Bruno Manetti Ballerinas",
        );
        assert_eq!(cat, vec!["Footwear", "Women's Footwear", "Ballerinas"]);
        let cat = flipkart_category(
            r#"["Clothing >> Women's Clothing >> Lingerie, Sleep & Swimwear >> Shorts >> Alisha Shorts >> Alisha Solid Women's Cycling Shorts"]"#,
            "Alisha Solid Women's Cycling Shorts",
        );
        assert_eq!(
            cat,
            vec![
                "Clothing",
                "Women's Clothing",
                "Lingerie, Sleep & Swimwear",
                "Shorts"
            ]
        );
    }

    #[test]
    fn own_csv_validates_fields() {
        let rows = read(
            "sku,name,brand,category,price,list_price,description\n\
             A1,Trail Shoe,Acme,Footwear > Running,49.90,79.90,Light\n\
             A2,,Acme,Footwear,10,,\n\
             A3,Thing,,Misc,-1,,\n\
             A4,Thing,,Misc,abc,,\n\
             A5,Thing,,Misc,10\n\
             A1,Trail Shoe,Acme,Footwear > Running,49.90,79.90,Light\n",
            CatalogFormat::Auto,
        );
        let Row::Accepted { line: 2, record } = &rows[0] else {
            panic!("{:?}", rows[0])
        };
        assert_eq!(record.price, Minor(4990));
        assert_eq!(record.list_price, Some(Minor(7990)));
        assert_eq!(record.category, vec!["Footwear", "Running"]);
        let rules: Vec<&str> = rows[1..]
            .iter()
            .map(|r| match r {
                Row::Quarantined(q) => q.rule,
                Row::Accepted { .. } => "accepted",
            })
            .collect();
        assert_eq!(
            rules,
            vec![
                rule::MISSING_FIELD,
                rule::ABSURD_PRICE,
                rule::BAD_NUMBER,
                rule::COLUMN_COUNT,
                rule::DUPLICATE
            ]
        );
    }

    #[test]
    fn jsonl_wrong_types_name_the_field() {
        let rows = read(
            "{\"sku\":\"J1\",\"name\":\"Lamp\",\"price\":12.5,\"category\":[\"Home\",\"Lighting\"]}\n\
             {\"sku\":\"J2\",\"name\":[\"x\"],\"price\":1}\n\
             {\"sku\":\"J3\",\"name\":\"x\",\"price\":true}\n\
             not json\n",
            CatalogFormat::Jsonl,
        );
        assert!(matches!(&rows[0], Row::Accepted { record, .. } if record.price == Minor(1250)));
        assert!(
            matches!(&rows[1], Row::Quarantined(q) if q.field == "name" && q.rule == rule::BAD_TYPE)
        );
        assert!(
            matches!(&rows[2], Row::Quarantined(q) if q.field == "price" && q.rule == rule::BAD_TYPE)
        );
        assert!(
            matches!(&rows[3], Row::Quarantined(q) if q.rule == rule::MALFORMED_JSON && q.line == 4)
        );
    }

    #[test]
    fn header_problems_are_file_errors() {
        let err = read_catalog(
            "sku,title\nA,B\n".as_bytes(),
            "x.csv",
            CatalogFormat::Csv,
            &Rules::default(),
        )
        .err()
        .unwrap();
        assert!(
            err.to_string().contains("x.csv") && err.to_string().contains("name"),
            "{err}"
        );
        let err = read_catalog(
            "".as_bytes(),
            "e.csv",
            CatalogFormat::Auto,
            &Rules::default(),
        )
        .err()
        .unwrap();
        assert!(matches!(err, IngestError::Empty { .. }));
        let err = read_catalog(
            "what,is,this\n".as_bytes(),
            "u.csv",
            CatalogFormat::Auto,
            &Rules::default(),
        )
        .err()
        .unwrap();
        assert!(matches!(err, IngestError::UnknownFormat { .. }));
    }

    /// Found by the `catalog_csv` and `catalog_jsonl` fuzz targets: a name or sku of nothing but
    /// control, zero-width or bidi characters was accepted and cleaned to an empty string.
    #[test]
    fn invisible_required_values_are_missing_not_empty() {
        let csv = read(
            "sku,name,brand,category,price,list_price,description\n\
             S1,\u{7f}\u{202e}\u{200b},B,Footwear,12.50,,\n\
             \u{1},Shoe,B,Footwear,12.50,,\n\
             S2,Shoe,\u{7},Footwear,12.50,,\n",
            CatalogFormat::Csv,
        );
        let jsonl = read(
            "{\"sku\":\"J-1\",\"name\":\"\\u007f\\r\",\"price\":\"24.99\"}\n\
             {\"sku\":\"\\u200b\",\"name\":\"Shoe\",\"price\":1}\n",
            CatalogFormat::Jsonl,
        );
        for (rows, fields) in [(&csv[..2], ["name", "sku"]), (&jsonl[..], ["name", "sku"])] {
            for (row, field) in rows.iter().zip(fields) {
                let Row::Quarantined(q) = row else {
                    panic!("accepted: {row:?}")
                };
                assert_eq!((q.rule, q.field.as_str()), (rule::MISSING_FIELD, field));
            }
        }
        // An optional value of invisible characters is simply absent.
        let Row::Accepted { record, .. } = &csv[2] else {
            panic!("{:?}", csv[2])
        };
        assert_eq!(
            (record.name.as_str(), record.brand.as_deref()),
            ("Shoe", None)
        );
    }

    /// Caught by the `import_catalog` and `catalog_jsonl` fuzz targets' invariants: a category
    /// part holding `>` was stored as two parts (the store joins parts with `" > "`), and a JSON
    /// array category was not capped at 6 parts.
    #[test]
    fn category_parts_never_hold_the_store_separator() {
        let rows = read(
            "uniq_id,product_name,product_category_tree,pid,retail_price,discounted_price,description,brand\n\
             1,Lamp,\"[\"\"A > B >> C\"\"]\",P1,10,5,d,b\n",
            CatalogFormat::Flipkart,
        );
        let Row::Accepted { record, .. } = &rows[0] else {
            panic!("{:?}", rows[0])
        };
        assert_eq!(record.category, vec!["A", "B", "C"]);
        let rows = read(
            "{\"sku\":\"J\",\"name\":\"N\",\"category\":[\"a > b\",\"c\",\"d\",\"e\",\"f\",\"g\",\"h\"],\"price\":1}\n",
            CatalogFormat::Jsonl,
        );
        let Row::Accepted { record, .. } = &rows[0] else {
            panic!("{:?}", rows[0])
        };
        assert_eq!(record.category, vec!["a", "b", "c", "d", "e", "f"]);
    }
}
