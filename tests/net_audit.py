"""Run a Python module with an audit hook that records every attempt to reach another machine.

    python tests/net_audit.py LOG -m MODULE [ARGS...]

Python raises an audit event for every socket connect, send-to and name lookup
(`socket.connect`, `socket.sendto`, `socket.getaddrinfo`, ...); each one whose address is not
this machine's loopback is appended to LOG as a JSON line, before the attempt is made. Used by
tests/test_outbound.py around `streamlit run` (not a test module itself).
"""

from __future__ import annotations

import ipaddress
import json
import runpy
import sys
from typing import Any

_LOCAL_NAMES = {"localhost", "localhost.localdomain", "ip6-localhost", ""}


def _is_local(host: Any) -> bool:
    if isinstance(host, bytes):
        host = host.decode(errors="replace")
    if host is None or str(host).lower() in _LOCAL_NAMES:
        return True
    try:
        address = ipaddress.ip_address(str(host).split("%")[0])
    except ValueError:
        return False  # a name to look up
    return address.is_loopback or address.is_unspecified


def _address_host(address: Any) -> Any:
    """The host of a socket address; None for a Unix socket path (local by nature)."""
    return address[0] if isinstance(address, tuple) and address else None


def main() -> None:
    """Install the hook, then run the module as `python -m` would."""
    log_path, flag, module, *args = sys.argv[1:]
    if flag != "-m":
        raise SystemExit(__doc__)

    def hook(event: str, hook_args: tuple[Any, ...]) -> None:
        if event in ("socket.connect", "socket.sendto", "socket.sendmsg"):
            host = _address_host(hook_args[1])
        elif event in ("socket.getaddrinfo", "socket.gethostbyname", "socket.gethostbyname_ex",
                       "socket.gethostbyaddr"):
            host = hook_args[0]
        elif event == "socket.getnameinfo":
            host = _address_host(hook_args[0])
        else:
            return
        if not _is_local(host):
            with open(log_path, "a", encoding="utf-8") as out:
                out.write(json.dumps({"event": event, "host": repr(host)}) + "\n")

    sys.addaudithook(hook)
    sys.argv = [module, *args]
    runpy.run_module(module, run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    main()
