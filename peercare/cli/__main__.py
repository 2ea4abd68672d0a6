"""`python -m peercare.cli`: the `peercare` command (tests start `peercare up` this way)."""

from peercare.cli import main

main()
