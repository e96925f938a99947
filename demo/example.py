#!/usr/bin/env python3
"""Make an example repository for the demo model and print its request.

usage: example.py DIR [SEED] [KIND]

DIR becomes a git repository holding one of demo/tasks.py's generated
repositories (a rename task unless KIND says otherwise), from a random
stream the demo model was never trained on; the request is printed on
standard output. The quick start uses it.
"""
import os
import random
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import corpus  # noqa: E402
import tasks  # noqa: E402


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__.strip().splitlines()[2])
    seed = int(sys.argv[2]) if len(sys.argv) > 2 else 910001
    kind = sys.argv[3] if len(sys.argv) > 3 else "rename"
    t = tasks.make_task(random.Random(seed), kind)
    os.makedirs(sys.argv[1], exist_ok=True)
    corpus.git_repo(t.files, sys.argv[1])
    print(t.request)


if __name__ == "__main__":
    main()
