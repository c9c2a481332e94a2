"""`cppthemes` as a real process, with a slow fake embedder: a target for kill tests.

``python -m tests.slow_cli run CORPUS --out DIR --cache-dir CACHE`` behaves like the console
script, but embeds with the FakeEmbedder in batches of 8, sleeping SLOW_CLI_SLEEP seconds
(default 0.15) per batch, so that a kill at a random moment lands in any stage, the embedding
stage included. The heavy imports happen inside the interrupt handling, as they do in the
real command (cppthemes.cli.app imports the pipeline inside the command).
"""

from __future__ import annotations

import functools
import os
import sys
import time


def main() -> None:
    try:
        from cppthemes import pipeline
        from cppthemes.cli import app as cli
        from cppthemes.embed import embedder as embed
        from tests.conftest import FakeEmbedder
    except KeyboardInterrupt:
        sys.stderr.write("interrupted: nothing was written over earlier outputs\n")
        raise SystemExit(130) from None

    class SlowFakeEmbedder(FakeEmbedder):
        def encode(self, texts):  # type: ignore[no-untyped-def]
            time.sleep(float(os.environ.get("SLOW_CLI_SLEEP", "0.15")))
            return super().encode(texts)

    from cppthemes.embed.embedder import PACKAGED_NAMES
    from cppthemes.embed.models import EMBEDDERS

    for name in PACKAGED_NAMES:
        EMBEDDERS[name] = lambda cfg, on_note=None: SlowFakeEmbedder()
    pipeline.embed = functools.partial(embed.embed, batch=8)  # type: ignore[assignment]
    sys.argv = ["cppthemes", *sys.argv[1:]]
    cli.main()


if __name__ == "__main__":
    main()
