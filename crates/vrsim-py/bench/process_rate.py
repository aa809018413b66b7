"""Packets per second through `VRouter.process` from Python, for a reused
vRouter and pre-built bytes: the seed's trace 1, gw-01's MPLSoGRE echo
request (label 35) into compute01, out of the Docker VM's tap. A timing
script, not a test: `python bench/process_rate.py [seconds]` (scapy builds
the frame once).
"""

import sys
import time

from scapy.all import GRE, ICMP, IP, Ether, load_contrib

load_contrib("mpls")
from scapy.contrib.mpls import MPLS  # noqa: E402

import vrsim  # noqa: E402


def compute01():
    """compute01's objects on the seed's path (vif 37, nh 90, label 35)."""
    r = vrsim.VRouter()
    r.add_vif(id=0, type="physical", name="eth1", mac="00:00:5e:00:53:15", flags=["Vp"])
    r.add_vif(id=1, type="host", name="vhost0", mac="00:00:5e:00:53:15", ip="10.0.0.21")
    r.add_vif(id=37, type="virtual", name="tapc7807e22-f2", mac="00:00:5e:00:01:00",
              ip="172.16.10.3", vrf=1, mtu=9160)
    r.add_nh(id=3, type="receive", vrf=0, oif=1)
    r.add_route(vrf=0, prefix="10.0.0.21/32", nh=3)
    r.add_nh(id=90, type="encap", family="inet", vrf=1, oif=37,
             encap="02c7807e22f2 00005e000100 0800")
    r.add_mpls(label=35, nh=90)
    r.add_route(vrf=1, prefix="192.168.100.0/26", nh=90)
    return r


def frame():
    return bytes(
        Ether(src="00:00:5e:00:53:01", dst="00:00:5e:00:53:15")
        / IP(src="10.0.0.1", dst="10.0.0.21") / GRE(proto=0x8847)
        / MPLS(label=35, s=1, ttl=63)
        / IP(src="203.0.113.10", dst="192.168.100.1", ttl=63) / ICMP(id=0x5EED) / bytes(56)
    )


def rate(r, f, trace, seconds):
    n, start = 0, time.perf_counter()
    process = r.process
    while time.perf_counter() - start < seconds:
        for _ in range(10_000):
            process(0, f, trace=trace)
        n += 10_000
    return n / (time.perf_counter() - start)


def main():
    seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 3.0
    r, f = compute01(), frame()
    first = r.process(0, f)
    assert first.transmitted and first.vif == 37, first.trace
    for trace in (False, True):
        print(f"process(trace={trace}): {rate(r, f, trace, seconds) / 1e6:.2f} M packets/s")


if __name__ == "__main__":
    main()
