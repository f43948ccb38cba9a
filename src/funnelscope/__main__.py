"""``python -m funnelscope`` is the same as the ``funnelscope`` command."""

from funnelscope.cli.app import main

if __name__ == "__main__":
    main()
