"""The ``qmac`` command: a thin dispatcher over the golden, hw, sim and flow APIs.

Each area registers its own subcommands (``register(subparsers)`` in ``<area>/cli.py``) and keeps
its logic in its API; this module only assembles the parser and turns every error into one line
on stderr and an exit code, so no subcommand needs handlers of its own:

* ``ValueError`` (a bad parameter value): 2, like argparse's own usage errors;
* ``RuntimeError`` (``ToolError`` included: a tool failed or timed out) and ``AssertionError``
  (a netlist or simulation disagrees with golden): 1;
* ``OSError`` (a file or folder cannot be read or written): 1, naming the file;
* Ctrl-C: 130 (128 + SIGINT), after ``run_tool`` has killed the running tool's process group;
  SIGTERM (``timeout``, a batch system) likewise, with 143;
* a closed output pipe (``qmac formats int8 | head -1``): 141 (128 + SIGPIPE), silently.
"""

from __future__ import annotations

import argparse
import importlib
import os
import signal
import sys

_AREAS = ("golden.cli", "hw.cli", "sim.cli", "flow.cli", "formal.cli", "models.cli")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="qmac",
        description="Bit-exact simulator and RTL generator for quantized-inference arithmetic.")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for area in _AREAS:
        importlib.import_module(area).register(subparsers)
    return parser


class Terminated(BaseException):
    """SIGTERM as an exception, so that ``run_tool`` kills its tool as it does on Ctrl-C."""


def _terminate(signum: int, frame: object) -> None:
    raise Terminated


def main(argv: list[str] | None = None) -> int:
    prog = "qmac"
    previous = signal.signal(signal.SIGTERM, _terminate)
    try:
        args = build_parser().parse_args(argv)
        prog = f"qmac {args.command}"
        code = args.func(args) or 0
        sys.stdout.flush()  # a reader that went away shows up here, not at interpreter exit
        return code
    except BrokenPipeError:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141
    except KeyboardInterrupt:
        return _fail(prog, "interrupted", 130)
    except Terminated:
        return _fail(prog, "terminated", 143)
    except ValueError as err:
        return _fail(prog, f"error: {err}", 2)
    except OSError as err:
        return _fail(prog, f"error: {os_error_text(err)}", 1)
    except (RuntimeError, AssertionError) as err:
        return _fail(prog, f"error: {err}", 1)
    finally:
        signal.signal(signal.SIGTERM, previous)


def os_error_text(err: OSError) -> str:
    """``strerror: 'file'`` (and ``-> 'other file'`` for a rename), without the errno prefix."""
    files = " -> ".join(repr(os.fsdecode(f)) for f in (err.filename, err.filename2)
                        if f is not None)
    reason = err.strerror or str(err)
    return f"{reason}: {files}" if files else reason


def _fail(prog: str, message: str, code: int) -> int:
    print(f"{prog}: {message}", file=sys.stderr)
    return code


if __name__ == "__main__":
    sys.exit(main())
