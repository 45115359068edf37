#!/usr/bin/python3
"""A stand-in for systemd-machined, for the tests only: where the real one
cannot run, it takes the name org.freedesktop.machine1 on the test bus
($DBUS_SYSTEM_BUS_ADDRESS, which loads machined's shipped bus policy) and
answers the part of machined's interface that zpcid uses, the way machined
does (systemd 252):

  Manager.RegisterMachine(s name, ay id, s service, s class, u leader,
                          s root_directory) -> o
      the machine's unit is the leader's, from /proc/<leader>/cgroup
      (org.freedesktop.DBus.Error.Failed when it is in no unit)
  Manager.UnregisterMachine(s name)
  Manager.GetMachineByPID(u pid) -> o
      the machine whose leader is pid or whose unit pid runs in, else
      org.freedesktop.machine1.NoMachineForPID
  Manager.ListMachines() -> a(ssso)
  signals MachineNew(so), MachineRemoved(so)
  /org/freedesktop/machine1/machine/<escaped name>: properties Name, Id,
      Service, Class, Unit, Leader, RootDirectory, State

It prints "ready" on stdout once it owns the name. Runs until killed.
"""
import re
import sys

import dbus
import dbus.mainloop.glib
import dbus.service
from gi.repository import GLib

NAME = "org.freedesktop.machine1"
MANAGER = "org.freedesktop.machine1.Manager"
MACHINE = "org.freedesktop.machine1.Machine"
PATH = "/org/freedesktop/machine1"


def escape(name):
    # sd_bus_path_encode(): every byte but [A-Za-z0-9] as _xx
    return "".join(c if c.isalnum() and c.isascii() else "_%02x" % ord(c) for c in name)


def unit_of(pid):
    """The unit of pid's cgroup, as machined's cg_pid_get_unit() finds it."""
    paths = {}
    with open("/proc/%d/cgroup" % pid) as f:
        for line in f:
            hid, ctrl, path = line.rstrip("\n").split(":", 2)
            if hid == "0" and ctrl == "":
                paths["unified"] = path
            elif ctrl == "name=systemd":
                paths["named"] = path
    for key in ("unified", "named"):
        for comp in paths.get(key, "").split("/"):
            if not comp or comp.endswith(".slice"):
                continue
            if re.search(r"\.(service|scope)$", comp):
                return comp
            break
    return None


class Machine(dbus.service.Object):
    def __init__(self, bus, name, mid, service, cls, leader, root, unit):
        self.path = PATH + "/machine/" + escape(name)
        super().__init__(bus, self.path)
        self.props = {
            "Name": dbus.String(name),
            "Id": dbus.Array(mid, signature="y"),
            "Service": dbus.String(service),
            "Class": dbus.String(cls),
            "Unit": dbus.String(unit),
            "Leader": dbus.UInt32(leader),
            "RootDirectory": dbus.String(root),
            "State": dbus.String("running"),
        }

    @dbus.service.method(dbus.PROPERTIES_IFACE, in_signature="s", out_signature="a{sv}")
    def GetAll(self, interface):
        if interface not in (MACHINE, ""):
            raise dbus.exceptions.DBusException(
                "Unknown interface %s" % interface, name="org.freedesktop.DBus.Error.UnknownInterface")
        return self.props

    @dbus.service.method(dbus.PROPERTIES_IFACE, in_signature="ss", out_signature="v")
    def Get(self, interface, prop):
        if prop not in self.props:
            raise dbus.exceptions.DBusException(
                "Unknown property %s" % prop, name="org.freedesktop.DBus.Error.UnknownProperty")
        return self.props[prop]


class Manager(dbus.service.Object):
    def __init__(self, bus):
        super().__init__(bus, PATH)
        self.bus = bus
        self.machines = {}

    @dbus.service.method(MANAGER, in_signature="sayssus", out_signature="o")
    def RegisterMachine(self, name, mid, service, cls, leader, root):
        if name in self.machines:
            raise dbus.exceptions.DBusException(
                "Machine '%s' already exists" % name, name="org.freedesktop.machine1.MachineExists")
        try:
            unit = unit_of(int(leader))
        except OSError as e:
            unit = None
        if not unit:
            raise dbus.exceptions.DBusException(
                "Failed to determine unit of process %d" % leader, name="org.freedesktop.DBus.Error.Failed")
        m = Machine(self.bus, str(name), bytes(mid), str(service), str(cls), int(leader), str(root), unit)
        self.machines[str(name)] = m
        self.MachineNew(name, m.path)
        return dbus.ObjectPath(m.path)

    @dbus.service.method(MANAGER, in_signature="s")
    def UnregisterMachine(self, name):
        m = self.machines.pop(str(name), None)
        if not m:
            raise dbus.exceptions.DBusException(
                "No machine '%s' known" % name, name="org.freedesktop.machine1.NoSuchMachine")
        m.remove_from_connection()
        self.MachineRemoved(name, m.path)

    @dbus.service.method(MANAGER, in_signature="u", out_signature="o")
    def GetMachineByPID(self, pid):
        try:
            unit = unit_of(int(pid))
        except OSError:
            unit = None
        for m in self.machines.values():
            if m.props["Leader"] == pid or (unit and m.props["Unit"] == unit):
                return dbus.ObjectPath(m.path)
        raise dbus.exceptions.DBusException(
            "PID %d does not belong to any known machine" % pid, name="org.freedesktop.machine1.NoMachineForPID")

    @dbus.service.method(MANAGER, out_signature="a(ssso)")
    def ListMachines(self):
        return [(m.props["Name"], m.props["Class"], m.props["Service"], dbus.ObjectPath(m.path))
                for m in self.machines.values()]

    @dbus.service.signal(MANAGER, signature="so")
    def MachineNew(self, name, path):
        pass

    @dbus.service.signal(MANAGER, signature="so")
    def MachineRemoved(self, name, path):
        pass


def main():
    dbus.mainloop.glib.DBusGMainLoop(set_as_default=True)
    bus = dbus.SystemBus()
    # Refused unless the bus policy lets this user own the name: the
    # shipped org.freedesktop.machine1.conf allows root.
    name = dbus.service.BusName(NAME, bus, do_not_queue=True)
    manager = Manager(bus)
    print("ready", flush=True)
    GLib.MainLoop().run()


if __name__ == "__main__":
    main()
