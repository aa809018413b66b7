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

/// Add (or, for a vif that exists, change) one object. A flow's index is
/// returned (checked against `index` when the fields give one).
pub fn add(
    router: &mut VRouter,
    kind: &str,
    fields: toml::Table,
) -> Result<Option<u32>, ObjectError> {
    let err = |message: String| ObjectError {
        kind: kind.to_owned(),
        message,
    };
    match object(kind, fields, true)? {
        Object::Flow { req, index, .. } => {
            let got = router.set_flow(&req).map_err(|e| err(e.to_string()))?;
            match index {
                Some(want) if want != got => Err(err(format!(
                    "the vRouter gave the flow index {got}, not {want}"
                ))),
                _ => Ok(Some(got)),
            }
        }
        o => crate::run::add(router, &o).map(|()| None).map_err(err),
    }
}

/// Delete one object, named by the fields that key it: a vif or a nexthop
/// by its `id` alone, a route by `vrf` and `prefix`, a bridge entry by `vrf`
/// and `mac`, a label by `label`, a VNID by `vnid`, a flow by its key.
pub fn delete(router: &mut VRouter, kind: &str, fields: toml::Table) -> Result<(), ObjectError> {
    let err = |message: String| ObjectError {
        kind: kind.to_owned(),
        message,
    };
    if matches!(kind, "vif" | "nh") && fields.keys().all(|k| k == "id") {
        let Some(id) = fields.get("id").and_then(toml::Value::as_integer) else {
            return Err(err("a delete names the object's id".into()));
        };
        let gone = match kind {
            "vif" => u16::try_from(id)
                .ok()
                .and_then(vrsim_dataplane::VifId::new)
                .ok_or_else(|| err(format!("vif {id} is out of range")))
                .and_then(|v| {
                    router
                        .delete_vif(v)
                        .map(|_| ())
                        .map_err(|e| err(e.to_string()))
                }),
            _ => u32::try_from(id)
                .ok()
                .and_then(vrsim_dataplane::NhId::new)
                .ok_or_else(|| err(format!("nh {id} is out of range")))
                .and_then(|n| {
                    router
                        .delete_nh(n)
                        .map(|_| ())
                        .map_err(|e| err(e.to_string()))
                }),
        };
        return gone;
    }
    let o = object(kind, fields, false)?;
    crate::run::delete(router, &o).map_err(err)
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
        assert_eq!(add(&mut r, "vif", table(TAP1)), Ok(None));
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
        // A vif or nexthop is deleted by its id alone.
        add(&mut r, "vif", table(TAP1)).expect("a vif");
        delete(&mut r, "vif", table("id = 1")).expect("deleted by id");
        let e = delete(&mut r, "vif", table("id = 1")).expect_err("gone");
        assert!(e.message.contains("1"), "{e}");
        let e = delete(&mut r, "nh", table("id = -1")).expect_err("out of range");
        assert_eq!(e.to_string(), "nh: nh -1 is out of range");
        // A composite's member -1 is an empty slot, printed as the vRouter
        // prints it; other negative members are refused.
        let composite = |members: &str| {
            table(&format!(
                "id = 30\ntype = \"composite\"\nvrf = 0\nmembers = [{members}]"
            ))
        };
        add(
            &mut r,
            "nh",
            composite("{ nh = -1, label = 16 }, { nh = 0, label = 17 }"),
        )
        .expect("a composite with an empty slot");
        let dump =
            vrsim_dataplane::dump::nh_get(&r, vrsim_dataplane::NhId::new(30).expect("an id"))
                .expect("nh 30");
        assert!(dump.contains("Sub NH(label): -1(16) 0(17)"), "{dump}");
        let e = add(&mut r, "nh", composite("{ nh = -2 }")).expect_err("-2");
        assert_eq!(
            e.to_string(),
            "nh: nh -2 is out of range (-1 is an empty slot)"
        );
    }
}
