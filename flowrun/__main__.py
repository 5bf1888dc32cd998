"""``python -m flowrun``: the same as the ``flowrun`` command."""
from flowrun.cli.entry import main

if __name__ == "__main__":
    main()
