//! Rebuilds the server when the dashboard's built files change, since the
//! release binary embeds them.
fn main() {
    println!("cargo:rerun-if-changed=../frontend/dist");
}
