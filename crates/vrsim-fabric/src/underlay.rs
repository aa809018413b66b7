//! The underlay switch: it forwards a frame to the fabric port whose device
//! has the destination MAC (every compute node's and gateway's fabric
//! interface), and answers no ARP.

use std::collections::BTreeMap;
use std::net::Ipv4Addr;

use vrsim_wire::MacAddr;
use vrsim_wire::ethernet::EthernetView;

use crate::device::{Action, ArpAnswer, Device};
use crate::trace::{DropCause, HopStep};

/// The underlay switch: fabric MAC addresses to the devices behind them.
#[derive(Debug, Clone, Default)]
pub(crate) struct Underlay {
    by_mac: BTreeMap<MacAddr, String>,
}

impl Underlay {
    /// Attach `device`, whose fabric interface has `mac`; its port on the switch is named after it.
    pub(crate) fn attach(&mut self, mac: MacAddr, device: &str) {
        self.by_mac.insert(mac, device.to_owned());
    }
}

impl Device for Underlay {
    fn receive(&mut self, _port: Option<&str>, frame: &[u8], steps: &mut Vec<HopStep>) -> Action {
        let eth = match EthernetView::new_checked(frame) {
            Ok(eth) => eth,
            Err(e) => return Action::Drop(DropCause::Malformed { error: Some(e) }),
        };
        let mac = eth.dst();
        let Some(to) = self.by_mac.get(&mac) else {
            return Action::Drop(DropCause::UnknownMac);
        };
        steps.push(HopStep::Switch {
            mac,
            to: to.clone(),
        });
        Action::Out {
            port: to.clone(),
            frame: frame.to_vec(),
            resolve: None,
        }
    }

    fn answer_arp(
        &mut self,
        _port: &str,
        _asker: (MacAddr, Ipv4Addr),
        _target: Ipv4Addr,
    ) -> Option<ArpAnswer> {
        None
    }
}
