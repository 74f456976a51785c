//! The `notifier` binary: both stream consumers, `on_order_change` and `on_stock_change`, each a
//! function that runs it with its own `Handler` (see `stockroom_notifications::serve`).

fn main() -> Result<(), lambda_runtime::Error> {
    stockroom_notifications::serve()
}
