//! Rebuilds the server when the dashboard's built files or the migrations
//! change, since the binary embeds both.
fn main() {
    println!("cargo:rerun-if-changed=../frontend/dist");
    println!("cargo:rerun-if-changed=../migrations");
}
