//! The Fluent files are embedded by a macro that cargo cannot see reading
//! them: rebuild when any of them changes or a new one appears.

fn main() {
    println!("cargo:rerun-if-changed=locales");
}
