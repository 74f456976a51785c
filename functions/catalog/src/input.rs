//! The request body of create and replace, and its validation into domain values.

use serde::Deserialize;
use stockroom_domain::catalog::{Category, Description, ProductDetails, ProductName};
use stockroom_domain::{Currency, FieldError, Price, ProductId};

/// What a client sends to create (`POST /products`) or replace (`PUT /products/{id}`) a
/// product. Every field is optional here so that a missing one is reported by name, with all
/// the other problems, instead of as a bare parse failure.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProductInput {
    pub id: Option<String>,
    pub name: Option<String>,
    pub description: Option<String>,
    pub price: Option<i64>,
    pub currency: Option<String>,
    pub category: Option<String>,
}

impl ProductInput {
    /// The client-chosen id, if any, and the product's details.
    ///
    /// # Errors
    /// Every invalid or missing field, each named.
    pub fn into_details(self) -> Result<(Option<ProductId>, ProductDetails), Vec<FieldError>> {
        let mut errors = Vec::new();
        let required = |field: &str| FieldError::new(field, "is required");
        let id = keep(
            &mut errors,
            self.id
                .as_deref()
                .map(|id| ProductId::parse_field("id", id))
                .transpose(),
        )
        .flatten();
        let name = keep(
            &mut errors,
            self.name
                .as_deref()
                .ok_or_else(|| required("name"))
                .and_then(ProductName::parse),
        );
        let description = keep(
            &mut errors,
            self.description
                .as_deref()
                .map(Description::parse)
                .transpose(),
        )
        .flatten();
        let price = keep(
            &mut errors,
            self.price
                .ok_or_else(|| required("price"))
                .and_then(Price::new),
        );
        let currency = keep(
            &mut errors,
            self.currency
                .as_deref()
                .map_or_else(|| Ok(Currency::default()), Currency::parse),
        );
        let category = keep(
            &mut errors,
            self.category.as_deref().map(Category::parse).transpose(),
        )
        .flatten();

        match (name, price, currency) {
            (Some(name), Some(price), Some(currency)) if errors.is_empty() => Ok((
                id,
                ProductDetails {
                    name,
                    description,
                    price,
                    currency,
                    category,
                },
            )),
            _ => Err(errors),
        }
    }

    /// The details of a replace, which names its product in the path, not the body.
    ///
    /// # Errors
    /// Every invalid or missing field, and an `id` in the body.
    pub fn into_replacement(mut self) -> Result<ProductDetails, Vec<FieldError>> {
        let id_given = self.id.take().is_some();
        match self.into_details() {
            Ok(_) if id_given => Err(vec![id_in_body()]),
            Ok((_, details)) => Ok(details),
            Err(mut errors) => {
                if id_given {
                    errors.insert(0, id_in_body());
                }
                Err(errors)
            }
        }
    }
}

/// The value, or `None` with its error kept for the response.
fn keep<T>(errors: &mut Vec<FieldError>, result: Result<T, FieldError>) -> Option<T> {
    result.map_err(|e| errors.push(e)).ok()
}

fn id_in_body() -> FieldError {
    FieldError::new("id", "cannot be changed; the product is named by the path")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(input: ProductInput) -> Vec<String> {
        input
            .into_details()
            .unwrap_err()
            .into_iter()
            .map(|e| e.field)
            .collect()
    }

    #[test]
    fn every_missing_or_invalid_field_is_reported_at_once() {
        assert_eq!(fields(ProductInput::default()), ["name", "price"]);
        let bad = ProductInput {
            id: Some("a b".into()),
            name: Some(" ".into()),
            description: Some("d".repeat(2001)),
            price: Some(-1),
            currency: Some("usd".into()),
            category: Some("".into()),
        };
        assert_eq!(
            fields(bad),
            ["id", "name", "description", "price", "currency", "category"]
        );
    }

    #[test]
    fn a_minimal_product_defaults_to_usd_and_no_category() {
        let input = ProductInput {
            name: Some("Mug".into()),
            price: Some(0),
            ..ProductInput::default()
        };
        let (id, details) = input.into_details().unwrap();
        assert_eq!(id, None);
        assert_eq!(details.currency.as_str(), "USD");
        assert_eq!(details.category, None);
    }

    #[test]
    fn a_replacement_may_not_carry_an_id() {
        let input = ProductInput {
            id: Some("mug".into()),
            name: Some("Mug".into()),
            price: Some(1),
            ..ProductInput::default()
        };
        let errors = input.into_replacement().unwrap_err();
        assert_eq!(errors[0].field, "id");
    }
}
