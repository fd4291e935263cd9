"""Reference side of the differential fuzzer (fuzz_test.go): one process
renders many templates with Jinja2 as pkg/render promises to
(trim_blocks, lstrip_blocks, StrictUndefined).

stdin: the context as one JSON line, then one JSON line per template:
{"src": "...", "files": {"name": "..."}} (files: what it may include,
import or extend). stdout: one JSON line per template, in order:
{"out": "..."} or {"err": "Type: message"} or {"timeout": true}."""
import json
import signal
import sys
import warnings

import jinja2


class Timeout(BaseException):
    """A BaseException, so that no `except Exception` in Jinja swallows it."""


def on_alarm(*_):
    raise Timeout()


def main():
    # Jinja2 compiles templates to Python, which warns about code such as
    # 1[0]; the warnings would only clutter the test output.
    warnings.simplefilter("ignore")
    signal.signal(signal.SIGALRM, on_alarm)
    files = {}
    generation = [0]

    def load(name):
        # Templates are cached within one request (loops include the same
        # file many times) and expire with it.
        if name not in files:
            return None
        gen = generation[0]
        return files[name], None, lambda: gen == generation[0]

    env = jinja2.Environment(
        loader=jinja2.FunctionLoader(load),
        trim_blocks=True,
        lstrip_blocks=True,
        undefined=jinja2.StrictUndefined,
    )
    context_json = sys.stdin.readline()
    for line in sys.stdin:
        # A fresh context each time: templates can change lists and dicts.
        context = json.loads(context_json)
        req = json.loads(line)
        generation[0] += 1
        files.clear()
        files.update(req.get("files") or {})
        try:
            signal.setitimer(signal.ITIMER_REAL, 2.0)
            resp = {"out": env.from_string(req["src"]).render(context)}
        except Timeout:
            resp = {"timeout": True}
        except RecursionError:
            resp = {"err": "RecursionError"}
        except Exception as e:  # every error both sides raise is agreement
            resp = {"err": f"{type(e).__name__}: {e}"}
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
        sys.stdout.write(json.dumps(resp) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
