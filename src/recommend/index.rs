//! The catalog as the recommender reads it: products by SKU plus each product's price position
//! within its category.
//!
//! Invariants:
//! - SKUs are unique: the first product with a given SKU wins, later duplicates are ignored.
//! - Iteration order is the order products were given in, so ranking is reproducible.
//! - [`CatalogIndex::price_percentile`] is the product's mid-rank percentile (`0..=1`) among the
//!   prices of its peer group: its leaf category if that holds at least [`MIN_PRICE_GROUP`]
//!   products, else its top category if that does, else the whole catalog.
//! - Brands, category names and tags are interned: [`CatalogIndex::facets_at`] gives each product's
//!   facet ids, dense in `0..vocabulary size`, so per-candidate scoring indexes arrays instead of
//!   hashing strings.

use std::collections::HashMap;

use crate::catalog::Product;

/// The smallest category whose own price distribution is trusted for price bands.
pub const MIN_PRICE_GROUP: usize = 5;

/// Interned facet ids of one product.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FacetIds {
    pub brand: Option<u32>,
    /// One per category path level, most general first.
    pub categories: Vec<u32>,
    pub tags: Vec<u32>,
}

/// Name → id for one kind of facet.
#[derive(Debug, Clone, Default)]
pub(crate) struct Vocabulary(HashMap<String, u32>);

impl Vocabulary {
    fn intern(&mut self, name: &str) -> u32 {
        let next = self.0.len() as u32;
        *self.0.entry(name.to_string()).or_insert(next)
    }

    pub fn id(&self, name: &str) -> Option<u32> {
        self.0.get(name).copied()
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }
}

/// Products by SKU with precomputed price percentiles and interned facets.
#[derive(Debug, Clone, Default)]
pub struct CatalogIndex {
    products: Vec<Product>,
    by_sku: HashMap<String, usize>,
    price_pct: Vec<f64>,
    facets: Vec<FacetIds>,
    pub(crate) brands: Vocabulary,
    pub(crate) categories: Vocabulary,
    pub(crate) tags: Vocabulary,
}

impl CatalogIndex {
    pub fn new(products: impl IntoIterator<Item = Product>) -> Self {
        let mut index = Self::default();
        for p in products {
            if !index.by_sku.contains_key(&p.sku) {
                index.by_sku.insert(p.sku.clone(), index.products.len());
                index.products.push(p);
            }
        }
        index.price_pct = index.compute_percentiles();
        let (mut brands, mut categories, mut tags) = (
            Vocabulary::default(),
            Vocabulary::default(),
            Vocabulary::default(),
        );
        index.facets = index
            .products
            .iter()
            .map(|p| FacetIds {
                brand: p.brand.as_deref().map(|b| brands.intern(b)),
                categories: p.category.iter().map(|c| categories.intern(c)).collect(),
                tags: p.tags.iter().map(|t| tags.intern(t)).collect(),
            })
            .collect();
        Self {
            brands,
            categories,
            tags,
            ..index
        }
    }

    /// Interned facets of the product at `position` (panic-free: empty when out of range).
    pub fn facets_at(&self, position: usize) -> &FacetIds {
        static EMPTY: FacetIds = FacetIds {
            brand: None,
            categories: Vec::new(),
            tags: Vec::new(),
        };
        self.facets.get(position).unwrap_or(&EMPTY)
    }

    fn compute_percentiles(&self) -> Vec<f64> {
        let mut groups: HashMap<(u8, &str), Vec<i64>> = HashMap::new();
        for p in &self.products {
            groups
                .entry((0, p.leaf_category()))
                .or_default()
                .push(p.price.0);
            groups
                .entry((1, p.top_category()))
                .or_default()
                .push(p.price.0);
            groups.entry((2, "")).or_default().push(p.price.0);
        }
        groups.values_mut().for_each(|v| v.sort_unstable());
        self.products
            .iter()
            .map(|p| {
                let keys = [(0, p.leaf_category()), (1, p.top_category()), (2, "")];
                let peers = keys
                    .iter()
                    .filter(|(level, name)| *level == 2 || !name.is_empty())
                    .filter_map(|k| groups.get(k))
                    .find(|g| g.len() >= MIN_PRICE_GROUP)
                    .or_else(|| groups.get(&(2, "")));
                peers.map_or(0.5, |g| mid_rank(g, p.price.0))
            })
            .collect()
    }

    pub fn len(&self) -> usize {
        self.products.len()
    }

    pub fn is_empty(&self) -> bool {
        self.products.is_empty()
    }

    pub fn get(&self, sku: &str) -> Option<&Product> {
        self.position(sku).map(|i| &self.products[i])
    }

    /// The product's position in [`CatalogIndex::products`].
    pub fn position(&self, sku: &str) -> Option<usize> {
        self.by_sku.get(sku).copied()
    }

    pub fn products(&self) -> &[Product] {
        &self.products
    }

    /// Price percentile of the product at `position` within its peer group (see module docs).
    pub fn price_percentile_at(&self, position: usize) -> f64 {
        self.price_pct.get(position).copied().unwrap_or(0.5)
    }

    pub fn price_percentile(&self, sku: &str) -> Option<f64> {
        self.position(sku).map(|i| self.price_percentile_at(i))
    }
}

/// Mid-rank percentile of `x` in the sorted slice: `(below + equal/2) / len`.
fn mid_rank(sorted: &[i64], x: i64) -> f64 {
    let below = sorted.partition_point(|&v| v < x);
    let up_to = sorted.partition_point(|&v| v <= x);
    (below as f64 + (up_to - below) as f64 / 2.0) / sorted.len() as f64
}

#[cfg(test)]
pub(crate) mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use crate::catalog::Minor;

    /// A test product; `category` is a `/`-separated path.
    pub(crate) fn product(sku: &str, brand: &str, category: &str, price: i64) -> Product {
        let category: Vec<String> = category
            .split('/')
            .filter(|c| !c.is_empty())
            .map(Into::into)
            .collect();
        Product {
            sku: sku.into(),
            name: format!("Product {sku}"),
            brand: (!brand.is_empty()).then(|| brand.to_string()),
            tags: category.iter().map(|c| c.to_lowercase()).collect(),
            category,
            price: Minor(price),
            list_price: None,
            description: String::new(),
        }
    }

    #[test]
    fn duplicates_keep_the_first() {
        let idx = CatalogIndex::new([product("a", "X", "C", 100), product("a", "Y", "C", 200)]);
        assert_eq!(idx.len(), 1);
        assert_eq!(idx.get("a").unwrap().brand.as_deref(), Some("X"));
    }

    #[test]
    fn percentiles_use_leaf_then_top_then_global() {
        let mut products: Vec<Product> = (1..=5)
            .map(|i| product(&format!("s{i}"), "", "Shoes/Trail", i * 100))
            .collect();
        // Two bags: too few for their own group, so ranked among all seven products.
        products.push(product("b1", "", "Bags/Tote", 50));
        products.push(product("b2", "", "Bags/Tote", 10_000));
        let idx = CatalogIndex::new(products);
        assert_eq!(idx.price_percentile("s1"), Some(0.1));
        assert_eq!(idx.price_percentile("s3"), Some(0.5));
        assert_eq!(idx.price_percentile("s5"), Some(0.9));
        assert_eq!(idx.price_percentile("b1"), Some(0.5 / 7.0));
        assert_eq!(idx.price_percentile("b2"), Some(6.5 / 7.0));
        assert_eq!(idx.price_percentile("nope"), None);
    }

    #[test]
    fn facets_are_interned() {
        let idx = CatalogIndex::new([
            product("a", "X", "Shoes/Trail", 100),
            product("b", "X", "Shoes/Road", 100),
        ]);
        assert_eq!(
            idx.facets_at(0),
            &FacetIds {
                brand: Some(0),
                categories: vec![0, 1],
                tags: vec![0, 1]
            }
        );
        assert_eq!(
            idx.facets_at(1),
            &FacetIds {
                brand: Some(0),
                categories: vec![0, 2],
                tags: vec![0, 2]
            }
        );
        assert_eq!(idx.categories.id("Road"), Some(2));
        assert_eq!(idx.brands.len(), 1);
        assert!(idx.facets_at(9).categories.is_empty());
    }

    #[test]
    fn mid_rank_handles_ties() {
        assert_eq!(mid_rank(&[1, 2, 2, 3], 2), 0.5);
        assert_eq!(mid_rank(&[5], 5), 0.5);
    }
}
