//! Who is calling: read once at the edge from the claims API Gateway's JWT authorizer verified
//! and put into the event's `requestContext.authorizer.jwt.claims` (the dev server puts them in
//! the same place), and handed to every handler as a [`Caller`].
//!
//! The authorizer only lets a request with a valid token through to a protected route; what
//! the caller may do there (the `admin` group, a customer's own carts and orders) is decided
//! here and in the handlers.

use std::collections::HashMap;

use lambda_http::request::RequestContext;
use lambda_http::{Request, RequestExt as _};
use stockroom_domain::orders::CustomerId;

use crate::RequestError;

/// The group whose members administer the shop: products, stock, order status, notifications
/// and every customer's orders.
pub const ADMIN_GROUP: &str = "admin";

/// The claims a caller's groups are read from: Cognito's, then the common OIDC one.
const GROUP_CLAIMS: [&str; 2] = ["cognito:groups", "groups"];

/// The caller of one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Caller {
    /// No verified token: only the public routes are reachable without one.
    Anonymous,
    /// A verified token's subject.
    SignedIn(Principal),
}

/// A signed-in caller: a customer, perhaps an administrator too.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    /// The token's `sub`: the customer id of everything this caller owns.
    pub customer_id: CustomerId,
    /// Whether the token lists the [`ADMIN_GROUP`].
    pub admin: bool,
}

impl Caller {
    /// The caller of `req`: the JWT claims of an API Gateway HTTP API (payload 2.0) request, or
    /// [`Caller::Anonymous`] when the request carries none.
    ///
    /// # Errors
    /// 403 when a verified token's `sub` is missing or cannot be a customer id.
    pub fn of(req: &Request) -> Result<Self, RequestError> {
        match req.request_context_ref() {
            Some(RequestContext::ApiGatewayV2(context)) => {
                match context.authorizer.as_ref().and_then(|a| a.jwt.as_ref()) {
                    Some(jwt) => Self::from_claims(&jwt.claims),
                    None => Ok(Self::Anonymous),
                }
            }
            _ => Ok(Self::Anonymous),
        }
    }

    /// The caller a verified token's claims describe, as API Gateway passes them: every value
    /// a string, a list written `[a b]`.
    ///
    /// # Errors
    /// 403 when `sub` is missing or cannot be a customer id.
    pub fn from_claims(claims: &HashMap<String, String>) -> Result<Self, RequestError> {
        let sub = claims.get("sub").map(String::as_str).unwrap_or_default();
        let customer_id = CustomerId::parse(sub).map_err(|_| {
            RequestError::Forbidden(String::from(
                "Your token's subject (sub) is not an id this shop can keep carts and orders \
                 under: it must be 1 to 64 characters of A-Z, a-z, 0-9, '_' or '-'.",
            ))
        })?;
        let admin = GROUP_CLAIMS
            .iter()
            .filter_map(|name| claims.get(*name))
            .any(|value| groups(value).any(|group| group == ADMIN_GROUP));
        Ok(Self::SignedIn(Principal { customer_id, admin }))
    }

    /// The signed-in caller.
    ///
    /// # Errors
    /// 401 for an anonymous caller (a protected route reached without the authorizer).
    pub fn signed_in(&self) -> Result<&Principal, RequestError> {
        match self {
            Self::SignedIn(principal) => Ok(principal),
            Self::Anonymous => Err(RequestError::Unauthorized),
        }
    }

    /// The signed-in caller, provided they are in the [`ADMIN_GROUP`].
    ///
    /// # Errors
    /// 401 for an anonymous caller, 403 for one outside the group.
    pub fn admin(&self) -> Result<&Principal, RequestError> {
        let principal = self.signed_in()?;
        if principal.admin {
            Ok(principal)
        } else {
            Err(RequestError::Forbidden(format!(
                "Only members of the \"{ADMIN_GROUP}\" group may do this."
            )))
        }
    }

    /// The customer a request acts for, from the `customer_id` it names (`asked`): the caller
    /// when it names none; another customer only for an administrator.
    ///
    /// # Errors
    /// 401 for an anonymous caller; 403 when a customer names someone else.
    pub fn customer_for(&self, asked: Option<CustomerId>) -> Result<CustomerId, RequestError> {
        let principal = self.signed_in()?;
        match asked {
            None => Ok(principal.customer_id.clone()),
            Some(asked) if asked == principal.customer_id || principal.admin => Ok(asked),
            Some(_) => Err(RequestError::Forbidden(String::from(
                "customer_id must be your own (your token's sub), or be left out.",
            ))),
        }
    }

    /// Whether the caller may see and change what `owner` owns: its owner or an administrator.
    pub fn may_access(&self, owner: &CustomerId) -> bool {
        match self {
            Self::SignedIn(principal) => principal.admin || principal.customer_id == *owner,
            Self::Anonymous => false,
        }
    }
}

/// The groups of a group claim as API Gateway passes it: `[admin support]`, or one name; a
/// JSON array `["admin","support"]` or commas are read too.
fn groups(value: &str) -> impl Iterator<Item = &str> {
    let inner = value.trim();
    let inner = inner
        .strip_prefix('[')
        .and_then(|v| v.strip_suffix(']'))
        .unwrap_or(inner);
    inner
        .split(|c: char| c == ',' || c.is_whitespace())
        .map(|g| g.trim_matches('"'))
        .filter(|g| !g.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{ApiError as _, ErrorKind};

    fn claims(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    fn id(s: &str) -> CustomerId {
        CustomerId::parse(s).unwrap()
    }

    #[test]
    fn the_admin_group_is_read_from_cognito_and_oidc_group_claims_in_every_spelling() {
        for (name, value, admin) in [
            ("cognito:groups", "[admin]", true),
            ("cognito:groups", "[support admin]", true),
            ("cognito:groups", "[support, admin]", true),
            ("groups", r#"["support","admin"]"#, true),
            ("groups", "admin", true),
            ("cognito:groups", "[administrators]", false),
            ("cognito:groups", "[]", false),
            ("custom:role", "admin", false),
        ] {
            let caller = Caller::from_claims(&claims(&[("sub", "alice"), (name, value)])).unwrap();
            assert_eq!(
                caller,
                Caller::SignedIn(Principal {
                    customer_id: id("alice"),
                    admin
                }),
                "{name}={value}"
            );
        }
    }

    #[test]
    fn a_token_without_a_usable_subject_is_forbidden() {
        for pairs in [vec![], vec![("sub", "")], vec![("sub", "auth0|1234")]] {
            let err = Caller::from_claims(&claims(&pairs)).unwrap_err();
            assert_eq!(err.kind(), ErrorKind::Forbidden, "{pairs:?}");
        }
    }

    #[test]
    fn customers_act_for_themselves_and_administrators_for_anyone() {
        let alice = Caller::from_claims(&claims(&[("sub", "alice")])).unwrap();
        let admin =
            Caller::from_claims(&claims(&[("sub", "ops"), ("cognito:groups", "[admin]")])).unwrap();
        assert_eq!(alice.customer_for(None).unwrap(), id("alice"));
        assert_eq!(alice.customer_for(Some(id("alice"))).unwrap(), id("alice"));
        assert_eq!(
            alice.customer_for(Some(id("bob"))).unwrap_err().kind(),
            ErrorKind::Forbidden
        );
        assert_eq!(admin.customer_for(Some(id("bob"))).unwrap(), id("bob"));
        assert_eq!(admin.customer_for(None).unwrap(), id("ops"));
        assert!(alice.may_access(&id("alice")) && !alice.may_access(&id("bob")));
        assert!(admin.may_access(&id("bob")));
        assert_eq!(alice.admin().unwrap_err().kind(), ErrorKind::Forbidden);
        for err in [
            Caller::Anonymous.signed_in().unwrap_err(),
            Caller::Anonymous.admin().unwrap_err(),
            Caller::Anonymous.customer_for(None).unwrap_err(),
        ] {
            assert_eq!(err.kind(), ErrorKind::Unauthorized);
        }
        assert!(!Caller::Anonymous.may_access(&id("alice")));
    }
}
