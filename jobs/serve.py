"""`synth serve` / `python -m jobs.serve`: the Serve app on a local Ray (or the cluster named by
--address / RAY_ADDRESS), the same as `serve run serving.app:build_app key=value ...`.

    synth serve --store runs/demo/models auth=none          # open (explicitly), 127.0.0.1:8000
    synth serve --store runs/demo/models api_key_file=~/.raysynth-key   # X-API-Key required
    synth serve --store s3://bucket/models --port 8080 max_num_samples=50000 pins.adult=3

Without a key (api_key_file, RAYSYNTH_API_KEY_FILE or RAYSYNTH_API_KEY) and without auth=none
it refuses to start: auth fails closed (README, "Security")."""

from __future__ import annotations

import argparse
import os

from jobs import console
from jobs.common import job_parser, parse_overrides, run_main, start_ray
from serving.app import build_app
from serving.launch import client_key, deploy, local_url, serve_until_interrupted, try_line


def parser() -> argparse.ArgumentParser:
    ap = job_parser("synth serve", __doc__)
    ap.add_argument("--store", help="model store root (default RAYSYNTH_STORE, else ./models)")
    ap.add_argument("--host", default="127.0.0.1",
                    help="HTTP host (default loopback; 0.0.0.0 to listen on every interface)")
    ap.add_argument("--port", type=int, default=8000)
    ap.add_argument("--address", help="Ray cluster address (default: a local Ray)")
    ap.add_argument("--verbose", action="store_true", help="show Ray's own logs (default: in "
                    "runs/_logs/serve.log)")
    ap.add_argument("settings", nargs="*", metavar="key=value",
                    help="ServeSettings: max_num_samples, chunk_rows, pins.NAME, refresh_s ...")
    return ap


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)

    def body() -> None:
        settings = parse_overrides(args.settings)
        if args.store:
            settings["store"] = args.store
        build_app(settings)  # checks the settings before Ray starts
        local = not (args.address or os.environ.get("RAY_ADDRESS"))
        console.configure(args.verbose, None, "serve")  # runs/_logs/serve.log
        start_ray(args.address)
        deploy(settings, args.host, args.port)
        url = local_url(args.host, args.port)
        print(f"serving on {url} (API docs: {url}/docs); Ctrl-C stops", flush=True)
        print("try: " + try_line(args.host, args.port, client_key(settings) is not None),
              flush=True)
        serve_until_interrupted(local)

    return run_main(body)


if __name__ == "__main__":
    raise SystemExit(main())
