//! The audit of `./scripts/faults` finds what it is there to find: an acknowledged order that is
//! not in the table (lost), an order nobody was told of (duplicated), units confirmed beyond the
//! stock (oversold), a notification never published. On an embedded store: the audit reads
//! through the store ports, whichever adapter is behind them.

#![allow(clippy::unwrap_used)] // A test that cannot unwrap has failed; the panic says where.

use std::collections::BTreeMap;

use stockroom_faults::audit::audit;
use stockroom_faults::shop::{Acknowledged, Ledger};
use stockroom_store::Store;
use stockroom_store::sqlite::SqliteStore;
use stockroom_store::testing::{place, stocked, temp_store_path};

fn store() -> Store {
    Store::embedded(SqliteStore::open(&temp_store_path()).unwrap())
}

fn acknowledged(lines: &[(&str, u64)]) -> Acknowledged {
    Acknowledged {
        lines: lines.iter().map(|(p, q)| ((*p).to_owned(), *q)).collect(),
        cancelled: false,
    }
}

#[tokio::test]
async fn an_order_lost_one_never_acknowledged_and_oversold_stock_are_all_found() {
    let store = store();
    stocked(&store, &[("lamp", 5)]).await;
    let told = place(&store, "alice", &[("lamp", 2)], None).await;
    let untold = place(&store, "alice", &[("lamp", 1)], None).await;

    let mut ledger = Ledger::default();
    ledger.customers.insert("alice".to_owned());
    ledger
        .orders
        .insert(told.id.to_string(), acknowledged(&[("lamp", 2)]));
    ledger.orders.insert(
        "01KNEVERPLACED0000000000000".to_owned(),
        acknowledged(&[("lamp", 1)]),
    );
    // The shop started with 2 lamps, as far as the audit knows: 3 are confirmed.
    let initial = BTreeMap::from([("lamp".to_owned(), 2)]);

    let findings = audit(&store, &ledger, &initial, &BTreeMap::new())
        .await
        .unwrap();
    assert_eq!(findings.orders, 2);
    assert_eq!(findings.oversold, 1, "{:#?}", findings.problems);
    let about = |needle: &str| {
        findings
            .problems
            .iter()
            .filter(|p| p.contains(needle))
            .count()
    };
    assert_eq!(
        about("01KNEVERPLACED0000000000000 was acknowledged and is not in the table"),
        1
    );
    assert_eq!(
        about(&format!(
            "order {} is in the table and was never acknowledged",
            untold.id
        )),
        1
    );
    // 5 held against the 2 it was told of: stock "appeared"; and no notification was recorded
    // or published for either order (no consumer ran).
    assert!(findings.duplicated >= 2, "{:#?}", findings.problems);
    assert!(
        about(&format!(
            "notification order_confirmation:{} was never recorded",
            told.id
        )) == 1,
        "{:#?}",
        findings.problems
    );
    assert!(findings.lost >= 3, "{:#?}", findings.problems);
}

#[tokio::test]
async fn a_shop_whose_tables_match_the_ledger_is_clean_but_for_its_notifications() {
    let store = store();
    stocked(&store, &[("mug", 4)]).await;
    let order = place(&store, "bob", &[("mug", 3)], None).await;
    let mut ledger = Ledger::default();
    ledger.customers.insert("bob".to_owned());
    ledger
        .orders
        .insert(order.id.to_string(), acknowledged(&[("mug", 3)]));
    let initial = BTreeMap::from([("mug".to_owned(), 4)]);

    let findings = audit(&store, &ledger, &initial, &BTreeMap::new())
        .await
        .unwrap();
    assert_eq!(
        (findings.duplicated, findings.oversold),
        (0, 0),
        "{:#?}",
        findings.problems
    );
    // The one order's confirmation, which no consumer recorded here.
    assert_eq!(findings.lost, 1, "{:#?}", findings.problems);
}
