//! Wakes the islands of a server-rendered page. Only `#[island]` components
//! (and what they use) end up in the WebAssembly a phone downloads.

#[allow(unused_imports)]
use app::*;

#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    leptos::mount::hydrate_islands();
}
