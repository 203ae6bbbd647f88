//! The strategy list as the UI and `GET /strategies` show it.

use super::Shop;
use crate::model::StrategyInfo;
use session_strategies::Strategy;

/// Every strategy this server runs, with its properties and whether it is up.
pub async fn list(shop: &Shop) -> Vec<StrategyInfo> {
    let mut list = Vec::new();
    for strategy in shop.registry.strategies() {
        let available = shop.registry.availability(strategy).await.is_ok();
        list.push(info(strategy, available));
    }
    list
}

fn info(strategy: Strategy, available: bool) -> StrategyInfo {
    let meta = strategy.meta();
    StrategyInfo {
        id: meta.id.to_owned(),
        name: meta.name.to_owned(),
        summary: meta.summary.to_owned(),
        state_location: meta.state_location.to_owned(),
        survives_restart: meta.survives_restart,
        shared_across_instances: meta.shared_across_instances,
        revocable: meta.revocable.to_owned(),
        guide_source: meta.guide.source.to_owned(),
        available,
    }
}
