"""Shared fixtures: scapy with MPLS over UDP (RFC 7510, port 6635) bound."""

import pytest
from scapy.all import UDP, bind_layers, load_contrib

load_contrib("mpls")
from scapy.contrib.mpls import MPLS  # noqa: E402

bind_layers(UDP, MPLS, dport=6635)

FABRIC_MAC = "00:1b:21:bb:f9:48"
VM_MAC = "02:c2:23:4c:d0:55"
VROUTER_MAC = "00:00:5e:00:01:00"


@pytest.fixture
def compute():
    """A compute node as tf-vrouter's fabric_to_vm tests program it: the
    fabric vif, vhost0 at 8.0.0.2, a tap in VRF 5 without policy, label 42
    to the tap's bridge nexthop and a tunnel back to 8.0.0.3."""
    import vrsim

    r = vrsim.VRouter()
    r.add_vif(id=0, type="physical", name="eth1", mac=FABRIC_MAC, flags=["Vp"])
    r.add_vif(id=1, type="host", name="vhost0", mac=FABRIC_MAC, ip="8.0.0.2")
    r.add_vif(id=5, type="virtual", name="tapc2234cd0-55", mac=VROUTER_MAC,
              ip="1.1.1.3", vrf=5, nh=38)
    r.add_nh(id=10, type="receive", vrf=1, oif=1)
    r.add_route(vrf=0, prefix="8.0.0.2/32", nh=10)
    encap = bytes.fromhex("02c2234cd055 00005e000100 0800".replace(" ", ""))
    r.add_nh(id=38, type="encap", family="inet", vrf=5, oif=5, encap=encap)
    r.add_nh(id=44, type="encap", family="bridge", vrf=5, oif=5, encap=encap)
    r.add_mpls(label=42, nh=44)
    r.add_nh(id=21, type="tunnel", tunnel="mplsoudp", oif=0,
             encap="00 1b 21 bb f9 46 00 1b 21 bb f9 48 08 00", sip="8.0.0.2", dip="8.0.0.3")
    r.add_route(vrf=5, prefix="1.1.1.3/32", nh=38)
    r.add_route(vrf=5, prefix="1.1.1.5/32", nh=21, label=23, flags=["L"])
    return r


@pytest.fixture
def conformance_dir():
    """The repository's conformance corpus (tf-vrouter's own scenarios)."""
    import pathlib

    return pathlib.Path(__file__).resolve().parents[3] / "tests" / "conformance"
