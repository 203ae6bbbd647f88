//! The products, read once at start: every price shown or charged comes from here.

use crate::model::Product;
use session_strategies::ProductId;
use sqlx::AnyPool;
use std::sync::Arc;

#[derive(Clone, Debug)]
pub struct Catalog {
    products: Arc<Vec<Product>>,
}

impl Catalog {
    pub async fn load(pool: &AnyPool) -> Result<Self, sqlx::Error> {
        let products = sqlx::query_as::<_, (i64, String, i64, String)>(
            "SELECT id, name, price_cents, image FROM products ORDER BY id",
        )
        .fetch_all(pool)
        .await?
        .into_iter()
        .map(|(id, name, price_cents, image)| Product {
            id,
            name,
            price_cents,
            image,
        })
        .collect();
        Ok(Self {
            products: Arc::new(products),
        })
    }

    pub fn products(&self) -> &[Product] {
        &self.products
    }

    pub fn get(&self, id: ProductId) -> Option<&Product> {
        self.products.iter().find(|product| product.id == id.0)
    }
}
