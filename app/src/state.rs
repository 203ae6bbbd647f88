//! The shop's client state: one server action per thing a shopper does, and the session and
//! strategy list that refetch whenever any of them completes.

use crate::{
    error::AppError,
    model::{InspectionView, SessionView, StrategyInfo},
    server_fns::*,
    server_resource::{server_resource, ServerResource},
};
use leptos::prelude::*;

#[derive(Clone, Copy)]
pub struct ShopContext {
    pub add: ServerAction<AddToCart>,
    pub set_quantity: ServerAction<SetQuantity>,
    pub remove: ServerAction<RemoveFromCart>,
    pub empty: ServerAction<EmptyCart>,
    pub login: ServerAction<Login>,
    pub logout: ServerAction<Logout>,
    pub checkout: ServerAction<Checkout>,
    pub switch: ServerAction<SwitchStrategy>,
    pub session: ServerResource<Result<SessionView, AppError>>,
    pub strategies: ServerResource<Result<Vec<StrategyInfo>, AppError>>,
    pub inspection: ServerResource<Result<InspectionView, AppError>>,
}

impl ShopContext {
    /// Creates the actions and resources and provides them to every page.
    pub fn provide() -> Self {
        let add = ServerAction::<AddToCart>::new();
        let set_quantity = ServerAction::<SetQuantity>::new();
        let remove = ServerAction::<RemoveFromCart>::new();
        let empty = ServerAction::<EmptyCart>::new();
        let login = ServerAction::<Login>::new();
        let logout = ServerAction::<Logout>::new();
        let checkout = ServerAction::<Checkout>::new();
        let switch = ServerAction::<SwitchStrategy>::new();
        let versions = move || {
            (
                add.version().get(),
                set_quantity.version().get(),
                remove.version().get(),
                empty.version().get(),
                login.version().get(),
                logout.version().get(),
                checkout.version().get(),
                switch.version().get(),
            )
        };
        let session = server_resource(versions, |_| get_session());
        let inspection = server_resource(versions, |_| inspect_session());
        let strategies = server_resource(|| (), |_| list_strategies());
        let context = Self {
            add,
            set_quantity,
            remove,
            empty,
            login,
            logout,
            checkout,
            switch,
            session,
            strategies,
            inspection,
        };
        provide_context(context);
        context
    }

    pub fn get() -> Self {
        expect_context::<Self>()
    }
}
