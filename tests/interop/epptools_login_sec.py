#!/usr/bin/env python3
"""Interoperability check for loginSec (RFC 8807): Python's epptools (PyPI), a client nobody
here wrote, logs in to an `eppd demo` and uses loginSec by itself because the greeting offers
it. One wrong password first, so the next login reports it (failedLogins); then the demo's
16-character password is replaced by a 24-character one (sent in <loginSec:newPW>), and a
new session logs in with that (sent in <loginSec:pw>) and checks a domain.

Usage: python3 tests/interop/epptools_login_sec.py DIR/demo.json
Exit status 0 when every step got the expected result; each step prints one line.
"""
import json
import re
import sys

from epptools import AuthenticationException, Client, Config

LONG_PW = "interop-loginSec-pw-24ch"


def config(demo, password):
    host, port = re.match(r"^\[?([^\]]+)\]?:(\d+)$", demo["address"]).groups()
    return Config(
        host=host,
        port=int(port),
        clid=demo["cl_id"],
        password=password,
        ca_file=demo["ca"],
        client_cert=demo["cert"],
        client_key=demo["key"],
        cltrid_prefix="EPPTOOLS",
    )


def events(response):
    return response.security_events()


def main():
    demo = json.load(open(sys.argv[1]))
    assert len(LONG_PW) == 24

    wrong = Client(config(demo, "wrong-password-1"))
    wrong.connect()
    try:
        wrong.login()
        print("wrong password: accepted")
        return 1
    except AuthenticationException as e:
        print("wrong password: %d" % e.epp_code)
    wrong.disconnect()

    first = Client(config(demo, demo["password"]))
    greeting = first.connect()
    offered = "urn:ietf:params:xml:ns:epp:loginSec-1.0" in greeting.service_ext_uris()
    print("greeting offers loginSec: %s" % offered)
    r = first.login(new_password=LONG_PW)
    print("login with newPW of %d characters: %d" % (len(LONG_PW), r.code()))
    for ev in events(r):
        print("event: %s %s name=%s value=%s: %s" % (
            ev.get("level"), ev.get("type"), ev.get("name"), ev.get("value"), ev.get("text")))
    stat = [ev for ev in events(r) if ev.get("type") == "stat"]
    print("failedLogins: %s" % (stat[0].get("value") if stat else "none"))
    print("logout: %d" % first.logout().code())
    first.disconnect()

    second = Client(config(demo, LONG_PW))
    second.connect()
    r = second.login()
    print("login with a %d-character password: %d" % (len(LONG_PW), r.code()))
    r = second.domain.check(["epptools-interop.test"])
    print("check: %d" % r.code())
    print("logout: %d" % second.logout().code())
    second.disconnect()
    return 0


if __name__ == "__main__":
    sys.exit(main())
