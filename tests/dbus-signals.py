#!/usr/bin/python3
"""Record every signal that org.zpcid1 sends on the system bus
($DBUS_SYSTEM_BUS_ADDRESS) as one JSON document per line in argv[1]:

    {"interface": ..., "member": ..., "path": ..., "args": [...]}

D-Bus values become JSON values (dicts, lists, numbers, strings, booleans).
A first line {"ready": true} is written once the match rule is in place, so
a test knows that nothing sent afterwards can be missed. Runs until killed.
"""
import json
import sys

import dbus
import dbus.mainloop.glib
from gi.repository import GLib


def plain(v):
    if isinstance(v, dbus.Boolean):
        return bool(v)
    if isinstance(v, (dbus.Dictionary, dict)):
        return {str(k): plain(x) for k, x in v.items()}
    if isinstance(v, (dbus.Array, dbus.Struct, list, tuple)):
        return [plain(x) for x in v]
    if isinstance(v, (dbus.String, dbus.ObjectPath, dbus.Signature, str)):
        return str(v)
    if isinstance(v, (dbus.Double, float)):
        return float(v)
    if isinstance(v, int):
        return int(v)
    return repr(v)


def main():
    out = open(sys.argv[1], "a", buffering=1)
    dbus.mainloop.glib.DBusGMainLoop(set_as_default=True)
    bus = dbus.SystemBus()

    def on_signal(*args, **kw):
        out.write(json.dumps({"interface": kw["interface"], "member": kw["member"],
                              "path": kw["path"], "args": [plain(a) for a in args]}) + "\n")

    bus.add_signal_receiver(on_signal, bus_name="org.zpcid1", interface_keyword="interface",
                            member_keyword="member", path_keyword="path")
    # a round trip to the bus: the match rule is in place when it returns
    bus.get_object("org.freedesktop.DBus", "/org/freedesktop/DBus").GetId(
        dbus_interface="org.freedesktop.DBus")
    out.write(json.dumps({"ready": True}) + "\n")
    GLib.MainLoop().run()


if __name__ == "__main__":
    main()
