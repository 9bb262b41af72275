//! `#[both_databases]` in place of `#[tokio::test]`: the test runs twice,
//! as `name::sqlite` and `name::postgres`, each on a fresh database of its
//! kind. The body does not change: `common::spawn_app()` and friends ask
//! `common::backend()` which database the running test is for.
//!
//! The PostgreSQL run is `#[ignore]`d with its reason, so without a server
//! it is listed as ignored by name, never counted as passed; `make test`
//! passes `--include-ignored` when `TABLECARD_TEST_POSTGRES_URL` is set.

use proc_macro::TokenStream;
use quote::quote;
use syn::{parse_macro_input, ItemFn};

#[proc_macro_attribute]
pub fn both_databases(attr: TokenStream, item: TokenStream) -> TokenStream {
    if !attr.is_empty() {
        return syn::Error::new(
            proc_macro2::Span::call_site(),
            "#[both_databases] takes no arguments",
        )
        .to_compile_error()
        .into();
    }
    let test = parse_macro_input!(item as ItemFn);
    if test.sig.asyncness.is_none() || !test.sig.inputs.is_empty() {
        return syn::Error::new_spanned(
            &test.sig,
            "#[both_databases] goes on an `async fn` without arguments",
        )
        .to_compile_error()
        .into();
    }
    let name = &test.sig.ident;
    let vis = &test.vis;
    quote! {
        #test

        #vis mod #name {
            #[tokio::test]
            async fn sqlite() {
                crate::common::on_backend(crate::common::Backend::Sqlite, super::#name()).await
            }

            #[tokio::test]
            #[ignore = "needs PostgreSQL: set TABLECARD_TEST_POSTGRES_URL (make test then runs it)"]
            async fn postgres() {
                crate::common::on_backend(crate::common::Backend::Postgres, super::#name()).await
            }
        }
    }
    .into()
}
