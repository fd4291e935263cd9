"""Baseline for `go tool mage bench-render`: render every *.j2 under
services/ with Jinja2 (trim_blocks, lstrip_blocks, StrictUndefined) to the
same path minus .j2, as a plain Python process would."""
import os

import jinja2

env_values = {}
with open(".env") as f:
    for line in f:
        line = line.strip()
        if line and not line.startswith("#") and "=" in line:
            k, v = line.split("=", 1)
            env_values[k] = v
env_values.update(os.environ)
cloudflare_ips = sorted(os.environ.get("CLOUDFLARE_IPS", "").split(","))

jenv = jinja2.Environment(trim_blocks=True, lstrip_blocks=True, undefined=jinja2.StrictUndefined)
for folder, _, files in sorted(os.walk("services")):
    for name in sorted(files):
        if name.endswith(".j2"):
            path = os.path.join(folder, name)
            with open(path) as f:
                out = jenv.from_string(f.read()).render(env=env_values, cloudflare_ips=cloudflare_ips)
            with open(path[:-3], "w") as f:
                f.write(out)
