"""The build's entry point INSIDE the notebook container (image Python; stdlib, papermill, nbconvert).

Mounted read-only at ``/build/run.py`` and run as ``python /build/run.py``. It never touches the
host: the notebook is ``/build/notebook.ipynb`` (read-only), parameters ``/build/parameters.json``
(read-only), data under ``/data`` (read-only), and the ONLY writable mount is the outputs folder.

* papermill executes the notebook into ``/tmp/enclave-build/executed.ipynb`` (tmpfs); progress
  and cell output go to stderr, which the host captures as ``build.log``;
* nbconvert's HTMLExporter writes ``report.html`` from the executed notebook with
  ``sanitize_html=True`` and the ``basic`` template (no notebook JavaScript, no script loaders);
* both files go to the host as an uncompressed tar stream on the ORIGINAL stdout. Before the
  kernel starts, fd 1 is pointed at stderr so nothing the notebook writes can land in that stream.

Exit status: 0 the notebook ran to the end; 1 it raised (papermill error, still reported);
2 the runner itself failed.
"""

from __future__ import annotations

import io
import json
import logging
import os
import re
import sys
import tarfile
import time

WORK = "/tmp/enclave-build"
NOTEBOOK = "/build/notebook.ipynb"
PARAMETERS = "/build/parameters.json"
ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


def _log(message: str) -> None:
    sys.stderr.write(f"[enclave] {time.strftime('%H:%M:%S')} {message}\n")
    sys.stderr.flush()


def _execute(parameters: dict) -> str | None:
    """Run papermill; the exception's class name when the notebook failed, else None."""
    import papermill

    try:
        papermill.execute_notebook(
            NOTEBOOK, f"{WORK}/executed.ipynb", parameters=parameters, kernel_name="python3",
            log_output=True, progress_bar=False, cwd=os.environ.get("HOME", "/tmp"),
            request_save_on_cell_execute=False)
    except papermill.PapermillExecutionError as exc:
        # not an [enclave] line: the message may hold data, so only operator staff see it
        trace = ANSI.sub("", "\n".join(exc.traceback or []))
        sys.stderr.write(f"notebook error in cell {exc.exec_count}: {exc.ename}: {exc.evalue}\n"
                         f"{trace}\n")
        return exc.ename or "Exception"
    return None


def _report() -> None:
    import nbformat
    from nbconvert import HTMLExporter

    notebook = nbformat.read(f"{WORK}/executed.ipynb", as_version=4)
    exporter = HTMLExporter(template_name="basic", sanitize_html=True)
    body, _ = exporter.from_notebook_node(notebook)
    with open(f"{WORK}/report.html", "w", encoding="utf-8") as out:
        out.write("<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\">"
                  "<title>build report</title></head><body>\n")
        out.write(body)
        out.write("\n</body></html>\n")


def _send(stream: io.BufferedWriter, status: dict) -> None:
    with open(f"{WORK}/status.json", "w", encoding="utf-8") as out:
        json.dump(status, out)
    with tarfile.open(fileobj=stream, mode="w|") as tar:
        for name in ("status.json", "executed.ipynb", "report.html"):
            path = f"{WORK}/{name}"
            if os.path.isfile(path):
                tar.add(path, arcname=name, recursive=False)
    stream.flush()


def main() -> int:
    os.makedirs(WORK, mode=0o700, exist_ok=True)
    logging.basicConfig(level=logging.INFO, stream=sys.stderr,
                        format="%(asctime)s %(name)s %(message)s")  # papermill progress + cells
    stream = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)  # the kernel inherits fd 1: send anything it writes to the log
    sys.stdout = sys.stderr
    status: dict = {"error": None, "report": False}
    code = 2
    try:
        with open(PARAMETERS, encoding="utf-8") as handle:
            parameters = json.load(handle)
        _log(f"papermill: executing the notebook with parameters {sorted(parameters)}")
        status["error"] = _execute(parameters)
        code = 1 if status["error"] else 0
        _log("papermill: " + (f"the notebook raised {status['error']}" if code else "finished"))
        if os.path.isfile(f"{WORK}/executed.ipynb"):
            _report()
            status["report"] = True
            _log("nbconvert: sanitized HTML report written")
    except Exception as exc:  # the runner failed: say so in the log, exit 2
        _log(f"runner error: {type(exc).__name__}: {exc}")
        status["runner_error"] = type(exc).__name__
    status["exit"] = code
    _send(stream, status)
    return code


if __name__ == "__main__":
    sys.exit(main())
