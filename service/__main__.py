"""Command line: run the CDS Hooks service, print the Questionnaire, convert cases and responses.

    python -m service [--port N] [--host H] [--config FILE] [--workers N]   # run the service
    python -m service questionnaire [-o FILE]                                # the FHIR Questionnaire
    python -m service response CASE.yaml [--patient ID]                      # case -> QuestionnaireResponse
    python -m service case RESPONSE.json [--format yaml|json]                # QuestionnaireResponse -> case

Exit codes: 0 ok, 2 invalid input, configuration or arguments.
"""

from __future__ import annotations

import argparse
import copy
import ipaddress
import json
import os
import sys
from pathlib import Path
from typing import Any

from engine import CaseError, dump_case, read_case
from engine.case import read_text_limited
from engine.errors import ProblemsError


def _write(text: str, output: str | None) -> None:
    if output:
        Path(output).write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)


def _fail(exc: ProblemsError) -> int:
    for line in exc.lines():
        print(line, file=sys.stderr)
    return 2


def _questionnaire(args: argparse.Namespace) -> int:
    from service.questionnaire import questionnaire

    _write(json.dumps(questionnaire(), indent=2, ensure_ascii=False) + "\n", args.output)
    return 0


def _response(args: argparse.Namespace) -> int:
    from service.response import response_from_case

    try:
        case = read_case(args.case)
    except CaseError as exc:
        return _fail(exc)
    subject = f"Patient/{args.patient}" if args.patient else None
    _write(json.dumps(response_from_case(case, subject_reference=subject), indent=2,
                      ensure_ascii=False) + "\n", args.output)
    return 0


def _case(args: argparse.Namespace) -> int:
    from service.response import ResponseError, case_from_response

    try:
        with open(args.response, "rb") as stream:
            text = read_text_limited(stream, Path(args.response).name)
        data = json.loads(text)
    except CaseError as exc:
        return _fail(exc)
    except OSError as exc:
        print(f"{args.response}: cannot be read: {exc.strerror or exc}", file=sys.stderr)
        return 2
    except (ValueError, RecursionError) as exc:
        print(f"{args.response}: is not valid JSON ({type(exc).__name__})", file=sys.stderr)
        return 2
    try:
        case = case_from_response(data)
    except ResponseError as exc:
        return _fail(exc)
    _write(dump_case(case, args.format), args.output)
    return 0


def _log_config(level: str) -> dict[str, Any]:
    """uvicorn's logging, with the service's own logger beside it (never at TRACE: that logs bodies)."""
    from uvicorn.config import LOGGING_CONFIG

    config = copy.deepcopy(LOGGING_CONFIG)
    config["loggers"]["service"] = {"handlers": ["default"], "level": level.upper(), "propagate": False}
    return config


def _serve(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m service", description=(
        "Run the CDS Hooks service (subcommands: questionnaire, response, case)."))
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default: loopback only)")
    parser.add_argument("--port", type=int, default=8090)
    parser.add_argument("--config", default=os.environ.get("DETACHMENT_CDS_CONFIG"),
                        help="TOML configuration file (trusted issuers, CORS, limits); see service/config.py")
    parser.add_argument("--base-url", help="the URL the EHR calls (default: base_url from the "
                                           "configuration, else http://HOST:PORT)")
    parser.add_argument("--workers", type=int, default=1, help="worker processes (stateless; needs a "
                                                               "shared replay cache when more than 1)")
    parser.add_argument("--log-level", default="info",
                        choices=["critical", "error", "warning", "info", "debug"])
    parser.add_argument("--ssl-certfile")
    parser.add_argument("--ssl-keyfile")
    args = parser.parse_args(argv)

    import uvicorn

    from service.app import BASE_URL_ENV, CONFIG_ENV, create_app
    from service.config import ConfigError, load_config

    try:
        config = load_config(args.config)
    except ConfigError as exc:
        return _fail(exc)
    if args.workers < 1:
        print("--workers must be at least 1", file=sys.stderr)
        return 2
    if args.workers > 1 and config.replay_cache == "memory":
        print('several workers need a shared replay cache: set replay_cache = "sqlite:/path/to/jti.sqlite" '
              "in the configuration (a token replayed to another worker would pass otherwise)",
              file=sys.stderr)
        return 2
    scheme = "https" if args.ssl_certfile else "http"
    host = f"[{args.host}]" if ":" in args.host else args.host
    base = (args.base_url or config.base_url or f"{scheme}://{host}:{args.port}").rstrip("/")
    config = config.model_copy(update={"base_url": base})
    try:
        loopback = ipaddress.ip_address(args.host).is_loopback
    except ValueError:
        loopback = args.host == "localhost"
    if not loopback:
        print(f"warning: listening on {args.host}, reachable from the network; CDS Hooks requires TLS "
              "(--ssl-certfile/--ssl-keyfile, or a TLS proxy in front)", file=sys.stderr)
    options: dict[str, Any] = {"host": args.host, "port": args.port,
                               "log_config": _log_config(args.log_level), "log_level": args.log_level,
                               "ssl_certfile": args.ssl_certfile,
                               "ssl_keyfile": args.ssl_keyfile, "server_header": False}
    if args.workers == 1:
        try:
            app = create_app(config)
        except ProblemsError as exc:
            return _fail(exc)
        uvicorn.run(app, **options)
    else:
        if args.config:
            os.environ[CONFIG_ENV] = str(Path(args.config).resolve())
        os.environ[BASE_URL_ENV] = base
        _run_workers(args.workers, options)
    return 0


def _run_workers(workers: int, options: dict[str, Any]) -> None:
    """Run `workers` processes on one listening socket, as `uvicorn.run(..., workers=N)` does.

    uvicorn's own listener is made with proto 0, so asyncio never sets TCP_NODELAY on the
    accepted connections, and every keep-alive request after the first waits ~40 ms for a
    delayed ACK (uvicorn issue #3149). The listener is rebuilt from its descriptor, which
    reports IPPROTO_TCP, before the workers get it.
    """
    import uvicorn
    from uvicorn.supervisors import Multiprocess

    config = uvicorn.Config("service.app:factory", factory=True, workers=workers, **options)
    Multiprocess(config, sockets=[tcp_listener(config)]).run()


def tcp_listener(config: Any) -> Any:
    """uvicorn's listening socket for `config`, rebuilt so that it reports IPPROTO_TCP."""
    import socket

    listener = socket.socket(fileno=config.bind_socket().detach())  # family/type/proto from the fd
    listener.set_inheritable(True)
    return listener


def main(argv: list[str] | None = None) -> int:
    """Dispatch a subcommand, or run the service."""
    argv = sys.argv[1:] if argv is None else argv
    commands = {"questionnaire", "response", "case"}
    if not argv or argv[0] not in commands:
        return _serve(argv)
    parser = argparse.ArgumentParser(prog="python -m service")
    sub = parser.add_subparsers(dest="command", required=True)
    q = sub.add_parser("questionnaire", help="print the question catalogue as a FHIR R4B Questionnaire")
    q.add_argument("-o", "--output")
    r = sub.add_parser("response", help="a case file as a QuestionnaireResponse")
    r.add_argument("case")
    r.add_argument("--patient", help="the Patient id for the response's subject")
    r.add_argument("-o", "--output")
    c = sub.add_parser("case", help="a QuestionnaireResponse (JSON) as a case file")
    c.add_argument("response")
    c.add_argument("--format", choices=["yaml", "json"], default="yaml")
    c.add_argument("-o", "--output")
    args = parser.parse_args(argv)
    handlers = {"questionnaire": _questionnaire, "response": _response, "case": _case}
    return handlers[args.command](args)


if __name__ == "__main__":
    sys.exit(main())
