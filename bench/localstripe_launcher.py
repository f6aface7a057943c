"""Run localstripe bound to 127.0.0.1 (its own CLI binds every interface on `::`).

Run with localstripe's venv: `bench/.venv-localstripe/bin/python bench/localstripe_launcher.py PORT PICKLE`.
It starts from an empty store (like `--from-scratch`) and keeps localstripe's behaviour of pickling the
whole store after every write, but to PICKLE instead of the shared /tmp/localstripe.pickle.
"""

import pickle
import sys

from aiohttp import web
from localstripe import resources, server


def main() -> None:
    port, pickle_path = int(sys.argv[1]), sys.argv[2]

    def dump_to_disk(self):  # same cost as localstripe's, private path
        with open(pickle_path, "wb") as f:
            pickle.dump(self, f, protocol=pickle.HIGHEST_PROTOCOL)

    resources.Store.dump_to_disk = dump_to_disk
    web.run_app(server.app, host="127.0.0.1", port=port, access_log=None, print=None)


if __name__ == "__main__":
    main()
