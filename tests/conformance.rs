//! The conformance corpus: tf-vrouter's own test scenarios as case files
//! (`tests/conformance/*.toml`), every one of which vrsim must pass; and the
//! case-file format's errors, which point at the line and column at fault.

use std::path::PathBuf;

use vrsim::conformance::{Case, Report};

#[test]
fn every_case_of_the_corpus_passes() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/conformance");
    let report = Report::run(&[dir]).expect("the corpus directory reads");
    assert!(!report.results.is_empty(), "an empty corpus");
    assert_eq!(report.failed(), 0, "\n{report}");
}

fn error(text: &str) -> String {
    Case::parse("case.toml", text)
        .expect_err("a malformed case")
        .to_string()
}

const HEAD: &str = "schema = 1\nname = \"t\"\n";

#[test]
fn a_malformed_case_is_an_error_with_line_and_column() {
    assert_eq!(
        error("schema = 2\nname = \"t\"\n"),
        "case.toml:1:10: schema 2 is not one this vrsim reads (it reads schema 1)"
    );
    let e = error(&format!(
        "{HEAD}[[vif]]\nid = 1\ntype = \"tap\"\nname = \"x\"\n"
    ));
    assert!(e.starts_with("case.toml:5:8: vif type \"tap\""), "{e}");
    let e = error(&format!(
        "{HEAD}[[nh]]\nid = 5\ntype = \"encap\"\noif = 1\nencap = \"0011\"\n"
    ));
    assert!(e.starts_with("case.toml:7:9: encap has 2 bytes"), "{e}");
    let e = error(&format!(
        "{HEAD}[[vif]]\nid = 1\ntype = \"virtual\"\nname = \"x\"\nflags = [\"Q\"]\n"
    ));
    assert!(
        e.starts_with("case.toml:7:10: \"Q\" is not a vif flag letter"),
        "{e}"
    );
    let e = error(&format!(
        "{HEAD}[[step]]\nsend = {{ vif = 1, frame = \"0g\" }}\nexpect = {{ out = 2 }}\n"
    ));
    assert!(e.contains("\"0g\" at byte 0 is not hex"), "{e}");
    let e = error(&format!(
        "{HEAD}[[step]]\nsend = {{ vif = 1, frame = \"00\" }}\nexpect = {{ drop = \"Gone\" }}\n"
    ));
    assert!(
        e.starts_with("case.toml:5:19: \"Gone\" is not a drop reason"),
        "{e}"
    );
    let e = error(&format!(
        "{HEAD}[[flow]]\nsip = \"1.1.1.1\"\ndip = \"1.1.1.2\"\nproto = 1\nnh = 5\nreverse = 3\n"
    ));
    assert!(
        e.starts_with("case.toml:8:11: reverse 3: this file has flows 1 to 1"),
        "{e}"
    );
    let e = error(&format!("{HEAD}[[check]]\ncli = \"vif --lst\"\n"));
    assert!(e.starts_with("case.toml:4:7: cli \"vif --lst\""), "{e}");
    let e = error(&format!(
        "{HEAD}[[route]]\nvrf = 0\nprefix = \"1.1.1.0/33\"\nnh = 1\n"
    ));
    assert!(
        e.starts_with("case.toml:5:10: \"1.1.1.0/33\" is not a prefix"),
        "{e}"
    );
    let e = error(&format!(
        "{HEAD}[[step]]\nsend = {{ vif = 1, frame = \"0é\" }}\nexpect = {{ out = 2 }}\n"
    ));
    assert!(e.contains("'é' is neither hex nor .."), "{e}");
    let e = error(&format!(
        "{HEAD}[[step]]\nsend = {{ vif = 1, frame = \"00\", count = 2000000 }}\nexpect = {{ out = 2 }}\n"
    ));
    assert!(
        e.contains("count 2000000: a step sends 1 to 1000000 packets"),
        "{e}"
    );
    let e = error(&format!("{HEAD}unknown = 1\n"));
    assert!(
        e.starts_with("case.toml:3:1: unknown field `unknown`"),
        "{e}"
    );
}

#[test]
fn a_failing_case_says_where_and_shows_the_trace() {
    let text = format!(
        "{HEAD}[[vif]]\nid = 1\ntype = \"virtual\"\nname = \"tap1\"\n\
         [[step]]\nsend = {{ vif = 1, frame = \"ffffffffffff 020000000001 0800 4500001c00010000400100000a0000010a000002 0800f7ff00000000\" }}\n\
         expect = {{ out = 2 }}\n"
    );
    let result = Case::parse("case.toml", &text).expect("well formed").run();
    assert!(!result.passed());
    let shown = result.to_string();
    assert!(
        shown.starts_with("FAIL t (case.toml): step 1: send on vif0/1"),
        "{shown}"
    );
    assert!(shown.contains("expected: out on vif0/2"), "{shown}");
    assert!(shown.contains("trace:\n    rx vif0/1"), "{shown}");
}
