//! Money: an integer amount in minor units and an ISO 4217 currency code.

use serde::{Deserialize, Serialize};

use crate::FieldError;

/// The largest price accepted: one trillion minor units, far above any real product and far
/// below where sums of many lines could overflow an `i64`.
pub const MAX_PRICE: i64 = 1_000_000_000_000;

/// A price in minor units (`1999` is 19.99), `0..=MAX_PRICE`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "i64", into = "i64")]
pub struct Price(i64);

impl Price {
    /// # Errors
    /// When `minor_units` is negative or above [`MAX_PRICE`].
    pub fn new(minor_units: i64) -> Result<Self, FieldError> {
        if (0..=MAX_PRICE).contains(&minor_units) {
            Ok(Self(minor_units))
        } else {
            Err(FieldError::new(
                "price",
                format!("must be an integer number of minor units from 0 to {MAX_PRICE}"),
            ))
        }
    }

    pub fn minor_units(self) -> i64 {
        self.0
    }
}

impl TryFrom<i64> for Price {
    type Error = FieldError;
    fn try_from(v: i64) -> Result<Self, Self::Error> {
        Self::new(v)
    }
}

impl From<Price> for i64 {
    fn from(p: Price) -> Self {
        p.0
    }
}

/// Active ISO 4217 codes. A typo such as `USS` is a 400, not a product nobody can pay for.
const ISO_4217: &str = "AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BHD BIF BMD BND BOB \
BRL BSD BTN BWP BYN BZD CAD CDF CHF CLP CNY COP CRC CUP CVE CZK DJF DKK DOP DZD EGP ERN ETB EUR FJD \
FKP GBP GEL GHS GIP GMD GNF GTQ GYD HKD HNL HTG HUF IDR ILS INR IQD IRR ISK JMD JOD JPY KES KGS KHR \
KMF KPW KRW KWD KYD KZT LAK LBP LKR LRD LSL LYD MAD MDL MGA MKD MMK MNT MOP MRU MUR MVR MWK MXN MYR \
MZN NAD NGN NIO NOK NPR NZD OMR PAB PEN PGK PHP PKR PLN PYG QAR RON RSD RUB RWF SAR SBD SCR SDG SEK \
SGD SHP SLE SOS SRD SSP STN SVC SYP SZL THB TJS TMT TND TOP TRY TTD TWD TZS UAH UGX USD UYU UZS VES \
VND VUV WST XAF XCD XCG XOF XPF YER ZAR ZMW ZWG";

/// An ISO 4217 currency code such as `USD`; the default when a client gives none.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Currency(String);

impl Currency {
    /// # Errors
    /// When `code` is not an active ISO 4217 code in upper case.
    pub fn parse(code: &str) -> Result<Self, FieldError> {
        let known = code.len() == 3 && ISO_4217.split_ascii_whitespace().any(|c| c == code);
        if known {
            Ok(Self(code.to_owned()))
        } else {
            Err(FieldError::new(
                "currency",
                "must be an ISO 4217 code in upper case, such as USD or EUR",
            ))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl Default for Currency {
    fn default() -> Self {
        Self("USD".to_owned())
    }
}

impl TryFrom<String> for Currency {
    type Error = FieldError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::parse(&s)
    }
}

impl From<Currency> for String {
    fn from(c: Currency) -> Self {
        c.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prices_outside_zero_to_max_are_rejected() {
        for bad in [-1, i64::MIN, MAX_PRICE + 1, i64::MAX] {
            assert!(Price::new(bad).is_err(), "{bad} should be rejected");
        }
        for good in [0, 1, 1999, MAX_PRICE] {
            assert_eq!(Price::new(good).unwrap().minor_units(), good);
        }
    }

    #[test]
    fn only_known_upper_case_currency_codes_are_accepted() {
        for bad in ["", "usd", "US", "USDD", "XYZ", "US D", "EUR "] {
            assert!(Currency::parse(bad).is_err(), "{bad:?} should be rejected");
        }
        for good in ["USD", "EUR", "JPY", "GBP", "AED", "ZWG"] {
            assert!(Currency::parse(good).is_ok(), "{good:?} should be accepted");
        }
        assert_eq!(Currency::default().as_str(), "USD");
    }
}
