//! Waiting for a flag that only ever turns true (shutting down, closing).

/// Returns once the flag is (or becomes) true; never if its sender is gone
/// while false. (`watch::Receiver::wait_for` holds a guard that is not `Send`.)
pub async fn until_true(rx: &mut tokio::sync::watch::Receiver<bool>) {
    loop {
        let now = *rx.borrow_and_update();
        if now {
            return;
        }
        if rx.changed().await.is_err() {
            std::future::pending::<()>().await;
        }
    }
}
