"""vrsim: the Tungsten Fabric / Contrail vRouter's forwarding plane, simulated.

One vRouter programmed object by object (the objects and fields of vrsim's
conformance case files), whole fabrics loaded from scenarios and traced end
to end, and tf-vrouter-style case files run and checked: from pytest, with
frames as plain ``bytes`` so that scapy builds and parses them.

>>> import vrsim
>>> fabric = vrsim.Fabric.load("seed-bgpaas")
>>> trip = fabric.probe("earth", "192.168.100.1")
>>> trip.delivered, trip.reply_delivered
(True, True)
"""

from ._vrsim import (
    SCHEMA,
    CaseResult,
    ConfigError,
    Fabric,
    Result,
    RoundTrip,
    VRouter,
    VrsimError,
    check,
)

__all__ = [
    "SCHEMA",
    "CaseResult",
    "ConfigError",
    "Fabric",
    "Result",
    "RoundTrip",
    "VRouter",
    "VrsimError",
    "check",
]
