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
    {
        {
            let properties = strategy.properties();
            StrategyInfo {
                id: properties.id.to_owned(),
                name: properties.name.to_owned(),
                summary: properties.summary.to_owned(),
                state_location: properties.state_location.to_owned(),
                survives_restart: properties.survives_restart,
                shared_across_instances: properties.shared_across_instances,
                revocable: properties.revocable,
                available,
            }
        }
    }
}
