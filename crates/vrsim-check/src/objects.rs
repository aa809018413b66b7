//! One vRouter object at a time, given as a case file gives it: the fields
//! of a `[[vif]]`, `[[nh]]`, `[[route]]`, `[[bridge]]`, `[[mpls]]`,
//! `[[vxlan]]` or `[[flow]]` table (`docs/conformance.md`), added to or
//! deleted from a [`VRouter`] with the same checks and the same messages as
//! a case's `add` and `delete` steps. This is what the Python package's
//! `VRouter.add_vif(**fields)` and its kin call.

use vrsim_dataplane::VRouter;

use crate::program::{self, Object};
use crate::spec::ObjectSpec;
use crate::{CaseError, Source};

/// The object kinds, as the case file's table names.
pub const KINDS: [&str; 7] = ["vif", "nh", "route", "bridge", "mpls", "vxlan", "flow"];

/// An object that cannot be read or that the vRouter refuses: `kind: what
/// is wrong` (no line or column: there is no file).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{kind}: {message}")]
pub struct ObjectError {
    /// The object's kind (`vif`, `nh`, …).
    pub kind: String,
    /// What is wrong, in the case runner's words.
    pub message: String,
}

fn object(kind: &str, fields: toml::Table, adding: bool) -> Result<Object, ObjectError> {
    let err = |message: String| ObjectError {
        kind: kind.to_owned(),
        message,
    };
    if !KINDS.contains(&kind) {
        return Err(err(format!(
            "not an object kind (known: {})",
            KINDS.join(", ")
        )));
    }
    let mut doc = toml::Table::new();
    doc.insert(kind.to_owned(), toml::Value::Table(fields));
    let text = toml::to_string(&doc).map_err(|e| err(e.to_string()))?;
    let src = Source {
        file: kind,
        text: &text,
    };
    let spec: ObjectSpec = toml::from_str(&text).map_err(|e| err(e.message().to_owned()))?;
    program::object(&src, &spec, adding).map_err(|e: CaseError| err(e.message))
}

/// Add (or, for a vif that exists, change) one object.
pub fn add(router: &mut VRouter, kind: &str, fields: toml::Table) -> Result<(), ObjectError> {
    let o = object(kind, fields, true)?;
    crate::run::add(router, &o).map_err(|message| ObjectError {
        kind: kind.to_owned(),
        message,
    })
}

/// Delete one object, named by the fields that key it.
pub fn delete(router: &mut VRouter, kind: &str, fields: toml::Table) -> Result<(), ObjectError> {
    let o = object(kind, fields, false)?;
    crate::run::delete(router, &o).map_err(|message| ObjectError {
        kind: kind.to_owned(),
        message,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const TAP1: &str = "id = 1\ntype = \"virtual\"\nname = \"tap1\"\nmac = \"de:ad:be:ef:00:01\"";

    fn table(text: &str) -> toml::Table {
        text.parse().expect("a table")
    }

    #[test]
    fn objects_are_read_and_refused_as_case_files_read_them() {
        let mut r = VRouter::new();
        add(&mut r, "vif", table(TAP1)).expect("a vif");
        assert_eq!(r.vifs().count(), 1);
        let bad_mac = "id = 2\ntype = \"virtual\"\nname = \"t\"\nmac = \"zz\"";
        let e = add(&mut r, "vif", table(bad_mac)).expect_err("a bad MAC");
        assert_eq!(e.to_string(), r#"vif: "zz" is not a MAC address"#);
        let no_nh = "vrf = 0\nprefix = \"10.0.0.0/8\"\nnh = 7";
        let e = add(&mut r, "route", table(no_nh)).expect_err("no nh 7");
        assert!(e.message.contains("nh 7"), "{e}");
        let e = add(&mut r, "vif", table("id = 3\ncolour = \"red\"")).expect_err("unknown key");
        assert!(e.message.contains("colour"), "{e}");
        let e = add(&mut r, "router", table("id = 3")).expect_err("unknown kind");
        assert!(e.message.starts_with("not an object kind"), "{e}");
        delete(&mut r, "vif", table(TAP1)).expect("deleted");
        assert_eq!(r.vifs().count(), 0);
    }
}
