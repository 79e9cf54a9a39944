//! Rebuilds when a migration is added: `embed_migrations!` tracks the files it embeds, not the
//! folders that a new migration appears in.
fn main() {
    println!("cargo:rerun-if-changed=migrations/sqlite");
    println!("cargo:rerun-if-changed=migrations/postgres");
}
