use leptos::prelude::*;
use leptos_router::hooks::use_params_map;

use crate::functions::portal::visit_table;
use crate::routes::{NotFound, ServerError};

/// `/t/{token}`: the URL in a table's QR code. Remembers the table and
/// redirects to the brand's portal; an unknown code gets the friendly 404.
#[component]
pub fn TableLink() -> impl IntoView {
    let token = use_params_map()
        .read_untracked()
        .get("token")
        .unwrap_or_default();
    let visit = Resource::new_blocking(|| (), move |_| visit_table(token.clone()));
    view! {
        <Suspense>
            {move || Suspend::new(async move {
                match visit.await {
                    Ok(true) => ().into_any(),
                    Ok(false) => view! { <NotFound /> }.into_any(),
                    Err(_) => view! { <ServerError /> }.into_any(),
                }
            })}
        </Suspense>
    }
}
