//! The `cairn` binary; everything lives in the `cairn-cli` crate.

fn main() {
    cairn_cli::main();
}
