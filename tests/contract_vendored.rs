//! The contract is vendored under `tests/contract/` so the project stands on
//! its own; wherever the shared folder `../shared/api/` exists beside the
//! checkout, the copies must still equal it.

use std::path::Path;

const FILES: &[&str] = &[
    "railway.openapi.yaml",
    "customs.openapi.yaml",
    "README.md",
    "DOMAIN.md",
];

#[test]
fn vendored_contract_equals_the_shared_one() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let shared = root.join("../shared/api");
    for file in FILES {
        let vendored = std::fs::read(root.join("tests/contract").join(file))
            .unwrap_or_else(|e| panic!("tests/contract/{file}: {e}"));
        if shared.is_dir() {
            let upstream = std::fs::read(shared.join(file))
                .unwrap_or_else(|e| panic!("../shared/api/{file}: {e}"));
            assert!(
                vendored == upstream,
                "tests/contract/{file} differs from ../shared/api/{file}: copy it again"
            );
        }
    }
}
