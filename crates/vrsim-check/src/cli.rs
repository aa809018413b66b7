//! The `cli` checks: the vRouter CLI dumps vrsim prints, by their command
//! lines, in the current vRouter's layout.

use vrsim_dataplane::dump::{self, Layout};
use vrsim_dataplane::{NhId, VRouter, VifId, VrfId};
use vrsim_wire::{MplsLabel, Vni};

/// The words of a `cli` check, checked: the dumps vrsim prints.
pub(crate) fn cli_words(command: &str) -> Result<Vec<&str>, String> {
    let words: Vec<&str> = command.split_whitespace().collect();
    let known = matches!(
        words.as_slice(),
        ["vif", "--list"]
            | ["vif", "--get", _]
            | ["nh", "--list"]
            | ["nh", "--get", _]
            | ["rt", "--dump", _]
            | ["rt", "--dump", _, "--family", "inet" | "inet6"]
            | ["rt", "--get", _, "--vrf", _]
            | ["rt", "--get", _, "--vrf", _, "--family", "inet" | "inet6"]
            | ["mpls", "--dump"]
            | ["mpls", "--get", _]
            | ["vxlan", "--dump"]
            | ["vxlan", "--get", _]
            | ["dropstats"]
            | ["flow", "-l"]
            | ["flow", "--get", _]
    );
    if known {
        Ok(words)
    } else {
        Err(format!(
            "cli {command:?}: expected one of vif --list, vif --get N, nh --list, nh --get N, \
             rt --dump VRF [--family inet6], rt --get P/L --vrf V [--family inet6], mpls --dump, mpls --get L, vxlan --dump, vxlan --get V, dropstats, flow -l, flow --get N"
        ))
    }
}

/// A dump in the current vRouter's layout.
pub(crate) fn cli(r: &VRouter, command: &str) -> Result<String, String> {
    let words = cli_words(command)?;
    let n = |s: &str| {
        s.parse::<u32>()
            .map_err(|_| format!("{s:?} is not a number"))
    };
    let e = |e: vrsim_dataplane::DataplaneError| format!("{}\n{e}", e.vrouter_response());
    let layout = Layout::Current;
    match words.as_slice() {
        ["vif", "--list"] => Ok(dump::vif_list(r, layout)),
        ["vif", "--get", id] => {
            let id = u16::try_from(n(id)?)
                .ok()
                .and_then(VifId::new)
                .ok_or("vif out of range")?;
            dump::vif_get(r, id, layout).map_err(e)
        }
        ["nh", "--list"] => Ok(dump::nh_list(r)),
        ["nh", "--get", id] => {
            dump::nh_get(r, NhId::new(n(id)?).ok_or("nh out of range")?).map_err(e)
        }
        ["rt", "--dump", vrf] | ["rt", "--dump", vrf, "--family", "inet"] => {
            let vrf = u16::try_from(n(vrf)?).map_err(|_| "vrf out of range")?;
            dump::rt_dump(r, VrfId::from(vrf), layout).map_err(e)
        }
        ["rt", "--dump", vrf, "--family", "inet6"] => {
            let vrf = u16::try_from(n(vrf)?).map_err(|_| "vrf out of range")?;
            dump::rt_dump6(r, VrfId::from(vrf), layout).map_err(e)
        }
        ["rt", "--get", prefix, "--vrf", vrf]
        | ["rt", "--get", prefix, "--vrf", vrf, "--family", "inet"] => {
            let vrf = u16::try_from(n(vrf)?).map_err(|_| "vrf out of range")?;
            let p = prefix
                .parse()
                .map_err(|_| format!("{prefix:?} is not an IPv4 prefix"))?;
            dump::rt_get(r, VrfId::from(vrf), p, layout).map_err(e)
        }
        ["rt", "--get", prefix, "--vrf", vrf, "--family", "inet6"] => {
            let vrf = u16::try_from(n(vrf)?).map_err(|_| "vrf out of range")?;
            let p = prefix
                .parse()
                .map_err(|_| format!("{prefix:?} is not an IPv6 prefix"))?;
            dump::rt_get6(r, VrfId::from(vrf), p, layout).map_err(e)
        }
        ["mpls", "--dump"] => Ok(dump::mpls_dump(r)),
        ["mpls", "--get", l] => {
            dump::mpls_get(r, MplsLabel::new(n(l)?).ok_or("label out of range")?).map_err(e)
        }
        ["vxlan", "--dump"] => Ok(dump::vxlan_dump(r)),
        ["vxlan", "--get", v] => {
            dump::vxlan_get(r, Vni::new(n(v)?).ok_or("vnid out of range")?).map_err(e)
        }
        ["dropstats"] => Ok(dump::dropstats(r)),
        ["flow", "-l"] => Ok(dump::flow_list(r)),
        ["flow", "--get", i] => {
            let index = n(i)?;
            Ok(dump::flow_get(r, index)
                .unwrap_or_else(|_| format!("Flow index {index} is not active\n")))
        }
        _ => Err(format!("cli {command:?} is not a dump vrsim prints")),
    }
}
