#!/usr/bin/python3
"""Call one method of org.zpcid1 on the system bus ($DBUS_SYSTEM_BUS_ADDRESS)
and print what came back, for tests that need the D-Bus error NAME (busctl
prints only the message):

    dbus-call.py PATH INTERFACE METHOD SIGNATURE ARGS

ARGS is a Python expression for the list of arguments, with the dbus module
in scope, e.g. '["info", "x", {"bogus": dbus.String("y")}]'. Prints
"ok" (and the reply) or "error NAME: MESSAGE"; exits 0 either way, 2 on a
usage error.
"""
import sys

import dbus


def main():
    if len(sys.argv) != 6:
        print(__doc__, file=sys.stderr)
        return 2
    path, interface, method, signature, args = sys.argv[1:]
    bus = dbus.SystemBus()
    obj = bus.get_object("org.zpcid1", path, introspect=False)
    try:
        reply = obj.get_dbus_method(method, interface)(*eval(args, {"dbus": dbus}),
                                                       signature=signature)
        print("ok", reply)
    except dbus.exceptions.DBusException as e:
        print("error %s: %s" % (e.get_dbus_name(), e.get_dbus_message()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
