//! The `cairn` binary; everything lives in the `cairn-cli` crate.

/// mimalloc rather than glibc's malloc: a broker allocates and frees a
/// buffer per record batch, Raft entry and RPC on every core, and glibc's
/// malloc and free took about a tenth of its CPU in profiles.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    cairn_cli::main();
}
