//! The strategy list as the UI and `GET /strategies` show it.

use super::Shop;
use crate::model::{CarrierView, StrategyInfo};
use session_strategies::{session::transport::Carrier, Strategy};

/// Every strategy this server runs, with its properties and whether it is up.
pub async fn list(shop: &Shop) -> Vec<StrategyInfo> {
    let mut list = Vec::new();
    for strategy in shop.registry.strategies() {
        let available = shop.registry.availability(strategy).await.is_ok();
        let carriers = shop
            .registry
            .get(strategy)
            .map_or(&[][..], |backend| backend.carriers());
        list.push(info(strategy, available, carriers));
    }
    list
}

fn info(strategy: Strategy, available: bool, carriers: &[Carrier]) -> StrategyInfo {
    let meta = strategy.meta();
    StrategyInfo {
        id: meta.id.to_owned(),
        name: meta.name.to_owned(),
        summary: meta.summary.to_owned(),
        state_location: meta.state_location.to_owned(),
        survives_restart: meta.survives_restart,
        shared_across_instances: meta.shared_across_instances,
        revocable: meta.revocable.to_owned(),
        server_copy: meta.capabilities.server_copy,
        credentials: carriers
            .iter()
            .map(|carrier| CarrierView {
                transport: carrier.kind().to_owned(),
                name: carrier.name().to_owned(),
            })
            .collect(),
        guide_source: meta.guide.source.to_owned(),
        available,
        second_service: meta.second_service.trust.method().to_owned(),
    }
}
