"""Reference renderer for the differential test: renders every *.j2 at the
top of a folder with Jinja2 exactly as pkg/render promises to
(trim_blocks, lstrip_blocks, StrictUndefined, Jinja's other defaults;
templates load others from the folder) and prints a JSON object
{template name: output}."""
import json
import os
import sys

import jinja2


def main():
    folder, context_file = sys.argv[1], sys.argv[2]
    with open(context_file) as f:
        context = json.load(f)
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(folder),
        trim_blocks=True,
        lstrip_blocks=True,
        undefined=jinja2.StrictUndefined,
    )
    out = {}
    for name in sorted(os.listdir(folder)):
        if name.endswith(".j2"):
            out[name] = env.get_template(name).render(**context)
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()
