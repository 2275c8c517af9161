"""The generated service against what a team would hand-write, against the HTTP floor and BentoML's own.

Bakes the default project (or measures one given with --project) and starts, side by side on free localhost
ports and with the served model: the service (`bentoml serve`), two hand-written FastAPI endpoints (a strong
one: async, the same request model, encoder and ONNX model; a weaker one: synchronous, DictVectorizer, the
framework's own prediction), a bare Starlette app that only parses the JSON body (peers.py), and BentoML's
floor, a BentoML service with the same settings that answers constants through BentoML's own request path
(bentoml_floor.py); with --without, the service again without one of its speed mends. Then runs interleaved
rounds of load from wrk (the project's benchmarks/load_test.py and wrk.lua; the Python client, with a
warning, where wrk is not installed) and prints the medians, the ratios measured within each round and the
targets met or missed, as Markdown, and draws a PNG chart. A measurement, not a test: it exits 0 whatever
the numbers. The results, with the commands that produced them, are in docs/BENCHMARKS.md.

python benchmarks/compare.py                                  # bakes the default project; a few minutes
python benchmarks/compare.py --project ~/credit-risk-service  # a project baked and trained already
python benchmarks/compare.py --answers framework=lightgbm     # bakes with these answers
python benchmarks/compare.py --full                           # longer rounds, then rounds with a CPU hog
python benchmarks/compare.py --without send_head_with_body    # does a speed mend pay its way?
"""

import argparse
from pathlib import Path

import project

SPEED_MENDS = ("send_head_with_body",)  # in the project's scoring/bentoml_fixes.py


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    project.add_arguments(parser)
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds (%(default)s)")
    parser.add_argument("--seconds", type=float, default=3, help="length of each run (%(default)s)")
    parser.add_argument("--cpu-hog", action="store_true", help="then rounds without and with a CPU hog (one core)")
    parser.add_argument("--full", action="store_true", help="5 s runs and --cpu-hog")
    parser.add_argument("--workers", type=int, help="worker processes of every server (default: the service's)")
    parser.add_argument("--without", action="append", default=[], choices=SPEED_MENDS,
                        help="also serve the service without this speed mend (repeatable)")  # fmt: skip
    parser.add_argument("--client", choices=["wrk", "python"], default="wrk", help="load generator (%(default)s)")
    parser.add_argument("--output", type=Path, help="also write the Markdown report here")
    parser.add_argument("--chart", type=Path, help="draw the PNG chart here")
    args = parser.parse_args()
    if args.full:
        args.seconds, args.cpu_hog = max(args.seconds, 5), True
    with project.measured_project(args.project, args.answers) as (_, env):
        import comparison  # the project's modules, now on sys.path

        measurement = comparison.measure(args, env)
    text = comparison.report(measurement)
    print(f"\n{text}")
    if args.output:
        args.output.write_text(text + "\n", encoding="utf-8")
    if args.chart:
        comparison.chart(measurement, args.chart)


if __name__ == "__main__":
    main()
